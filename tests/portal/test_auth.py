from __future__ import annotations

import re

import pyotp
import pytest

from portal import db
from portal.db import utcnow
from portal.models import AuditLog, Organisation, User
from portal.settings import set_setting
from tests.conftest import login
from tests.factories import PASSWORD, make_user


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def test_login_and_logout_are_audited(client, db_session):
    user = make_user("employer")
    response = sign_in(client, user.email)
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    client.post("/logout")
    assert client.get("/account").status_code == 302
    actions = db.session.query(AuditLog.action).filter_by(actor_id=user.id).all()
    assert {a for (a,) in actions} >= {"login", "logout"}


def test_wrong_password_shows_error_next_to_the_field(client, db_session):
    user = make_user("buyer")
    response = sign_in(client, user.email, "wrong-password")
    assert response.status_code == 200
    assert b'id="password-error"' in response.data


def test_login_is_throttled_for_the_account_and_address_pair(app, client, db_session):
    user = make_user("buyer")
    for _ in range(5):
        sign_in(client, user.email, "wrong-password")
    response = sign_in(client, user.email)  # even the right password, from this address
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert b'id="email-error"' in response.data
    assert client.get("/account").status_code == 302
    assert db.session.query(AuditLog).filter_by(action="ratelimit.exceeded").count() >= 1


