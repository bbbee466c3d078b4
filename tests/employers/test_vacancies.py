"""Vacancy lifecycle, permissions, public listing, JSON-LD and the API."""

from __future__ import annotations

import html as html_module
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import gettext

from employers import services
from employers.models import Vacancy
from employers.services import VacancyError, VacancyFilters
from portal import db
from portal.accounts import issue_token
from portal.db import utcnow
from tests.conftest import login
from tests.employers.factories import days, make_vacancy, vacancy_data
from tests.factories import make_org, make_user


def today():
    return utcnow().date()


def test_lifecycle_draft_publish_close(db_session):
    employer = make_user("employer")
    vacancy = make_vacancy(employer, publish=False)
    assert vacancy.status == "draft" and not vacancy.is_public(today())
    services.publish(vacancy, employer, today())
    assert vacancy.status == "published" and vacancy.expires_on == days(60)
    assert vacancy.is_public(today())
    services.close(vacancy, employer, "filled")
    assert vacancy.status == "closed" and vacancy.close_reason == "filled"
    with pytest.raises(VacancyError):
        services.update_vacancy(vacancy, employer, vacancy_data(), today())


def test_unverified_company_cannot_publish(db_session):
    org = make_org("company", verified=False)
    employer = make_user("employer", org=org)
    vacancy = make_vacancy(employer, publish=False)
    with pytest.raises(VacancyError):
        services.publish(vacancy, employer, today())


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"title": "  "}, "title"),
        ({"comune_code": "999999"}, "comune"),
        ({"contract_type": "slavery"}, "contract_type"),
        ({"hours_per_week": 0}, "hours_per_week"),
        ({"hours_per_week": 90}, "hours_per_week"),
        ({"pay_min": Decimal("2000"), "pay_max": Decimal("1000")}, "pay_max"),
        ({"pay_min": Decimal("-5")}, "pay_min"),
        ({"pay_min": Decimal("10.001")}, "pay_min"),
        ({"expires_on": utcnow().date() - timedelta(days=1)}, "expires_on"),
        ({"adjustments": ["free_beer"]}, "adjustments"),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(db_session, overrides, field):
    employer = make_user("employer")
    before = db.session.query(Vacancy).count()
    with pytest.raises(VacancyError) as error:
        make_vacancy(employer, **overrides)
    assert field in error.value.fields
    assert db.session.query(Vacancy).count() == before


def test_expiry_closes_and_leaves_the_listing(db_session):
    employer = make_user("employer")
    vacancy = make_vacancy(employer)
    vacancy.expires_on = days(-1)
    listed = db.session.execute(services.public_vacancies(VacancyFilters(), today())).scalars()
    assert vacancy not in list(listed)
    assert services.expire_due(today()) == 1
    assert vacancy.status == "closed" and vacancy.close_reason == "expired"


def test_reminder_sent_once_before_expiry(app, db_session):
    employer = make_user("employer")
    vacancy = make_vacancy(employer)
    vacancy.expires_on = days(3)
    assert services.send_expiry_reminders(today()) == 1
    assert services.send_expiry_reminders(today()) == 0
    assert app.extensions["mail_outbox"][-1]["To"] == employer.email


def test_duplicate_makes_a_draft_copy(db_session):
    employer = make_user("employer")
    vacancy = make_vacancy(employer)
    copy = services.duplicate(vacancy, employer)
    assert copy.status == "draft" and copy.title == vacancy.title
    assert copy.adjustments == vacancy.adjustments and copy.id != vacancy.id


def test_listing_filters_by_radius_contract_hours_and_adjustments(db_session):
    employer = make_user("employer")
    near = make_vacancy(
        employer,
        comune_code="093033",
        contract_type="permanent",
        hours_per_week=40,
        adjustments=["quiet_place", "onsite_tutor"],
    )
    far = make_vacancy(employer, comune_code="001272", contract_type="permanent", hours_per_week=20)

    def ids(**kw):
        stmt = services.public_vacancies(VacancyFilters(**kw), today())
        return {v.id for v in db.session.execute(stmt).scalars()}

    # Porcia (093032) is next to Pordenone; Turin is 400 km away.
    assert near.id in ids(comune="093032", radius_km=10)
    assert far.id not in ids(comune="093032", radius_km=10)
    assert ids(contract_type="permanent") >= {near.id, far.id}
    assert near.id not in ids(max_hours=30) and far.id in ids(max_hours=30)
    assert ids(adjustments=["quiet_place", "onsite_tutor"]) & {near.id, far.id} == {near.id}


