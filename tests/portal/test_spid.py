"""SPID and CIE sign-in, checked by AgID's own validator (spid-sp-test) against a running
Ponte, and the rules around it: replay, another SP's request, two nodes, accounts."""

from __future__ import annotations

import base64
import re
from urllib.parse import urljoin

import pytest
import requests
from sqlalchemy import select

from portal import db as ponte_db
from portal.models import AuditLog, User
from portal.spid.models import SpidRequest
from tests.conftest import login
from tests.factories import make_user
from tests.spid_fixtures import (
    TEST_IDP,
    idp_response,
    live_server,
    make_spid_app,
    postgres_database,
    run_spid_sp_test,
    spid_app,
    spid_assets,
    spid_server,
    start_login,
)

__all__ = ["spid_app", "spid_assets", "spid_server"]  # fixtures used below

pytestmark = pytest.mark.slow
SUMMARY = re.compile(r"executed (\d+) tests, (\d+) failed")


def _validate(*args: str) -> str:
    result = run_spid_sp_test(*args, "--debug", "ERROR")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    summaries = SUMMARY.findall(output)
    assert summaries and all(failed == "0" for _, failed in summaries), output[-4000:]
    return output


def test_spid_metadata_authn_request_and_every_response_pass_agid_validator(spid_server):
    output = _validate(
        "--metadata-url",
        f"{spid_server}/spid/metadata",
        "--authn-url",
        f"{spid_server}/spid/login?idp={TEST_IDP}",
        "--extra",
        "--profile",
        "spid-sp-public",
        "-tr",
    )
    executed = sum(int(n) for n, _ in SUMMARY.findall(output))
    assert executed > 200  # metadata, AuthnRequest and the ~110 response cases


def test_cie_metadata_and_authn_request_pass_agid_validator(spid_server):
    _validate(
        "--metadata-url",
        f"{spid_server}/cie/metadata",
        "--authn-url",
        f"{spid_server}/cie/login?idp={TEST_IDP}",
        "--extra",
        "--profile",
        "cie-sp-public",
    )


def test_metadata_is_signed_and_asks_for_the_portal_attributes(spid_server):
    xml = requests.get(f"{spid_server}/spid/metadata", timeout=30).text
    assert "<ds:Signature" in xml and 'AuthnRequestsSigned="true"' in xml
    for name in ("fiscalNumber", "name", "familyName", "email"):
        assert f'Name="{name}"' in xml
    assert "<spid:IPACode>ponte_pa</spid:IPACode>" in xml and "<spid:Public" in xml


def test_authn_request_is_stored_with_level_and_force_authn(spid_server, spid_app):
    html = start_login(requests.Session(), spid_server)
    encoded = re.search(r'name="SAMLRequest" value="([^"]+)"', html).group(1)
    xml = base64.b64decode(encoded).decode()
    request_id = re.search(r' ID="([^"]+)"', xml).group(1)
    assert 'ForceAuthn="true"' in xml and "SpidL2" in xml and "<ds:Signature" in xml
    with spid_app.app_context():
        stored = ponte_db.session.get(SpidRequest, request_id)
        assert stored is not None and stored.level == 2 and stored.used_at is None


def test_a_response_is_accepted_once_and_refused_the_second_time(spid_server, spid_assets):
    session = requests.Session()
    html = start_login(session, spid_server)
    response = idp_response(f"{spid_server}/spid/metadata", html, spid_assets.folder)
    first = session.post(
        f"{spid_server}/spid/acs",
        data={"SAMLResponse": response},
        allow_redirects=False,
        timeout=60,
    )
    assert first.status_code == 302 and first.headers["Location"].endswith("/spid/register")
    replay = requests.post(
        f"{spid_server}/spid/acs",
        data={"SAMLResponse": response},
        allow_redirects=False,
        timeout=60,
    )
    assert replay.status_code == 403
    assert "Sign-in not completed" in replay.text or "Accesso non completato" in replay.text


def test_a_response_to_another_sps_request_is_refused(spid_server, spid_assets, tmp_path_factory):
    """Another Ponte (its own entityID and database) issues the request; the IdP's answer
    to it is posted to this SP, which never issued that request."""
    other_instance = tmp_path_factory.mktemp("other-sp")
    port = int(spid_assets.entity_id.rsplit(":", 1)[1]) + 1
    other = make_spid_app(
        f"sqlite:///{other_instance / 'ponte.db'}",
        other_instance,
        spid_assets,
        SPID_SP_ENTITY_ID=f"http://127.0.0.1:{port}",
    )
    with live_server(other, port) as other_url:
        html = start_login(requests.Session(), other_url)
        response = idp_response(f"{other_url}/spid/metadata", html, spid_assets.folder)
    refused = requests.post(
        f"{spid_server}/spid/acs",
        data={"SAMLResponse": response},
        allow_redirects=False,
        timeout=60,
    )
    assert refused.status_code == 403


