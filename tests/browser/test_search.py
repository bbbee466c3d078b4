"""Searching from the header box."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_header_search_finds_demo_organisations(page, t):
    page.goto("/")
    box = page.get_by_role("banner").get_by_role("searchbox", name=t("Search the portal"))
    box.fill("fattoria")
    box.press("Enter")

    expect(page).to_have_url(re.compile(r"/search\?(.*&)?q=fattoria"))
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Search the portal"))
    main = page.get_by_role("main")
    expect(main.get_by_role("searchbox")).to_have_value("fattoria")
    results = main.get_by_role("heading", level=2).get_by_role("link")
    expect(results.filter(has_text="Fattoria Sociale Il Melograno")).to_have_count(1)
    expect(results.filter(has_text="Fattoria Sociale Terre del Liri")).to_have_count(1)

    # A second search from the page's own form, with the button.
    main.get_by_role("searchbox").fill("cooperativa")
    main.get_by_role("button", name=t("Search")).click()
    expect(page).to_have_url(re.compile(r"q=cooperativa"))
    expect(results.filter(has_text="Cooperativa Sociale La Fenice")).to_have_count(1)

    results.filter(has_text="Cooperativa Sociale La Fenice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cooperativa Sociale La Fenice")