def test_another_company_cannot_touch_my_vacancy(client, db_session):
    mine = make_user("employer")
    other = make_user("employer")
    draft = make_vacancy(mine, publish=False)
    login(client, other)
    assert client.get(f"/vacancies/{draft.id}").status_code == 404
    assert client.get(f"/employer/vacancies/{draft.id}/edit").status_code == 403
    assert client.post(f"/employer/vacancies/{draft.id}/publish").status_code == 403
    assert (
        client.post(
            f"/employer/vacancies/{draft.id}/close", data={"reason": "withdrawn"}
        ).status_code
        == 403
    )
    assert draft.status == "draft"


def test_employer_creates_publishes_and_edits_through_the_pages(client, db_session):
    employer = make_user("employer")
    login(client, employer)
    response = client.post(
        "/employer/vacancies/new",
        data={
            "title": "Cuoca in mensa",
            "comune": "Pordenone (PN)",
            "contract_type": "permanent",
            "hours_per_week": "36",
            "positions": "2",
            "shift_pattern": "morning",
            "pay_min": "1500.00",
            "pay_max": "1700",
            "pay_period": "month",
            "adjustments": ["flexible_hours", "onsite_tutor"],
            "inclusion_open": "y",
            "submit": "1",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    vacancy = db.session.query(Vacancy).filter_by(title="Cuoca in mensa").one()
    assert vacancy.adjustments == ["flexible_hours", "onsite_tutor"]
    assert vacancy.pay_max == Decimal("1700.00")
    client.post(f"/employer/vacancies/{vacancy.id}/publish")
    assert vacancy.status == "published"
    page = client.get("/vacancies?contract=permanent")
    assert b"Cuoca in mensa" in page.data


def test_form_errors_are_shown_next_to_fields(client, db_session):
    login(client, make_user("employer"))
    response = client.post(
        "/employer/vacancies/new",
        data={
            "title": "",
            "comune": "Atlantide",
            "contract_type": "permanent",
            "hours_per_week": "99",
            "positions": "1",
            "shift_pattern": "day",
            "pay_min": "2000",
            "pay_max": "1000",
            "pay_period": "month",
            "submit": "1",
        },
    )
    assert response.status_code == 200
    for field in ("title", "comune", "hours_per_week"):
        assert f'id="{field}-error"'.encode() in response.data, field


def test_closed_vacancy_edited_by_url_is_refused(client, db_session):
    employer = make_user("employer")
    vacancy = make_vacancy(employer)
    services.close(vacancy, employer, "withdrawn")
    login(client, employer)
    response = client.post(
        f"/employer/vacancies/{vacancy.id}/edit", data={"title": "Hacked", "submit": "1"}
    )
    assert response.status_code == 302
    assert vacancy.title == "Magazziniere"


def test_suggest_skills_from_occupation(client, db_session):
    login(client, make_user("employer"))
    response = client.post(
        "/employer/vacancies/new",
        data={
            "title": "Giardiniere",
            "occupation": "landscape gardener",
            "comune": "093033",
            "contract_type": "permanent",
            "hours_per_week": "30",
            "positions": "1",
            "shift_pattern": "day",
            "pay_period": "month",
            "suggest": "1",
        },
    )
    assert response.status_code == 200
    assert b'name="required_skills"' in response.data and b"checked" in response.data


# --- JSON-LD ------------------------------------------------------------------------------

GOOGLE_REQUIRED = {"title", "description", "datePosted", "hiringOrganization", "jobLocation"}


def job_posting(client, vacancy) -> dict:
    html = client.get(f"/vacancies/{vacancy.id}").get_data(as_text=True)
    match = re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


@pytest.mark.parametrize(
    ("contract", "hours", "types"),
    [
        ("permanent", 40, ["FULL_TIME"]),
        ("permanent", 30, ["PART_TIME"]),  # shorter than the full week (D.Lgs. 81/2015 art. 4)
        ("fixed_term", 38, ["TEMPORARY", "FULL_TIME"]),
        ("fixed_term", 20, ["TEMPORARY", "PART_TIME"]),
        ("part_time", 36, ["PART_TIME"]),
        ("internship", 30, ["INTERN"]),
    ],
)
def test_employment_type_follows_the_contract_and_its_hours(
    client, db_session, contract, hours, types
):
    vacancy = make_vacancy(make_user("employer"), contract_type=contract, hours_per_week=hours)
    assert job_posting(client, vacancy)["employmentType"] == types


def test_date_posted_is_the_day_in_italy(client, db_session):
    from datetime import UTC, datetime

    vacancy = make_vacancy(make_user("employer"))
    vacancy.published_at = datetime(2027, 3, 2, 23, 30, tzinfo=UTC)  # 00:30 on 3 March in Rome
    db.session.flush()
    assert job_posting(client, vacancy)["datePosted"] == "2027-03-03"


def test_public_page_embeds_valid_job_posting(client, db_session):
    vacancy = make_vacancy(make_user("employer"))
    html = client.get(f"/vacancies/{vacancy.id}").get_data(as_text=True)
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    data = json.loads(match.group(1))
    assert data["@type"] == "JobPosting" and data.keys() >= GOOGLE_REQUIRED
    assert data["hiringOrganization"]["@type"] == "Organization"
    assert data["jobLocation"]["address"]["addressCountry"] == "IT"
    assert data["validThrough"].startswith(vacancy.expires_on.isoformat())
    assert data["baseSalary"]["currency"] == "EUR"
    assert data["baseSalary"]["value"]["minValue"] == 1200.0
    assert data["identifier"]["value"] == str(vacancy.id)
    assert set(data["employmentType"]) <= {
        "FULL_TIME",
        "PART_TIME",
        "CONTRACTOR",
        "TEMPORARY",
        "INTERN",
        "VOLUNTEER",
        "PER_DIEM",
        "OTHER",
    }


# --- API ----------------------------------------------------------------------------------


def test_api_create_and_read(client, db_session):
    employer = make_user("employer")
    token = issue_token(employer)
    response = client.post(
        "/api/v1/vacancies",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "title": "Operaio",
            "description": "Linea di montaggio",
            "comune": "093033",
            "contract_type": "permanent",
            "hours_per_week": 40,
            "status": "published",
            "pay_min": "1500.00",
        },
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "published" and body["pay"]["min"] == "1500.00"
    assert body["organization"]["id"] == employer.organisations()[0].id
    assert client.get(f"/api/v1/vacancies/{body['id']}").json["title"] == "Operaio"
    listing = client.get("/api/v1/vacancies?comune=093033&radius_km=5").json
    assert body["id"] in [v["id"] for v in listing["items"]]


def test_api_validation_errors(client, db_session):
    token = issue_token(make_user("employer"))
    headers = {"Authorization": f"Bearer {token}"}
    response = client.post("/api/v1/vacancies", headers=headers, json={"title": "X"})
    assert response.status_code == 422
    assert {"comune", "contract_type", "hours_per_week"} <= response.json["error"]["fields"].keys()
    response = client.post(
        "/api/v1/vacancies",
        headers=headers,
        json={
            "title": "X",
            "comune": "093033",
            "contract_type": "permanent",
            "hours_per_week": 10,
            "pay_min": "900",
            "pay_max": "100",
        },
    )
    assert response.status_code == 422 and "pay_max" in response.json["error"]["fields"]
    bad = client.post(
        "/api/v1/vacancies", headers=headers, data="not json", content_type="application/json"
    )
    assert bad.status_code == 400
    assert client.get("/api/v1/vacancies?radius_km=abc").status_code == 400
    assert db.session.query(Vacancy).count() == 0


def test_api_create_needs_an_employer_token(client, db_session):
    broker_token = issue_token(make_user("broker"))
    response = client.post(
        "/api/v1/vacancies",
        headers={"Authorization": f"Bearer {broker_token}"},
        json={"title": "X"},
    )
    assert response.status_code == 403
    assert client.post("/api/v1/vacancies", json={"title": "X"}).status_code == 401


def test_a_huge_listing_says_more_than_the_count_limit(app, client, db_session, monkeypatch):
    employer = make_user("employer")
    for n in range(3):
        make_vacancy(employer, title=f"Aiuto cuoco {n}")
    monkeypatch.setitem(app.config, "LISTING_COUNT_LIMIT", 2)
    page = client.get("/vacancies").get_data(as_text=True)
    assert gettext("More than %(num)s vacancies found: add a filter to narrow them down.") % {
        "num": "2"
    } in page.replace("&nbsp;", " ")
    monkeypatch.setitem(app.config, "LISTING_COUNT_LIMIT", 100)
    page = client.get("/vacancies").get_data(as_text=True)
    assert "More than" not in page and "Più di" not in page


# --- Non-finite amounts (NaN, sNaN, Infinity) ------------------------------------------

NON_FINITE = ["NaN", "sNaN", "Infinity", "-Infinity", "nan"]


@pytest.mark.parametrize("value", NON_FINITE)
def test_non_finite_pay_is_refused_by_the_rules(db_session, value):
    with pytest.raises(VacancyError) as error:
        make_vacancy(make_user("employer"), pay_min=Decimal(value), pay_max=None)
    assert "pay_min" in error.value.fields


@pytest.mark.parametrize("value", NON_FINITE)
def test_api_refuses_non_finite_pay_with_a_field_error(client, db_session, value):
    token = issue_token(make_user("employer"))
    response = client.post(
        "/api/v1/vacancies",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "title": "Operaio",
            "comune": "093033",
            "contract_type": "permanent",
            "hours_per_week": 40,
            "pay_min": "1000.00",
            "pay_max": value,
        },
    )
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"pay_max"}
    assert db.session.query(Vacancy).count() == 0


