"""Sessions end on the server: a copied cookie stops working after logout, a password or
two-factor change, or an administrator's deactivation (the user's session version)."""

from __future__ import annotations

import pyotp
import pytest

from portal import db
from portal.models import AuditLog
from tests.conftest import login
from tests.factories import PASSWORD, make_user


def sign_in(client, email, password=PASSWORD, remember=False):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.data[:500]
    return response


def cookie(client, name):
    return client.get_cookie(name, domain=client.application.config["SERVER_NAME"])


def copy_cookies(app, source):
    """A second browser holding the same cookies (a stolen or shared cookie)."""
    other = app.test_client()
    for name in ("session", "remember_token"):
        cookie = source.get_cookie(name, domain=app.config["SERVER_NAME"])
        if cookie is not None:
            other.set_cookie(name, cookie.value, domain=cookie.domain)
    return other


def opens_shop_manage(client) -> bool:
    return client.get("/shop/manage").status_code == 200


def test_a_cookie_copied_before_logout_no_longer_opens_the_shop(app, client, db_session):
    user = make_user("cooperative")
    sign_in(client, user.email)
    thief = copy_cookies(app, client)
    assert opens_shop_manage(thief)
    client.post("/logout")
    assert not opens_shop_manage(client)
    response = thief.get("/shop/manage")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout_ends_the_remember_cookie_too(app, client, db_session):
    user = make_user("cooperative")
    sign_in(client, user.email, remember=True)
    remember = cookie(client, "remember_token")
    assert remember is not None
    remembered = app.test_client()
    remembered.set_cookie("remember_token", remember.value, domain=remember.domain)
    assert opens_shop_manage(remembered)  # the remember cookie alone signs in
    client.post("/logout")
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember.value, domain=remember.domain)
    assert not opens_shop_manage(fresh)


def test_password_change_ends_other_sessions_and_keeps_this_one(app, client, db_session):
    user = make_user("cooperative")
    sign_in(client, user.email)
    other = copy_cookies(app, client)
    response = client.post(
        "/account",
        data={
            "password-current": PASSWORD,
            "password-password": "Nuova-Password-2026",
            "password-confirm": "Nuova-Password-2026",
            "password-submit": "y",
        },
    )
    assert response.status_code == 302
    assert opens_shop_manage(client)
    assert not opens_shop_manage(other)


def test_two_factor_change_ends_other_sessions(app, client, db_session):
    user = make_user("cooperative")
    sign_in(client, user.email)
    other = copy_cookies(app, client)
    client.get("/account/2fa")
    with client.session_transaction() as session:
        secret = session["totp_setup_secret"]
    response = client.post("/account/2fa", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert user.totp_enabled
    assert opens_shop_manage(client)
    assert not opens_shop_manage(other)


def test_admin_deactivation_ends_every_session(app, client, db_session):
    user = make_user("cooperative")
    sign_in(client, user.email)
    assert opens_shop_manage(client)
    admin = make_user("admin")
    admin_client = login(app.test_client(), admin)
    response = admin_client.post(f"/admin/users/{user.id}/active", data={"active": "0"})
    assert response.status_code == 302
    assert not user.active
    assert not opens_shop_manage(client)
    actions = {a for (a,) in db.session.query(AuditLog.action).filter_by(actor_id=admin.id)}
    assert "user.deactivate" in actions
    # Reactivated, the old cookie stays dead: the person signs in again.
    admin_client.post(f"/admin/users/{user.id}/active", data={"active": "1"})
    assert user.active
    assert not opens_shop_manage(client)
    sign_in(client, user.email)
    assert opens_shop_manage(client)


def test_an_admin_cannot_deactivate_themselves(app, client, db_session):
    admin = make_user("admin")
    login(client, admin)
    client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})
    assert admin.active


@pytest.mark.parametrize("cookie_id", ["1", "abc", "1.x", ""])
def test_malformed_session_identifiers_open_nothing(app, client, db_session, cookie_id):
    with client.session_transaction() as session:
        session["_user_id"] = cookie_id
    assert client.get("/account").status_code == 302
