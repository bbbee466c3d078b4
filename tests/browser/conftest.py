"""End-to-end fixtures: one live server with demo data and one headless Chromium per session.

The server runs the real application (CSRF on, no SERVER_NAME) on a fresh SQLite file,
migrated and seeded with ``portal.demo.seed()``; set ``PONTE_BROWSER_DB=postgresql`` to run
it on a private PostgreSQL database instead, and ``PONTE_BROWSER_MODULES`` (comma-separated,
empty for the core alone) to choose the domain packages. Each test gets a fresh browser context
(``it-IT``, no cookies), so tests never share a session.

Chromium is Debian's (``/usr/bin/chromium``, or ``$CHROMIUM``); Playwright never downloads
a browser here. Screenshots of failing tests go to ``$PONTE_BROWSER_ARTIFACTS``
(default: ``<tmp>/ponte-browser``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, got_request_exception
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.browser.axe import Axe
from tests.browser.support import CHROMIUM_ARGS, open_context, watch_csp
from tests.conftest import make_test_app

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items: mark only the ones in this folder.
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _chromium() -> str | None:
    return (
        os.environ.get("CHROMIUM")
        or shutil.which("chromium")
        or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    )


# --- The live server ---------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def _postgres_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A private database on the suite's PostgreSQL server, dropped at the end."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(request.getfixturevalue("postgres_url"))
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    name = f"ponte_browser_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def live_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """The application behind the live server: migrated, with the small demo data set."""
    from portal import demo, search
    from portal.migrate import upgrade

    instance = tmp_path_factory.mktemp("browser-instance")
    postgres = None
    if os.environ.get("PONTE_BROWSER_DB", "sqlite") == "postgresql":
        postgres = _postgres_database(request)
        url = next(postgres)
    else:
        url = f"sqlite:///{instance / 'ponte.db'}"
    extra: dict[str, Any] = {}
    if "PONTE_BROWSER_MODULES" in os.environ:  # e.g. "" for the core alone
        extra["PONTE_MODULES"] = tuple(filter(None, os.environ["PONTE_BROWSER_MODULES"].split(",")))
    app = make_test_app(
        url,
        instance,
        WTF_CSRF_ENABLED=True,
        SERVER_NAME=None,
        # Let the browser keep static files within a test instead of revalidating each one.
        SEND_FILE_MAX_AGE_DEFAULT=600,
        **extra,
    )
    with app.app_context():
        upgrade()
        demo.seed("small", echo=lambda _message: None)
        # Demo organisations are verified: make sure this node's search index holds them.
        search.reindex()
    yield app
    app.extensions["ponte_db"].engine.dispose()
    if postgres is not None:
        next(postgres, None)


@pytest.fixture(scope="session")
def server_errors(live_app: Flask) -> list[str]:
    """Unhandled exceptions raised inside the live server (checked after every test)."""
    import traceback

    errors: list[str] = []

    def record(sender: Flask, exception: BaseException, **extra: Any) -> None:
        from flask import request

        errors.append(
            f"{request.method} {request.full_path}\n"
            + "".join(traceback.format_exception(exception))
        )

    got_request_exception.connect(record, live_app, weak=False)
    return errors


@pytest.fixture(scope="session")
def live_server(live_app: Flask, server_errors: list[str]) -> Iterator[str]:
    """Base URL of the application served by werkzeug in a daemon thread."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="ponte-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


# --- The browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        pytest.skip("Chromium is not installed (make chromium, or set CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Any, live_server: str) -> Iterator[Any]:
    """A fresh context per test (modules that only read pages may share one)."""
    ctx = open_context(browser, live_server)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any, request: pytest.FixtureRequest, server_errors: list[str]) -> Iterator[Any]:
    """A fresh page without cookies; JavaScript errors and server errors fail the test."""
    server_errors.clear()
    context.clear_cookies()
    js_errors: list[str] = []
    csp_violations: list[str] = []
    pg = context.new_page()
    pg.on("pageerror", lambda error: js_errors.append(f"{pg.url}: {error}"))
    watch_csp(pg, csp_violations)
    yield pg
    call = getattr(request.node, "rep_call", None)
    errors = list(server_errors)
    server_errors.clear()
    if call is not None and call.failed:
        artifacts = Path(
            os.environ.get("PONTE_BROWSER_ARTIFACTS")
            or Path(tempfile.gettempdir()) / "ponte-browser"
        )
        artifacts.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
        pg.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
        # The test already failed: show what went wrong on the server with its report.
        for problem in errors + js_errors + csp_violations:
            print(problem, file=sys.stderr)
    pg.close()
    if call is not None and call.failed:
        return
    assert not errors, "The server raised:\n" + "\n".join(errors)
    assert not js_errors, "JavaScript errors:\n" + "\n".join(js_errors)
    assert not csp_violations, "Content-Security-Policy violations:\n" + "\n".join(csp_violations)


# --- Helpers -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def t(live_app: Flask) -> Callable[..., str]:
    """``t(msgid, lang="it")``: the text the page shows for an English msgid.

    Tests find fields and buttons by their visible names; asking the application's own
    catalogue keeps them right whether or not a translation exists yet.
    """
    from flask_babel import force_locale, gettext

    def translate(msgid: str, lang: str = "it", **variables: Any) -> str:
        with live_app.test_request_context(), force_locale(lang):
            return gettext(msgid, **variables)

    return translate


@pytest.fixture(scope="session")
def axe() -> Axe:
    """``axe(page)``: fail with rule ids, help and targets on serious/critical violations;
    ``axe.scan(page)``: the same report as a string ("" when clean)."""
    return Axe()


@pytest.fixture(scope="session")
def demo_org(live_app: Flask) -> dict[str, Any]:
    """A verified demo organisation (a type-B cooperative) and its detail page's path."""
    from sqlalchemy import select

    from portal import db
    from portal.models import Organisation

    with live_app.app_context():
        org = db.session.execute(
            select(Organisation).where(Organisation.name == "Cooperativa Sociale Il Ponte")
        ).scalar_one()
        return {
            "name": org.name,
            "kind": org.kind,
            "path": f"/directory/{org.id}-{org.slug}",
        }