@pytest.mark.parametrize("value", NON_FINITE)
def test_vacancy_form_refuses_non_finite_pay_next_to_the_field(client, db_session, value):
    login(client, make_user("employer"))
    response = client.post(
        "/employer/vacancies/new",
        data={
            "title": "Magazziniere",
            "comune": "Pordenone (PN)",
            "contract_type": "permanent",
            "hours_per_week": "36",
            "positions": "1",
            "shift_pattern": "day",
            "pay_min": value,
            "pay_max": "1700",
            "pay_period": "month",
            "submit": "1",
        },
    )
    assert response.status_code == 200
    assert b'id="pay_min-error"' in response.data
    assert db.session.query(Vacancy).count() == 0


# --- Expiry: reminders, editing, the command --------------------------------------------


def test_extending_the_expiry_sends_a_new_reminder_before_the_new_date(app, db_session):
    employer = make_user("employer")
    vacancy = make_vacancy(employer, expires_on=days(3))
    assert services.send_expiry_reminders(today()) == 1
    assert vacancy.reminder_sent_at is not None
    services.update_vacancy(vacancy, employer, vacancy_data(expires_on=days(40)), today())
    assert vacancy.expires_on == days(40) and vacancy.reminder_sent_at is None
    assert services.send_expiry_reminders(today()) == 0  # not due yet
    assert services.send_expiry_reminders(days(35)) == 1  # a week before the new date
    # Saving without touching the date keeps the reminder already sent.
    services.update_vacancy(vacancy, employer, vacancy_data(expires_on=days(40)), days(35))
    assert vacancy.reminder_sent_at is not None


