"""Registration, sign-in and sign-out through the real forms."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

DEMO_EMAIL = "employer@ponte.demo"
DEMO_PASSWORD = "Ponte-demo-2026"
DEMO_NAME = "Marco Zanin"


def header(page):
    return page.locator("header.it-header-wrapper")


def test_register_shows_errors_next_to_fields_then_signs_in(page, t, axe):
    page.goto("/")
    header(page).get_by_role("link", name=t("Register"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Create an account"))

    # Submitted empty: each required field says what is wrong, right under itself.
    page.get_by_role("button", name=t("Create account")).click()
    for label, field_id in [
        (t("Full name"), "full_name"),
        (t("E-mail"), "email"),
        (t("Password"), "password"),
        (t("Organisation name"), "org_name"),
    ]:
        field = page.get_by_label(label, exact=True)
        error = page.locator(f"#{field_id}-error")
        expect(error).to_be_visible()
        expect(error).not_to_be_empty()
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_attribute("aria-describedby", re.compile(rf"\b{field_id}-error\b"))
        field_box, error_box = field.bounding_box(), error.bounding_box()
        assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 40, label
    expect(page.locator("#privacy-error")).to_have_text(t("You must accept the privacy notice."))
    axe(page)  # the form with its errors

    # Filled in properly: the account is created and the person is signed in.
    suffix = uuid.uuid4().hex[:6]
    email = f"coop-{suffix}@example.it"
    page.get_by_label(t("Full name"), exact=True).fill("Ilaria Brusadin")
    page.get_by_label(t("E-mail"), exact=True).fill(email)
    page.get_by_label(t("Password"), exact=True).fill("Lavoro-Insieme-2026")
    page.get_by_label(t("Repeat the password"), exact=True).fill("Lavoro-Insieme-2026")
    page.get_by_label(t("I register as"), exact=True).select_option(
        label=t("Type-B social cooperative")
    )
    page.get_by_label(t("Organisation name"), exact=True).fill(
        f"Cooperativa Sociale Noncello {suffix}"
    )
    page.get_by_label(t("Municipality"), exact=True).fill("Pordenone (PN)")
    page.get_by_label(t("Number in the register of cooperatives"), exact=True).fill("A998877")
    # Bootstrap Italia draws the box on the label, over the real input: click what people see.
    privacy = page.get_by_label(t("I have read the privacy notice"), exact=True)
    page.locator("label[for=privacy]").click()
    expect(privacy).to_be_checked()
    page.get_by_role("button", name=t("Create account")).click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("status")).to_contain_text(
        t(
            "Account created. An administrator will verify your organisation before it "
            "appears in the network directory."
        )
    )
    expect(header(page).get_by_role("button", name=t("Sign out"))).to_be_visible()
    expect(header(page).get_by_role("link", name="Ilaria Brusadin")).to_be_visible()
    expect(header(page).get_by_role("link", name=t("Sign in"), exact=True)).to_have_count(0)


def test_demo_user_signs_in_and_out(page, t, axe):
    page.goto("/")
    header(page).get_by_role("link", name=t("Sign in"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Sign in"))

    # A wrong password is refused next to the field.
    page.get_by_label(t("E-mail"), exact=True).fill(DEMO_EMAIL)
    page.get_by_label(t("Password"), exact=True).fill("not-the-password")
    page.get_by_role("button", name=t("Sign in")).click()
    expect(page.locator("#password-error")).to_have_text(t("E-mail or password is not correct."))

    page.get_by_label(t("Password"), exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=t("Sign in")).click()
    expect(page.get_by_role("status")).to_contain_text(t("Welcome, %(name)s.", name=DEMO_NAME))
    expect(header(page).get_by_role("link", name=DEMO_NAME)).to_be_visible()
    axe(page)  # the signed-in header

    header(page).get_by_role("button", name=t("Sign out")).click()
    expect(page.get_by_role("status")).to_contain_text(t("You have signed out."))
    expect(header(page).get_by_role("link", name=t("Sign in"), exact=True)).to_be_visible()
    expect(header(page).get_by_role("link", name=DEMO_NAME)).to_have_count(0)
