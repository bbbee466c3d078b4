"""Sign in with SPID in a real browser: the AgID button, the IdP chooser by keyboard, and a
round trip through spid-sp-test's IdP (its signed response to the browser's own
AuthnRequest), landing on the person's own area."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest
from markupsafe import escape
from playwright.sync_api import expect

from portal import db as ponte_db
from portal.models import User
from tests.browser.support import open_context
from tests.factories import make_user
from tests.spid_fixtures import TEST_IDP, idp_response, spid_app, spid_assets, spid_server

__all__ = ["spid_app", "spid_assets", "spid_server"]  # fixtures

pytestmark = pytest.mark.browser
FISCAL_CODE = "GDASDV00A01H501J"  # spid-sp-test's user (fiscalNumber TINIT-GDASDV00A01H501J)


@pytest.fixture
def spid_page(browser, spid_server):
    ctx = open_context(browser, spid_server)
    page = ctx.new_page()
    js_errors: list[str] = []
    page.on("pageerror", lambda error: js_errors.append(str(error)))
    yield page
    ctx.close()
    assert not js_errors, js_errors


@pytest.fixture
def spid_user(spid_app):
    with spid_app.app_context():
        user = make_user("buyer", email="spid.browser@example.it", fiscal_code=FISCAL_CODE)
        ponte_db.session.commit()
        yield user.id
        ponte_db.session.execute(
            User.__table__.update()
            .where(User.fiscal_code == FISCAL_CODE)
            .values(fiscal_code=None, email="spid.browser.old@example.it")
        )
        ponte_db.session.commit()


def test_spid_button_chooser_by_keyboard_and_round_trip(
    spid_page, spid_server, spid_assets, spid_user, axe
):
    page = spid_page
    page.goto("/login")
    button = page.locator("#spid-button")
    expect(button).to_have_text("Entra con SPID")
    expect(page.locator("#cie-button")).to_be_visible()
    axe(page)

    # The IdP answers the AuthnRequest with spid-sp-test's signed response.
    answer: dict[str, str] = {}

    def identity_provider(route):
        form = parse_qs(route.request.post_data or "")
        authn = (
            f'<html><body><form method="post" action="{escape(route.request.url)}">'
            f'<input type="hidden" name="SAMLRequest" value="{escape(form["SAMLRequest"][0])}">'
            f'<input type="hidden" name="RelayState" value="{escape(form["RelayState"][0])}">'
            "</form></body></html>"
        )
        answer["SAMLResponse"] = idp_response(
            f"{spid_server}/spid/metadata", authn, spid_assets.folder
        )
        route.fulfill(
            content_type="text/html",
            body='<html lang="it"><head><title>IdP di test</title></head><body><main>'
            "<h1>IdP di test</h1></main></body></html>",
        )

    page.route(f"{TEST_IDP}/**", identity_provider)

    # Keyboard only: focus the button, open the chooser, move to the IdP, choose it.
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    chosen = page.locator("#spid-idp-list a.spid-idp").first
    expect(chosen).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="IdP di test")).to_be_visible(timeout=90_000)
    # The IdP posts its answer back to the ACS. Chromium stops a form posted from an https
    # page to an http one with a warning page, so the context's own request client (same
    # cookies as the page) posts it, and the page follows the ACS's redirect.
    acs = page.request.post(
        f"{spid_server}/spid/acs",
        form={"SAMLResponse": answer["SAMLResponse"], "RelayState": "spid"},
        max_redirects=0,
    )
    assert acs.status == 302, acs.text()[:500]
    page.goto(acs.headers["location"])
    # Signed in, on the buyer's own area (the catalogue), not on the login page.
    expect(page).not_to_have_url(re.compile(r"/(login|spid/acs)"))
    expect(
        page.locator("header.it-header-wrapper").get_by_role("button", name="Esci")
    ).to_be_visible()
    expect(page).to_have_url(re.compile(r"/shop"))
