"""Consent (GDPR art. 7, 9(2)(a)): validity, expiry, revocation and its effects, the
signed form's upload checks."""

from __future__ import annotations

import hashlib
import html
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from brokerage import caseload, consents, data_rights, errors
from brokerage.errors import CaseloadError
from brokerage.models import Consent, PathwayStage
from portal import db
from portal.models import AuditLog
from tests.brokerage.factories import consent_for, make_candidate, make_proposal, today
from tests.conftest import login
from tests.employers.factories import make_vacancy
from tests.factories import make_org, make_user

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def days(n: int):
    return today() + timedelta(days=n)


def broker_and_candidate(**fields):
    broker = make_user("broker", locale="en")
    return broker, make_candidate(broker=broker, **fields)


def test_matching_consent_until_follows_valid_consents(db_session):
    broker, candidate = broker_and_candidate(consent=False)
    assert candidate.matching_consent_until is None
    assert not candidate.has_matching_consent(today())
    consents.record_consent(candidate, broker, "pathway", days(-10), days(300), today())
    assert candidate.matching_consent_until is None  # another purpose
    first = consents.record_consent(candidate, broker, "matching", days(-10), days(100), today())
    assert candidate.matching_consent_until == days(100)
    consents.record_consent(candidate, broker, "matching", days(-400), days(-1), today())
    assert candidate.matching_consent_until == days(100)  # expired ones do not count
    consents.record_consent(candidate, broker, "matching", days(0), days(500), today())
    assert candidate.matching_consent_until == days(500)
    # Expiry needs no job: the date says it.
    assert candidate.has_matching_consent(days(500))
    assert not candidate.has_matching_consent(days(501))
    assert first.is_valid(today()) and not first.is_valid(days(101))
    assert consents.consent_status(candidate, days(501)) == "expired"


@pytest.mark.parametrize(
    "given,expires,field",
    [
        (1, 100, "given_on"),  # in the future
        (-10, -20, "expires_on"),  # expiry before the date of consent
        (-10, 6 * 366, "expires_on"),  # beyond the five-year policy
    ],
)
def test_bad_consents_are_refused(db_session, given, expires, field):
    broker, candidate = broker_and_candidate(consent=False)
    with pytest.raises(CaseloadError) as error:
        consents.record_consent(candidate, broker, "matching", days(given), days(expires), today())
    assert field in error.value.fields
    with pytest.raises(CaseloadError):
        consents.record_consent(candidate, broker, "marketing", days(-1), days(10), today())
    assert (
        db.session.execute(
            select(func.count()).select_from(Consent).where(Consent.candidate_id == candidate.id)
        ).scalar_one()
        == 0
    )


def test_revocation_stops_matching_and_withdraws_open_proposals(db_session):
    broker, candidate = broker_and_candidate()
    employer = make_user("employer")
    proposed = make_proposal(candidate, make_vacancy(employer), broker)
    interview = make_proposal(candidate, make_vacancy(employer), broker, status="interview")
    hired = make_proposal(candidate, make_vacancy(employer), broker, status="hired")
    declined = make_proposal(candidate, make_vacancy(employer), broker, status="declined")
    consent = consent_for(candidate)
    assert candidate.has_matching_consent(today())
    withdrawn = consents.revoke_consent(consent, broker, today(), reason="Asked by phone")
    assert withdrawn == 2
    assert consent.revoked_at is not None and not consent.is_valid(today())
    assert candidate.matching_consent_until is None
    assert (proposed.status, interview.status) == ("withdrawn", "withdrawn")
    assert (hired.status, declined.status) == ("hired", "declined")
    actions = set(
        db.session.execute(
            select(AuditLog.action).where(AuditLog.subject_id == str(candidate.id))
        ).scalars()
    )
    assert {"consent.revoke", "proposal.withdraw"} <= actions
    with pytest.raises(CaseloadError):
        consents.revoke_consent(consent, broker, today())


