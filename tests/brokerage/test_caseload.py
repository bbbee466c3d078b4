"""Caseload: who sees what, the record and its sensitive part, the access log, export,
erasure, handover between services, demo data."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select, text

from brokerage import caseload, errors
from brokerage.caseload import ProfileData, SensitiveData
from brokerage.errors import CaseloadError
from brokerage.models import Candidate, CaseHolding, Consent, PathwayStage, SensitiveRecord
from portal import db
from portal.models import AuditLog, Organisation
from portal.taxonomy import Occupation, Skill
from tests.brokerage.factories import make_candidate, make_proposal, today
from tests.conftest import login
from tests.employers.factories import make_vacancy
from tests.factories import make_org, make_user


def audit_entries(action: str, candidate_id: int) -> list[AuditLog]:
    return list(
        db.session.execute(
            select(AuditLog).where(
                AuditLog.action == action, AuditLog.subject_id == str(candidate_id)
            )
        ).scalars()
    )


def occupation(label_en: str) -> Occupation:
    return db.session.execute(
        select(Occupation).where(Occupation.label_en == label_en)
    ).scalar_one()


def some_skills(n: int = 3) -> list[Skill]:
    return list(db.session.execute(select(Skill).order_by(Skill.id).limit(n)).scalars())


def form_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "full_name": "Mario Bianchi",
        "comune": "Pordenone (PN)",
        "max_commute_km": "15",
        "hours_min": "20",
        "hours_max": "30",
        "education_level": "vocational",
        "languages": "italiano, inglese",
        "summary": "Puntuale.",
        "occupations-0": "warehouse worker",
        "occupations-1": "",
        "occupations-2": "",
        "experiences-0-occupation": "kitchen assistant",
        "experiences-0-months": "6",
        "experiences-0-description": "Mensa",
        "experiences-1-occupation": "",
        "experiences-1-months": "",
        "experiences-1-description": "",
        "adjustments": ["quiet_place", "onsite_tutor"],
        "target_group": "psychiatric",
        "disability_percentage": "",
        "origin_service": "0",
        "sensitive_notes": "Segue terapia.",
        "submit": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Creating and listing ------------------------------------------------------------------


def test_broker_creates_a_candidate_through_the_form(client, db_session):
    broker = make_user("broker", locale="en")
    skills = some_skills(2)
    login(client, broker)
    response = client.post(
        "/brokerage/candidates/new", data=form_data(skills=[str(s.id) for s in skills])
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    candidate = db.session.execute(
        select(Candidate).order_by(Candidate.id.desc()).limit(1)
    ).scalar_one()
    assert re.fullmatch(r"C-[0-9A-F]{5}", candidate.pseudonym)
    assert candidate.full_name == "Mario Bianchi" and candidate.comune_code == "093033"
    assert candidate.languages == ["italiano", "inglese"]
    assert {s.skill_id for s in candidate.skills} == {s.id for s in skills}
    assert [d.occupation.label_en for d in candidate.desired] == ["warehouse worker"]
    assert candidate.experiences[0].months == 6
    assert candidate.adjustments == ["onsite_tutor", "quiet_place"]
    assert candidate.sensitive.target_group == "psychiatric"
    service = broker.organisations("broker")[0]
    assert candidate.holding_service_ids == {service.id}
    stages = (
        db.session.execute(select(PathwayStage).where(PathwayStage.candidate_id == candidate.id))
        .scalars()
        .all()
    )
    assert [(s.stage, s.service_id) for s in stages] == [("referral", service.id)]
    assert audit_entries("candidate.create", candidate.id)
    # Encrypted at rest: the database holds no clear text of the name or the notes.
    raw = db.session.execute(
        text(
            "SELECT c.full_name, s.notes, s.target_group FROM candidate c JOIN "
            "candidate_sensitive s ON s.candidate_id = c.id WHERE c.id = :id"
        ),
        {"id": candidate.id},
    ).one()
    assert "Mario" not in raw[0] and "terapia" not in raw[1] and "psych" not in raw[2]


def test_bad_input_shows_errors_and_saves_nothing(client, db_session):
    broker = make_user("broker", locale="en")
    login(client, broker)
    before = db.session.execute(select(func.count()).select_from(Candidate)).scalar_one()
    response = client.post(
        "/brokerage/candidates/new",
        data=form_data(
            hours_min="30",
            hours_max="10",
            comune="Atlantide",
            **{"occupations-0": "zzz no such job"},
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No ESCO occupation matches" in page
    assert "Choose a municipality from the list." in page
    assert db.session.execute(select(func.count()).select_from(Candidate)).scalar_one() == before
    response = client.post(
        "/brokerage/candidates/new", data=form_data(hours_min="30", hours_max="10")
    )
    assert "The maximum cannot be lower than the minimum." in response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Candidate)).scalar_one() == before


def test_service_refuses_bad_profiles_without_saving(db_session):
    broker = make_user("broker", locale="en")
    service = broker.organisations("broker")[0]
    before = db.session.execute(select(func.count()).select_from(Candidate)).scalar_one()
    for profile, field in [
        (ProfileData(full_name=" ", comune_code="093033"), "full_name"),
        (ProfileData(full_name="A", comune_code="999999"), "comune"),
        (ProfileData(full_name="A", comune_code="093033", hours_min=0), "hours_min"),
        (ProfileData(full_name="A", comune_code="093033", skill_ids=[10**9]), "skills"),
        (
            ProfileData(full_name="A", comune_code="093033", adjustments=["wheelchair"]),
            "adjustments",
        ),
    ]:
        with pytest.raises(CaseloadError) as error:
            caseload.create_candidate(service, broker, profile, SensitiveData(), today())
        assert field in error.value.fields
    with pytest.raises(CaseloadError) as error:
        caseload.create_candidate(
            service,
            broker,
            ProfileData("A", "093033"),
            SensitiveData(target_group="vampire"),
            today(),
        )
    assert "target_group" in error.value.fields
    other_service = make_org("service")
    with pytest.raises(CaseloadError) as error:
        caseload.create_candidate(
            other_service, broker, ProfileData("A", "093033"), SensitiveData(), today()
        )
    assert "service" in error.value.fields
    assert db.session.execute(select(func.count()).select_from(Candidate)).scalar_one() == before


def test_skills_can_be_found_and_ticked_without_javascript(client, db_session):
    broker = make_user("broker", locale="en")
    login(client, broker)
    response = client.post(
        "/brokerage/candidates/new",
        data=form_data(skill_search="forklift", find_skills="1", submit=None),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'name="skills"' in page
    suggested = client.post(
        "/brokerage/candidates/new", data=form_data(suggest="1", submit=None)
    ).get_data(as_text=True)
    assert suggested.count('name="skills"') >= 3
    found = client.get("/brokerage/skills?q=clean").get_json()["items"]
    assert 0 < len(found) <= 15 and {"id", "label"} <= set(found[0])
    assert client.get("/brokerage/occupations?q=warehouse").get_json()["items"]
    # A skill typed in full (picked from the datalist) is added on saving.
    skill = some_skills(1)[0]
    response = client.post("/brokerage/candidates/new", data=form_data(skill_search=skill.label_en))
    assert response.status_code == 302
    candidate = db.session.execute(
        select(Candidate).order_by(Candidate.id.desc()).limit(1)
    ).scalar_one()
    assert [s.skill_id for s in candidate.skills] == [skill.id]


def test_caseload_lists_only_the_services_cases_with_filters(client, db_session):
    broker = make_user("broker", locale="en")
    mine = make_candidate(broker=broker, comune_code="093033")
    placed = make_candidate(broker=broker, comune_code="001272")
    placed.status = "placed"
    theirs = make_candidate()
    login(client, broker)
    page = client.get("/brokerage/caseload").get_data(as_text=True)
    assert mine.pseudonym in page and placed.pseudonym in page
    assert theirs.pseudonym not in page
    assert mine.full_name in page
    filtered = client.get("/brokerage/caseload?status=placed").get_data(as_text=True)
    assert placed.pseudonym in filtered and mine.pseudonym not in filtered
    by_place = client.get("/brokerage/caseload?comune=Torino+(TO)").get_data(as_text=True)
    assert placed.pseudonym in by_place and mine.pseudonym not in by_place
    by_text = client.get(f"/brokerage/caseload?q={mine.pseudonym[2:]}").get_data(as_text=True)
    assert mine.pseudonym in by_text and placed.pseudonym not in by_text
    response = client.get("/brokerage/caseload")
    assert "no-store" in response.headers["Cache-Control"]


def test_a_broker_of_another_service_gets_404_and_it_is_logged(client, db_session):
    candidate = make_candidate()
    stranger = make_user("broker", locale="en")
    login(client, stranger)
    for path in (
        f"/brokerage/candidates/{candidate.id}",
        f"/brokerage/candidates/{candidate.id}/edit",
        f"/brokerage/candidates/{candidate.id}/sensitive",
        f"/brokerage/candidates/{candidate.id}/pathway",
        f"/brokerage/candidates/{candidate.id}/access-log",
        f"/brokerage/candidates/{candidate.id}/export",
    ):
        assert client.get(path).status_code == 404, path
    assert (
        client.post(
            f"/brokerage/candidates/{candidate.id}/sensitive", data={"reason": "curiosity"}
        ).status_code
        == 404
    )
    denied = audit_entries("candidate.access_denied", candidate.id)
    assert len(denied) >= 7 and all(e.actor_id == stranger.id for e in denied)
    assert not audit_entries("candidate.sensitive_read", candidate.id)
    # And a record that does not exist answers the same.
    assert client.get("/brokerage/candidates/999999999").status_code == 404


@pytest.mark.parametrize("role", ["employer", "public_officer", "admin", "cooperative"])
def test_other_roles_never_reach_a_record(client, db_session, role):
    candidate = make_candidate(target_group="addiction")
    login(client, make_user(role))
    for path in (
        "/brokerage/caseload",
        f"/brokerage/candidates/{candidate.id}",
        f"/brokerage/candidates/{candidate.id}/sensitive",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert candidate.pseudonym not in response.get_data(as_text=True)


def test_anonymous_is_sent_to_sign_in(client, db_session):
    candidate = make_candidate()
    response = client.get(f"/brokerage/candidates/{candidate.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- The sensitive part ----------------------------------------------------------------------


def test_sensitive_data_are_shown_only_on_request_with_a_reason(client, db_session):
    origin = make_org("service", name="Servizio di origine")
    broker = make_user("broker", locale="en")
    candidate = make_candidate(
        broker=broker,
        target_group="addiction",
        disability_percentage=46,
        origin_service_id=origin.id,
        notes="Nota riservata",
    )
    login(client, broker)
    detail = client.get(f"/brokerage/candidates/{candidate.id}").get_data(as_text=True)
    assert "Nota riservata" not in detail and "Addiction" not in detail
    assert "Servizio di origine" not in detail
    ask = client.get(f"/brokerage/candidates/{candidate.id}/sensitive").get_data(as_text=True)
    assert "Nota riservata" not in ask
    no_reason = client.post(
        f"/brokerage/candidates/{candidate.id}/sensitive", data={"reason": ""}
    ).get_data(as_text=True)
    assert "Nota riservata" not in no_reason
    assert not audit_entries("candidate.sensitive_read", candidate.id)
    shown = client.post(
        f"/brokerage/candidates/{candidate.id}/sensitive",
        data={"reason": "Preparing the team meeting"},
    )
    page = shown.get_data(as_text=True)
    assert "Nota riservata" in page and "46%" in page and "Servizio di origine" in page
    assert "no-store" in shown.headers["Cache-Control"]
    [entry] = audit_entries("candidate.sensitive_read", candidate.id)
    assert entry.reason == "Preparing the team meeting" and entry.actor_id == broker.id
    assert entry.object_type == "candidate_sensitive"


def test_read_sensitive_checks_holding_and_reason(db_session):
    candidate = make_candidate(notes="x")
    stranger = make_user("broker", locale="en")
    with pytest.raises(errors.NotHeld):
        caseload.read_sensitive(candidate, stranger, "because")
    assert audit_entries("candidate.access_denied", candidate.id)
    broker = candidate.holdings[0].broker
    with pytest.raises(CaseloadError):
        caseload.read_sensitive(candidate, broker, "  ")
    assert caseload.read_sensitive(candidate, broker, "meeting").notes == "x"


def test_sensitive_data_can_be_changed_with_a_reason(client, db_session):
    broker = make_user("broker", locale="en")
    candidate = make_candidate(broker=broker, target_group="poverty")
    login(client, broker)
    response = client.post(
        f"/brokerage/candidates/{candidate.id}/sensitive/edit",
        data={
            "reason": "New certificate",
            "target_group": "physical_disability",
            "disability_percentage": "67",
            "origin_service": "0",
            "sensitive_notes": "",
            "save": "1",
        },
    )
    assert response.status_code == 302
    record = db.session.get(SensitiveRecord, candidate.id)
    assert record.target_group == "physical_disability"
    assert record.disability_percentage == "67"
    [entry] = audit_entries("candidate.sensitive_update", candidate.id)
    assert entry.reason == "New certificate"
    bad = client.post(
        f"/brokerage/candidates/{candidate.id}/sensitive/edit",
        data={
            "reason": "x y z",
            "target_group": "physical_disability",
            "disability_percentage": "250",
            "origin_service": "0",
            "save": "1",
        },
    )
    assert (
        bad.status_code == 200
        and db.session.get(SensitiveRecord, candidate.id).disability_percentage == "67"
    )


def test_profile_edit(client, db_session):
    broker = make_user("broker", locale="en")
    candidate = make_candidate(broker=broker, hours_min=10, hours_max=20)
    login(client, broker)
    form = client.get(f"/brokerage/candidates/{candidate.id}/edit").get_data(as_text=True)
    assert candidate.full_name in form
    response = client.post(
        f"/brokerage/candidates/{candidate.id}/edit",
        data=form_data(full_name="Nuovo Nome", hours_min="5", hours_max="25", target_group=None),
    )
    assert response.status_code == 302
    assert candidate.full_name == "Nuovo Nome" and candidate.hours_max == 25
    assert audit_entries("candidate.update", candidate.id)


# --- Access log, export, erasure ----------------------------------------------------------


def test_access_log_is_viewable_and_exportable(client, db_session):
    broker = make_user("broker", locale="en")
    candidate = make_candidate(broker=broker)
    caseload.read_sensitive(candidate, broker, "Checking the file")
    login(client, broker)
    page = client.get(f"/brokerage/candidates/{candidate.id}/access-log").get_data(as_text=True)
    assert "Checking the file" in page and "Sensitive data read" in page
    response = client.get(f"/brokerage/candidates/{candidate.id}/access-log?format=csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "Checking the file" in response.get_data(as_text=True)
    assert audit_entries("candidate.access_log_export", candidate.id)


def test_export_contains_everything_and_is_logged(client, db_session):
    origin = make_org("service", name="Servizio Esportato")
    broker = make_user("broker", locale="en")
    candidate = make_candidate(
        broker=broker,
        target_group="addiction",
        notes="Nota X",
        origin_service_id=origin.id,
        skill_ids=[some_skills(1)[0].id],
    )
    employer = make_user("employer")
    vacancy = make_vacancy(employer)
    make_proposal(candidate, vacancy, broker)
    login(client, broker)
    assert (
        client.post(f"/brokerage/candidates/{candidate.id}/export", data={"reason": ""}).status_code
        == 200
    )  # the form again
    response = client.post(
        f"/brokerage/candidates/{candidate.id}/export", data={"reason": "Request of 3 March"}
    )
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["candidate"]["full_name"] == candidate.full_name
    assert data["candidate"]["pseudonym"] == candidate.pseudonym
    assert len(data["candidate"]["skills"]) == 1
    assert data["sensitive"] == {
        "target_group": "addiction",
        "target_group_label": data["sensitive"]["target_group_label"],
        "disability_percentage": None,
        "origin_service": "Servizio Esportato",
        "notes": "Nota X",
    }
    assert sorted(c["purpose"] for c in data["consents"]) == ["data_sharing", "matching", "pathway"]
    assert [s["stage"] for s in data["pathway"]] == ["referral"]
    assert data["proposals"][0]["vacancy"] == vacancy.title
    actions = {e["action"] for e in data["access_log"]}
    assert {
        "candidate.create",
        "consent.record",
        "candidate.export",
        "candidate.sensitive_read",
    } <= actions
    assert audit_entries("candidate.export", candidate.id)[0].reason == "Request of 3 March"


def test_erasure_keeps_only_what_law_and_statistics_need(client, db_session):
    broker = make_user("broker", locale="en")
    candidate = make_candidate(
        broker=broker,
        target_group="psychiatric",
        notes="N",
        skill_ids=[s.id for s in some_skills(2)],
        adjustments=["quiet_place"],
        languages=["italiano"],
        experiences=[caseload.ExperienceData(None, 5, "Bar")],
    )
    db.session.get(
        PathwayStage,
        db.session.execute(
            select(PathwayStage.id).where(PathwayStage.candidate_id == candidate.id)
        ).scalar_one(),
    ).notes = "Nota del colloquio"
    vacancy = make_vacancy(make_user("employer"))
    proposal = make_proposal(candidate, vacancy, broker, note="Molto bravo")
    login(client, broker)
    confirm = client.get(f"/brokerage/candidates/{candidate.id}/erase")
    assert confirm.status_code == 200 and candidate.full_name
    wrong = client.post(
        f"/brokerage/candidates/{candidate.id}/erase",
        data={"pseudonym": "C-00000", "reason": "Request"},
    )
    assert wrong.status_code == 200 and candidate.erased_at is None
    response = client.post(
        f"/brokerage/candidates/{candidate.id}/erase",
        data={"pseudonym": candidate.pseudonym.lower(), "reason": "Request of the person"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    erased = db.session.get(Candidate, candidate.id)
    assert erased.erased_at is not None and erased.status == "closed"
    assert erased.full_name == "" and erased.summary == "" and erased.languages == []
    assert erased.skills == [] and erased.experiences == [] and erased.adjustments == []
    assert db.session.get(SensitiveRecord, candidate.id) is None
    assert erased.matching_consent_until is None
    consents = (
        db.session.execute(select(Consent).where(Consent.candidate_id == candidate.id))
        .scalars()
        .all()
    )
    assert consents and all(c.revoked_at is not None for c in consents)
    stage = db.session.execute(
        select(PathwayStage).where(PathwayStage.candidate_id == candidate.id)
    ).scalar_one()
    assert stage.stage == "referral" and stage.notes == "" and stage.started_on
    proposal = db.session.get(type(proposal), proposal.id)
    assert proposal.status == "withdrawn" and proposal.note == ""
    assert proposal.card["pseudonym"] == candidate.pseudonym and not proposal.card["skills"]
    assert audit_entries("candidate.erase", candidate.id)[0].reason == "Request of the person"
    # Gone from the caseload and from every page.
    assert client.get(f"/brokerage/candidates/{candidate.id}").status_code == 404
    assert candidate.pseudonym not in client.get("/brokerage/caseload").get_data(as_text=True)


# --- Handover -------------------------------------------------------------------------------


def test_handover_moves_access_at_once_and_keeps_history(app, client, db_session):
    dsm = make_org("service", service_type="dsm")
    sil = make_org("service", service_type="sil", name="SIL di prova")
    dsm_broker = make_user("broker", org=dsm)
    sil_broker = make_user("broker", org=sil)
    candidate = make_candidate(dsm, dsm_broker, target_group="psychiatric", notes="Segreto")
    assert dsm not in caseload.handover_targets(candidate)
    assert sil in caseload.handover_targets(candidate)
    login(client, sil_broker)
    assert client.get(f"/brokerage/candidates/{candidate.id}").status_code == 404
    login(client, dsm_broker)
    bad = client.post(
        f"/brokerage/candidates/{candidate.id}/handover", data={"to_service": str(dsm.id)}
    )
    assert bad.status_code == 200 and candidate.holding_service_ids == {dsm.id}
    response = client.post(
        f"/brokerage/candidates/{candidate.id}/handover",
        data={"to_service": str(sil.id), "note": "Ready for work"},
    )
    assert response.status_code == 302
    assert candidate.holding_service_ids == {sil.id}
    old = next(h for h in candidate.holdings if h.service_id == dsm.id)
    assert old.until == today()
    # The old service loses access at once, the new one gains it.
    assert client.get(f"/brokerage/candidates/{candidate.id}").status_code == 404
    with pytest.raises(errors.NotHeld):
        caseload.read_sensitive(candidate, dsm_broker, "still curious")
    assert caseload.read_sensitive(candidate, sil_broker, "new case").notes == "Segreto"
    login(client, sil_broker)
    assert client.get(f"/brokerage/candidates/{candidate.id}").status_code == 200
    # History: the referral stage keeps the DSM; the timeline shows the change.
    stage = db.session.execute(
        select(PathwayStage).where(PathwayStage.candidate_id == candidate.id)
    ).scalar_one()
    assert stage.service_id == dsm.id
    timeline = client.get(f"/brokerage/candidates/{candidate.id}/pathway").get_data(as_text=True)
    assert "SIL di prova" in timeline
    [entry] = audit_entries("candidate.handover", candidate.id)
    assert entry.details["from_service_id"] == dsm.id and entry.reason == "Ready for work"
    # The receiving brokers are told, without sensitive data or the giving service.
    from portal.notifications import Notification

    [note] = (
        db.session.execute(select(Notification).where(Notification.user_id == sil_broker.id))
        .scalars()
        .all()
    )
    assert candidate.pseudonym in note.message
    assert "Segreto" not in note.message and dsm.name not in note.message
    assert "psych" not in note.message.lower()
    mail = app.extensions["mail_outbox"][-1]
    assert "Segreto" not in str(mail) and dsm.name not in str(mail)


def test_handover_refuses_unverified_or_non_services(db_session):
    broker = make_user("broker", locale="en")
    candidate = make_candidate(broker=broker)
    for target in (make_org("service", verified=False), make_org("company")):
        with pytest.raises(CaseloadError):
            caseload.hand_over(candidate, broker, target.id, today())
    with pytest.raises(CaseloadError):
        caseload.hand_over(candidate, broker, None, today())
    assert len(candidate.holdings) == 1


# --- Demo data ------------------------------------------------------------------------------


def test_demo_seed_makes_believable_caseloads_once(app, db_session):
    from portal import demo

    demo.seed("small", echo=lambda *_: None)
    sil = db.session.execute(
        select(Organisation).where(
            Organisation.name == "SIL Pordenone – Servizio Inserimento Lavorativo"
        )
    ).scalar_one()
    count = db.session.execute(select(func.count()).select_from(Candidate)).scalar_one()
    assert 250 <= count <= 400
    held = db.session.execute(
        select(func.count())
        .select_from(CaseHolding)
        .where(CaseHolding.service_id == sil.id, CaseHolding.until.is_(None))
    ).scalar_one()
    assert held >= 80
    stages = set(db.session.execute(select(PathwayStage.stage)).scalars())
    assert stages == {
        "referral",
        "intake",
        "training_plan",
        "training",
        "work_experience",
        "hiring",
        "follow_up",
        "closed",
    }
    valid = db.session.execute(
        select(func.count())
        .select_from(Candidate)
        .where(Candidate.matching_consent_until >= today())
    ).scalar_one()
    assert valid > count / 2
    assert (
        db.session.execute(
            select(func.count()).select_from(Consent).where(Consent.revoked_at.is_not(None))
        ).scalar_one()
        > 0
    )
    # The demo employer's inbox is not empty: proposals in every state, most awaiting an answer.
    from brokerage.models import Proposal
    from portal import accounts

    employer_org = accounts.find_user("employer@ponte.demo").organisations()[0]
    inbox = (
        db.session.execute(select(Proposal).where(Proposal.employer_org_id == employer_org.id))
        .scalars()
        .all()
    )
    assert len(inbox) >= 5
    assert {p.status for p in inbox} == {"proposed", "interview", "declined"}
    assert len({p.candidate_id for p in inbox}) == len(inbox)
    # As the portal makes them: from the ranked matches, each with its explanation.
    assert all(p.card["match"] and p.card["match"]["factors"] for p in inbox)
    assert all("service" not in json.dumps(p.card).lower() for p in inbox)
    proposals = len(inbox)
    demo.seed("small", echo=lambda *_: None)
    assert db.session.execute(select(func.count()).select_from(Candidate)).scalar_one() == count
    assert db.session.execute(select(func.count()).select_from(Proposal)).scalar_one() == proposals
