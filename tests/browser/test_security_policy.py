"""The Content-Security-Policy is on in the browser tests, and the fixtures see violations."""

from __future__ import annotations

from tests.browser.support import watch_csp


def test_an_injected_inline_script_is_refused_and_reported(context, live_server):
    page = context.new_page()
    seen: list[str] = []
    watch_csp(page, seen)
    page.goto("/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.ponteInjected = true";
            document.body.appendChild(script);
        }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.ponteInjected === undefined")
    assert seen, "the violation was not reported"
    assert any("script-src" in line for line in seen)
    page.close()


def test_pages_cannot_be_framed(page, live_server):
    response = page.goto("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