def test_revoking_one_of_two_valid_consents_keeps_matching(db_session):
    broker, candidate = broker_and_candidate(consent_days=100)
    second = consents.record_consent(candidate, broker, "matching", today(), days(300), today())
    proposal = make_proposal(candidate, make_vacancy(make_user("employer")), broker)
    assert consents.revoke_consent(second, broker, today()) == 0
    assert candidate.matching_consent_until == days(100)
    assert proposal.status == "proposed"


def test_a_broker_of_another_service_cannot_revoke(db_session):
    _broker, candidate = broker_and_candidate()
    consent = consent_for(candidate)
    with pytest.raises(errors.NotHeld):
        consents.revoke_consent(consent, make_user("broker"), today())
    assert consent.revoked_at is None


def post_consent(client, candidate, content: bytes, filename: str, **overrides):
    data = {
        "purpose": "matching",
        "given_on": today().isoformat(),
        "expires_on": days(365).isoformat(),
        "document": (io.BytesIO(content), filename),
        "submit": "1",
    }
    data.update(overrides)
    return client.post(
        f"/brokerage/candidates/{candidate.id}/consents/new",
        data=data,
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    "content,filename", [(PDF, "modulo.pdf"), (PNG, "scan.PNG"), (JPEG, "foto.jpeg")]
)
def test_signed_form_upload_and_download(app, client, db_session, content, filename):
    broker, candidate = broker_and_candidate(consent=False)
    login(client, broker)
    response = post_consent(client, candidate, content, filename)
    assert response.status_code == 302, response.get_data(as_text=True)
    consent = consent_for(candidate)
    digest = hashlib.sha256(content).hexdigest()
    assert consent.document_sha256 == digest and consent.document_name == filename
    stored = Path(app.instance_path) / "uploads" / "consents" / digest
    assert stored.read_bytes() == content
    assert candidate.matching_consent_until == days(365)
    download = client.get(f"/brokerage/consents/{consent.id}/document")
    assert download.status_code == 200 and download.data == content
    assert "attachment" in download.headers["Content-Disposition"]
    assert "no-store" in download.headers["Cache-Control"]
    assert (
        db.session.execute(
            select(AuditLog).where(AuditLog.action == "consent.document_download")
        ).first()
        is not None
    )
    # Only the holding service's brokers may download it.
    login(client, make_user("broker"))
    assert client.get(f"/brokerage/consents/{consent.id}/document").status_code == 404
    login(client, make_user("employer"))
    assert client.get(f"/brokerage/consents/{consent.id}/document").status_code == 403


@pytest.mark.parametrize(
    "content,filename,message",
    [
        (b"MZ\x90\x00 not a pdf at all", "modulo.pdf", "PDF, JPEG or PNG"),  # bytes lie
        (PDF, "modulo.exe", "PDF, JPEG or PNG"),  # extension lies
        (PNG, "scan.pdf", "PDF, JPEG or PNG"),  # they disagree
        (b"<html><script>alert(1)</script>", "page.png", "PDF, JPEG or PNG"),
        (PDF + b"0" * (5 * 1024 * 1024), "big.pdf", "larger than 5 MB"),
        (b"", "empty.pdf", ""),
    ],
)
def test_upload_type_and_size_are_checked(client, db_session, content, filename, message):
    broker, candidate = broker_and_candidate(consent=False)
    login(client, broker)
    response = post_consent(client, candidate, content, filename)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert consents.consents_of(candidate) == []
    assert candidate.matching_consent_until is None


def test_exactly_five_megabytes_is_accepted(client, db_session):
    broker, candidate = broker_and_candidate(consent=False)
    login(client, broker)
    content = PDF + b"0" * (5 * 1024 * 1024 - len(PDF))
    assert post_consent(client, candidate, content, "limit.pdf").status_code == 302


