"""Evidence documents of suppliers: PDFs for the register
enrolment, workforce declarations and compliance reports; refused files leave nothing
saved; only the supplier, the buyer's officers (a report's) and administrators open them,
and every read is audited."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from brokerage.tenders import services
from brokerage.tenders.models import ComplianceReport, EvidenceDocument, WorkforceDeclaration
from portal import db
from portal.models import AuditLog
from tests.brokerage.test_tenders_factories import (
    make_contract,
    make_officer,
    make_supplier,
    make_tender,
    today,
)
from tests.conftest import login
from tests.factories import make_user

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def uploads(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "TENDERS_UPLOAD_DIR", str(tmp_path / "evidence"))
    return tmp_path / "evidence"


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def pdf(data: bytes = PDF, name: str = "buste-paga.pdf") -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


def figures(contract, **extra):
    return {
        "period_start": services.periods(contract, today())[0][0].isoformat(),
        "workers_total": "10",
        "workers_disadvantaged": "3",
        "hours_total": "100",
        "hours_disadvantaged": "30",
        **extra,
    }


def test_a_report_with_its_pdf_is_read_only_by_who_may(client, db_session, uploads):
    officer, body = make_officer()
    stranger_officer, _other_body = make_officer()
    tender = make_tender(body, officer)
    holder, holder_user = make_supplier()
    _other, other_user = make_supplier()
    admin = make_user("admin")
    contract = make_contract(tender, holder)
    login(client, holder_user)
    response = client.post(
        f"/tenders/contracts/{contract.id}/report",
        data=figures(contract, evidence_file=pdf()),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    report = db.session.execute(select(ComplianceReport)).scalar_one()
    (document,) = report.documents
    assert document.filename == "buste-paga.pdf" and document.organisation_id == holder.id
    assert (uploads / document.stored_name).read_bytes() == PDF
    url = f"/tenders/evidence/{document.id}"
    page = client.get(f"/tenders/contracts/{contract.id}").get_data(as_text=True)
    assert url in page
    for user, status in (
        (holder_user, 200),
        (officer, 200),
        (admin, 200),
        (stranger_officer, 404),
        (other_user, 404),
    ):
        login(client, user)
        response = client.get(url)
        assert response.status_code == status, user.email
        if status == 200:
            assert response.data == PDF and response.mimetype == "application/pdf"
            assert response.headers["Content-Security-Policy"] == "sandbox"
    client.post("/logout")
    assert client.get(url).status_code in (302, 401)
    reads = db.session.execute(
        select(AuditLog.actor_id).where(AuditLog.action == "tender.evidence.read")
    ).scalars()
    assert sorted(reads) == sorted([holder_user.id, officer.id, admin.id])
    assert client.get("/tenders/evidence/999999").status_code in (302, 401, 404)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"0" * 100, "foto.pdf"),  # a PNG named .pdf
        (b"", "vuoto.pdf"),
        (b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024), "enorme.pdf"),  # over 10 MB
    ],
)
def test_a_refused_file_saves_nothing_and_says_why_next_to_the_field(
    client, db_session, data, name
):
    officer, body = make_officer()
    holder, holder_user = make_supplier(declare=False)
    contract = make_contract(make_tender(body, officer), holder)
    login(client, holder_user)
    response = client.post(
        f"/tenders/contracts/{contract.id}/report",
        data=figures(contract, evidence_file=pdf(data, name)),
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert 'id="evidence_file-error"' in response.get_data(as_text=True)
    response = client.post(
        "/tenders/supplier/declarations",
        data={
            "year": str(today().year - 1),
            "total_workers": "10",
            "disabled": "3",
            "evidence_file": pdf(data, name),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert 'id="evidence_file-error"' in response.get_data(as_text=True)
    assert count(ComplianceReport) == count(WorkforceDeclaration) == count(EvidenceDocument) == 0


def test_declaration_and_register_evidence(client, db_session, uploads):
    org, user = make_supplier(declare=False)
    login(client, user)
    response = client.post(
        "/tenders/supplier/declarations",
        data={
            "year": str(today().year - 1),
            "total_workers": "10",
            "disabled": "3",
            "evidence_file": pdf(name="DM10 2025.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    declaration = db.session.execute(select(WorkforceDeclaration)).scalar_one()
    (document,) = declaration.documents
    assert document.filename == "DM10-2025.pdf"
    page = client.get("/tenders/supplier/declarations").get_data(as_text=True)
    assert f"/tenders/evidence/{document.id}" in page
    response = client.post(
        "/tenders/supplier/profile",
        data={"cpv_codes": "77310000", "register_file": pdf(name="iscrizione-albo.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    register = db.session.execute(
        select(EvidenceDocument).where(
            EvidenceDocument.declaration_id.is_(None), EvidenceDocument.report_id.is_(None)
        )
    ).scalar_one()
    assert register.organisation_id == org.id
    page = client.get("/tenders/supplier/profile").get_data(as_text=True)
    assert f"/tenders/evidence/{register.id}" in page and "iscrizione-albo.pdf" in page
    # An officer has no business with a supplier's declarations.
    officer, _body = make_officer()
    login(client, officer)
    assert client.get(f"/tenders/evidence/{document.id}").status_code == 404
    assert client.get(f"/tenders/evidence/{register.id}").status_code == 404
