"""Fixtures of the shop's tests: the Stripe fixture server and a configured app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
