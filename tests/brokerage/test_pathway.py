"""The placement pathway: stage order, dates, follow-ups, the observation lab, pages."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from flask_babel import gettext
from sqlalchemy import select, text

from brokerage import pathway
from brokerage.models import Candidate, PathwayStage
from brokerage.pathway import PathwayError, StageInput, add_months
from portal import db
from tests.brokerage.factories import make_candidate, today
from tests.conftest import login
from tests.factories import make_org, make_user


def days(n: int) -> date:
    return today() + timedelta(days=n)


def setup_case(referral_days_ago: int = 400):
    broker = make_user("broker", locale="en")
    candidate = make_candidate(broker=broker)
    [referral] = pathway.stages_of(candidate)
    referral.started_on = days(-referral_days_ago)
    return broker, candidate


def add(candidate, broker, stage, start, **details):
    return pathway.add_stage(
        candidate, broker, StageInput(stage=stage, started_on=start, details=details), today()
    )


def employer_org():
    return make_org("company", name=f"Azienda {make_org('company').id}")


def test_add_months_and_follow_up_schedule():
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)
    assert pathway.follow_up_schedule(date(2025, 8, 31)) == {
        1: date(2025, 9, 30),
        3: date(2025, 11, 30),
        6: date(2026, 2, 28),
        12: date(2026, 8, 31),
    }


def test_a_full_pathway_in_order(db_session):
    broker, candidate = setup_case()
    employer = employer_org()
    assert pathway.allowed_next(pathway.stages_of(candidate)) == [
        "intake",
        "training_plan",
        "work_experience",
        "hiring",
        "closed",
    ]
    intake = add(candidate, broker, "intake", days(-390))
    add(candidate, broker, "training_plan", days(-380), title="HACCP")
    add(candidate, broker, "training", days(-370))
    assert intake.ended_on == days(-380)  # a new stage ends the open ones
    lab = add(
        candidate,
        broker,
        "work_experience",
        days(-330),
        kind="observation_lab",
        planned_end=add_months(days(-330), 4),
    )
    hiring = add(
        candidate,
        broker,
        "hiring",
        days(-200),
        contract_type="permanent",
        hours=30,
        employer=employer.name,
    )
    assert lab.ended_on == days(-200)
    assert candidate.status == "placed"
    assert hiring.details["employer_org_id"] == employer.id
    due = pathway.follow_up_schedule(days(-200))
    follow = add(candidate, broker, "follow_up", due[1], month=1, still_employed=True)
    assert follow.ended_on == follow.started_on and hiring.ended_on is None
    assert candidate.status == "placed"
    add(candidate, broker, "follow_up", due[3], month=3, still_employed=True)
    with pytest.raises(PathwayError) as error:
        add(candidate, broker, "follow_up", due[3], month=3)  # already recorded
    assert "month" in error.value.fields
    closed = add(candidate, broker, "closed", today(), reason="employed")
    assert candidate.status == "closed" and hiring.ended_on == today()
    assert closed.ended_on == closed.started_on
    assert pathway.allowed_next(pathway.stages_of(candidate)) == []
    with pytest.raises(PathwayError) as error:
        add(candidate, broker, "intake", today())
    assert str(error.value.fields["stage"]) == gettext("The pathway is closed: nothing can follow.")


def test_stage_order_is_enforced(db_session):
    broker, candidate = setup_case()
    with pytest.raises(PathwayError):
        add(candidate, broker, "referral", today())  # only one referral
    with pytest.raises(PathwayError):
        add(candidate, broker, "training", today())  # no training without a plan
    with pytest.raises(PathwayError):
        add(candidate, broker, "follow_up", today(), month=1)  # no follow-up before hiring
    with pytest.raises(PathwayError) as error:
        add(candidate, broker, "intake", days(-500))  # before the referral
    assert "started_on" in error.value.fields
    with pytest.raises(PathwayError):
        add(candidate, broker, "closed", days(3), reason="moved")  # closing in the future
    with pytest.raises(PathwayError):
        add(candidate, broker, "closed", today(), reason="bored")  # unknown reason
    with pytest.raises(PathwayError):
        add(candidate, broker, "dancing", today())
    assert [s.stage for s in pathway.stages_of(candidate)] == ["referral"]


def test_no_hiring_before_a_referral(db_session):
    broker = make_user("broker")
    candidate = make_candidate(broker=broker)
    db.session.execute(
        PathwayStage.__table__.delete().where(PathwayStage.candidate_id == candidate.id)
    )
    assert pathway.allowed_next([]) == ["referral"]
    with pytest.raises(PathwayError) as error:
        add(
            candidate,
            broker,
            "hiring",
            today(),
            contract_type="permanent",
            hours=20,
            employer=employer_org().name,
        )
    assert str(error.value.fields["stage"]) == gettext("A pathway starts with the referral.")


def test_hiring_needs_a_verified_employer_contract_and_hours(db_session):
    broker, candidate = setup_case()
    unverified = make_org("company", verified=False)
    with pytest.raises(PathwayError) as error:
        add(
            candidate,
            broker,
            "hiring",
            today(),
            contract_type="slavery",
            hours=80,
            employer=unverified.name,
        )
    assert {"contract_type", "hours", "employer"} <= set(error.value.fields)
    assert candidate.status == "active"


def test_a_hiring_start_date_may_be_planned_but_not_a_followup(db_session):
    broker, candidate = setup_case()
    add(
        candidate,
        broker,
        "hiring",
        days(10),
        contract_type="part_time",
        hours=20,
        employer=employer_org().name,
    )
    with pytest.raises(PathwayError) as error:
        add(candidate, broker, "follow_up", days(5), month=1)
    assert "started_on" in error.value.fields


@pytest.mark.parametrize("months,ok", [(2, False), (3, True), (6, True), (7, False)])
def test_observation_lab_lasts_three_to_six_months(db_session, months, ok):
    broker, candidate = setup_case()
    start = days(-30)
    planned = add_months(start, months)
    if ok:
        stage = add(
            candidate, broker, "work_experience", start, kind="observation_lab", planned_end=planned
        )
        assert stage.details["planned_end"] == planned.isoformat()
    else:
        with pytest.raises(PathwayError) as error:
            add(
                candidate,
                broker,
                "work_experience",
                start,
                kind="observation_lab",
                planned_end=planned,
            )
        assert "planned_end" in error.value.fields


def test_a_lab_needs_its_planned_end_but_an_internship_does_not(db_session):
    broker, candidate = setup_case()
    with pytest.raises(PathwayError):
        add(candidate, broker, "work_experience", days(-10), kind="observation_lab")
    stage = add(candidate, broker, "work_experience", days(-10), kind="tirocinio")
    assert stage.details["kind"] == "tirocinio"


def test_observations_are_structured_dated_monthly_and_encrypted(db_session):
    broker, candidate = setup_case()
    start = days(-75)
    lab = add(
        candidate,
        broker,
        "work_experience",
        start,
        kind="observation_lab",
        planned_end=add_months(start, 4),
    )
    assert pathway.observation_due(lab, today()) == add_months(start, 1)
    scores = {"punctuality": 4, "autonomy": 3, "relations": 5, "task_quality": 4}
    pathway.add_observation(lab, broker, days(-45), scores, "Arriva puntuale", today())
    assert pathway.observation_due(lab, today()) == add_months(days(-45), 1)
    [entry] = pathway.observations(lab)
    assert entry.scores == scores and entry.notes == "Arriva puntuale"
    db.session.flush()
    raw = db.session.execute(
        text("SELECT details FROM pathway_stage WHERE id = :id"), {"id": lab.id}
    ).scalar_one()
    assert "puntuale" not in (raw if isinstance(raw, str) else json.dumps(raw))
    for bad_scores, bad_day in [
        ({**scores, "autonomy": 6}, days(-5)),
        ({**scores, "relations": None}, days(-5)),
        (scores, days(-100)),  # before the lab
        (scores, days(2)),
    ]:  # in the future
        with pytest.raises(PathwayError):
            pathway.add_observation(lab, broker, bad_day, bad_scores, "", today())
    assert len(pathway.observations(lab)) == 1
    not_a_lab = add(candidate, broker, "work_experience", days(-1), kind="tirocinio")
    with pytest.raises(PathwayError):
        pathway.add_observation(not_a_lab, broker, today(), scores, "", today())


def test_overdue_follow_ups_and_observations_are_listed_on_the_caseload(client, db_session):
    broker, candidate = setup_case()
    add(
        candidate,
        broker,
        "hiring",
        days(-100),
        contract_type="permanent",
        hours=30,
        employer=employer_org().name,
    )
    due = pathway.follow_up_schedule(days(-100))
    add(candidate, broker, "follow_up", due[1], month=1, still_employed=True)
    reminders = pathway.overdue_for(broker, today())
    assert [(r.kind, r.month, r.due_on) for r in reminders] == [("follow_up", 3, due[3])]
    _broker, other = setup_case()
    other_broker = other.holdings[0].broker
    add(
        other,
        other_broker,
        "work_experience",
        days(-70),
        kind="observation_lab",
        planned_end=add_months(days(-70), 3),
    )
    [late] = pathway.overdue_for(other_broker, today())
    assert late.kind == "observation" and late.due_on == add_months(days(-70), 1)
    login(client, broker)
    page = client.get("/brokerage/caseload").get_data(as_text=True)
    assert candidate.pseudonym in page and "follow-up at 3 months" in page
    assert other.pseudonym not in page


def test_pathway_pages(client, db_session):
    broker, candidate = setup_case()
    login(client, broker)
    timeline = client.get(f"/brokerage/candidates/{candidate.id}/pathway")
    assert timeline.status_code == 200 and "Referral" in timeline.get_data(as_text=True)
    url = f"/brokerage/candidates/{candidate.id}/pathway/new/"
    form = client.get(url + "work_experience")
    assert form.status_code == 200
    start = days(-40)
    response = client.post(
        url + "work_experience",
        data={
            "started_on": start.isoformat(),
            "kind": "observation_lab",
            "planned_end": add_months(start, 8).isoformat(),
            "broker": str(broker.id),
            "notes": "Laboratorio di falegnameria",
            "submit": "1",
        },
    )
    assert response.status_code == 200
    assert "An observation lab lasts from 3 to 6 months" in response.get_data(as_text=True)
    response = client.post(
        url + "work_experience",
        data={
            "started_on": start.isoformat(),
            "kind": "observation_lab",
            "planned_end": add_months(start, 5).isoformat(),
            "broker": str(broker.id),
            "tutor": "Paolo",
            "notes": "Laboratorio di falegnameria",
            "submit": "1",
        },
    )
    assert response.status_code == 302
    lab = pathway.latest(pathway.stages_of(candidate), "work_experience")
    assert lab.tutor == "Paolo" and lab.notes == "Laboratorio di falegnameria"
    raw = db.session.execute(
        text("SELECT notes FROM pathway_stage WHERE id = :id"), {"id": lab.id}
    ).scalar_one()
    assert "falegnameria" not in raw
    obs = client.post(
        f"/brokerage/pathway/{lab.id}/observations/new",
        data={
            "on": days(-5).isoformat(),
            "punctuality": "4",
            "autonomy": "3",
            "relations": "5",
            "task_quality": "4",
            "notes": "Bene",
            "submit": "1",
        },
    )
    assert obs.status_code == 302
    bad = client.post(
        f"/brokerage/pathway/{lab.id}/observations/new",
        data={"on": days(-5).isoformat(), "punctuality": "9", "submit": "1"},
    )
    assert bad.status_code == 200
    assert len(pathway.observations(lab)) == 1
    edit = client.post(
        f"/brokerage/pathway/{lab.id}/edit",
        data={
            "ended_on": days(-1).isoformat(),
            "broker": str(broker.id),
            "tutor": "Marta",
            "notes": "Concluso",
            "submit": "1",
        },
    )
    assert edit.status_code == 302 and lab.tutor == "Marta" and lab.ended_on == days(-1)
    wrong_order = client.post(
        url + "training", data={"started_on": today().isoformat(), "broker": str(broker.id)}
    )
    assert wrong_order.status_code == 200
    assert "training plan" in wrong_order.get_data(as_text=True)
    assert client.get(url + "referral").status_code == 404
    timeline = client.get(f"/brokerage/candidates/{candidate.id}/pathway").get_data(as_text=True)
    assert "Concluso" in timeline and "Bene" in timeline
    # Another service's broker reaches none of it.
    login(client, make_user("broker"))
    assert client.get(f"/brokerage/pathway/{lab.id}/edit").status_code == 404
    assert client.get(f"/brokerage/candidates/{candidate.id}/pathway").status_code == 404


def test_hiring_through_the_page_places_the_person(client, db_session):
    broker, candidate = setup_case()
    employer = employer_org()
    login(client, broker)
    response = client.post(
        f"/brokerage/candidates/{candidate.id}/pathway/new/hiring",
        data={
            "started_on": today().isoformat(),
            "contract_type": "fixed_term",
            "hours": "25",
            "employer": employer.name,
            "broker": str(broker.id),
            "submit": "1",
        },
    )
    assert response.status_code == 302
    assert db.session.get(Candidate, candidate.id).status == "placed"
    stage = db.session.execute(
        select(PathwayStage).where(
            PathwayStage.candidate_id == candidate.id, PathwayStage.stage == "hiring"
        )
    ).scalar_one()
    assert stage.details["hours"] == 25 and stage.details["contract_type"] == "fixed_term"
