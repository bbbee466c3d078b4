"""PONTE_ENV=production: unsafe configuration is refused at start-up, naming every
problem on one line; cookies are Secure, HttpOnly and SameSite=Lax; links are https;
HSTS; the reverse proxy is trusted for exactly PROXY_FIX hops."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from cryptography.fernet import Fernet

from portal import create_app
from portal.migrate import upgrade
from portal.production import UnsafeConfiguration
from tests.factories import PASSWORD, make_user

SAFE = {
    "PONTE_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "MAIL_SERVER": "smtp.asl.example.it",
    "CONTACT_EMAIL": "portale@asl.example.it",
    "LOG_JSON": False,
}


@pytest.fixture(scope="module")
def production_url(postgres_database) -> str:  # type: ignore[no-untyped-def]
    return postgres_database("ponte_production")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "PONTE_ENV",
        "SECRET_KEY",
        "DATA_ENCRYPTION_KEY",
        "DATABASE_URL",
        "MAIL_SERVER",
        "CONTACT_EMAIL",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_LIVE",
        "PROXY_FIX",
    ):
        monkeypatch.delenv(name, raising=False)


def start(tmp_path, **config: object):  # type: ignore[no-untyped-def]
    return create_app({"INSTANCE_PATH": str(tmp_path / "instance"), **config})


def refusal(tmp_path, **config: object) -> UnsafeConfiguration:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsafeConfiguration) as caught:
        start(tmp_path, **config)
    error = caught.value
    assert isinstance(error, SystemExit)
    message = str(error.code)
    assert "\n" not in message and message.startswith("Ponte refuses to start")
    return error


def test_every_problem_is_named_at_once(tmp_path):
    error = refusal(tmp_path, PONTE_ENV="production")
    message = str(error.code)
    for name in ("SECRET_KEY", "DATA_ENCRYPTION_KEY", "DATABASE_URL", "MAIL_SERVER"):
        assert name in message
    assert "CONTACT_EMAIL is the placeholder" in message
    assert len(error.problems) == 5
    # Nothing was generated to paper over the missing key.
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_environment_variables_are_what_is_checked(tmp_path, monkeypatch, production_url):
    monkeypatch.setenv("PONTE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "short")
    error = refusal(
        tmp_path,
        **{k: v for k, v in SAFE.items() if k != "SECRET_KEY"},
        DATABASE_URL=production_url,
    )
    assert error.problems == ["SECRET_KEY is shorter than 32 characters (5)"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is unset"),
        ({"DATA_ENCRYPTION_KEY": ""}, "DATA_ENCRYPTION_KEY is unset"),
        ({"DATA_ENCRYPTION_KEY": "not-a-key"}, "DATA_ENCRYPTION_KEY is not"),
        ({"DATABASE_URL": "sqlite:///ponte.db"}, "DATABASE_URL is SQLite"),
        ({"MAIL_SERVER": ""}, "MAIL_SERVER is unset"),
        ({"CONTACT_EMAIL": "info@ponte.localhost"}, "CONTACT_EMAIL is the placeholder"),
        (
            {"STRIPE_LIVE": True, "STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_WEBHOOK_SECRET": "w"},
            "STRIPE_SECRET_KEY is a test key while STRIPE_LIVE=1",
        ),
        (
            {"STRIPE_LIVE": True, "STRIPE_WEBHOOK_SECRET": "whsec_x"},
            "STRIPE_SECRET_KEY is unset while STRIPE_LIVE=1",
        ),
        (
            {"STRIPE_LIVE": True, "STRIPE_SECRET_KEY": "sk_live_x"},
            "STRIPE_WEBHOOK_SECRET is unset while STRIPE_LIVE=1",
        ),
    ],
)
def test_each_rule_refuses(tmp_path, production_url, change, problem):
    error = refusal(tmp_path, **{**SAFE, "DATABASE_URL": production_url, **change})
    assert len(error.problems) == 1
    assert error.problems[0].startswith(problem)


def test_stripe_test_keys_only_warn_without_stripe_live(tmp_path, production_url, capsys):
    app = start(tmp_path, **SAFE, DATABASE_URL=production_url, STRIPE_SECRET_KEY="sk_test_abc")
    assert app.config["STRIPE_LIVE"] is False
    assert "configuration: STRIPE_SECRET_KEY is a test key" in capsys.readouterr().err


def test_live_keys_with_stripe_live_start(tmp_path, production_url):
    app = start(
        tmp_path,
        **SAFE,
        DATABASE_URL=production_url,
        STRIPE_LIVE=True,
        STRIPE_SECRET_KEY="sk_live_abc",
        STRIPE_WEBHOOK_SECRET="whsec_abc",
    )
    assert app.config["PONTE_ENV"] == "production"


def test_an_unknown_environment_is_refused(tmp_path):
    error = refusal(tmp_path, PONTE_ENV="prod", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    assert error.problems == ["PONTE_ENV is 'prod': use production or development"]


def test_development_is_unchanged(tmp_path):
    app = start(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'dev.db'}")
    assert app.config["PONTE_ENV"] == "development"
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert (tmp_path / "instance" / "secret_key").exists()
    response = app.test_client().get("/robots.txt")
    assert "Strict-Transport-Security" not in response.headers


@pytest.fixture(scope="module")
def production_app(production_url, tmp_path_factory):  # type: ignore[no-untyped-def]
    instance = tmp_path_factory.mktemp("production-instance")
    app = create_app(
        {
            **SAFE,
            "DATABASE_URL": production_url,
            "INSTANCE_PATH": str(instance),
            "WTF_CSRF_ENABLED": False,
            "PROXY_FIX": 1,
        }
    )
    with app.app_context():
        upgrade()
        from portal import db

        make_user("buyer", email="buyer.production@example.it")
        db.session.commit()
    return app


def cookie_header(response, name: str) -> str:  # type: ignore[no-untyped-def]
    found = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert found, f"no {name} cookie in {response.headers.getlist('Set-Cookie')}"
    return found[0]


def test_session_and_remember_cookies_are_secure(production_app):
    client = production_app.test_client()
    response = client.post(
        "/login",
        data={"email": "buyer.production@example.it", "password": PASSWORD, "remember": "y"},
        base_url="https://ponte.example.it",
    )
    assert response.status_code == 302
    for name in ("session", "remember_token"):
        header = cookie_header(response, name)
        assert "; Secure" in header
        assert "; HttpOnly" in header
        assert "; SameSite=Lax" in header
    remember = cookie_header(response, "remember_token")
    assert production_app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)
    expires = re.search(r"Expires=([^;]+)", remember).group(1)  # type: ignore[union-attr]
    lifetime = parsedate_to_datetime(expires) - datetime.now(UTC)
    assert timedelta(days=13, hours=23) < lifetime <= timedelta(days=14)


def test_hsts_and_https_links(production_app):
    client = production_app.test_client()
    response = client.get("/robots.txt", base_url="https://ponte.example.it")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert production_app.config["PREFERRED_URL_SCHEME"] == "https"
    with production_app.test_request_context():
        from flask import url_for

        assert url_for("portal.home", _external=True).startswith("https://")


def test_proxy_fix_trusts_the_declared_hop(production_app):
    """With PROXY_FIX=1 the scheme, host and client address come from nginx's headers."""
    client = production_app.test_client()
    response = client.get(
        "/api/v1/openapi.json",
        base_url="http://127.0.0.1:5000",
        headers={
            "X-Forwarded-For": "203.0.113.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "lavoro.comune.example.it",
        },
    )
    assert response.status_code == 200
    assert response.json["servers"] == [{"url": "https://lavoro.comune.example.it"}]
    environ: dict[str, object] = {}

    def capture(env, start_response):  # type: ignore[no-untyped-def]
        environ.update(env)
        start_response("204 No Content", [])
        return [b""]

    from werkzeug.test import EnvironBuilder

    fix = production_app.wsgi_app
    inner = fix.app
    fix.app = capture
    try:
        env = EnvironBuilder(
            path="/", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
        ).get_environ()
        env["REMOTE_ADDR"] = "127.0.0.1"
        fix(env, lambda *a: None)
    finally:
        fix.app = inner
    # Only the address nginx added is believed, not the one the client put in front.
    assert environ["REMOTE_ADDR"] == "203.0.113.7"
