"""The portal on a 375px-wide phone: the menu opens, nothing scrolls sideways."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}


@pytest.fixture
def phone(page):
    page.set_viewport_size(PHONE)
    return page


def test_menu_opens_with_the_burger_button(phone, t, axe):
    page = phone
    page.goto("/")
    nav = page.get_by_role("navigation", name=t("Main menu"))
    directory_link = nav.get_by_role("link", name=t("Network directory"))
    expect(directory_link).to_be_hidden()

    toggler = nav.get_by_role("button", name=t("Show or hide the menu"))
    expect(toggler).to_have_attribute("aria-expanded", "false")
    toggler.click()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    network = nav.get_by_role("button", name=t("The network"), exact=True)
    expect(directory_link).to_be_hidden()  # inside its closed drop-down
    network.click()
    expect(network).to_have_attribute("aria-expanded", "true")
    expect(directory_link).to_be_visible()
    axe(page)

    directory_link.click()
    expect(page).to_have_url(re.compile(r"/directory$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Network directory"))


def assert_fits(page, path):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{path} is {overflow}px wider than a {PHONE['width']}px screen"
    # The language switch and the account links stay in the slim bar, on one line.
    slim = page.locator(".it-header-slim-wrapper").bounding_box()
    assert slim is not None and slim["height"] <= 50, f"{path}: the slim header wraps"


def test_no_sideways_scrolling(phone, demo_org, t):
    page = phone
    for path in ["/", "/login", "/register", "/directory", demo_org["path"], "/search?q=fattoria"]:
        page.goto(path)
        assert_fits(page, path)

    # Signed in, the slim bar holds more links: they shrink to icons with their names kept.
    page.goto("/login")
    page.get_by_label(t("E-mail"), exact=True).fill("employer@ponte.demo")
    page.get_by_label(t("Password"), exact=True).fill("Ponte-demo-2026")
    page.get_by_role("button", name=t("Sign in")).click()
    banner = page.get_by_role("banner")
    expect(banner.get_by_role("link", name="Marco Zanin")).to_be_visible()
    assert_fits(page, "/ (signed in)")
