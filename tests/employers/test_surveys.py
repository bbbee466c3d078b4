"""Needs survey: answers by the company or a visiting broker, permissions, bad input,
closed rounds, anonymised aggregates with small-cell suppression, CSV and XLSX exports."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from employers import surveys
from employers.demo import occupation
from employers.surveys import (
    Cell,
    NeedData,
    ResponseData,
    SurveyError,
    SurveyNeed,
    SurveyResponse,
    SurveyRound,
)
from employers.surveys import demo as survey_demo
from portal import db
from portal.db import utcnow
from portal.taxonomy import suggested_skills
from tests.conftest import login
from tests.factories import make_org, make_user

PORDENONE, FROSINONE = "093033", "060038"


def today():
    return utcnow().date()


def make_round(*, opens: int = -10, closes: int = 30, title: str = "Fabbisogni") -> SurveyRound:
    survey_round = SurveyRound(
        title=title,
        year=today().year,
        opens_on=today() + timedelta(days=opens),
        closes_on=today() + timedelta(days=closes),
    )
    db.session.add(survey_round)
    db.session.flush()
    return survey_round


def occ(label: str):
    found = occupation(label)
    assert found is not None, label
    return found


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def form_data(
    *lines: dict,
    comune: str = "Pordenone (PN)",
    sector: str = "C",
    button: str = "submit",
    **extra: str,
) -> dict[str, object]:
    data: dict[str, object] = {
        "comune": comune,
        "sector": sector,
        "comments": "",
        button: "1",
        **extra,
    }
    for n, line in enumerate(lines):
        for name, value in line.items():
            data[f"lines-{n}-{name}"] = value
    return data


def line(
    label: str = "warehouse worker",
    hires: object = "2",
    contract: str = "fixed_term",
    internships: object = "1",
    **extra: object,
) -> dict[str, object]:
    return {
        "occupation": label,
        "hires": hires,
        "contract_type": contract,
        "internships": internships,
        **extra,
    }


BLANK = {"occupation": "", "hires": "", "contract_type": "", "internships": ""}


def answer(user, survey_round, org, needs, *, visit=False):
    """Save answers through the service, in the organisation's municipality."""
    data = ResponseData(
        comune_code=org.comune_code,
        sector="C",
        needs=[
            NeedData(
                occupation_id=occ(label).id,
                hires=hires,
                internships=internships,
                contract_type="permanent" if hires else None,
                on_the_job_training=training,
                key=f"lines-{n}",
            )
            for n, (label, hires, internships, training) in enumerate(needs)
        ],
        visit_on=today() if visit else None,
    )
    return surveys.save_response(survey_round, org, user, data, today(), visit=visit)


def company(comune=PORDENONE):
    org = make_org("company", comune_code=comune)
    return make_user("employer", org=org), org


# --- The employer fills in and edits ---------------------------------------------------


def test_employer_fills_in_and_edits_their_answers(client, db_session):
    survey_round = make_round()
    employer = make_user("employer")
    org = employer.organisations()[0]
    login(client, employer)
    url = f"/surveys/rounds/{survey_round.id}/answers"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="survey-occupations"' in html and 'name="lines-2-occupation"' in html
    assert "<legend" in html and 'for="lines-0-hires"' in html

    warehouse = occ("warehouse worker")
    essential, _optional = suggested_skills(warehouse)
    skill_ids = [s.id for s in essential[:2]]
    response = client.post(
        url,
        data=form_data(
            line(hires="3", internships="2", on_the_job="y", skills=[str(s) for s in skill_ids]),
            BLANK,
            line("kitchen assistant", hires="0", contract="", internships="2"),
        ),
    )
    assert response.status_code == 302
    saved = db.session.execute(select(SurveyResponse)).scalar_one()
    assert f"/surveys/answers/{saved.id}" in response.headers["Location"]
    assert saved.organisation_id == org.id and saved.filled_by_id == employer.id
    assert not saved.during_visit and saved.comune_code == PORDENONE and saved.sector == "C"
    assert [
        (n.occupation.label_en, n.hires, n.internships, n.on_the_job_training) for n in saved.needs
    ] == [("warehouse worker", 3, 2, True), ("kitchen assistant", 0, 2, False)]
    assert sorted(r.skill_id for r in saved.needs[0].skill_rows) == sorted(skill_ids)
    assert saved.needs[0].contract_type == "fixed_term" and saved.needs[1].contract_type is None

    detail = client.get(f"/surveys/answers/{saved.id}")
    assert detail.status_code == 200
    assert essential[0].label in unescape(detail.get_data(as_text=True))

    # Editing replaces the lines; still one answer per organisation and round.
    edit = client.get(url)
    assert 'value="3"' in edit.get_data(as_text=True)
    response = client.post(
        url, data=form_data(line("cook", hires="1", contract="permanent", internships="0"))
    )
    assert response.status_code == 302
    assert count(SurveyResponse) == 1
    db.session.refresh(saved)
    assert [(n.occupation.label_en, n.hires) for n in saved.needs] == [("cook", 1)]
    assert count(SurveyNeed) == 1


