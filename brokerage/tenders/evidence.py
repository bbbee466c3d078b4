"""Evidence documents of suppliers: a PDF for the register
enrolment, for a workforce declaration or for a compliance report.

The file is checked like the network's attachments (``portal.network.documents``: a PDF by
its magic bytes, at most 10 MB) and kept under ``instance/uploads/tenders/`` (or
``TENDERS_UPLOAD_DIR``) with a random name. Evidence may hold personal data, so it is never
public: see :func:`can_read`. Files are kept as filed; a report or declaration filed again
adds its new evidence to the old.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from brokerage.tenders.models import ComplianceReport, EvidenceDocument, WorkforceDeclaration
from brokerage.tenders.services.access import can_edit, supplier_orgs
from portal import audit, db, uploads
from portal.models import Organisation, User
from portal.network.documents import DocumentError, check, read_limited, safe_filename
from portal.permissions import is_admin

__all__ = [
    "DocumentError",
    "Upload",
    "attach",
    "can_read",
    "path_of",
    "read_upload",
    "register_documents",
]


class Upload:
    """A checked PDF from a form, not yet stored."""

    def __init__(self, data: bytes, filename: str) -> None:
        self.data, self.filename = data, filename


def upload_dir() -> Path:
    return uploads.upload_dir("tenders", "TENDERS_UPLOAD_DIR")


def read_upload(storage: Any) -> Upload | None:
    """The PDF chosen in a file field, checked; None when no file was chosen.
    Raises DocumentError (with a message for people) for anything else."""
    if not isinstance(storage, FileStorage) or not storage.filename:
        return None
    data = read_limited(storage.stream)
    check(data)
    return Upload(data, storage.filename)


def attach(
    upload: Upload,
    org: Organisation,
    uploader: User,
    *,
    declaration: WorkforceDeclaration | None = None,
    report: ComplianceReport | None = None,
) -> EvidenceDocument:
    """Store ``upload`` as evidence of ``org`` (its register enrolment when neither a
    declaration nor a report is given), in the caller's transaction."""
    check(upload.data)
    stored = secrets.token_hex(16) + ".pdf"
    (upload_dir() / stored).write_bytes(upload.data)
    document = EvidenceDocument(
        organisation_id=org.id,
        declaration_id=declaration.id if declaration is not None else None,
        report=report,
        filename=safe_filename(upload.filename),
        stored_name=stored,
        size=len(upload.data),
        sha256=hashlib.sha256(upload.data).hexdigest(),
        uploaded_by_id=uploader.id,
    )
    db.session.add(document)
    db.session.flush()
    audit.record(
        "tender.evidence.upload",
        document,
        actor=uploader,
        sha256=document.sha256,
        size=len(upload.data),
    )
    return document


def register_documents(org: Organisation) -> list[EvidenceDocument]:
    """The evidence of the organisation's register enrolment."""
    return list(
        db.session.execute(
            select(EvidenceDocument)
            .where(
                EvidenceDocument.organisation_id == org.id,
                EvidenceDocument.declaration_id.is_(None),
                EvidenceDocument.report_id.is_(None),
            )
            .order_by(EvidenceDocument.id)
        ).scalars()
    )


def can_read(user: Any, document: EvidenceDocument) -> bool:
    """The supplier's people; for a compliance report, the officers of the buying body;
    administrators (they verify organisations). Nobody else, whatever the tender."""
    if any(o.id == document.organisation_id for o in supplier_orgs(user)) or is_admin(user):
        return True
    report = document.report
    return report is not None and can_edit(user, report.contract.tender)


def path_of(document: EvidenceDocument) -> Path | None:
    path = upload_dir() / document.stored_name
    return path if path.is_file() else None