@pytest.mark.parametrize("code", ["104", "105", "106", "107", "108", "111"])
def test_anomaly_codes_show_agid_message(spid_server, spid_assets, code):
    """spid-sp-test's cases 104-111 carry the anomalies 19, 20, 21, 22, 23 and 25."""
    session = requests.Session()
    html = start_login(session, spid_server)
    response = idp_response(f"{spid_server}/spid/metadata", html, spid_assets.folder, code)
    page = session.post(
        f"{spid_server}/spid/acs",
        data={"SAMLResponse": response},
        headers={"Accept-Language": "it"},
        timeout=60,
    )
    assert page.status_code == 403
    assert re.search(r"codice di errore (19|20|21|22|23|25)", page.text), page.text[-1500:]


def test_two_nodes_on_one_postgresql_complete_each_others_requests(
    spid_assets, postgres_url, tmp_path_factory
):
    """Node A issues the AuthnRequest, the IdP's answer reaches node B (same public URL and
    database, as behind a load balancer): B accepts it, and neither accepts it again."""
    port_a = int(spid_assets.entity_id.rsplit(":", 1)[1]) + 2
    port_b = port_a + 1
    public = f"http://127.0.0.1:{port_a}"
    with postgres_database(postgres_url) as url:
        nodes = [
            make_spid_app(
                url, tmp_path_factory.mktemp(f"node-{n}"), spid_assets, SPID_SP_ENTITY_ID=public
            )
            for n in "ab"
        ]
        with live_server(nodes[0], port_a) as node_a, live_server(nodes[1], port_b) as node_b:
            browser = requests.Session()
            html = start_login(browser, node_a)
            response = idp_response(f"{node_a}/spid/metadata", html, spid_assets.folder)
            done = browser.post(
                f"{node_b}/spid/acs",
                data={"SAMLResponse": response},
                allow_redirects=False,
                timeout=60,
            )
            assert done.status_code == 302, done.text[-1000:]
            assert done.headers["Location"].endswith("/spid/register")
            again = requests.post(
                f"{node_a}/spid/acs",
                data={"SAMLResponse": response},
                allow_redirects=False,
                timeout=60,
            )
            assert again.status_code == 403
        for node in nodes:
            node.extensions["ponte_db"].engine.dispose()


def test_known_fiscal_code_signs_in_and_unknown_registers_without_password(
    spid_server, spid_app, spid_assets
):
    # spid-sp-test's user: fiscalNumber TINIT-GDASDV00A01H501J.
    session = requests.Session()
    html = start_login(session, spid_server)
    response = idp_response(f"{spid_server}/spid/metadata", html, spid_assets.folder)
    page = session.post(f"{spid_server}/spid/acs", data={"SAMLResponse": response})
    assert page.status_code == 200 and "GDASDV00A01H501J" in page.text
    assert 'value="SpidValidator AgID"' in page.text  # prefilled from the attributes
    assert 'name="password"' not in page.text
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    form = {
        "full_name": "SpidValidator AgID",
        "email": "spid.validator@example.it",
        "role": "buyer",
        "locale": "it",
        "privacy": "y",
        **({"csrf_token": csrf.group(1)} if csrf else {}),
    }
    created = session.post(f"{spid_server}/spid/register", data=form, allow_redirects=False)
    assert created.status_code == 302, created.text[-1500:]
    with spid_app.app_context():
        user = ponte_db.session.execute(
            select(User).where(User.fiscal_code == "GDASDV00A01H501J")
        ).scalar_one()
        assert user.password_hash == "" and user.email == "spid.validator@example.it"
        entries = (
            ponte_db.session.execute(select(AuditLog).where(AuditLog.action == "spid.login"))
            .scalars()
            .all()
        )
        assert any(e.details.get("outcome") == "signed_in" for e in entries)
        assert all("GDASDV00A01H501J" not in str(e.details) for e in entries)
    # Next time the same person signs straight in.
    again = requests.Session()
    html = start_login(again, spid_server)
    response = idp_response(f"{spid_server}/spid/metadata", html, spid_assets.folder)
    signed_in = again.post(
        f"{spid_server}/spid/acs",
        data={"SAMLResponse": response},
        allow_redirects=False,
        timeout=60,
    )
    assert signed_in.status_code == 302 and "/spid/register" not in signed_in.headers["Location"]
    with spid_app.app_context():
        ponte_db.session.execute(
            User.__table__.update()
            .where(User.fiscal_code == "GDASDV00A01H501J")
            .values(fiscal_code=None, email="spid.validator.old@example.it")
        )
        ponte_db.session.commit()