def test_add_and_remove_lines_without_javascript(client, db_session):
    survey_round = make_round()
    login(client, make_user("employer"))
    url = f"/surveys/rounds/{survey_round.id}/answers"
    page = client.post(url, data=form_data(line(), BLANK, BLANK, button="add_lines"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="lines-5-occupation"' in html
    assert 'value="warehouse worker"' in html
    assert count(SurveyResponse) == 0

    page = client.post(url, data=form_data(line(), line("cook", remove="y"), button="suggest"))
    html = unescape(page.get_data(as_text=True))
    assert 'value="cook"' not in html and 'value="warehouse worker"' in html
    # "Show key skills" offers the occupation's ESCO skills as checkboxes.
    essential, _optional = suggested_skills(occ("warehouse worker"))
    assert 'name="lines-0-skills"' in html and essential[0].label in html
    assert count(SurveyResponse) == 0

    # A removed line is not saved.
    response = client.post(url, data=form_data(line(), line("cook", remove="y")))
    assert response.status_code == 302
    saved = db.session.execute(select(SurveyResponse)).scalar_one()
    assert [n.occupation.label_en for n in saved.needs] == ["warehouse worker"]


def test_company_with_several_organisations_chooses_one(client, db_session):
    survey_round = make_round()
    employer = make_user("employer")
    other = make_org("company")
    from portal.models import Membership

    employer.memberships.append(Membership(role="employer", organisation=other))
    db.session.flush()
    login(client, employer)
    response = client.post(
        f"/surveys/rounds/{survey_round.id}/answers?org={other.id}", data=form_data(line())
    )
    assert response.status_code == 302
    assert db.session.execute(select(SurveyResponse.organisation_id)).scalar_one() == other.id


# --- Brokers during a company visit ----------------------------------------------------


def test_broker_fills_in_during_a_visit(client, db_session):
    survey_round = make_round()
    employer, org = company()
    broker = make_user("broker")
    service = broker.organisations()[0]
    login(client, broker)
    picker = client.get(f"/surveys/rounds/{survey_round.id}/visit?q={org.name[:8]}")
    assert picker.status_code == 200 and org.name in picker.get_data(as_text=True)

    url = f"/surveys/rounds/{survey_round.id}/visit/{org.id}"
    assert client.get(url).status_code == 200
    response = client.post(url, data=form_data(line(), visit_on=today().isoformat()))
    assert response.status_code == 302
    saved = db.session.execute(select(SurveyResponse)).scalar_one()
    assert saved.during_visit and saved.visit_on == today()
    assert saved.filled_by_id == broker.id and saved.visit_service_id == service.id
    assert saved.organisation_id == org.id

    # The broker's service sees it in its list; the company sees it without the service name.
    assert org.name in client.get("/surveys/visits").get_data(as_text=True)
    login(client, employer)
    detail = unescape(client.get(f"/surveys/answers/{saved.id}").get_data(as_text=True))
    assert occ("warehouse worker").label_it in detail
    assert service.name not in detail

    # A visit date in the future is refused next to the field.
    login(client, broker)
    page = client.post(
        url, data=form_data(line(), visit_on=(today() + timedelta(days=2)).isoformat())
    )
    assert page.status_code == 200 and 'id="visit_on-error"' in page.get_data(as_text=True)


def test_broker_cannot_see_or_overwrite_what_the_company_answered(client, db_session):
    survey_round = make_round()
    employer, org = company()
    answer(employer, survey_round, org, [("cook", 4, 0, False)])
    before = db.session.execute(select(SurveyResponse)).scalar_one()
    login(client, make_user("broker"))
    url = f"/surveys/rounds/{survey_round.id}/visit/{org.id}"
    page = client.get(url)
    assert page.status_code == 302
    assert client.post(url, data=form_data(line())).status_code == 302
    assert client.get(f"/surveys/answers/{before.id}").status_code == 403
    db.session.refresh(before)
    assert [(n.occupation.label_en, n.hires) for n in before.needs] == [("cook", 4)]
    assert before.filled_by_id == employer.id


def test_broker_visits_only_verified_companies(client, db_session):
    survey_round = make_round()
    login(client, make_user("broker"))
    unverified = make_org("company", verified=False)
    service = make_org("service")
    for org in (unverified, service):
        url = f"/surveys/rounds/{survey_round.id}/visit/{org.id}"
        assert client.get(url).status_code == 404
        assert client.post(url, data=form_data(line())).status_code == 404
    picker = client.get(f"/surveys/rounds/{survey_round.id}/visit").get_data(as_text=True)
    assert unverified.name not in picker and service.name not in picker
    assert count(SurveyResponse) == 0


def test_other_brokers_service_cannot_continue_a_visit(client, db_session):
    survey_round = make_round()
    _employer, org = company()
    first = make_user("broker")
    response = answer(first, survey_round, org, [("cook", 1, 0, False)], visit=True)
    colleague = make_user("broker", org=first.organisations()[0])
    stranger = make_user("broker")
    assert surveys.broker_may_fill(colleague, org, response)
    assert not surveys.broker_may_fill(stranger, org, response)
    login(client, stranger)
    assert client.get(f"/surveys/answers/{response.id}").status_code == 403


# --- Permissions -----------------------------------------------------------------------


def test_another_employer_can_never_read_or_change_the_answers(client, db_session):
    survey_round = make_round()
    owner, org = company()
    response = answer(owner, survey_round, org, [("cook", 2, 0, False)])
    intruder = make_user("employer")
    login(client, intruder)
    assert client.get(f"/surveys/answers/{response.id}").status_code == 403
    url = f"/surveys/rounds/{survey_round.id}/answers?org={org.id}"
    assert client.get(url).status_code == 404
    assert client.post(url, data=form_data(line("welder"))).status_code == 404
    db.session.refresh(response)
    assert [n.occupation.label_en for n in response.needs] == ["cook"]
    with pytest.raises(SurveyError):
        answer(intruder, survey_round, org, [("welder", 1, 0, False)])


def test_anonymous_is_sent_to_login(client, db_session):
    survey_round = make_round()
    for path in (
        "/surveys",
        "/surveys/results",
        "/surveys/results.csv",
        f"/surveys/rounds/{survey_round.id}/answers",
    ):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "role,allowed",
    [
        ("employer", False),
        ("cooperative", False),
        ("social_farm", False),
        ("buyer", False),
        ("microcredit_officer", False),
        ("broker", True),
        ("public_officer", True),
        ("admin", True),
    ],
)
def test_results_only_for_the_network(client, db_session, role, allowed):
    make_round()
    login(client, make_user(role))
    for path in ("/surveys/results", "/surveys/results.csv", "/surveys/results.xlsx"):
        status = client.get(path).status_code
        assert (status == 200) if allowed else (status == 403), (path, status)


def test_rounds_are_created_by_admins_and_public_officers(client, db_session):
    for role in ("admin", "public_officer"):
        login(client, make_user(role))
        response = client.post(
            "/surveys/rounds/new",
            data={
                "title": f"Round by {role}",
                "year": str(today().year),
                "opens_on": today().isoformat(),
                "closes_on": (today() + timedelta(days=60)).isoformat(),
                "submit": "1",
            },
        )
        assert response.status_code == 302
    assert count(SurveyRound) == 2
    page = client.post(
        "/surveys/rounds/new",
        data={
            "title": "Backwards",
            "year": str(today().year),
            "opens_on": today().isoformat(),
            "closes_on": (today() - timedelta(days=1)).isoformat(),
            "submit": "1",
        },
    )
    assert page.status_code == 200 and 'id="closes_on-error"' in page.get_data(as_text=True)
    duplicate = client.post(
        "/surveys/rounds/new",
        data={
            "title": "Round by admin",
            "year": str(today().year),
            "opens_on": today().isoformat(),
            "closes_on": today().isoformat(),
            "submit": "1",
        },
    )
    assert 'id="title-error"' in duplicate.get_data(as_text=True)
    assert count(SurveyRound) == 2
    login(client, make_user("employer"))
    assert client.get("/surveys/rounds/new").status_code == 403
    assert client.post("/surveys/rounds/new", data={"title": "x"}).status_code == 403


def test_menu_entry_for_survey_roles(app, client, db_session):
    assert "employers.survey_home" in [entry[1] for entry in app.extensions["ponte_nav"]]
    login(client, make_user("employer"))
    assert 'href="/surveys"' in client.get("/surveys").get_data(as_text=True)
    login(client, make_user("buyer"))
    assert 'href="/surveys"' not in client.get("/account").get_data(as_text=True)


# --- Bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad,field",
    [
        ({"hires": "-1"}, "lines-1-hires"),
        ({"hires": "10001"}, "lines-1-hires"),
        ({"hires": "lots"}, "lines-1-hires"),
        ({"internships": "-2"}, "lines-1-internships"),
        ({"internships": "5000"}, "lines-1-internships"),
        ({"occupation": "astronaut of the sea"}, "lines-1-occupation"),
        ({"occupation": ""}, "lines-1-occupation"),
        ({"contract_type": ""}, "lines-1-contract_type"),
        ({"contract_type": "slavery"}, "lines-1-contract_type"),
        ({"hires": "0", "internships": "0"}, "lines-1-hires"),
        ({"skills": ["999999999"]}, "lines-1-skills"),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(client, db_session, bad, field):
    survey_round = make_round()
    login(client, make_user("employer"))
    page = client.post(
        f"/surveys/rounds/{survey_round.id}/answers",
        data=form_data(line(), {**line("cook"), **bad}),
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'id="{field}-error"' in html, html[html.find("invalid-feedback") - 300 :][:600]
    assert 'aria-invalid="true"' in html or field.endswith("skills")
    assert count(SurveyResponse) == 0 and count(SurveyNeed) == 0


@pytest.mark.parametrize(
    "data,field",
    [
        ({"comune": "Atlantide"}, "comune"),
        ({"sector": ""}, "sector"),
        ({"sector": "Z"}, "sector"),
    ],
)
def test_bad_company_data_is_refused(client, db_session, data, field):
    survey_round = make_round()
    login(client, make_user("employer"))
    page = client.post(
        f"/surveys/rounds/{survey_round.id}/answers", data={**form_data(line()), **data}
    )
    assert f'id="{field}-error"' in page.get_data(as_text=True)
    assert count(SurveyResponse) == 0


def test_a_failed_edit_keeps_the_previous_answers(client, db_session):
    survey_round = make_round()
    employer, org = company()
    response = answer(employer, survey_round, org, [("cook", 2, 1, True)])
    login(client, employer)
    page = client.post(
        f"/surveys/rounds/{survey_round.id}/answers",
        data=form_data(line("welder", hires="4"), line(hires="99999")),
    )
    assert page.status_code == 200
    db.session.refresh(response)
    assert [(n.occupation.label_en, n.hires) for n in response.needs] == [("cook", 2)]


def test_service_reports_every_problem_at_once(db_session):
    survey_round = make_round()
    employer, org = company()
    data = ResponseData(
        comune_code="999999",
        sector="?",
        needs=[
            NeedData(occupation_id=-1, hires=-3, key="lines-0"),
            NeedData(
                occupation_id=occ("cook").id, hires=20_000, contract_type="permanent", key="lines-1"
            ),
        ],
    )
    with pytest.raises(SurveyError) as error:
        surveys.save_response(survey_round, org, employer, data, today())
    assert {
        "comune",
        "sector",
        "lines-0-occupation",
        "lines-0-hires",
        "lines-1-hires",
    } <= error.value.fields.keys()
    assert count(SurveyResponse) == 0
    too_many = ResponseData(
        comune_code=PORDENONE,
        sector="C",
        needs=[
            NeedData(
                occupation_id=occ("cook").id, hires=1, contract_type="permanent", key=f"lines-{n}"
            )
            for n in range(surveys.MAX_LINES + 1)
        ],
    )
    with pytest.raises(SurveyError) as error:
        surveys.save_response(survey_round, org, employer, too_many, today())
    assert "needs" in error.value.fields


# --- Closed rounds ---------------------------------------------------------------------


def test_closed_round_is_refused(client, db_session):
    closed = make_round(opens=-60, closes=-1, title="Closed")
    employer, org = company()
    login(client, employer)
    url = f"/surveys/rounds/{closed.id}/answers"
    assert client.get(url).status_code == 302
    page = client.post(url, data=form_data(line()))
    assert page.status_code == 200 and 'id="form-error-list"' in page.get_data(as_text=True)
    assert count(SurveyResponse) == 0
    with pytest.raises(SurveyError) as error:
        answer(employer, closed, org, [("cook", 1, 0, False)])
    assert "round" in error.value.fields
    upcoming = make_round(opens=5, closes=30, title="Upcoming")
    with pytest.raises(SurveyError):
        answer(employer, upcoming, org, [("cook", 1, 0, False)])
    login(client, make_user("broker"))
    visit = client.post(
        f"/surveys/rounds/{closed.id}/visit/{org.id}",
        data=form_data(line(), visit_on=today().isoformat()),
    )
    assert 'id="form-error-list"' in visit.get_data(as_text=True)
    assert count(SurveyResponse) == 0


def test_answers_of_a_closed_round_stay_readable_but_frozen(client, db_session):
    survey_round = make_round()
    employer, org = company()
    response = answer(employer, survey_round, org, [("cook", 2, 0, False)])
    survey_round.closes_on = today() - timedelta(days=1)
    login(client, employer)
    page = client.get(f"/surveys/rounds/{survey_round.id}/answers")
    assert page.headers["Location"].endswith(f"/surveys/answers/{response.id}")
    detail = client.get(f"/surveys/answers/{response.id}").get_data(as_text=True)
    assert f"/surveys/rounds/{survey_round.id}/answers" not in detail


# --- Aggregates and suppression --------------------------------------------------------


def build_network(survey_round):
    """Pordenone (Friuli-Venezia Giulia): 3 companies need warehouse workers (ISCO 9),
    4 need welders (ISCO 7); Frosinone (Lazio): 1 company needs a cook (ISCO 5)."""
    for hires, internships, training in ((2, 1, True), (3, 0, False), (4, 2, True)):
        user, org = company()
        answer(user, survey_round, org, [("warehouse worker", hires, internships, training)])
    for _n in range(4):
        user, org = company()
        answer(user, survey_round, org, [("welder", 1, 1, False)])
    user, org = company(FROSINONE)
    answer(user, survey_round, org, [("cook", 5, 0, False)])


def by_key(results):
    return {(c.territory, c.occupation): c for c in results.cells}


def test_aggregates_suppress_small_cells_and_their_complements(db_session):
    survey_round = make_round()
    build_network(survey_round)
    results = surveys.aggregate(survey_round, "region", "isco1")
    cells = by_key(results)
    assert set(cells) == {
        ("Friuli-Venezia Giulia", "9"),
        ("Friuli-Venezia Giulia", "7"),
        ("Lazio", "5"),
    }
    welders = cells[("Friuli-Venezia Giulia", "7")]
    assert (
        welders.company_count,
        welders.planned_hires,
        welders.internships_offered,
        welders.training_companies,
    ) == (4, 4, 4, 0)
    cook = cells[("Lazio", "5")]
    assert cook.small and cook.company_count is None and cook.planned_hires is None
    # Total − welders would give the cook's figures away: the warehouse cell is withheld.
    warehouse = cells[("Friuli-Venezia Giulia", "9")]
    assert warehouse.withheld and not warehouse.small and warehouse.planned_hires is None
    assert (
        results.respondents,
        results.total_hires,
        results.total_internships,
        results.total_training_companies,
    ) == (8, 18, 7, 2)

    # Two more cooks in Lazio: nothing small, nothing withheld.
    for _n in range(2):
        user, org = company(FROSINONE)
        answer(user, survey_round, org, [("cook", 1, 1, True)])
    cells = by_key(surveys.aggregate(survey_round, "region", "isco1"))
    assert not any(c.hidden for c in cells.values())
    warehouse = cells[("Friuli-Venezia Giulia", "9")]
    assert (
        warehouse.company_count,
        warehouse.planned_hires,
        warehouse.internships_offered,
        warehouse.training_companies,
    ) == (3, 9, 3, 2)
    cook = cells[("Lazio", "5")]
    assert (cook.company_count, cook.planned_hires, cook.internships_offered) == (3, 7, 2)

    # By province and ESCO occupation: same figures, other labels.
    cells = by_key(surveys.aggregate(survey_round, "province", "esco"))
    cook = cells[("FR", f"5120/{occ('cook').id}")]
    assert cook.territory_label == "FR (Lazio)" and cook.planned_hires == 7


def test_totals_are_withheld_when_few_companies_plan_anything(db_session):
    survey_round = make_round()
    user, org = company()
    answer(user, survey_round, org, [("cook", 6, 0, False)])
    results = surveys.aggregate(survey_round)
    assert results.respondents is None and results.total_hires is None
    for _n in range(2):  # two more answers, both "nothing planned"
        user, org = company()
        answer(user, survey_round, org, [])
    results = surveys.aggregate(survey_round)
    assert results.respondents == 3 and results.total_hires is None
    assert [c.planned_hires for c in results.cells] == [None]
    assert surveys.export_rows(results)[-1][4:8] == [3, None, None, None]


def test_small_regions_are_protected_within_their_isco_group(db_session):
    """A visible sub-major group minus its visible occupations must not give one company."""
    cells = [
        Cell("PN", "PN", "91", "", occupation_parent="9", companies={1, 2, 3}, hires=5),
        Cell("PN", "PN", "93", "", occupation_parent="9", companies={4}, hires=7),
        Cell("PN", "PN", "94", "", occupation_parent="9", companies={5, 6, 7, 8}, hires=1),
        Cell("PN", "PN", "72", "", occupation_parent="7", companies={9, 10, 11}, hires=2),
        Cell("PN", "PN", "74", "", occupation_parent="7", companies={12, 13, 14}, hires=2),
    ]
    surveys.protect(cells)
    hidden = {c.occupation for c in cells if c.hidden}
    assert hidden == {"93", "91"}  # 93 is small; 91 has the fewest companies of group 9
    assert [c.occupation for c in cells if c.small] == ["93"]


def test_results_page_has_chart_table_and_suppression(client, db_session):
    survey_round = make_round()
    build_network(survey_round)
    login(client, make_user("public_officer"))
    page = client.get(f"/surveys/results?round={survey_round.id}&territory=region&occupation=isco1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'role="img"' in html and '<title id="survey-chart-title">' in html
    assert "<caption>" in html and 'scope="row"' in html and 'scope="col"' in html
    assert "&lt;3" in html
    assert 'href="/surveys/results.csv?' in html and 'href="/surveys/results.xlsx?' in html
    # The names of the companies never appear in the results.
    for org in db.session.execute(select(SurveyResponse)).scalars():
        assert org.organisation.name not in html


def test_csv_and_xlsx_exports_give_the_same_numbers(client, db_session):
    survey_round = make_round()
    build_network(survey_round)
    login(client, make_user("broker"))
    query = f"round={survey_round.id}&territory=region&occupation=isco1&lang=en"

    response = client.get(f"/surveys/results.csv?{query}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and disposition.endswith('.csv"')
    assert f"needs-survey-{survey_round.year}-{survey_round.id}-region-isco1" in disposition
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:8] == [
        "Territory code",
        "Territory",
        "Occupation code",
        "Occupation",
        "Responding companies",
        "Planned hires",
        "Internships offered",
        "Companies offering on-the-job training",
    ]
    table = {(r[0], r[2]): r[4:8] for r in body}
    assert table[("Friuli-Venezia Giulia", "7")] == ["4", "4", "4", "0"]
    assert table[("Lazio", "5")] == ["<3", "", "", ""]
    assert table[("Friuli-Venezia Giulia", "9")] == ["", "", "", ""]
    assert body[-1][1] == "Total" and body[-1][4:8] == ["8", "18", "7", "2"]

    response = client.get(f"/surveys/results.xlsx?{query}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    sheet_rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    assert [str(v) for v in sheet_rows[0][:8]] == header[:8]
    as_text = [["" if v is None else str(v) for v in r[:8]] for r in sheet_rows[1:]]
    assert as_text == [r[:8] for r in body]
    welders = next(r for r in sheet_rows if r[0] == "Friuli-Venezia Giulia" and r[2] == "7")
    assert welders[4:8] == [4, 4, 4, 0]  # real numbers, not text


def test_exports_without_any_round_are_404(client, db_session):
    login(client, make_user("admin"))
    assert client.get("/surveys/results").status_code == 200
    assert client.get("/surveys/results.csv").status_code == 404


# --- Demo data -------------------------------------------------------------------------


def test_demo_seed_is_idempotent_and_registered(app, db_session):
    from portal import demo

    assert survey_demo.seed in app.extensions["ponte_demo_seeders"]
    orgs = demo._seed_organisations()
    demo._seed_users(orgs)
    survey_demo.seed("small", lambda _message: None)
    rounds, responses, needs = count(SurveyRound), count(SurveyResponse), count(SurveyNeed)
    assert rounds == 1 and responses == len(survey_demo.DEMO_RESPONSES) and needs > responses
    survey_round = db.session.execute(select(SurveyRound)).scalar_one()
    assert survey_round.is_open(today()) and survey_round.year == today().year
    assert (
        db.session.execute(
            select(func.count())
            .select_from(SurveyResponse)
            .where(SurveyResponse.during_visit.is_(True))
        ).scalar_one()
        > 0
    )
    survey_demo.seed("small", lambda _message: None)
    assert (count(SurveyRound), count(SurveyResponse), count(SurveyNeed)) == (
        rounds,
        responses,
        needs,
    )
    results = surveys.aggregate(survey_round)
    assert any(not c.hidden for c in results.cells)  # the demo shows real figures


def test_large_demo_answers_are_bulk_inserted(db_session):
    survey_round = make_round()
    for _n in range(4):
        make_org("company")
    assert survey_demo._seed_large(survey_round, target=4) == 4
    assert count(SurveyResponse) == 4
    assert survey_demo._seed_large(survey_round, target=4) == 0
    results = surveys.aggregate(survey_round, "province", "esco")
    assert results.respondents == 4