def test_clearing_the_expiry_of_a_published_vacancy_keeps_it(db_session):
    employer = make_user("employer")
    vacancy = make_vacancy(employer)
    services.update_vacancy(vacancy, employer, vacancy_data(expires_on=None), today())
    assert vacancy.expires_on == days(60)


def test_reminder_goes_through_the_notifications_centre(app, db_session):
    from flask_babel import format_date, gettext

    from portal.notifications import DAILY, OFF, Notification, set_email_mode

    immediate, daily, off = (make_user("employer") for _ in range(3))
    set_email_mode(daily, DAILY)
    set_email_mode(off, OFF)
    off.locale = "en"
    vacancies = {u.id: make_vacancy(u, expires_on=days(3)) for u in (immediate, daily, off)}
    assert services.send_expiry_reminders(today()) == 3
    notes = {
        n.user_id: n
        for n in db.session.query(Notification).filter(
            Notification.user_id.in_([immediate.id, daily.id, off.id])
        )
    }
    assert set(notes) == {immediate.id, daily.id, off.id}
    vacancy = vacancies[immediate.id]
    expected = gettext(
        'The vacancy "%(title)s" expires on %(date)s. Extend it or close it from your dashboard.',
        title=vacancy.title,
        date=format_date(vacancy.expires_on, "long"),
    )
    assert notes[immediate.id].message == expected
    assert notes[immediate.id].link == f"/employer/vacancies/{vacancy.id}/edit"
    assert notes[daily.id].email_due and not notes[immediate.id].email_due
    # English reader, English month name.
    english = vacancies[off.id].expires_on.strftime("%B")
    assert english in notes[off.id].message and "expires on" in notes[off.id].message
    # E-mail only for the one who wants it at once, with the subject in Italian.
    mails = app.extensions["mail_outbox"]
    assert [m["To"] for m in mails] == [immediate.email]
    assert mails[0]["Subject"] == gettext(
        "Your vacancy expires soon: %(title)s", title=vacancy.title
    )
    assert expected in mails[0].get_content()


