"""The foundation: migrations and search through the CLI, the persisted secret
key, JSON log lines, the 500 page in both languages, the language order, the
directory's filters."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import inspect

from portal import create_app, db, search
from portal.permissions import public
from tests.conftest import login, make_test_app
from tests.factories import make_org, make_user

# --- A fresh application of its own (SQLite), migrated through the command line ----------


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory):
    """A new instance folder and database; the test app raises nothing: it handles errors
    as in production. A route that fails on purpose is added before any request."""
    instance = tmp_path_factory.mktemp("fresh-instance")
    application = make_test_app(
        f"sqlite:///{instance / 'ponte.db'}", instance, HANDLE_ERRORS_IN_TESTS=True
    )

    @public
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    application.add_url_rule("/test-boom", "test_boom", boom)
    return application


def test_db_upgrade_through_the_cli_creates_the_schema_and_is_idempotent(fresh):
    runner = fresh.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with fresh.app_context():
        tables = set(inspect(db.engine()).get_table_names())
    assert {"user", "organisation", "candidate", "vacancy", "alembic_version"} <= tables
    again = runner.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0, again.output


def test_the_500_page_in_both_languages(fresh, caplog):
    fresh.extensions.setdefault("mail_outbox", [])
    runner = fresh.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    client = fresh.test_client()
    with caplog.at_level(logging.ERROR, logger=fresh.logger.name):
        italian = client.get("/test-boom")
    assert italian.status_code == 500
    with fresh.test_request_context():
        message_it = gettext("Something went wrong on our side. We have been told and will fix it.")
        with force_locale("en"):
            message_en = gettext(
                "Something went wrong on our side. We have been told and will fix it."
            )
    assert message_it != message_en
    assert message_it in italian.get_data(as_text=True)
    assert '<html lang="it"' in italian.get_data(as_text=True)
    english = client.get("/test-boom?lang=en")
    assert english.status_code == 500 and message_en in english.get_data(as_text=True)
    assert "a bug" not in english.get_data(as_text=True)  # no internals shown


def test_the_secret_key_is_generated_once_and_kept(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'ponte.db'}", "INSTANCE_PATH": str(tmp_path)}
    first = create_app(dict(config, TESTING=True))
    key = first.config["SECRET_KEY"]
    assert key and (tmp_path / "secret_key").read_text().strip() == key
    second = create_app(dict(config, TESTING=True))
    assert second.config["SECRET_KEY"] == key  # the same instance reads the same key
    other = tmp_path / "other"
    third = create_app(
        {
            "DATABASE_URL": f"sqlite:///{other / 'ponte.db'}",
            "INSTANCE_PATH": str(other),
            "TESTING": True,
        }
    )
    assert third.config["SECRET_KEY"] != key


def test_log_lines_are_json_objects(tmp_path: Path, capfd):
    application = make_test_app(f"sqlite:///{tmp_path / 'ponte.db'}", tmp_path, LOG_JSON=True)
    with application.test_request_context("/some/path"):
        application.logger.info("hello %s", "world")
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    record = json.loads(lines[-1])
    assert record["message"] == "hello world"
    assert record["levelname"] == "INFO" and record["path"] == "/some/path"
    assert "asctime" in record and "request_id" in record


# --- Language order: ?lang= beats the user's setting, which beats Accept-Language ----------


def test_language_order(app, client, db_session):
    def lang_of(path: str, accept: str | None = None) -> str:
        headers = {"Accept-Language": accept} if accept else {}
        # PonteClient forgets the locale Flask-Babel cached in the shared app context.
        text = client.get(path, headers=headers).get_data(as_text=True)
        return "en" if '<html lang="en"' in text else "it" if '<html lang="it"' in text else "?"

    english = "en-GB,en;q=0.9"
    assert lang_of("/") == "it"  # the default
    assert lang_of("/", accept=english) == "en"  # the browser's
    user = make_user("buyer", locale="it")
    login(client, user)
    assert lang_of("/", accept=english) == "it"  # the user's setting wins
    user.locale = "en"
    assert lang_of("/", accept="it") == "en"
    assert lang_of("/?lang=it", accept=english) == "it"  # ?lang= wins
    assert lang_of("/", accept=english) == "it"  # ...and is remembered


# --- The directory's filters ---------------------------------------------------------------


def test_directory_filters_by_service_type_and_territory(client, db_session):
    sil_pn = make_org("service", service_type="sil", name="Filtro SIL Pordenone")
    dsm_pn = make_org("service", service_type="dsm", name="Filtro DSM Pordenone")
    sil_fr = make_org(
        "service", service_type="sil", name="Filtro SIL Frosinone", comune_code="060038"
    )
    coop_fr = make_org("cooperative_b", name="Filtro Coop Frosinone", comune_code="060038")

    def names(query: str) -> set[str]:
        text = client.get(f"/directory?{query}&q=Filtro").get_data(as_text=True)
        return {o.name for o in (sil_pn, dsm_pn, sil_fr, coop_fr) if o.name in text}

    assert names("kind=service&service_type=sil") == {sil_pn.name, sil_fr.name}
    assert names("kind=service&service_type=dsm") == {dsm_pn.name}
    assert names("province=PN") == {sil_pn.name, dsm_pn.name}
    assert names("province=fr") == {sil_fr.name, coop_fr.name}
    assert names("region=Lazio") == {sil_fr.name, coop_fr.name}
    assert names("service_type=sil&province=FR") == {sil_fr.name}
    assert names("service_type=nonsense") == {o.name for o in (sil_pn, dsm_pn, sil_fr, coop_fr)}


# --- Search through the command line -------------------------------------------------------


def test_search_reindex_through_the_cli(app, db_session):
    make_org("company", name="Officina Reindicizzata Zefiro")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Indexed ") and "docs/s" in result.output
    count = int(result.output.split()[1])
    assert count >= 1
    assert [h.title for h in search.query("zefiro").hits] == ["Officina Reindicizzata Zefiro"]
