"""Prometheus metrics (``GET /metrics``, text format) with ``prometheus_client``.

Under gunicorn every worker counts in its own files in ``PROMETHEUS_MULTIPROC_DIR``
(gunicorn.conf.py sets it) and ``/metrics`` adds up all workers' files; without it (the
development server, tests) the process's own registry answers. Figures that live in the
database (the search outbox, scheduled job runs) are read at scrape time, so every worker
and node reports the same.

Code elsewhere counts events with these functions (cheap, never raise):

- ``metrics.login_failure(stage)``: a wrong password ("password") or 2FA code ("2fa");
- ``metrics.rate_limit_hit(scope)``: a request refused by a rate limit, e.g. "login";
- ``metrics.stripe_webhook(outcome)``: a Stripe event handled, by outcome
  ("paid", "duplicate", "bad_signature", ...).

Metric names: ``ponte_http_requests_total{endpoint,method,status}``,
``ponte_http_request_duration_seconds{endpoint}`` (histogram), ``ponte_login_failures_total
{stage}``, ``ponte_rate_limit_hits_total{scope}``, ``ponte_stripe_webhook_events_total
{outcome}``, ``ponte_search_outbox_backlog``, ``ponte_search_outbox_lag_seconds``,
``ponte_job_runs_total{job,node}``, ``ponte_job_failures_total{job,node}``,
``ponte_job_last_success_timestamp_seconds{job,node}``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import select

from portal import db, health
from portal.jobs import ScheduledJobStat
from portal.json_errors import json_error
from portal.permissions import public

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "ponte_http_requests",
    "HTTP requests answered, by endpoint, method and status.",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "ponte_http_request_duration_seconds",
    "Time to answer a request, by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
LOGIN_FAILURES = Counter("ponte_login_failures", "Failed sign-in attempts, by stage.", ["stage"])
RATE_LIMIT_HITS = Counter(
    "ponte_rate_limit_hits", "Requests refused by a rate limit, by scope.", ["scope"]
)
STRIPE_WEBHOOKS = Counter(
    "ponte_stripe_webhook_events", "Stripe webhook deliveries, by outcome.", ["outcome"]
)


def login_failure(stage: str = "password") -> None:
    _safely(LOGIN_FAILURES.labels(stage=stage).inc)


def rate_limit_hit(scope: str) -> None:
    _safely(RATE_LIMIT_HITS.labels(scope=scope).inc)


def stripe_webhook(outcome: str) -> None:
    _safely(STRIPE_WEBHOOKS.labels(outcome=str(outcome)[:40]).inc)


def _safely(action: Any) -> None:
    try:
        action()
    except Exception:  # counting must never break the request that is counted
        logger.exception("metrics: not counted")


# --- Requests -----------------------------------------------------------------------------


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is None:
        return response
    # The endpoint name, never the path: ids in paths would make a series per object.
    endpoint = request.endpoint or "unmatched"
    elapsed = time.perf_counter() - started
    _safely(
        lambda: REQUESTS.labels(
            endpoint=endpoint, method=request.method, status=str(response.status_code)
        ).inc()
    )
    _safely(lambda: LATENCY.labels(endpoint=endpoint).observe(elapsed))
    return response


# --- Figures read from the database at scrape time ---------------------------------------


class DatabaseCollector(Collector):
    """The search outbox as this node sees it, and the scheduled jobs' runs."""

    def collect(self) -> Iterator[Any]:
        state = health.search_state()
        backlog = GaugeMetricFamily(
            "ponte_search_outbox_backlog",
            "Outbox rows this node's search index has not applied yet.",
        )
        lag = GaugeMetricFamily(
            "ponte_search_outbox_lag_seconds",
            "Age of the oldest outbox row this node has not applied (0: up to date).",
        )
        if state is not None:
            backlog.add_metric([], state.backlog)
            lag.add_metric([], state.lag)
        yield backlog
        yield lag
        yield from self._jobs()

    def _jobs(self) -> Iterator[Any]:
        runs = CounterMetricFamily(
            "ponte_job_runs", "Scheduled job runs, by job and node.", labels=["job", "node"]
        )
        failures = CounterMetricFamily(
            "ponte_job_failures", "Scheduled job runs that failed.", labels=["job", "node"]
        )
        success = GaugeMetricFamily(
            "ponte_job_last_success_timestamp_seconds",
            "When the job last succeeded (Unix time).",
            labels=["job", "node"],
        )
        try:
            for stat in db.session.scalars(select(ScheduledJobStat)):
                labels = [stat.job, stat.node]
                runs.add_metric(labels, stat.runs)
                failures.add_metric(labels, stat.failures)
                if stat.last_success_at is not None:
                    success.add_metric(labels, stat.last_success_at.timestamp())
        except Exception as error:
            db.session.rollback()
            logger.warning("metrics: scheduled jobs not read (%s)", type(error).__name__)
        yield runs
        yield failures
        yield success


def registry() -> CollectorRegistry:
    """What one scrape reports: every worker's counters, and the database's figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        scrape = CollectorRegistry()
        multiprocess.MultiProcessCollector(scrape)
    else:
        scrape = CollectorRegistry()
        scrape.register(_ProcessRegistry())
    scrape.register(DatabaseCollector())
    return scrape


class _ProcessRegistry(Collector):
    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


# --- /metrics ----------------------------------------------------------------------------

bp = Blueprint("metrics", __name__)


def allowed_networks(setting: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(part.strip(), strict=False)
        for part in setting.split(",")
        if part.strip()
    ]


def client_allowed(address: str | None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in current_app.extensions["ponte_metrics_allow"])


@bp.route("/metrics")
@public  # by address, not by account: only METRICS_ALLOW (default loopback) gets an answer
def metrics() -> Any:
    if not client_allowed(request.remote_addr):
        return json_error(403, "forbidden", "Metrics are served only to the monitoring.")
    body = generate_latest(registry())
    return Response(
        body,
        mimetype=CONTENT_TYPE_LATEST.split(";")[0],
        headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
    )


def init_app(app: Flask) -> None:
    app.extensions["ponte_metrics_allow"] = allowed_networks(app.config["METRICS_ALLOW"])
    app.before_request(_start_timer)
    app.after_request(_count_request)
    app.register_blueprint(bp)