def test_reminder_reaches_the_colleagues_when_the_author_left(app, db_session):
    from portal.notifications import Notification

    author = make_user("employer")
    org = author.organisations()[0]
    colleague = make_user("employer", org=org)
    vacancy = make_vacancy(author, expires_on=days(2))
    author.active = False
    assert services.send_expiry_reminders(today()) == 1
    users = {n.user_id for n in db.session.query(Notification)}
    assert colleague.id in users and author.id not in users
    assert vacancy.reminder_sent_at is not None


def test_reminder_link_is_built_without_server_name(app, db_session, monkeypatch):
    from portal.notifications import Notification

    monkeypatch.setitem(app.config, "SERVER_NAME", None)  # as from cron, without a request
    employer = make_user("employer")
    vacancy = make_vacancy(employer, expires_on=days(1))
    assert services.send_expiry_reminders(today()) == 1
    note = db.session.query(Notification).filter_by(user_id=employer.id).one()
    assert note.link == f"/employer/vacancies/{vacancy.id}/edit"


def test_expired_vacancy_not_yet_closed_cannot_be_edited_by_url(client, db_session):
    from flask_babel import gettext

    employer = make_user("employer")
    vacancy = make_vacancy(employer)
    vacancy.expires_on = days(-1)  # past its date; the nightly command has not run yet
    login(client, employer)
    refusal = gettext("This vacancy has expired and cannot be edited: duplicate it.")
    page = client.get(f"/employer/vacancies/{vacancy.id}/edit", follow_redirects=True)
    assert page.request.path == f"/vacancies/{vacancy.id}"
    assert refusal in page.get_data(as_text=True)
    response = client.post(
        f"/employer/vacancies/{vacancy.id}/edit",
        data={
            "title": "Hacked",
            "comune": "Pordenone (PN)",
            "contract_type": "permanent",
            "hours_per_week": "36",
            "positions": "1",
            "shift_pattern": "day",
            "pay_period": "month",
            "expires_on": days(30).isoformat(),
            "submit": "1",
        },
    )
    assert response.status_code == 302
    assert vacancy.title == "Magazziniere" and vacancy.expires_on == days(-1)
    with pytest.raises(VacancyError) as error:
        services.update_vacancy(vacancy, employer, vacancy_data(expires_on=days(30)), today())
    assert error.value.fields == {"status": refusal}
    # A draft with an old date is still the employer's to fix.
    draft = make_vacancy(employer, publish=False)
    draft.expires_on = days(-1)
    assert client.get(f"/employer/vacancies/{draft.id}/edit").status_code == 200


def test_expire_command_closes_and_reminds(app, db_session):
    from portal.notifications import Notification

    employer = make_user("employer")
    past = make_vacancy(employer)
    past.expires_on = days(-1)
    soon = make_vacancy(employer, expires_on=days(2))
    later = make_vacancy(employer, expires_on=days(30))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["employers", "expire"])
    assert result.exit_code == 0, result.output
    assert "1 vacancies expired, 1 reminders sent." in result.output
    db.session.expire_all()
    assert (past.status, past.close_reason) == ("closed", "expired")
    assert soon.status == "published" and soon.reminder_sent_at is not None
    assert later.status == "published" and later.reminder_sent_at is None
    assert db.session.query(Notification).filter_by(user_id=employer.id).count() == 1
    again = app.test_cli_runner().invoke(args=["employers", "expire"])
    assert "0 vacancies expired, 0 reminders sent." in again.output