# --- In-process checks on a SPID-configured app ------------------------------------------


@pytest.fixture
def spid_client(spid_app):
    from tests.conftest import PonteClient

    spid_app.test_client_class = PonteClient
    with spid_app.app_context():
        yield spid_app.test_client()
        ponte_db.session.rollback()
        ponte_db.session.remove()


def test_login_page_offers_spid_and_cie_above_the_password(spid_client):
    page = spid_client.get("/login").get_data(as_text=True)
    assert page.index('id="spid-button"') < page.index('name="password"')
    assert 'id="cie-button"' in page and 'aria-controls="spid-idp-list"' in page
    assert "/spid/login?idp=https" in page
    assert "<script>" not in page.replace("<script src", "")


def test_login_page_without_spid_has_no_buttons(client):
    page = client.get("/login").get_data(as_text=True)
    assert "spid-button" not in page and client.get("/spid/metadata").status_code == 404


def test_unknown_idp_is_404(spid_client):
    assert spid_client.get("/spid/login?idp=https://evil.example").status_code == 404


def test_garbage_response_is_refused_not_500(spid_client):
    assert spid_client.post("/spid/acs", data={"SAMLResponse": "bm9wZQ=="}).status_code == 400
    assert spid_client.post("/spid/acs", data={}).status_code == 400


def test_required_roles_refuse_password_login(spid_assets, tmp_path_factory):
    instance = tmp_path_factory.mktemp("spid-required")
    app = make_spid_app(
        f"sqlite:///{instance / 'ponte.db'}", instance, spid_assets, SPID_REQUIRED_ROLES="broker"
    )
    with app.app_context():
        make_user("broker", email="broker.spid@example.it", password="Correct-horse-9")
        ponte_db.session.commit()
        response = app.test_client().post(
            "/login", data={"email": "broker.spid@example.it", "password": "Correct-horse-9"}
        )
        assert response.status_code == 403
        assert "SPID" in response.get_data(as_text=True)


def test_unlink_needs_another_way_to_sign_in(spid_client, spid_app):
    user = make_user("buyer", email="linked@example.it")
    user.fiscal_code = "RSSMRA80A01H501U"
    user.password_hash = ""
    ponte_db.session.commit()
    login(spid_client, user)
    spid_client.post("/spid/unlink", data={})
    assert ponte_db.session.get(User, user.id).fiscal_code == "RSSMRA80A01H501U"
    user.set_password("Correct-horse-9")
    ponte_db.session.commit()
    page = spid_client.get("/account").get_data(as_text=True)
    assert "RSSMRA80A01H501U" in page
    spid_client.post("/spid/unlink", data={})
    ponte_db.session.refresh(user)
    assert user.fiscal_code is None


def test_signed_in_user_links_spid_and_only_that_browser_completes_it(
    spid_server, spid_app, spid_assets
):
    with spid_app.app_context():
        make_user("employer", email="link.me@example.it", password="Correct-horse-9")
        ponte_db.session.commit()
    browser = requests.Session()
    signed_in = browser.post(
        f"{spid_server}/login",
        data={"email": "link.me@example.it", "password": "Correct-horse-9"},
        allow_redirects=False,
        timeout=60,
    )
    assert signed_in.status_code == 302
    form = browser.get(f"{spid_server}/spid/link", params={"idp": TEST_IDP}, timeout=60).text
    response = idp_response(f"{spid_server}/spid/metadata", form, spid_assets.folder)
    # The IdP's cross-site POST carries no session cookie: the ACS only records the identity.
    acs = requests.post(
        f"{spid_server}/spid/acs",
        data={"SAMLResponse": response},
        allow_redirects=False,
        timeout=60,
    )
    assert acs.status_code == 302 and "/spid/link/" in acs.headers["Location"]
    complete = urljoin(spid_server, acs.headers["Location"])
    stranger = requests.get(complete, allow_redirects=False, timeout=60)
    assert stranger.status_code == 302 and "/login" in stranger.headers["Location"]
    account = browser.get(complete, timeout=60)
    assert account.status_code == 200 and "GDASDV00A01H501J" in account.text
    with spid_app.app_context():
        user = ponte_db.session.execute(
            select(User).where(User.email == "link.me@example.it")
        ).scalar_one()
        assert user.fiscal_code == "GDASDV00A01H501J"
        actions = ponte_db.session.execute(
            select(AuditLog.action).where(AuditLog.object_id == str(user.id))
        ).scalars()
        assert "spid.link" in set(actions)
    # Unlinking works because a password remains.
    browser.post(f"{spid_server}/spid/unlink", data={}, timeout=60)
    with spid_app.app_context():
        ponte_db.session.expire_all()
        assert ponte_db.session.get(User, user.id).fiscal_code is None


