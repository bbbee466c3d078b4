"""Browsing the network directory."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import open_menu_entry

pytestmark = pytest.mark.browser


def test_filter_directory_by_kind_and_open_an_organisation(page, t):
    page.goto("/")
    open_menu_entry(page, t, "The network", "Network directory")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Network directory"))

    cards = page.get_by_role("main").get_by_role("heading", level=2).get_by_role("link")
    # Alphabetical, a page at a time: the demo's first organisation (companies such as
    # Mobilificio Friulano may be on a later page as the demo grows).
    expect(cards.filter(has_text="ASL Frosinone – Dipartimento 3D")).to_have_count(1)

    page.get_by_label(t("Kind"), exact=True).select_option(label=t("Social farm"))
    page.get_by_role("button", name=t("Apply filters")).click()

    expect(page).to_have_url(re.compile(r"kind=social_farm"))
    expect(page.get_by_label(t("Kind"), exact=True)).to_have_value("social_farm")
    # Only social farms are listed (the demo has two; domain packages may add more).
    items = (
        page.get_by_role("main")
        .get_by_role("listitem")
        .filter(has=page.get_by_role("heading", level=2))
    )
    expect(items.filter(has_text="Fattoria Sociale Il Melograno")).to_have_count(1)
    expect(items.filter(has_text="Fattoria Sociale Terre del Liri")).to_have_count(1)
    expect(items.filter(has_text="Mobilificio Friulano S.p.A.")).to_have_count(0)
    expect(items.filter(has_text="ASL Frosinone – Dipartimento 3D")).to_have_count(0)
    count = items.count()
    expect(items.filter(has_text=t("Social farm"))).to_have_count(count)
    expect(page.get_by_role("status")).to_have_text(re.compile(rf"^\s*{count}\b"))

    cards.filter(has_text="Fattoria Sociale Il Melograno").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fattoria Sociale Il Melograno")
    expect(page.get_by_role("main")).to_contain_text("Pordenone (PN)")
    breadcrumb = page.get_by_role("navigation", name=t("Breadcrumb"))
    breadcrumb.get_by_role("link", name=t("Network directory")).click()
    expect(page).to_have_url(re.compile(r"/directory$"))