# --- JSON-LD validThrough offset ----------------------------------------------------------


@pytest.mark.parametrize("month,offset", [(1, "+01:00"), (7, "+02:00")])
def test_valid_through_has_the_offset_of_italy_on_that_date(client, db_session, month, offset):
    from datetime import date

    vacancy = make_vacancy(make_user("employer"))
    expires = date(today().year + 1, month, 15)
    vacancy.expires_on = expires
    html = client.get(f"/vacancies/{vacancy.id}").get_data(as_text=True)
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert json.loads(match.group(1))["validThrough"] == f"{expires.isoformat()}T23:59:59{offset}"


# --- Site search leaves out expired vacancies at query time ---------------------------


def test_site_search_leaves_out_vacancies_past_their_expiry(client, db_session, monkeypatch):
    import random

    from portal import search
    from portal.search import querying

    word = "zq" + "".join(random.choices("bcdfglmnprstvz", k=8))
    vacancy = make_vacancy(make_user("employer"), title=f"Magazziniere {word}")
    vacancy.expires_on = today()  # last day: still valid today
    other = make_vacancy(make_user("employer"), title=f"Cuoco {word}", expires_on=days(30))
    db.session.commit()
    search.drain()

    def titles(q: str) -> list[str]:
        return [hit.title for hit in search.query(q).hits]

    assert sorted(titles(word)) == sorted([vacancy.title, other.title])
    page = client.get("/search", query_string={"q": word}).get_data(as_text=True)
    assert vacancy.title in page and other.title in page

    # Tomorrow: the index still holds the document (the expiry job has not run).
    real = querying.utcnow
    monkeypatch.setattr(querying, "utcnow", lambda: real() + timedelta(days=1))
    assert titles(word) == [other.title]
    results = search.query(word)
    assert results.total == 1 and dict(results.facets["doc_type"]) == {"vacancy": 1}
    assert titles(f"{word}*") == [other.title]  # Whoosh syntax path too
    assert titles(f'"{word}"') == [other.title]
    page = client.get("/search", query_string={"q": word}).get_data(as_text=True)
    assert vacancy.title not in page and other.title in page
    # The vacancy listing's own search (ranked ids from the index) agrees.
    assert services.ranked_vacancy_ids(word) == [other.id]


def test_syntax_queries_keep_the_type_filter(db_session):
    """Wildcards and phrases go through Whoosh's own searcher: it too must honour
    ``doc_types`` (an organisation's id is not a vacancy id)."""
    import random

    from portal import search

    word = "zq" + "".join(random.choices("bcdfglmnprstvz", k=8))
    vacancy = make_vacancy(make_user("employer"), title=f"Magazziniere {word}")
    make_org("company", name=f"Impresa {word}")
    db.session.commit()
    search.drain()
    for q in (f"{word}*", f'"{word}"', f"{word} OR zzzzzz"):
        hits = search.query(q, doc_types=["vacancy"]).hits
        assert [(h.doc_type, h.title) for h in hits] == [("vacancy", vacancy.title)], q
    assert services.ranked_vacancy_ids(f"{word}*") == [vacancy.id]


# --- Small page tests: company profile, duplicate -------------------------------------


