"""axe-core: no serious or critical WCAG 2.1 A/AA violation on the public pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import open_context

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def context(browser, live_server):
    """These tests only read pages: one context keeps the static files cached between them
    (the ``page`` fixture still starts each test without cookies)."""
    ctx = open_context(browser, live_server)
    yield ctx
    ctx.close()


PAGES = {
    "home": "/",
    "login": "/login",
    "register": "/register",
    "search": "/search?q=cooperativa",
    "directory": "/directory",
    "organisation": None,  # the demo organisation's detail page
    "privacy": "/privacy",
    "accessibility": "/accessibility",
    "not-found": "/no-such-page",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_serious_violations(page, axe, demo_org, name):
    path = PAGES[name] or demo_org["path"]
    reports = []
    for lang in ("it", "en"):
        page.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        if name == "search":
            # With results on the page, not just the empty form.
            expect(
                page.get_by_role("main").get_by_role("heading", level=2).get_by_role("link")
            ).not_to_have_count(0)
        reports.append(axe.scan(page))
    assert not any(reports), "\n\n".join(r for r in reports if r)


def test_skip_link_is_first_and_moves_focus_to_main(page, t):
    page.goto("/directory")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name=t("Skip to main content"))
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    expect(page.get_by_role("main")).to_be_focused()


FOCUS_INDICATOR = """() => {
    const el = document.activeElement;
    const s = getComputedStyle(el);
    const visible = (c) => c && !/rgba\\(.*,\\s*0\\)$/.test(c) && c !== "transparent";
    const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0
        && visible(s.outlineColor);
    const shadow = s.boxShadow !== "none" && /rgb\\(/.test(s.boxShadow);
    return {
        inHeader: !!el.closest("header"),
        name: (el.innerText || el.getAttribute("aria-label") || el.id || el.tagName).trim(),
        shown: outline || shadow,
    };
}"""


def test_header_controls_show_keyboard_focus(page):
    page.goto("/")
    page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
    page.keyboard.press("Tab")  # the skip link
    seen = []
    for _ in range(20):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_INDICATOR)
        if not focus["inHeader"]:
            break
        seen.append(focus)
    assert len(seen) >= 5, seen  # language, sign in, register, brand, search, menu
    hidden = [f["name"] for f in seen if not f["shown"]]
    assert not hidden, f"no visible focus indicator on: {hidden}"
