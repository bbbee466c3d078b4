"""Configuration from environment variables (INTERFACES.md), with safe defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


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
        "CONTACT_EMAIL": env("CONTACT_EMAIL") or "info@ponte.localhost",
        "BABEL_DEFAULT_LOCALE": "it",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Rome",
        "LANGUAGES": ("it", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
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
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = _secret_key(instance_path)
    return config