def test_company_profile_with_an_invalid_vat_number_saves_nothing(client, db_session):
    from flask_babel import gettext

    from employers.models import CompanyProfile

    employer = make_user("employer")
    org = employer.organisations()[0]
    before = org.comune_code
    login(client, employer)
    assert client.get("/employer/profile").status_code == 200
    response = client.post(
        "/employer/profile",
        data={
            "legal_name": "Officine Rossi srl",
            "vat_number": "00743110158",  # wrong check digit
            "comune": "Torino (TO)",
            "employees": "40",
            "submit": "1",
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    error = re.search(r'id="vat_number-error"[^>]*>(.*?)</', html, re.S)
    assert error is not None
    assert gettext(
        "The check digit (the last one) does not match: look for a typing error."
    ) in html_module.unescape(error.group(1))
    assert db.session.get(CompanyProfile, org.id) is None
    assert org.comune_code == before
    # With a valid number the same form saves.
    response = client.post(
        "/employer/profile",
        data={
            "legal_name": "Officine Rossi srl",
            "vat_number": "00743110157",
            "comune": "Torino (TO)",
            "employees": "40",
            "submit": "1",
        },
    )
    assert response.status_code == 302
    assert db.session.get(CompanyProfile, org.id).vat_number == "00743110157"


def test_employer_duplicates_a_vacancy_through_the_page(client, db_session):
    from flask_babel import gettext
    from markupsafe import escape

    employer = make_user("employer")
    vacancy = make_vacancy(employer, adjustments=["quiet_place", "step_free_access"])
    services.close(vacancy, employer, "filled")
    login(client, employer)
    detail = client.get(f"/vacancies/{vacancy.id}").get_data(as_text=True)
    assert f'action="/employer/vacancies/{vacancy.id}/duplicate"' in detail
    assert client.get(f"/employer/vacancies/{vacancy.id}/duplicate").status_code == 405
    before = db.session.query(Vacancy).count()
    response = client.post(f"/employer/vacancies/{vacancy.id}/duplicate", follow_redirects=True)
    assert response.status_code == 200
    assert db.session.query(Vacancy).count() == before + 1
    copy = db.session.query(Vacancy).order_by(Vacancy.id.desc()).first()
    assert response.request.path == f"/vacancies/{copy.id}"
    flashed = str(escape(gettext("A draft copy of the vacancy has been created.")))
    assert flashed in response.get_data(as_text=True)
    assert (copy.status, copy.title, copy.organisation_id) == (
        "draft",
        vacancy.title,
        vacancy.organisation_id,
    )
    assert copy.adjustments == ["quiet_place", "step_free_access"] and copy.expires_on is None
    # Someone else's vacancy cannot be copied.
    login(client, make_user("employer"))
    assert client.post(f"/employer/vacancies/{vacancy.id}/duplicate").status_code == 403
    assert db.session.query(Vacancy).count() == before + 1


# --- Demo data ----------------------------------------------------------------------------


def test_demo_seed_makes_companies_and_vacancies_in_every_state_once(db_session):
    from sqlalchemy import func, select

    from employers import demo as employers_demo
    from employers.models import CompanyProfile
    from employers.validators import vat_number_is_valid
    from portal import demo
    from portal.models import Organisation

    orgs = demo._seed_organisations()
    demo._seed_users(orgs)

    def snapshot():  # type: ignore[no-untyped-def]
        return (
            db.session.scalar(select(func.count()).select_from(Organisation)),
            db.session.scalar(select(func.count()).select_from(CompanyProfile)),
            db.session.scalar(select(func.count()).select_from(Vacancy)),
        )

    employers_demo.seed("small", lambda _message: None)
    first = snapshot()
    profiles = db.session.execute(select(CompanyProfile)).scalars().all()
    assert len(profiles) >= 12 and all(vat_number_is_valid(p.vat_number) for p in profiles)
    sizes = sorted(p.employees for p in profiles)
    assert sizes[0] < 15 and sizes[-1] > 150  # from exempt to the 7% band
    assert len({p.ateco_code[:2] for p in profiles}) >= 10
    assert len({p.organisation.municipality.province_code for p in profiles}) >= 8
    vacancies = db.session.execute(select(Vacancy)).scalars().all()
    assert len(vacancies) >= 40
    states = {(v.status, v.close_reason) for v in vacancies}
    assert states >= {
        ("draft", None),
        ("published", None),
        ("closed", "filled"),
        ("closed", "withdrawn"),
        ("closed", "expired"),
    }
    assert any(v.is_public(today()) for v in vacancies)
    # The demo employer's own company shows every state on its dashboard.
    employer = demo.accounts.find_user("employer@ponte.demo")
    own = {v.status for v in vacancies if v.organisation in employer.organisations()}
    assert own == {"draft", "published", "closed"}
    employers_demo.seed("small", lambda _message: None)
    assert snapshot() == first