def test_consent_form_errors_are_next_to_the_fields(client, db_session):
    broker, candidate = broker_and_candidate(consent=False)
    login(client, broker)
    response = post_consent(
        client,
        candidate,
        PDF,
        "ok.pdf",
        expires_on=days(-30).isoformat(),
        given_on=days(-10).isoformat(),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="expires_on-error"' in page
    missing = client.post(
        f"/brokerage/candidates/{candidate.id}/consents/new", data={"purpose": "matching"}
    )
    assert missing.status_code == 200
    assert consents.consents_of(candidate) == []


def test_revocation_through_the_page(client, db_session):
    broker, candidate = broker_and_candidate()
    proposal = make_proposal(candidate, make_vacancy(make_user("employer")), broker)
    consent = consent_for(candidate)
    login(client, broker)
    confirm = client.get(f"/brokerage/consents/{consent.id}/revoke")
    assert confirm.status_code == 200 and consent.revoked_at is None
    response = client.post(f"/brokerage/consents/{consent.id}/revoke", data={"reason": "By letter"})
    assert response.status_code == 302
    assert consent.revoked_at is not None and proposal.status == "withdrawn"
    assert candidate.matching_consent_until is None
    stranger = make_user("broker")
    login(client, stranger)
    assert client.post(f"/brokerage/consents/{consent.id}/revoke").status_code == 404


def test_a_refused_consent_leaves_no_file_behind(app, client, db_session):
    broker, candidate = broker_and_candidate(consent=False)
    login(client, broker)
    content = PDF + b"unique-orphan-check"
    response = post_consent(client, candidate, content, "ok.pdf", given_on=days(5).isoformat())
    assert response.status_code == 200
    digest = hashlib.sha256(content).hexdigest()
    assert not (Path(app.instance_path) / "uploads" / "consents" / digest).exists()


def test_erasure_deletes_the_signed_forms(app, client, db_session):
    broker, candidate = broker_and_candidate(consent=False)
    login(client, broker)
    content = PDF + b"erase-me"
    assert post_consent(client, candidate, content, "firma.pdf").status_code == 302
    stored = Path(app.instance_path) / "uploads" / "consents" / hashlib.sha256(content).hexdigest()
    assert stored.exists()
    data_rights.erase_candidate(candidate, broker, "Request of the person")
    db.session.flush()
    assert not stored.exists()
    assert all(c.document_sha256 == "" and c.revoked_at for c in consents.consents_of(candidate))


# --- Each purpose gates its own processing (GDPR art. 7(3): revocation stops it) ------


def lab_case(broker, candidate):
    from brokerage import pathway

    [referral] = pathway.stages_of(candidate)
    referral.started_on = days(-100)
    return pathway.add_stage(
        candidate,
        broker,
        pathway.StageInput(
            stage="work_experience",
            started_on=days(-60),
            details={"kind": "observation_lab", "planned_end": days(40), "host": ""},
        ),
        today(),
    )


SCORES = {"punctuality": 3, "autonomy": 4, "relations": 4, "task_quality": 3}


def test_revoking_the_pathway_consent_stops_pathway_writes_at_once(db_session):
    from brokerage import pathway

    broker, candidate = broker_and_candidate()
    lab = lab_case(broker, candidate)  # allowed while the consent is valid
    pathway.add_observation(lab, broker, days(-30), SCORES, "", today())
    consents.revoke_consent(consent_for(candidate, "pathway"), broker, today())
    with pytest.raises(consents.ConsentMissing) as error:
        pathway.add_stage(
            candidate, broker, pathway.StageInput(stage="intake", started_on=today()), today()
        )
    assert error.value.fields == {"consent_required": consents.consent_missing_message("pathway")}
    with pytest.raises(consents.ConsentMissing):
        pathway.update_stage(lab, broker, None, "Tutor", "Note", None, today())
    with pytest.raises(consents.ConsentMissing):
        pathway.add_observation(lab, broker, days(-1), SCORES, "", today())
    assert lab.tutor == "" and len(lab.details["observations"]) == 1
    # The other purposes are untouched: matching and handover go on.
    assert candidate.has_matching_consent(today())
    assert consents.has_consent(candidate, "data_sharing", today())
    # Closing the pathway stays possible (the person withdrew: the case must end).
    closed = pathway.add_stage(
        candidate,
        broker,
        pathway.StageInput(stage="closed", started_on=today(), details={"reason": "withdrew"}),
        today(),
    )
    assert closed.stage == "closed" and candidate.status == "closed"


def test_pathway_writes_need_a_pathway_consent_not_another_purpose(db_session):
    from brokerage import pathway

    broker, candidate = broker_and_candidate(consent=("matching", "data_sharing"))
    intake = pathway.StageInput(stage="intake", started_on=today())
    with pytest.raises(consents.ConsentMissing):
        pathway.add_stage(candidate, broker, intake, today())
    # An expired consent does not count either.
    consents.record_consent(candidate, broker, "pathway", days(-400), days(-1), today())
    with pytest.raises(consents.ConsentMissing):
        pathway.add_stage(candidate, broker, intake, today())
    consents.record_consent(candidate, broker, "pathway", today(), days(30), today())
    assert pathway.add_stage(candidate, broker, intake, today()).stage == "intake"


def test_revoking_the_data_sharing_consent_stops_the_handover(db_session):
    broker, candidate = broker_and_candidate()
    target = make_org("service", service_type="dsm")
    consents.revoke_consent(consent_for(candidate, "data_sharing"), broker, today())
    with pytest.raises(consents.ConsentMissing) as error:
        caseload.hand_over(candidate, broker, target.id, today())
    assert error.value.fields == {
        "consent_required": consents.consent_missing_message("data_sharing")
    }
    assert len(candidate.holdings) == 1 and target.id not in candidate.holding_service_ids
    assert candidate.has_matching_consent(today())  # matching is another purpose
    consents.record_consent(candidate, broker, "data_sharing", today(), days(30), today())
    caseload.hand_over(candidate, broker, target.id, today())
    assert candidate.holding_service_ids == {target.id}


def test_a_handover_without_data_sharing_consent_is_refused(db_session):
    broker, candidate = broker_and_candidate(consent=("matching", "pathway"))
    with pytest.raises(consents.ConsentMissing):
        caseload.hand_over(candidate, broker, make_org("service").id, today())


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_pages_say_which_consent_is_missing(client, db_session):
    broker = make_user("broker")  # Italian, the default
    candidate = make_candidate(broker=broker, consent="matching")
    target = make_org("service", service_type="dsm")
    login(client, broker)
    pathway_message = consents.consent_missing_message("pathway")
    sharing_message = consents.consent_missing_message("data_sharing")
    timeline = text(client.get(f"/brokerage/candidates/{candidate.id}/pathway"))
    assert pathway_message in timeline and "purpose=pathway" in timeline
    response = client.post(
        f"/brokerage/candidates/{candidate.id}/pathway/new/intake",
        data={"started_on": today().isoformat(), "broker": str(broker.id)},
    )
    assert response.status_code == 200
    assert text(response).count(pathway_message) >= 1
    assert [
        s.stage for s in db.session.query(PathwayStage).filter_by(candidate_id=candidate.id)
    ] == ["referral"]
    form = text(client.get(f"/brokerage/candidates/{candidate.id}/handover"))
    assert sharing_message in form and "purpose=data_sharing" in form
    response = client.post(
        f"/brokerage/candidates/{candidate.id}/handover", data={"to_service": str(target.id)}
    )
    assert response.status_code == 200 and sharing_message in text(response)
    assert candidate.holding_service_ids != {target.id}
    new = client.get(f"/brokerage/candidates/{candidate.id}/consents/new?purpose=pathway")
    assert 'selected value="pathway"' in text(new)
