"""Database engine and session handling.

One engine per application, one SQLAlchemy session per application context
(request or CLI command), removed at teardown. Tests rebind the session factory
to a connection that holds an outer transaction, so each test is rolled back.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import DateTime, MetaData, event, func, literal_column, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    scoped_session,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: The largest id of any record: the databases' INTEGER (SQLite and PostgreSQL alike). The
#: ``<int:…>`` routes, the API document and query-string ids are bounded by it.
MAX_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops tzinfo)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None:
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def touches_parent(
    parent: type[Any], foreign_key: str, parent_key: str = "id"
) -> Callable[[type[T]], type[T]]:
    """Class decorator for a child row (a product's variant, a vacancy's skill): adding,
    changing or deleting one sets the parent's ``updated_at``, so ``updated_since``
    harvesting sees the change. ``foreign_key`` names the child's column holding the
    value of the parent's ``parent_key`` column (its id, or e.g. the producer of every
    product a producer's declaration shows on). The UPDATE runs on the flush's
    connection, as mapper events allow."""

    def stamp(_mapper: Any, connection: Any, target: Any) -> None:
        value = getattr(target, foreign_key)
        if value is not None:
            table = parent.__table__  # type: ignore[attr-defined]
            connection.execute(
                update(table).where(table.c[parent_key] == value).values(updated_at=utcnow())
            )

    def decorator(child: type[T]) -> type[T]:
        for name in ("after_insert", "after_update", "after_delete"):
            event.listen(child, name, stamp)
        return child

    return decorator


def _session_factory() -> Session:
    return current_app.extensions["ponte_db"].sessionmaker()


def _scope() -> int:
    # One session per application context, as Flask-SQLAlchemy does.
    return id(g._get_current_object())


#: The session to use everywhere inside an app context.
session: scoped_session[Session] = scoped_session(_session_factory, scopefunc=_scope)


@dataclass
class DatabaseState:
    engine: Engine
    sessionmaker: sessionmaker[Session]


#: How long an SQLite writer waits for another's lock (config: SQLITE_BUSY_TIMEOUT_MS).
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(busy_ms: int, dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, issue BEGIN, so SAVEPOINTs work (SQLAlchemy's
    # documented recipe for pysqlite's transaction handling).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock at the start: two writers queue up (busy_timeout)
    # instead of failing with "database is locked" when one upgrades its lock. A request
    # that only reads (reads_only) begins deferred: with WAL, readers then run side by
    # side instead of taking turns for a lock they never use.
    if has_request_context() and g.get("db_reads_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def reads_only(flag: bool = True) -> None:
    """This request's next transactions only read (public pages): on SQLite they begin
    deferred, on PostgreSQL the session reads in autocommit (no BEGIN and ROLLBACK round
    trips around a page's few queries; each sees what is committed). Whatever must write
    afterwards ends the reading transaction and calls ``reads_only(False)`` first."""
    g.db_reads_only = flag
    if not flag or not current_app.config.get("DB_READ_AUTOCOMMIT", not current_app.testing):
        return
    current = session()
    if current.in_transaction() or current.get_bind().dialect.name != "postgresql":
        return
    current.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def make_engine(url: str, *, busy_ms: int = SQLITE_BUSY_TIMEOUT_MS, **kwargs: Any) -> Engine:
    from sqlalchemy import create_engine

    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", partial(_sqlite_pragmas, busy_ms))
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def init_app(app: Flask) -> None:
    engine = make_engine(
        app.config["DATABASE_URL"],
        busy_ms=app.config.get("SQLITE_BUSY_TIMEOUT_MS", SQLITE_BUSY_TIMEOUT_MS),
    )
    app.extensions["ponte_db"] = DatabaseState(
        engine=engine, sessionmaker=sessionmaker(bind=engine, expire_on_commit=False)
    )

    @app.teardown_appcontext
    def remove_session(exc: BaseException | None) -> None:
        session.remove()

    @app.teardown_request
    def _end_reads_only(exc: BaseException | None) -> None:
        g.pop("db_reads_only", None)  # tests run requests in one app context


def engine() -> Engine:
    return current_app.extensions["ponte_db"].engine


class PageNumbers:
    """Page arithmetic of one page of results (database listings and search answers alike):
    how many pages there are and whether one comes before or after this one."""

    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass
class Page(PageNumbers):
    """One page of a query's results, for templates and the JSON API.

    ``total_capped`` means there are more than ``total`` results: listings counted with a
    ``count_limit`` stop counting there ("more than 10,000"), which keeps the first pages
    of a huge unfiltered listing as fast as a filtered one.
    """

    items: list[Any]
    total: int
    page: int
    per_page: int
    total_capped: bool = False


def paginate(
    stmt: Any,
    page: int = 1,
    per_page: int = 20,
    scalars: bool = True,
    count_limit: int | None = None,
    count_key: Any = None,
) -> Page:
    """Run ``stmt`` for one page; ``total`` comes from a COUNT over the same filter.

    With ``count_limit`` the COUNT stops after that many rows (see ``Page.total_capped``);
    it counts a constant instead of the selected columns, so ``stmt`` must be a plain
    select (no DISTINCT or GROUP BY) for that. With ``count_key`` (whatever decides the
    filter: the listing's name, its filters, the day) the total is remembered while the
    data version holds (:func:`portal.memo.remember`): every page of a listing, and every
    reader, shares one COUNT.
    """
    page = max(1, page)
    per_page = max(1, min(per_page, 100))

    def count() -> int:
        counted = stmt.order_by(None)
        if count_limit is not None:
            counted = counted.with_only_columns(
                literal_column("1"), maintain_column_froms=True
            ).limit(count_limit + 1)
        return session.execute(select(func.count()).select_from(counted.subquery())).scalar_one()

    if count_key is None:
        total = count()
    else:
        from portal.memo import remember

        total = remember(("count", count_key, count_limit), count)
    capped = count_limit is not None and total > count_limit
    if capped:
        total = count_limit
    result = session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    items = list(result.scalars().all() if scalars else result.all())
    return Page(items=items, total=total, page=page, per_page=per_page, total_capped=capped)


def page_of(items: Sequence[Any], page: int = 1, per_page: int = 20) -> Page:
    """One page of a sequence already in its order (ids ranked and filtered once)."""
    page = max(1, page)
    per_page = max(1, min(per_page, 100))
    start = (page - 1) * per_page
    return Page(
        items=list(items[start : start + per_page]), total=len(items), page=page, per_page=per_page
    )


def analyze() -> None:
    """Refresh the query planner's statistics.

    SQLite keeps none until ``ANALYZE`` runs, and without them it sorts a whole table to
    serve the first page of a listing instead of reading the ordered index; PostgreSQL's
    autovacuum does this by itself, but running it after bulk loads does no harm.
    """
    session.execute(text("ANALYZE"))
    session.commit()