def test_failures_from_another_address_do_not_lock_the_owner_out(app, client, db_session):
    user = make_user("buyer")
    attacker = app.test_client()
    for _ in range(6):
        attacker.post(
            "/login",
            data={"email": user.email, "password": "guess"},
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        )
    assert (
        attacker.post(
            "/login",
            data={"email": user.email, "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        ).status_code
        == 429
    )
    assert sign_in(client, user.email).status_code == 302  # the owner, elsewhere, gets in


def test_account_lock_at_a_high_count_mails_an_unlock_link(app, client, db_session, monkeypatch):
    from portal.ratelimit import DEFAULT_LIMITS

    assert DEFAULT_LIMITS["login_account"][0] >= 10 * DEFAULT_LIMITS["login_pair"][0]
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_ACCOUNT", "12/900")  # quicker to reach
    user = make_user("buyer")
    for n in range(12):  # four addresses, three failures each: no pair is refused
        client.post(
            "/login",
            data={"email": user.email, "password": "guess"},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n % 4 + 1}"},
        )
    assert sign_in(client, user.email).status_code == 429  # from any address now
    outbox = app.extensions["mail_outbox"]
    assert len(outbox) == 1 and outbox[0]["To"] == user.email
    link = re.search(r"https?://\S+/login/unlock/\S+", outbox[0].get_content()).group(0)
    assert client.get(link.split("ponte.test", 1)[1]).status_code == 302
    assert sign_in(client, user.email).status_code == 302


def test_registration_creates_user_and_unverified_org(client, db_session):
    response = client.post(
        "/register",
        data={
            "full_name": "Ada Lovelace",
            "email": "ada@coop.it",
            "password": "Sicura-Password-1",
            "confirm": "Sicura-Password-1",
            "role": "cooperative",
            "org_name": "Coop Analitica",
            "comune": "Pordenone (PN)",
            "register_number": "A999999",
            "locale": "en",
            "privacy": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-6000:]
    user = db.session.query(User).filter_by(email="ada@coop.it").one()
    org = db.session.query(Organisation).filter_by(name="Coop Analitica").one()
    assert user.has_role("cooperative") and org.kind == "cooperative_b"
    assert org.comune_code == "093033" and not org.is_verified


def test_registration_errors_lose_nothing(client, db_session):
    response = client.post(
        "/register",
        data={
            "full_name": "X",
            "email": "x@x.it",
            "password": "short",
            "confirm": "other",
            "role": "broker",
            "org_name": "",
            "service_type": "",
            "comune": "Nowhere",
            "locale": "it",
        },
    )
    assert response.status_code == 200
    for field in ("password", "confirm", "org_name", "service_type", "comune", "privacy"):
        assert f'id="{field}-error"'.encode() in response.data, field
    assert db.session.query(User).filter_by(email="x@x.it").count() == 0


def test_password_reset_by_emailed_token(app, client, db_session):
    user = make_user("buyer")
    client.post("/password/forgot", data={"email": user.email})
    message = app.extensions["mail_outbox"][-1]
    link = re.search(r"http\S+", message.get_content()).group(0)
    path = link.split("ponte.test", 1)[1]
    response = client.post(
        path, data={"password": "Nuova-Password-2", "confirm": "Nuova-Password-2"}
    )
    assert response.status_code == 302
    assert sign_in(client, user.email, "Nuova-Password-2").status_code == 302
    # single use: the token dies with the old password
    assert client.get(path).status_code == 302


def test_reset_for_unknown_email_says_the_same(client, db_session):
    response = client.post(
        "/password/forgot", data={"email": "nobody@example.it"}, follow_redirects=True
    )
    assert response.status_code == 200


def test_two_factor_login(client, db_session):
    secret = pyotp.random_base32()
    user = make_user("broker", totp_secret=secret, totp_enabled=True)
    response = sign_in(client, user.email)
    assert response.headers["Location"].startswith("/login/2fa")
    assert client.get("/account").status_code == 302  # not signed in yet
    assert client.post("/login/2fa", data={"code": "000000"}).status_code == 200
    response = client.post("/login/2fa", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200


def test_a_totp_code_accepted_once_is_refused_the_second_time(app, client, db_session):
    secret = pyotp.random_base32()
    user = make_user("broker", totp_secret=secret, totp_enabled=True)
    code = pyotp.TOTP(secret).now()
    sign_in(client, user.email)
    assert client.post("/login/2fa", data={"code": code}).status_code == 302
    # Someone who saw the code signs in with the password within the same 30 seconds.
    other = app.test_client()
    sign_in(other, user.email)
    response = other.post("/login/2fa", data={"code": code})
    assert response.status_code == 200
    assert other.get("/account").status_code == 302  # not signed in


def test_an_older_code_is_refused_once_a_newer_one_was_used(db_session):
    from portal.accounts import accept_totp

    secret = pyotp.random_base32()
    user = make_user("broker", totp_secret=secret, totp_enabled=True)
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    assert accept_totp(user, totp.generate_otp(now))
    assert not accept_totp(user, totp.generate_otp(now - 1))  # still in the drift window
    assert not accept_totp(user, totp.generate_otp(now))


def test_admin_can_require_two_factor_for_brokers(client, db_session):
    set_setting("require_2fa_roles", ["broker"])
    broker = make_user("broker")
    login(client, broker)
    response = client.get("/directory/1")
    # public pages stay reachable; private ones send the broker to the set-up
    assert client.get("/account").headers["Location"].endswith("/account/2fa")
    page = client.get("/account/2fa")
    assert page.status_code == 200
    secret = re.search(rb'id="totp-secret">([A-Z2-7]+)<', page.data).group(1).decode()
    client.post("/account/2fa", data={"code": pyotp.TOTP(secret).now()})
    assert client.get("/account").status_code == 200
    assert response.status_code in (200, 302, 404)


def test_admin_verifies_an_organisation(client, db_session):
    admin = make_user("admin")
    coop = make_user("cooperative").organisations()[0]
    coop.verified_at = None
    db.session.flush()
    login(client, admin)
    response = client.post(f"/admin/organisations/{coop.id}/verify", data={"reason": "ok"})
    assert response.status_code == 302
    assert coop.is_verified
    entry = db.session.query(AuditLog).filter_by(action="organisation.verify").one()
    assert entry.object_id == str(coop.id) and entry.actor_id == admin.id


def test_cooperative_without_register_number_cannot_be_verified(client, db_session):
    admin = make_user("admin")
    coop = make_user("cooperative").organisations()[0]
    coop.verified_at = None
    coop.register_number = ""
    db.session.flush()
    login(client, admin)
    client.post(f"/admin/organisations/{coop.id}/verify", data={})
    assert not coop.is_verified


def test_member_edits_own_organisation_but_not_others(client, db_session):
    user = make_user("employer")
    other = make_user("employer")
    login(client, user)
    own = user.organisations()[0]
    response = client.post(
        f"/my/organisations/{own.id}/edit",
        data={"description": "Nuova descrizione", "comune": "060038"},
    )
    assert response.status_code == 302
    assert own.description == "Nuova descrizione" and own.comune_code == "060038"
    theirs = other.organisations()[0]
    assert client.post(f"/my/organisations/{theirs.id}/edit", data={}).status_code == 403


def test_audit_log_is_append_only(db_session):
    import pytest

    user = make_user("buyer")
    entry = AuditLog(actor_id=user.id, action="test")
    db.session.add(entry)
    db.session.flush()
    entry.action = "changed"
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    ("role", "area"),
    [
        ("admin", "/admin/"),
        ("employer", "/employer"),
        ("cooperative", "/tenders/supplier"),
        ("social_farm", "/shop/manage"),
        ("broker", "/brokerage/caseload"),
        ("public_officer", "/tenders/officer"),
        ("microcredit_officer", "/microcredit/"),
        ("buyer", "/shop/my-orders"),
    ],
)
def test_signing_in_lands_in_the_role_s_own_area(client, db_session, role, area):
    user = make_user(role)
    response = sign_in(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == area
    assert client.get(area).status_code == 200


def test_signing_in_follows_a_safe_next_and_not_an_open_redirect(client, db_session):
    user = make_user("employer")
    response = client.post(
        "/login?next=/vacancies", data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/vacancies"
    client.post("/logout")
    response = client.post(
        "/login?next=https://evil.example/", data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/employer"


def test_role_home_skips_a_disabled_module(app, db_session, monkeypatch):
    from portal.landing import role_home

    user = make_user("broker")
    with app.test_request_context():
        monkeypatch.delitem(app.view_functions, "brokerage.caseload")
        assert role_home(user) == "/"


def test_a_language_chosen_before_signing_in_is_kept_and_saved(client, db_session):
    user = make_user("employer", locale="it")
    client.get("/?lang=en")
    response = sign_in(client, user.email)
    assert response.status_code == 302
    assert user.locale == "en"
    assert '<html lang="en"' in client.get("/employer").get_data(as_text=True)
    client.post("/logout")
    # Next time, without choosing, the saved setting applies.
    sign_in(client, user.email)
    assert '<html lang="en"' in client.get("/employer").get_data(as_text=True)


def test_without_a_choice_the_profile_language_applies(client, db_session):
    user = make_user("employer", locale="en")
    client.get("/")  # no ?lang=
    sign_in(client, user.email)
    assert user.locale == "en"
    assert '<html lang="en"' in client.get("/employer").get_data(as_text=True)
