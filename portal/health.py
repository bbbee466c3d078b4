"""Readiness: ``GET /readyz`` says whether this node may receive traffic.

``/healthz`` (portal.views) is liveness: the process answers, the database and the index
open. ``/readyz`` adds what a load balancer must know before sending users here: the
database answers, its schema is at the code's migration heads (a node with newer code
than the schema, or the reverse, must wait for ``flask db upgrade``), and this node's
search index is no more than ``SEARCH_MAX_LAG`` seconds behind the outbox. 200 when
ready, 503 with the reasons otherwise.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import func, select, text

from portal import db
from portal.migration_config import alembic_config
from portal.permissions import public
from portal.search import node
from portal.search.models import SearchOutbox

logger = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

#: Outbox ids looked up per query when counting the rows of a node's gaps.
CHUNK = 500


@dataclass
class SearchState:
    backlog: int
    #: Seconds since the oldest row this node has not applied was written (0: none).
    lag: float


def search_state() -> SearchState | None:
    """How far this node's index is behind the outbox; None if it cannot be read."""
    try:
        build = node.current_build(node.index_dir())
        position = node.Position.load(build) if build is not None else node.Position()
        count, oldest = db.session.execute(
            select(func.count(), func.min(SearchOutbox.created_at)).where(
                SearchOutbox.id > position.max_id
            )
        ).one()
        gaps = sorted(position.gaps)
        for start in range(0, len(gaps), CHUNK):
            more, first = db.session.execute(
                select(func.count(), func.min(SearchOutbox.created_at)).where(
                    SearchOutbox.id.in_(gaps[start : start + CHUNK])
                )
            ).one()
            count += more
            if first is not None and (oldest is None or first < oldest):
                oldest = first
    except Exception as error:
        db.session.rollback()
        logger.warning("readiness: search outbox not read (%s)", type(error).__name__)
        return None
    lag = 0.0
    if oldest is not None:
        if oldest.tzinfo is None:
            from datetime import UTC

            oldest = oldest.replace(tzinfo=UTC)
        lag = max(0.0, time.time() - oldest.timestamp())
    return SearchState(backlog=int(count), lag=lag)


def code_heads() -> set[str]:
    """The migration heads of the code this process runs (read once per process)."""
    cached = current_app.extensions.get("ponte_migration_heads")
    if cached is None:
        cached = set(ScriptDirectory.from_config(alembic_config()).get_heads())
        current_app.extensions["ponte_migration_heads"] = cached
    return cached


def database_heads() -> set[str]:
    return set(MigrationContext.configure(db.session.connection()).get_current_heads())


def readiness() -> dict[str, Any]:
    """Each check: "ok" or the reason it is not."""
    checks: dict[str, Any] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:
        db.session.rollback()
        checks["database"] = f"unreachable ({type(error).__name__})"
        checks["migrations"] = "unknown (no database)"
        checks["search"] = "unknown (no database)"
        return checks
    try:
        missing = code_heads() - database_heads()
        checks["migrations"] = (
            "ok" if not missing else f"not at head: run flask db upgrade ({len(missing)} behind)"
        )
    except Exception as error:
        db.session.rollback()
        checks["migrations"] = f"unknown ({type(error).__name__})"
    state = search_state()
    limit = float(current_app.config["SEARCH_MAX_LAG"])
    if state is None:
        checks["search"] = "outbox not readable"
    elif state.lag > limit:
        checks["search"] = (
            f"index {state.lag:.0f} s behind the outbox ({state.backlog} rows), "
            f"more than SEARCH_MAX_LAG={limit:.0f}: run flask search drain"
        )
    else:
        checks["search"] = "ok"
    return checks


@bp.route("/readyz")
@public
def readyz() -> Any:
    checks = readiness()
    ready = all(value == "ok" for value in checks.values())
    status = "ok" if ready else "unavailable"
    response = jsonify(status=status, checks=checks)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
