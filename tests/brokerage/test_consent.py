"""Consent (GDPR art. 7, 9(2)(a)): validity, expiry, revocation and its effects, the
signed form's upload checks."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from brokerage import caseload
from brokerage.caseload import CaseloadError
from brokerage.models import Consent
from portal import db
from portal.models import AuditLog
from tests.brokerage.factories import make_candidate, make_proposal, today
from tests.conftest import login
from tests.employers.factories import make_vacancy
from tests.factories import make_user

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
    caseload.record_consent(candidate, broker, "pathway", days(-10), days(300), today())
    assert candidate.matching_consent_until is None  # another purpose
    first = caseload.record_consent(candidate, broker, "matching", days(-10), days(100), today())
    assert candidate.matching_consent_until == days(100)
    caseload.record_consent(candidate, broker, "matching", days(-400), days(-1), today())
    assert candidate.matching_consent_until == days(100)  # expired ones do not count
    caseload.record_consent(candidate, broker, "matching", days(0), days(500), today())
    assert candidate.matching_consent_until == days(500)
    # Expiry needs no job: the date says it.
    assert candidate.has_matching_consent(days(500))
    assert not candidate.has_matching_consent(days(501))
    assert first.is_valid(today()) and not first.is_valid(days(101))
    assert caseload.consent_status(candidate, days(501)) == "expired"


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
        caseload.record_consent(candidate, broker, "matching", days(given), days(expires), today())
    assert field in error.value.fields
    with pytest.raises(CaseloadError):
        caseload.record_consent(candidate, broker, "marketing", days(-1), days(10), today())
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
    [consent] = caseload.consents_of(candidate)
    assert candidate.has_matching_consent(today())
    withdrawn = caseload.revoke_consent(consent, broker, today(), reason="Asked by phone")
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
        caseload.revoke_consent(consent, broker, today())


def test_revoking_one_of_two_valid_consents_keeps_matching(db_session):
    broker, candidate = broker_and_candidate(consent_days=100)
    second = caseload.record_consent(candidate, broker, "matching", today(), days(300), today())
    proposal = make_proposal(candidate, make_vacancy(make_user("employer")), broker)
    assert caseload.revoke_consent(second, broker, today()) == 0
    assert candidate.matching_consent_until == days(100)
    assert proposal.status == "proposed"


def test_a_broker_of_another_service_cannot_revoke(db_session):
    _broker, candidate = broker_and_candidate()
    [consent] = caseload.consents_of(candidate)
    with pytest.raises(caseload.NotHeld):
        caseload.revoke_consent(consent, make_user("broker"), today())
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
    [consent] = caseload.consents_of(candidate)
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
    assert caseload.consents_of(candidate) == []
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
    assert caseload.consents_of(candidate) == []


def test_revocation_through_the_page(client, db_session):
    broker, candidate = broker_and_candidate()
    proposal = make_proposal(candidate, make_vacancy(make_user("employer")), broker)
    [consent] = caseload.consents_of(candidate)
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
    caseload.erase_candidate(candidate, broker, "Request of the person")
    db.session.flush()
    assert not stored.exists()
    assert all(c.document_sha256 == "" and c.revoked_at for c in caseload.consents_of(candidate))
