"""The vacancy form's occupation: the picker's look-up API, and what the server accepts
when the picker did not run (no JavaScript, a typed label, an ISCO code)."""

from __future__ import annotations

import pytest

from employers.models import Vacancy
from portal import db
from portal.taxonomy import resolve_occupation
from tests.conftest import login
from tests.factories import make_user

WAREHOUSE_IT = "magazziniere/magazziniera"


def vacancy_form(**extra: str) -> dict[str, str]:
    data = {
        "title": "Magazziniere",
        "comune": "093033",
        "contract_type": "fixed_term",
        "hours_per_week": "30",
        "positions": "1",
        "shift_pattern": "day",
        "pay_period": "month",
    }
    data.update(extra)
    return data


def test_api_suggests_occupations_by_the_start_of_the_label_in_the_language(client):
    items = client.get("/api/v1/occupations?q=magazz&lang=it").json["items"]
    labels = [i["label"] for i in items]
    assert WAREHOUSE_IT in labels
    assert all(i["label"].lower().startswith("magazz") for i in items[:3])
    assert labels[0] == WAREHOUSE_IT  # the shortest label first
    english = client.get("/api/v1/occupations?q=warehouse&lang=en").json["items"]
    assert "warehouse worker" in [i["label"] for i in english]
    assert {"id", "uri", "isco_code", "label_it", "label_en"} <= english[0].keys()


@pytest.mark.parametrize("q", ["", "m", " "])
def test_api_needs_two_letters(client, q):
    assert client.get("/api/v1/occupations", query_string={"q": q}).json == {"items": []}


@pytest.mark.parametrize(
    "text",
    [
        WAREHOUSE_IT,
        "Magazziniere/Magazziniera",  # any case
        "magazziniere",  # one gender form
        "magazziniera",
        "warehouse worker",  # the English label
        "  warehouse   worker ",
    ],
)
def test_resolves_a_label_in_either_language(app, db_session, text):
    found, close = resolve_occupation(text)
    assert found is not None and found.label_en == "warehouse worker" and close == []


def test_resolves_an_unambiguous_start_or_isco_code(app, db_session):
    found, _close = resolve_occupation("magazziniere addetto alla prep")
    assert found is not None and found.label_en == "warehouse order picker"
    gardener, _close = resolve_occupation("landscape garden")
    assert gardener is not None and gardener.label_en == "landscape gardener"
    # A code with one occupation in it resolves; a code with several lists them.
    codes = {}
    from sqlalchemy import func, select

    from portal.taxonomy import Occupation

    for code, n in db.session.execute(
        select(Occupation.isco_code, func.count()).group_by(Occupation.isco_code)
    ):
        codes.setdefault(n == 1, code)
    single, _close = resolve_occupation(codes[True])
    assert single is not None and single.isco_code == codes[True]
    none, close = resolve_occupation(codes[False])
    assert none is None and 1 < len(close) <= 5


def test_ambiguous_or_unknown_text_gives_close_matches(app, db_session):
    found, close = resolve_occupation("magazz")
    assert found is None and 1 < len(close) <= 5
    assert WAREHOUSE_IT in [o.label_it for o in close]
    assert resolve_occupation("xyzzy quux") == (None, [])


def test_the_form_accepts_a_typed_label_and_suggests_skills(client, db_session):
    login(client, make_user("employer"))
    response = client.post(
        "/employer/vacancies/new?lang=it", data=vacancy_form(occupation="magazziniere", suggest="1")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'value="{WAREHOUSE_IT}"' in html  # shown as the list has it
    assert 'name="required_skills"' in html and "checked" in html
    assert 'id="occupation-error"' not in html


def test_the_form_lists_close_matches_for_an_ambiguous_occupation(client, db_session):
    login(client, make_user("employer"))
    response = client.post(
        "/employer/vacancies/new?lang=it", data=vacancy_form(occupation="magazz", submit="1")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="occupation-error"' in html
    error = html[html.index('id="occupation-error"') :].split("</div>")[0]
    assert "magazz" in error and WAREHOUSE_IT in error
    assert db.session.query(Vacancy).filter_by(title="Magazziniere").count() == 0


def test_the_form_saves_the_occupation_by_english_label_in_italian(client, db_session):
    login(client, make_user("employer"))
    response = client.post(
        "/employer/vacancies/new?lang=it",
        data=vacancy_form(title="Magazziniere EN", occupation="warehouse worker", submit="1"),
    )
    assert response.status_code == 302
    vacancy = db.session.query(Vacancy).filter_by(title="Magazziniere EN").one()
    assert vacancy.occupation.label_en == "warehouse worker"


def test_contract_type_must_be_chosen(client, db_session):
    login(client, make_user("employer"))
    form = client.get("/employer/vacancies/new").get_data(as_text=True)
    select = form[form.index('name="contract_type"') :].split("</select>")[0]
    first = select.split("<option")[1]
    assert 'value=""' in first and "selected" in first
    response = client.post(
        "/employer/vacancies/new", data=vacancy_form(contract_type="", submit="1")
    )
    assert response.status_code == 200
    assert 'id="contract_type-error"' in response.get_data(as_text=True)
    assert db.session.query(Vacancy).filter_by(title="Magazziniere").count() == 0
