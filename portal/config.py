"""Configuration from environment variables (INTERFACES.md), with safe defaults.

``PONTE_ENV=production`` turns on the production rules: no generated secrets, cookies only
over HTTPS, and :func:`production_problems` lists every setting that is unsafe to serve
with (the app factory refuses to start on any of them, see ``portal.production``).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

DEVELOPMENT = "development"
PRODUCTION = "production"
#: The contact address Ponte ships with; a public body must publish its own.
PLACEHOLDER_CONTACT = "info@ponte.localhost"
#: How long "remember me" keeps a user signed in (REMEMBER_COOKIE_DAYS).
REMEMBER_COOKIE_DAYS = 14
#: HSTS lifetime in production (HSTS_MAX_AGE, seconds): one year.
HSTS_MAX_AGE = 31_536_000
#: How far this node's search index may be behind the outbox before /readyz says 503.
SEARCH_MAX_LAG = 600
#: Who may read /metrics (METRICS_ALLOW): addresses or networks, comma-separated.
METRICS_ALLOW = "127.0.0.1/8,::1/128"
ROOT = Path(__file__).resolve().parent.parent


def instance_path(config: dict[str, Any]) -> Path:
    """The instance folder: ``INSTANCE_PATH`` (popped from ``config``), else
    ``PONTE_INSTANCE_PATH``, else ``instance/`` in the checkout."""
    return Path(
        config.pop("INSTANCE_PATH", None)
        or os.environ.get("PONTE_INSTANCE_PATH")
        or ROOT / "instance"
    )


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else generated once and kept in ``instance/``."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    overrides = overrides or {}
    instance_path.mkdir(parents=True, exist_ok=True)
    env = os.environ.get
    config: dict[str, Any] = {
        "PONTE_ENV": (env("PONTE_ENV") or DEVELOPMENT).strip().lower(),
        "DATABASE_URL": env("DATABASE_URL") or f"sqlite:///{instance_path / 'ponte.db'}",
        "SEARCH_INDEX_DIR": env("SEARCH_INDEX_DIR") or str(instance_path / "search"),
        "DATA_ENCRYPTION_KEY": env("DATA_ENCRYPTION_KEY") or "",
        "STRIPE_SECRET_KEY": env("STRIPE_SECRET_KEY") or "",
        "STRIPE_WEBHOOK_SECRET": env("STRIPE_WEBHOOK_SECRET") or "",
        "STRIPE_API_BASE": env("STRIPE_API_BASE") or "",
        "MAIL_SERVER": env("MAIL_SERVER") or "",
        "MAIL_PORT": int(env("MAIL_PORT") or 25),
        "MAIL_FROM": env("MAIL_FROM") or "Ponte <noreply@ponte.localhost>",
        # Where people write to the portal's managers, and about accessibility barriers
        # (the AgID feedback mechanism of the accessibility statement).
        "CONTACT_EMAIL": env("CONTACT_EMAIL") or PLACEHOLDER_CONTACT,
        # The portal's own host name, for identifiers that must not depend on the address
        # a request came through (iCalendar UIDs): e.g. ponte.regione.example.it.
        "PONTE_CANONICAL_HOST": env("PONTE_CANONICAL_HOST") or "",
        # "1" when the Stripe keys must be live keys (production payments).
        "STRIPE_LIVE": env("STRIPE_LIVE") == "1",
        "BABEL_DEFAULT_LOCALE": "it",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Rome",
        "LANGUAGES": ("it", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Flask-Login's default is a year; two weeks, then the password (and 2FA) again.
        "REMEMBER_COOKIE_DURATION": timedelta(
            days=int(env("REMEMBER_COOKIE_DAYS") or REMEMBER_COOKIE_DAYS)
        ),
        # Trusted reverse proxies in front of the app (X-Forwarded-For/-Proto/-Host/-Port/
        # -Prefix): 0 = none, 1 = nginx on the same host, 2 = a load balancer and nginx.
        "PROXY_FIX": int(env("PROXY_FIX") or 0),
        "HSTS_MAX_AGE": int(env("HSTS_MAX_AGE") or HSTS_MAX_AGE),
        "HSTS_INCLUDE_SUBDOMAINS": env("HSTS_INCLUDE_SUBDOMAINS") == "1",
        "SEARCH_MAX_LAG": float(env("SEARCH_MAX_LAG") or SEARCH_MAX_LAG),
        "METRICS_ALLOW": env("METRICS_ALLOW") or METRICS_ALLOW,
        "WTF_CSRF_TIME_LIMIT": None,
        "PASSWORD_RESET_MAX_AGE": 3600,
        # Request bodies: the ceiling for every route (uploads declare their own, lower,
        # limit with portal.uploads.accepts_upload) and the limit of routes without files.
        "MAX_CONTENT_LENGTH": int(env("MAX_CONTENT_LENGTH") or 21 * 1024 * 1024),
        "MAX_FORM_BYTES": int(env("MAX_FORM_BYTES") or 1024 * 1024),
        "PER_PAGE": 20,
        # Public listings stop counting here and say "more than N" (portal.db.paginate).
        "LISTING_COUNT_LIMIT": 10_000,
        # L. 68/1999 quota, D.Lgs. 276/2003 art. 14 work-order conventions (regional
        # framework conventions set them): the yearly labour cost of one worker (EUR,
        # decimal string), the maximum share of the disabled quota a convention may cover,
        # and how far to look for type-B cooperatives (km).
        "L68_CONVENTION_COEFFICIENT": env("L68_CONVENTION_COEFFICIENT") or "30000.00",
        "L68_CONVENTION_MAX_SHARE": env("L68_CONVENTION_MAX_SHARE") or "0.30",
        "L68_COOPERATIVE_RADIUS_KM": 50,
        # Domain packages: each exposes init_app(app).
        "PONTE_MODULES": tuple(
            m.strip()
            for m in (
                env("PONTE_MODULES") or "employers,brokerage,microcredit,ethical_products"
            ).split(",")
            if m.strip()
        ),
        "LOG_JSON": env("LOG_JSON", "1") != "0",
    }
    config.update(overrides)
    config.setdefault(
        "ACCESSIBILITY_CONTACT", env("ACCESSIBILITY_CONTACT") or config["CONTACT_EMAIL"]
    )
    production = config["PONTE_ENV"] == PRODUCTION
    # In production the cookies travel only over HTTPS, and links are https:// ones.
    config.setdefault("SESSION_COOKIE_SECURE", production)
    config.setdefault("REMEMBER_COOKIE_SECURE", production)
    if production:
        config.setdefault("PREFERRED_URL_SCHEME", "https")
    if "SECRET_KEY" not in config:
        # Production never generates one: every node must share the operator's key.
        config["SECRET_KEY"] = (
            (env("SECRET_KEY") or "") if production else _secret_key(instance_path)
        )
    return config


def stripe_test_key(key: str) -> bool:
    return key.startswith(("sk_test_", "rk_test_"))


def production_problems(config: dict[str, Any]) -> tuple[list[str], list[str]]:
    """What makes ``config`` unsafe to serve in production: (problems, warnings).

    Empty lists in development; an unknown PONTE_ENV is a problem. Each entry names the
    variable to set.
    """
    environment = config.get("PONTE_ENV")
    if environment not in (DEVELOPMENT, PRODUCTION):
        # A typo ("prod") must not silently turn the production rules off.
        return [f"PONTE_ENV is {environment!r}: use production or development"], []
    if environment != PRODUCTION:
        return [], []
    problems: list[str] = []
    warnings: list[str] = []
    secret = config.get("SECRET_KEY") or ""
    if not secret:
        problems.append("SECRET_KEY is unset")
    elif len(secret) < 32:
        problems.append(f"SECRET_KEY is shorter than 32 characters ({len(secret)})")
    keys = config.get("DATA_ENCRYPTION_KEY") or ""
    if not keys:
        problems.append("DATA_ENCRYPTION_KEY is unset (no key is derived in production)")
    elif not _valid_fernet_keys(keys):
        problems.append("DATA_ENCRYPTION_KEY is not a comma-separated list of Fernet keys")
    if str(config.get("DATABASE_URL", "")).startswith("sqlite"):
        problems.append("DATABASE_URL is SQLite (production needs PostgreSQL)")
    if not config.get("MAIL_SERVER"):
        problems.append("MAIL_SERVER is unset")
    if (config.get("CONTACT_EMAIL") or PLACEHOLDER_CONTACT) == PLACEHOLDER_CONTACT:
        problems.append(f"CONTACT_EMAIL is the placeholder {PLACEHOLDER_CONTACT}")
    stripe_key = config.get("STRIPE_SECRET_KEY") or ""
    if config.get("STRIPE_LIVE"):
        if not stripe_key:
            problems.append("STRIPE_SECRET_KEY is unset while STRIPE_LIVE=1")
        elif stripe_test_key(stripe_key):
            problems.append("STRIPE_SECRET_KEY is a test key while STRIPE_LIVE=1")
        if not config.get("STRIPE_WEBHOOK_SECRET"):
            problems.append("STRIPE_WEBHOOK_SECRET is unset while STRIPE_LIVE=1")
    elif stripe_test_key(stripe_key):
        warnings.append(
            "STRIPE_SECRET_KEY is a test key: payments are not real (set STRIPE_LIVE=1 "
            "with live keys to take payments)"
        )
    return problems, warnings


def _valid_fernet_keys(keys: str) -> bool:
    from cryptography.fernet import Fernet

    try:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        for part in parts:
            Fernet(part.encode())
    except ValueError:
        return False
    return bool(parts)


def refusal_line(problems: list[str]) -> str:
    """The one line printed when production start-up is refused."""
    return (
        "Ponte refuses to start in production: " + "; ".join(problems) + ". See README, Production."
    )
