"""The visible language switch in the header."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_language_switch_is_remembered(page, t):
    page.goto("/directory")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "it")

    switch = page.get_by_role("navigation", name=t("Language"))
    expect(switch.get_by_text("Italiano")).to_have_attribute("aria-current", "true")
    switch.get_by_role("link", name="English").click()

    # Back on the same page, now in English.
    expect(html).to_have_attribute("lang", "en")
    assert page.url.endswith("/directory")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Network directory", "en"))
    switch = page.get_by_role("navigation", name=t("Language", "en"))
    expect(switch.get_by_text("English")).to_have_attribute("aria-current", "true")

    # The choice is remembered on the next page.
    page.get_by_role("navigation", name=t("Main menu", "en")).get_by_role(
        "link", name=t("Home", "en"), exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        t("Work that includes: a network, not a favour", "en")
    )
    expect(html).to_have_attribute("lang", "en")

    # And it can be switched back.
    page.get_by_role("navigation", name=t("Language", "en")).get_by_role(
        "link", name="Italiano"
    ).click()
    expect(html).to_have_attribute("lang", "it")
