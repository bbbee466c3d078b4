"""Browser set-up shared by the fixtures and by test modules that need their own context."""

from __future__ import annotations

from typing import Any

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def open_context(browser: Any, base_url: str) -> Any:
    """A browser context as an Italian visitor on a desktop screen would have it.

    Reduced motion turns off Bootstrap's ``scroll-behavior: smooth``: with smooth scrolling
    a click computed while the page is still gliding lands beside its target, which made
    forced clicks on Bootstrap Italia's checkboxes (drawn by their labels) flaky.
    """
    ctx = browser.new_context(
        reduced_motion="reduce",
        base_url=base_url,
        locale="it-IT",
        timezone_id="Europe/Rome",
        viewport={"width": 1280, "height": 900},
    )
    ctx.set_default_timeout(10_000)
    return ctx
