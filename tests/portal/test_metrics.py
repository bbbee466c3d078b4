"""/metrics (Prometheus text, METRICS_ALLOW only) and /readyz (database, migrations,
this node's search lag)."""

from __future__ import annotations

import re
from datetime import timedelta

import click
from prometheus_client.parser import text_string_to_metric_families

from portal import db, metrics, search
from portal.db import utcnow
from portal.search.models import SearchOutbox
from tests.factories import make_user


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_endpoint_and_status(client):
    before = value(
        scrape(client),
        "ponte_http_requests_total",
        endpoint="portal.robots",
        method="GET",
        status="200",
    )
    for _ in range(3):
        client.get("/robots.txt")
    client.get("/no-such-page")
    samples = scrape(client)
    assert (
        value(
            samples,
            "ponte_http_requests_total",
            endpoint="portal.robots",
            method="GET",
            status="200",
        )
        == before + 3
    )
    assert (
        value(
            samples, "ponte_http_requests_total", endpoint="unmatched", method="GET", status="404"
        )
        >= 1
    )
    assert (
        value(samples, "ponte_http_request_duration_seconds_count", endpoint="portal.robots") >= 3
    )
    # per endpoint, never per path (no series per object id)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'endpoint="/robots.txt"' not in text


def test_only_allowed_addresses_get_metrics(app, client):
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "forbidden"
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    original = app.extensions["ponte_metrics_allow"]
    app.extensions["ponte_metrics_allow"] = metrics.allowed_networks("10.1.0.0/16, 192.0.2.7")
    try:
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.4.2"}).status_code == 200
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
        assert client.get("/metrics").status_code == 403  # loopback is not in the list now
    finally:
        app.extensions["ponte_metrics_allow"] = original


def test_login_failures_and_throttling_are_counted(app, client):
    from portal import ratelimit

    user = make_user("buyer")
    allowed = ratelimit.limit("login_pair").count
    before = scrape(client)
    for _ in range(allowed + 1):
        client.post("/login", data={"email": user.email, "password": "wrong"})
    after = scrape(client)
    failures = value(after, "ponte_login_failures_total", stage="password") - value(
        before, "ponte_login_failures_total", stage="password"
    )
    assert failures == allowed
    assert (
        value(after, "ponte_rate_limit_hits_total", scope="login")
        == value(before, "ponte_rate_limit_hits_total", scope="login") + 1
    )


def test_api_for_other_code():
    """The functions other modules call: they count and never raise."""
    from prometheus_client import REGISTRY

    before = REGISTRY.get_sample_value("ponte_rate_limit_hits_total", {"scope": "search"}) or 0
    metrics.rate_limit_hit("search")
    metrics.login_failure("2fa")
    metrics.stripe_webhook("paid")
    assert REGISTRY.get_sample_value("ponte_rate_limit_hits_total", {"scope": "search"}) == (
        before + 1
    )
    assert REGISTRY.get_sample_value("ponte_stripe_webhook_events_total", {"outcome": "paid"})


def test_stripe_webhook_outcomes_are_counted(app, client):
    before = value(scrape(client), "ponte_stripe_webhook_events_total", outcome="bad_signature")
    original = app.config.get("STRIPE_WEBHOOK_SECRET")
    app.config["STRIPE_WEBHOOK_SECRET"] = "whsec_test_metrics"
    try:
        response = client.post(
            "/stripe/webhook",
            data=b'{"id": "evt_1", "type": "x", "data": {}}',
            headers={"Stripe-Signature": "t=1,v1=forged"},
            content_type="application/json",
        )
    finally:
        app.config["STRIPE_WEBHOOK_SECRET"] = original
    assert response.status_code == 401
    after = value(scrape(client), "ponte_stripe_webhook_events_total", outcome="bad_signature")
    assert after == before + 1


def test_outbox_backlog_and_lag(app, client):
    search.drain()
    samples = scrape(client)
    assert value(samples, "ponte_search_outbox_backlog") == 0
    assert value(samples, "ponte_search_outbox_lag_seconds") == 0
    db.session.add(
        SearchOutbox(
            doc_type="organisation", doc_id="999999", created_at=utcnow() - timedelta(seconds=120)
        )
    )
    db.session.add(SearchOutbox(doc_type="organisation", doc_id="999998"))
    db.session.commit()
    samples = scrape(client)
    assert value(samples, "ponte_search_outbox_backlog") == 2
    assert 119 <= value(samples, "ponte_search_outbox_lag_seconds") < 600


def test_readyz_ready(client):
    search.drain()
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "search": "ok"},
    }


def test_readyz_search_too_far_behind(app, client):
    search.drain()
    db.session.add(
        SearchOutbox(
            doc_type="organisation",
            doc_id="999997",
            created_at=utcnow() - timedelta(seconds=app.config["SEARCH_MAX_LAG"] + 60),
        )
    )
    db.session.commit()
    # the request's own teardown drain would catch up: read readiness without a commit
    from portal.health import readiness

    checks = readiness()
    assert checks["search"].startswith("index ") and "SEARCH_MAX_LAG" in checks["search"]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert "behind the outbox" in response.json["checks"]["search"]
    search.drain()
    assert client.get("/readyz").status_code == 200


def test_readyz_migrations_behind(app, client, monkeypatch):
    from portal import health

    monkeypatch.setitem(
        app.extensions, "ponte_migration_heads", health.code_heads() | {"0123456789ab"}
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["migrations"].startswith("not at head")
    assert response.json["checks"]["database"] == "ok"


def test_readyz_database_unreachable(app, client, monkeypatch):
    from portal import health

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionError("down")

    monkeypatch.setattr(health.db.session, "execute", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"].startswith("unreachable")


def test_scheduled_job_runs_are_counted(app, client):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["ponte", "run", "db-analyze"]).exit_code == 0
    assert runner.invoke(args=["ponte", "run", "db analyze"]).exit_code == 0

    @click.command("explode")
    def explode() -> None:
        raise RuntimeError("boom")

    group = click.Group("testjobs")
    group.add_command(explode)
    app.cli.add_command(group)
    try:
        failed = runner.invoke(args=["ponte", "run", "testjobs-explode"])
    finally:
        app.cli.commands.pop("testjobs")
    assert failed.exit_code == 1 and "boom" in failed.output
    unknown = runner.invoke(args=["ponte", "run", "nothing-here"])
    assert unknown.exit_code != 0 and "no command" in unknown.output

    samples = scrape(client)
    runs = {
        dict(labels)["job"]: v
        for (name, labels), v in samples.items()
        if name == "ponte_job_runs_total"
    }
    assert runs["db analyze"] == 2 and runs["testjobs explode"] == 1
    assert "nothing here" not in runs
    failures = {
        dict(labels)["job"]: v
        for (name, labels), v in samples.items()
        if name == "ponte_job_failures_total"
    }
    assert failures["db analyze"] == 0 and failures["testjobs explode"] == 1
    last = [
        v
        for (name, labels), v in samples.items()
        if name == "ponte_job_last_success_timestamp_seconds"
        and dict(labels)["job"] == "db analyze"
    ]
    assert last and last[0] > 1.7e9
    assert not re.search(
        r'ponte_job_last_success_timestamp_seconds\{job="testjobs explode"',
        client.get("/metrics").get_data(as_text=True),
    )
