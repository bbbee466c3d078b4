"""Fixtures of the shop's tests: the Stripe fixture server, a configured app, and a private
PostgreSQL database for races (each racer a thread with its own connection and session,
not the test's rolled-back transaction; created, migrated and dropped here)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from portal.db import make_engine
from tests.conftest import make_test_app
from tests.ethical_products.stripe_server import FakeStripe, StripeFixtureServer

WEBHOOK_SECRET = "whsec_test_ponte"


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[FakeStripe]:
    with StripeFixtureServer() as state:
        yield state


@pytest.fixture
def fake_stripe(app, stripe_server: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> FakeStripe:
    """Stripe configured and pointed at the fixture server for one test."""
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_ponte")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", stripe_server.base_url)
    stripe_server.requests.clear()
    stripe_server.fail_paths.clear()
    stripe_server.idempotent.clear()
    return stripe_server


@pytest.fixture
def shop_uploads(app, tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(app.config, "SHOP_UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


#: Buyers in the widest race (one pooled connection each).
RACE_CONNECTIONS = 20


@pytest.fixture
def race_app(app, postgres_url, tmp_path):
    from portal.migrate import upgrade

    base = make_url(postgres_url)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    name = f"ponte_race_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(hide_password=False)
        race = make_test_app(url, tmp_path / "race")
        # One connection per buyer: a pool as large as the crowd.
        state = race.extensions["ponte_db"]
        state.engine.dispose()
        state.engine = make_engine(url, pool_size=RACE_CONNECTIONS + 2, max_overflow=0)
        state.sessionmaker = sessionmaker(bind=state.engine, expire_on_commit=False)
        with race.app_context():
            upgrade()
        yield race
        race.extensions["ponte_db"].engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
