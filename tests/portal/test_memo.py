"""Values remembered per process while the data version holds (portal.memo), and the
layout parts rendered once per language (portal.layout.fragment)."""

from __future__ import annotations

import re

from flask import url_for
from flask_babel import force_locale

from employers import services
from portal import db, memo
from portal.layout import row_url
from tests.employers.factories import make_vacancy
from tests.factories import make_user


def _total(client, path: str = "/vacancies") -> int:
    text = client.get(path).get_data(as_text=True)
    found = re.search(r'<p role="status">(\d+)', text)
    assert found, text
    return int(found.group(1))


def test_remember_reuses_a_value_until_the_data_version_moves(app, db_session):
    calls = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    with app.test_request_context():
        assert memo.remember("answer", compute) == 1
    with app.test_request_context():
        assert memo.remember("answer", compute) == 1  # another request, same version
        assert memo.remember("other", compute) == 2  # another key
    make_vacancy(make_user("employer"))  # a searchable record: the outbox moves
    db.session.commit()
    with app.test_request_context():
        assert memo.remember("answer", compute) == 3


def test_a_transaction_with_uncommitted_searchable_changes_is_not_remembered(app, db_session):
    employer = make_user("employer")
    db.session.commit()
    with app.test_request_context():
        make_vacancy(employer)  # flushed, not committed
        assert memo.remember("total", lambda: "seen inside") == "seen inside"
    db.session.rollback()
    with app.test_request_context():
        assert memo.remember("total", lambda: "after") == "after"


def test_remembered_values_expire(app, db_session):
    app.config["MEMO_SECONDS"] = 0
    try:
        with app.test_request_context():
            assert memo.remember("k", lambda: 1) == 1
            assert memo.remember("k", lambda: 2) == 2
    finally:
        del app.config["MEMO_SECONDS"]


def test_a_listing_total_follows_a_new_vacancy_on_the_next_request(client):
    employer = make_user("employer")
    make_vacancy(employer, title="Magazziniere")
    assert _total(client) == 1
    assert _total(client) == 1
    second = make_vacancy(employer, title="Magazziniere notturno")
    db.session.commit()
    assert _total(client) == 2
    services.close(second, employer, "filled")
    db.session.commit()
    assert _total(client) == 1
    assert _total(client, "/vacancies?q=magazziniere") == 1


def test_the_listing_shows_the_same_cards_as_the_vacancies_say(client):
    employer = make_user("employer")
    vacancy = make_vacancy(employer, title="Aiuto cuoco", adjustments=["flexible_hours"])
    text = client.get("/vacancies", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f'href="/vacancies/{vacancy.id}"' in text
    assert vacancy.organisation.name in text
    assert vacancy.municipality.label in text
    with force_locale("en"):
        assert vacancy.contract_label in text
    assert "Adjustments offered: Flexible hours" in text


def test_the_layout_is_rendered_in_the_language_of_each_request(client):
    italian = client.get("/", headers={"Accept-Language": "it"}).get_data(as_text=True)
    english = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    again = client.get("/", headers={"Accept-Language": "it"}).get_data(as_text=True)
    assert "Dichiarazione di accessibilità" in italian and "Accessibility statement" in english
    assert "Accessibility statement" not in italian and "Dichiarazione" not in english
    assert "Cerca nel portale" in again


def test_the_menu_marks_the_current_page_whatever_page_came_before(client):
    client.get("/vacancies")
    home = client.get("/").get_data(as_text=True)
    listing = client.get("/vacancies").get_data(as_text=True)
    assert 'href="/vacancies" aria-current="page"' not in home
    assert 'href="/vacancies" aria-current="page"' in listing


def test_row_url_builds_what_url_for_builds(app):
    with app.test_request_context("/"):
        detail = row_url("employers.vacancy_detail", "vacancy_id")
        for record_id in (1, 42, 2_147_483_647):
            assert detail(record_id) == url_for("employers.vacancy_detail", vacancy_id=record_id)


def test_translated_labels_follow_the_language(app):
    from employers.models import CONTRACT_TYPES
    from portal.i18n import translated

    with app.test_request_context("/", headers={"Accept-Language": "it"}):
        italian = translated(CONTRACT_TYPES)
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        english = translated(CONTRACT_TYPES)
        assert translated(CONTRACT_TYPES) is english  # built once per language
        with force_locale("en"):
            assert english == {k: str(v) for k, v in CONTRACT_TYPES.items()}
    assert italian != english and set(italian) == set(CONTRACT_TYPES)


def test_numbers_are_written_as_babel_writes_them(app):
    from decimal import Decimal

    from flask_babel import format_decimal

    from portal.i18n import number

    for language in ("it", "en"):
        with app.test_request_context("/", headers={"Accept-Language": language}):
            for value in (0, 7, 1234, 1_234_567, Decimal("1234.5"), -42):
                assert number(value) == format_decimal(value)
            assert number(None) == ""
    with app.test_request_context("/", headers={"Accept-Language": "it"}):
        assert number(1234567) == "1.234.567"


def test_the_home_figures_follow_a_verified_organisation(client):
    from portal.db import utcnow
    from tests.factories import make_org

    def farms() -> int:
        text = client.get("/").get_data(as_text=True)
        found = re.search(r"(\d+)</[^>]+>\s*<[^>]+>\s*fattorie sociali", text)
        assert found, text
        return int(found.group(1))

    before = farms()
    assert farms() == before
    farm = make_org("social_farm", verified=False)
    db.session.commit()
    assert farms() == before  # not verified yet
    farm.verified_at = utcnow()
    db.session.commit()
    assert farms() == before + 1