def test_signing_out_after_spid_sends_a_signed_logout_request_to_the_idp(
    spid_server, spid_app, spid_assets
):
    with spid_app.app_context():
        make_user("buyer", email="slo@example.it", fiscal_code="GDASDV00A01H501J")
        ponte_db.session.commit()
    try:
        browser = requests.Session()
        html = start_login(browser, spid_server)
        response = idp_response(f"{spid_server}/spid/metadata", html, spid_assets.folder)
        signed_in = browser.post(
            f"{spid_server}/spid/acs",
            data={"SAMLResponse": response},
            allow_redirects=False,
            timeout=60,
        )
        assert signed_in.status_code == 302
        page = browser.post(f"{spid_server}/logout", allow_redirects=False, timeout=60)
        assert page.status_code == 200
        assert 'action="https://localhost:8443/samlsso"' in page.text
        encoded = re.search(r'name="SAMLRequest" value="([^"]+)"', page.text).group(1)
        xml = base64.b64decode(encoded).decode()
        assert "LogoutRequest" in xml and "<ds:Signature" in xml and "NameQualifier" in xml
        assert (
            browser.get(f"{spid_server}/account", allow_redirects=False, timeout=60).status_code
            == 302
        )
        back = browser.post(
            f"{spid_server}/spid/slo",
            data={"SAMLResponse": "PGxvZ291dC8+"},
            allow_redirects=False,
            timeout=60,
        )
        assert back.status_code == 302
        forged = requests.post(
            f"{spid_server}/spid/slo", data={"SAMLRequest": "bm9wZQ=="}, timeout=60
        )
        assert forged.status_code == 400
    finally:
        with spid_app.app_context():
            ponte_db.session.execute(
                User.__table__.update()
                .where(User.fiscal_code == "GDASDV00A01H501J")
                .values(fiscal_code=None, email="slo.old@example.it")
            )
            ponte_db.session.commit()


def test_staff_signing_in_at_level_1_are_refused(spid_assets, tmp_path_factory):
    """With SPID_LEVEL_DEFAULT=1 the IdP is asked for level 1; a broker answered at level 1
    is still refused (special-category data needs level 2), a buyer is let in."""
    instance = tmp_path_factory.mktemp("spid-level-1")
    port = int(spid_assets.entity_id.rsplit(":", 1)[1]) + 4
    app = make_spid_app(
        f"sqlite:///{instance / 'ponte.db'}",
        instance,
        spid_assets,
        SPID_SP_ENTITY_ID=f"http://127.0.0.1:{port}",
        SPID_LEVEL_DEFAULT="1",
    )
    with app.app_context():
        broker = make_user("broker", email="broker.l1@example.it", fiscal_code="GDASDV00A01H501J")
        ponte_db.session.commit()
        broker_id = broker.id
    with live_server(app, port) as base:
        browser = requests.Session()
        html = start_login(browser, base)
        assert (
            "SpidL1"
            in __import__("base64")
            .b64decode(re.search(r'name="SAMLRequest" value="([^"]+)"', html).group(1))
            .decode()
        )
        response = idp_response(f"{base}/spid/metadata", html, spid_assets.folder)
        refused = browser.post(
            f"{base}/spid/acs", data={"SAMLResponse": response}, allow_redirects=False, timeout=60
        )
        assert refused.status_code == 403
        with app.app_context():
            ponte_db.session.get(User, broker_id).memberships[0].role = "buyer"
            ponte_db.session.commit()
        html = start_login(browser, base)
        response = idp_response(f"{base}/spid/metadata", html, spid_assets.folder)
        accepted = browser.post(
            f"{base}/spid/acs", data={"SAMLResponse": response}, allow_redirects=False, timeout=60
        )
        assert accepted.status_code == 302
    app.extensions["ponte_db"].engine.dispose()
