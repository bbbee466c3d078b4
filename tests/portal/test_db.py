"""Pagination and planner statistics."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from portal import db
from portal.models import Organisation
from tests.factories import make_org


def _orgs_named(prefix: str):
    return (
        select(Organisation).where(Organisation.name.startswith(prefix)).order_by(Organisation.name)
    )


def test_paginate_counts_exactly_by_default(db_session):
    for n in range(5):
        make_org(name=f"Paginata {n}")
    page = db.paginate(_orgs_named("Paginata"), page=2, per_page=2)
    assert [o.name for o in page.items] == ["Paginata 2", "Paginata 3"]
    assert (page.total, page.pages, page.total_capped) == (5, 3, False)
    assert page.has_prev and page.has_next


def test_paginate_stops_counting_at_the_limit(db_session):
    for n in range(5):
        make_org(name=f"Limitata {n}")
    capped = db.paginate(_orgs_named("Limitata"), page=1, per_page=2, count_limit=3)
    assert (capped.total, capped.total_capped, capped.pages) == (3, True, 2)
    assert [o.name for o in capped.items] == ["Limitata 0", "Limitata 1"]
    exact = db.paginate(_orgs_named("Limitata"), page=1, per_page=2, count_limit=5)
    assert (exact.total, exact.total_capped) == (5, False)


def test_analyze_gives_the_planner_statistics(db_session):
    db.analyze()  # must work inside the test's transaction on both backends
    assert db.paginate(_orgs_named("Nessuna")).total == 0


def test_public_pages_read_while_another_connection_writes_on_sqlite(tmp_path):
    """A read-only page begins a deferred transaction on SQLite: it reads beside a writer
    instead of waiting for the write lock (BEGIN IMMEDIATE, which writers still use)."""
    import sqlite3

    from portal.migrate import upgrade
    from tests.conftest import make_test_app

    path = tmp_path / "ponte.db"
    # Searches count against a rate limit, which writes: this is about the reading.
    app = make_test_app(
        f"sqlite:///{path}", tmp_path, SQLITE_BUSY_TIMEOUT_MS=200, RATELIMIT_ENABLED=False
    )
    with app.app_context():
        upgrade()
    writer = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("BEGIN IMMEDIATE")  # another worker in the middle of a write
    try:
        client = app.test_client()
        for path_ in ("/vacancies", "/shop", "/tenders", "/search?q=miele"):
            assert client.get(path_).status_code == 200, path_
        with app.test_request_context("/"):
            # Outside the public pages a transaction still takes the write lock first.
            with pytest.raises(OperationalError):
                db.session.execute(select(Organisation.id)).all()
            db.session.rollback()
    finally:
        writer.rollback()
        writer.close()


def test_public_pages_read_in_autocommit_on_postgresql(tmp_path, postgres_database):
    """On PostgreSQL a public page's reads skip BEGIN and ROLLBACK (autocommit); the page
    cache still stores the page in a transaction of its own, and other pages keep theirs."""
    from sqlalchemy import event

    from portal import pagecache
    from portal.migrate import upgrade
    from tests.conftest import make_test_app

    app = make_test_app(
        postgres_database("ponte_read_autocommit"),
        tmp_path,
        DB_READ_AUTOCOMMIT=True,
        PAGE_CACHE=True,
        RATELIMIT_ENABLED=False,
    )
    with app.app_context():
        upgrade()
        engine = db.engine()
    seen: list[tuple[str, bool]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append((statement.split()[0].upper(), conn.connection.dbapi_connection.autocommit))

    client = app.test_client()
    for path in ("/vacancies", "/shop", "/tenders"):
        seen.clear()
        page = client.get(path)
        assert page.status_code == 200 and page.headers["X-Page-Cache"] == "miss", path
        reads = [autocommit for verb, autocommit in seen if verb == "SELECT"]
        writes = [autocommit for verb, autocommit in seen if verb in ("INSERT", "DELETE")]
        assert reads and all(reads), path  # every read of the page in autocommit
        assert writes and not any(writes), path  # the stored entry: a transaction
        assert client.get(path).headers["X-Page-Cache"] == "hit", path
    seen.clear()
    assert client.get("/login").status_code == 200  # not a public listing
    assert not any(autocommit for _verb, autocommit in seen)
    with app.app_context():
        assert db.session.query(pagecache.PageCacheEntry).count() == 3
