"""The employer's vacancy form in a browser: the occupation picker and its skills."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.test_placement import sign_in

pytestmark = pytest.mark.browser


def test_employer_picks_an_occupation_gets_its_skills_and_saves(page, t, axe):
    title = f"Magazziniere {uuid.uuid4().hex[:6]}"
    sign_in(page, t, "employer@ponte.demo")
    page.goto("/employer/vacancies/new")
    page.get_by_label(t("Job title"), exact=True).fill(title)
    occupation = page.get_by_label(t("Occupation (ESCO)"), exact=True)
    occupation.press_sequentially("magazz", delay=30)
    # The picker fills the datalist from the API with Italian labels.
    options = page.locator("#occupation-list option")
    expect(options.first).to_have_attribute("value", re.compile(r"^magazz"))
    values = options.evaluate_all("(nodes) => nodes.map((n) => n.value)")
    assert "magazziniere/magazziniera" in values
    # Picking a suggestion puts its value in the field, as the browser's list does.
    occupation.fill("magazziniere/magazziniera")
    page.get_by_role("button", name=t("Suggest skills for the occupation")).click()
    required = page.get_by_role("group", name=t("Required skills"))
    expect(required.get_by_role("checkbox").first).to_be_checked()
    expect(occupation).to_have_value("magazziniere/magazziniera")
    expect(page.locator("#occupation-error")).to_have_count(0)
    skill = required.locator("label").first.inner_text().strip()
    page.get_by_label(t("Workplace municipality"), exact=True).fill("Pordenone (PN)")
    page.get_by_label(t("Contract type"), exact=True).select_option("fixed_term")
    page.get_by_label(t("Hours per week"), exact=True).fill("30")
    page.get_by_label(t("Pay from (EUR)"), exact=True).fill("1.350,50")
    axe(page)
    page.get_by_role("button", name=t("Save"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_text("magazziniere/magazziniera (ISCO 9333)")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text=skill).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"1\.350,50"))).to_be_visible()
