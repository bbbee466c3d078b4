"""A vacancy's bounds come from one place (the model's column lengths and the domain rules):
the form says what is wrong next to the field and keeps the text, the API answers 422 with
the field's name, and nothing is cut."""

from __future__ import annotations

import re

import pytest

from employers.models import Vacancy
from employers.services import DESCRIPTION_MAX, TITLE_MAX
from portal import db
from portal.accounts import issue_token
from tests.conftest import login
from tests.factories import make_user

FORM = {
    "title": "Magazziniere",
    "description": "Movimentazione merci.",
    "comune": "Pordenone (PN)",
    "contract_type": "permanent",
    "hours_per_week": "30",
    "positions": "1",
    "pay_period": "month",
    "shift_pattern": "day",
    "submit": "1",
}


def test_the_limits_are_the_column_s(app):
    assert TITLE_MAX == Vacancy.__table__.c.title.type.length == 200
    assert DESCRIPTION_MAX == 8000


def errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="([a-z_]+)-error"[^>]*>([^<]*)', html))


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("title", "T" * 201, "201"),
        ("description", "d" * 8001, "8001"),
        ("pay_min", "-1", "0"),
        ("pay_max", "-250,00", "0"),
    ],
)
def test_the_form_refuses_and_keeps_what_was_typed(client, db_session, field, value, words):
    login(client, make_user("employer"))
    before = db.session.query(Vacancy).count()
    response = client.post("/employer/vacancies/new", data={**FORM, field: value})
    assert response.status_code == 200
    found = errors(response.text)
    assert field in found and words in found[field]
    assert db.session.query(Vacancy).count() == before
    if field in ("title", "description"):
        assert value in response.text  # kept in full, for the person to shorten


def test_the_form_shows_a_counter_and_never_a_cutting_maxlength(client, db_session):
    login(client, make_user("employer"))
    html = client.get("/employer/vacancies/new").text
    title = re.search(r'<input[^>]*id="title"[^>]*>', html).group(0)
    assert "maxlength=" not in title.replace("data-maxlength", "")
    assert 'data-maxlength="200"' in title and "title-count" in title
    assert 'id="title-count"' in html and 'data-counter-for="description"' in html


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", "T" * 201), ("description", "d" * 8001), ("pay_min", "-1.00")],
)
def test_the_api_answers_422_with_the_field(client, db_session, field, value):
    token = issue_token(make_user("employer"))
    body = {
        "title": "Magazziniere",
        "description": "Movimentazione merci.",
        "comune": "093033",
        "contract_type": "permanent",
        "hours_per_week": 30,
        "status": "draft",
        field: value,
    }
    response = client.post(
        "/api/v1/vacancies", headers={"Authorization": f"Bearer {token}"}, json=body
    )
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
