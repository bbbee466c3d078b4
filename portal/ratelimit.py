"""Rate limits shared by every worker and every node: counters in the database.

Why the database and not a limiter with its own server: Ponte already needs PostgreSQL in
production and every process already talks to it, so a counter row updated with one atomic
upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``, the same statement on SQLite and
PostgreSQL) is shared by every gunicorn worker and every node with no new service to run,
secure and back up. The limited actions (sign-in, two-factor codes, password resets,
registrations, event registrations, searches, API calls) already cost a database round
trip; one more is cheap.

Each limit is a fixed window: ``count`` requests per ``seconds``. Keys are SHA-256 digests of
the parts (an e-mail address and a client address), so the table holds no personal data in
clear. Defaults are in ``DEFAULT_LIMITS``; ``RATELIMIT_<NAME>="count/seconds"`` in the
environment (or the app config) changes one, ``RATELIMIT_ENABLED=0`` turns them all off
(load benchmarks only).
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, request
from sqlalchemy import case, delete, literal, select
from werkzeug.exceptions import TooManyRequests

from portal import audit, db, metrics
from portal.db import UTCDateTime, utcnow
from portal.models import RateLimit


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        count, _, seconds = str(text).partition("/")
        return cls(int(count), int(seconds))


#: name → (count, seconds). Sign-in: the (account, address) pair is throttled first; the
#: account alone only at a much higher count (then an unlock link is e-mailed to its owner);
#: an address alone at a count that allows a shared office NAT but stops password spraying.
DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    "login_pair": (5, 15 * 60),  # wrong passwords or codes, one account from one address
    "login_account": (50, 15 * 60),  # wrong passwords or codes, one account, any address
    "login_address": (100, 15 * 60),  # wrong passwords or codes, any account, one address
    "password_reset_address": (10, 60 * 60),  # reset requests from one address
    "password_reset_account": (3, 60 * 60),  # reset requests for one e-mail address
    "register": (10, 60 * 60),  # new accounts from one address
    "event_register": (20, 60 * 60),  # event registrations from one address
    "api_token": (600, 60),  # API calls with one token
    "api_bad_token": (30, 10 * 60),  # API calls with an unknown token, from one address
    "search": (120, 60),  # full-text searches from one address
}

#: Public pages and API lists whose ``q`` runs a full-text search.
SEARCH_PATHS = frozenset(
    {
        "/search",
        "/vacancies",
        "/shop",
        "/tenders",
        "/api/v1/vacancies",
        "/api/v1/products",
        "/api/v1/tenders",
        "/api/v1/organizations",
    }
)


def limit(name: str) -> Limit:
    configured = current_app.config.get(f"RATELIMIT_{name.upper()}")
    if configured:
        return configured if isinstance(configured, Limit) else Limit.parse(configured)
    return Limit(*DEFAULT_LIMITS[name])


def enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def client_address() -> str:
    return request.remote_addr or ""


def _key(name: str, parts: tuple[str, ...]) -> str:
    digest = hashlib.sha256("\x1f".join(p.strip().lower() for p in parts).encode()).hexdigest()
    return f"{name}:{digest}"


def _retry_after(window_start: Any, seconds: int) -> int:
    left = (window_start + timedelta(seconds=seconds) - utcnow()).total_seconds()
    return max(1, math.ceil(left))


def hit(name: str, *parts: str) -> tuple[int, int]:
    """Count one event; returns (count in the current window, seconds until it ends).
    Committed at once, so the count holds even if the request fails later."""
    rule = limit(name)
    now = utcnow()
    stale = now - timedelta(seconds=rule.seconds)
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    now_value = literal(now, UTCDateTime())
    expired = RateLimit.window_start <= literal(stale, UTCDateTime())
    stmt = (
        insert(RateLimit)
        .values(key=_key(name, parts), window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=[RateLimit.key],
            set_={
                "count": case((expired, 1), else_=RateLimit.count + 1),
                "window_start": case((expired, now_value), else_=RateLimit.window_start),
            },
        )
        .returning(RateLimit.count, RateLimit.window_start)
    )
    count, window_start = db.session.execute(stmt).one()
    db.session.commit()
    if window_start.tzinfo is None:  # SQLite through a literal column: UTC, naive
        from datetime import UTC

        window_start = window_start.replace(tzinfo=UTC)
    return count, _retry_after(window_start, rule.seconds)


def blocked(name: str, *parts: str) -> int | None:
    """Seconds to wait if the limit is already reached (nothing is counted), else None."""
    if not enabled():
        return None
    rule = limit(name)
    row = db.session.execute(
        select(RateLimit.count, RateLimit.window_start).where(RateLimit.key == _key(name, parts))
    ).one_or_none()
    if row is None or row.window_start <= utcnow() - timedelta(seconds=rule.seconds):
        return None
    return _retry_after(row.window_start, rule.seconds) if row.count >= rule.count else None


def count_failure(name: str, *parts: str) -> bool:
    """Count a failure (a wrong password, say); True when this one reached the limit."""
    if not enabled():
        return False
    count, _ = hit(name, *parts)
    if count == limit(name).count:
        refused(name)
        return True
    return False


def reset(name: str, *parts: str) -> None:
    db.session.execute(delete(RateLimit).where(RateLimit.key == _key(name, parts)))


def refused(name: str) -> None:
    """The audit entry of a limit reached (once per window and key, not per request)."""
    audit.record("ratelimit.exceeded", ("rate_limit", name), limit=name, path=request.path)
    db.session.commit()


def enforce(name: str, *parts: str) -> None:
    """Count this request; over the limit, a 429 with ``Retry-After`` (page or JSON)."""
    if not enabled():
        return
    count, retry_after = hit(name, *parts)
    rule = limit(name)
    if count > rule.count:
        metrics.rate_limit_hit(name)
        if count == rule.count + 1:
            refused(name)
        raise TooManyRequests(retry_after=retry_after)


def _limit_searches() -> None:
    if (
        request.method == "GET"
        and request.path in SEARCH_PATHS
        and (request.args.get("q") or "").strip()
    ):
        enforce("search", client_address())


def prune(older_than: timedelta = timedelta(days=1)) -> int:
    """Delete counters whose window ended long ago (the daily job ``ratelimit prune``)."""
    result = db.session.execute(
        delete(RateLimit).where(RateLimit.window_start < utcnow() - older_than)
    )
    db.session.commit()
    return result.rowcount or 0


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_ENABLED", os.environ.get("RATELIMIT_ENABLED", "1") != "0")
    for name in DEFAULT_LIMITS:
        value = os.environ.get(f"RATELIMIT_{name.upper()}")
        if value:
            app.config.setdefault(f"RATELIMIT_{name.upper()}", value)
    app.before_request(_limit_searches)

    import click
    from flask.cli import AppGroup

    group = AppGroup("ratelimit", help="Shared rate-limit counters.")

    @group.command("prune")
    def prune_command() -> None:
        """Delete rate-limit counters older than a day."""
        click.echo(f"rate limits: {prune()} old counters deleted")

    app.cli.add_command(group)
