"""Full-text search over all public documents: Whoosh, one index per app server.

Models register with :func:`register`; their changes reach the index through the
transactional outbox (:mod:`portal.search.outbox`), which every node drains into its
own index (:mod:`portal.search.node`). :func:`query` searches this node's index.

Public API: ``register``, ``init_app``, ``drain``, ``reindex``, ``query``, ``healthy``,
``SearchResults`` and ``Hit``.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError

from portal import db
from portal.db import utcnow
from portal.search import node, outbox
from portal.search.models import SearchOutbox
from portal.search.node import healthy, reindex
from portal.search.outbox import register
from portal.search.querying import Hit, SearchResults, matching_ids, query

__all__ = [
    "Hit",
    "SearchOutbox",
    "SearchResults",
    "drain",
    "healthy",
    "init_app",
    "matching_ids",
    "query",
    "register",
    "reindex",
    "startup_drain",
]

logger = logging.getLogger(__name__)

#: How long a request's teardown waits for another drain of this node to finish.
TEARDOWN_WAIT = 2.0
#: How long start-up waits for a running drain or reindex of this node.
STARTUP_WAIT = 5.0


def drain() -> int:
    """Apply pending outbox rows to this node's index; returns how many were applied."""
    return node.drain()


def init_app(app: Flask) -> None:
    from portal.models import Organisation

    outbox.install_listeners()
    register(Organisation)
    app.extensions["ponte_search"] = {"started": False}
    app.before_request(_drain_on_first_request)
    app.teardown_request(_drain_after_commit)
    app.teardown_appcontext(_drain_after_commit)
    app.cli.add_command(search_cli)


def startup_drain(app: Flask) -> None:
    """Catch up with the outbox, e.g. with rows committed just before a crash.

    Runs at the first request rather than inside ``init_app``: domain packages register
    their models after this package, and a drain that does not know a type yet leaves
    that type's rows behind. ``create_app`` may call it once every package is set up.
    Never fails: before ``flask db upgrade`` the outbox table does not exist yet.
    """
    app.extensions["ponte_search"]["started"] = True
    with app.app_context():
        try:
            applied = node.drain(timeout=STARTUP_WAIT)
        except SQLAlchemyError as error:
            logger.warning("search: start-up drain skipped (%s)", type(error).__name__)
        except Exception:
            logger.exception("search: start-up drain failed")
        else:
            if applied:
                logger.info("search: applied %d outbox rows at start-up", applied)


def _drain_on_first_request() -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.extensions["ponte_search"]["started"]:
        startup_drain(app)


def _drain_after_commit(exc: BaseException | None) -> None:
    """After a request (or CLI command) whose session committed outbox rows."""
    if not db.session.registry.has() or not outbox.take_committed(db.session()):
        return
    try:
        node.drain(timeout=TEARDOWN_WAIT)
    except Exception:
        # The rows stay in the outbox: the next drain of this node applies them.
        logger.exception("search: drain after commit failed")


def _reset_process_state() -> None:
    """Forget this process's searchers, caches and drain times (tests: a restart)."""
    from portal.search import querying

    querying.reset_process_state()


# --- Command line -----------------------------------------------------------------------

search_cli = AppGroup("search", help="Full-text search index of this node.")


@search_cli.command("reindex")
def reindex_command() -> None:
    """Rebuild this node's index from the database."""
    started = time.perf_counter()
    count = reindex()
    elapsed = max(time.perf_counter() - started, 1e-6)
    click.echo(f"Indexed {count} documents in {elapsed:.1f} s ({count / elapsed:.0f} docs/s).")


@search_cli.command("drain")
def drain_command() -> None:
    """Apply the outbox rows this node has not applied yet."""
    click.echo(f"Applied {drain()} outbox rows.")


@search_cli.command("prune")
@click.option("--days", default=7, show_default=True, help="Keep rows this recent.")
def prune_command(days: int) -> None:
    """Delete old outbox rows (a node that was down longer must reindex)."""
    cutoff = utcnow() - timedelta(days=days)
    result = db.session.execute(delete(SearchOutbox).where(SearchOutbox.created_at < cutoff))
    db.session.commit()
    click.echo(f"Deleted {result.rowcount} outbox rows older than {days} days.")  # type: ignore[attr-defined]
