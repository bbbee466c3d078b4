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


def open_menu_entry(page: Any, t: Any, group: str | None, entry: str) -> None:
    """Follow a main-menu entry, opening its drop-down (``group``) first, as a person would."""
    nav = page.get_by_role("navigation", name=t("Main menu"))
    if group is not None:
        toggle = nav.get_by_role("button", name=t(group), exact=True)
        toggle.click()
        from playwright.sync_api import expect

        expect(toggle).to_have_attribute("aria-expanded", "true")
    nav.get_by_role("link", name=t(entry), exact=True).click()


DEMO_PASSWORD = "Ponte-demo-2026"


def sign_in(page: Any, t: Any, email: str, lang: str = "it") -> None:
    """Sign in through the real form as a demo user (the form's first field has focus)."""
    from playwright.sync_api import expect

    page.goto("/login" + ("?lang=en" if lang == "en" else ""))
    field = page.get_by_label(t("E-mail", lang), exact=True)
    expect(field).to_be_focused()
    page.keyboard.type(email)
    page.get_by_label(t("Password", lang), exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=t("Sign in", lang)).click()


#: Reports every Content-Security-Policy violation on the page to the console, where the
#: fixtures collect it (Chromium also logs its own "Refused to …" message).
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " +
                (event.blockedURI || "inline") + " at " + event.sourceFile + ":" +
                event.lineNumber);
});
"""


def watch_csp(page: Any, sink: list[str]) -> None:
    """Collect the page's Content-Security-Policy violations in ``sink``."""
    page.add_init_script(CSP_WATCH)

    def on_console(message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or text.startswith("CSP violation"):
            sink.append(f"{page.url}: {text}")

    page.on("console", on_console)
