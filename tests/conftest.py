"""Test fixtures: the whole suite runs on SQLite and on a real PostgreSQL server.

Each test runs inside one outer transaction that is rolled back (as in PyPI's
warehouse); the application's ``commit()`` calls only release savepoints.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import sessionmaker

from portal import create_app, memo
from portal import db as ponte_db
from portal.migrate import upgrade

BACKENDS = ("sqlite", "postgresql")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgresql_only`` (races that need PostgreSQL's row locks: SQLite
    serialises writers) exist only for the PostgreSQL backend, and tests marked
    ``sqlite_only`` (long crawls whose outcome does not depend on the database) only for
    SQLite: their other variants are deselected, not skipped."""
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        backend = params.params.get("app") if params else None
        if (item.get_closest_marker("postgresql_only") and backend == "sqlite") or (
            item.get_closest_marker("sqlite_only") and backend == "postgresql"
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL: TEST_DATABASE_URL, else a private server from pip's pgserver."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    import pgserver

    data_dir = tempfile.mkdtemp(prefix="ponte-pg-")
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    server.psql("CREATE DATABASE ponte_test;")
    yield server.get_uri("ponte_test")
    server.cleanup()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_database(postgres_url: str):  # type: ignore[no-untyped-def]
    """A factory of new, empty databases on the test PostgreSQL server: ``create(name)``
    drops any database of that name, creates it and returns its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(postgres_url)
    admin = create_engine(base.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")

    def create(name: str) -> str:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return base.set(database=name).render_as_string(hide_password=False)

    yield create
    admin.dispose()


def make_test_app(database_url: str, instance: Path, **extra: object) -> Flask:
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(instance),
        "SEARCH_INDEX_DIR": str(instance / "search"),
        "WTF_CSRF_ENABLED": False,
        "HANDLE_ERRORS_IN_TESTS": False,
        "SERVER_NAME": "ponte.test",
        "LOG_JSON": False,
    }
    config.update(extra)
    return create_app(config)


@pytest.fixture(scope="session", params=BACKENDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """One migrated application per database backend."""
    instance = tmp_path_factory.mktemp(f"instance-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{instance / 'ponte.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    application = make_test_app(url, instance)
    with application.app_context():
        upgrade()
    return application


@pytest.fixture
def db_session(app: Flask, tmp_path: Path) -> Iterator[ponte_db.scoped_session]:
    """An app context whose session lives in a transaction rolled back after the test."""
    state = app.extensions["ponte_db"]
    connection = state.engine.connect()
    outer = connection.begin()
    original = state.sessionmaker
    state.sessionmaker = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    app.extensions["mail_outbox"] = []  # each test sees only its own e-mails
    original_index = app.config["SEARCH_INDEX_DIR"]
    app.config["SEARCH_INDEX_DIR"] = str(tmp_path / "search")
    ctx = app.app_context()
    ctx.push()
    # Outbox ids of a rolled-back test come back in the next one: so would data versions.
    memo.clear()
    try:
        yield ponte_db.session
    finally:
        ponte_db.session.remove()
        ctx.pop()
        state.sessionmaker = original
        app.config["SEARCH_INDEX_DIR"] = original_index
        outer.rollback()
        connection.close()


class PonteClient(FlaskClient):
    """A test client whose requests run in the test's app context (one session, one
    transaction); what Flask keeps per request in ``g`` is cleared between requests."""

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        from flask import g

        g.pop("_login_user", None)
        g.pop("api_user", None)
        g.pop("_flask_babel", None)  # the locale (and timezone) each request chooses
        g.pop("edit_conflict", None)  # a refused stale save (portal.concurrency)
        # What the test set up is "committed" (a savepoint released), as it would be
        # in production, so a rollback inside the request undoes only the request's work.
        ponte_db.session.commit()
        response = super().open(*args, **kwargs)
        g.pop("_flask_babel", None)  # the test's own gettext() keeps the default locale
        return response


@pytest.fixture
def client(app: Flask, db_session: ponte_db.scoped_session) -> FlaskClient:
    app.test_client_class = PonteClient
    return app.test_client()


def login(client: FlaskClient, user: object) -> FlaskClient:
    """Sign ``user`` in on ``client`` without going through the form."""
    from flask_login.utils import _create_identifier

    with client.application.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()  # what "strong" session protection checks
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()  # type: ignore[attr-defined]
        session["_fresh"] = True
        session["_id"] = identifier
    return client
