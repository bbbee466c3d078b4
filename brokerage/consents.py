"""Consent of the person (GDPR art. 6-7): the purposes (matching, placement pathway, data
sharing), the signed form stored by its digest and checked by magic bytes, recording,
renewal and revocation (which withdraws open proposals), and the checks other rules make
before acting (``require_consent``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from brokerage.access import require_holding
from brokerage.errors import CaseloadError
from brokerage.models import (
    CONSENT_PURPOSES,
    INTERVIEW,
    PROPOSED,
    WITHDRAWN,
    Candidate,
    Consent,
    Proposal,
)
from portal import audit, db, uploads
from portal.db import utcnow
from portal.models import User

#: Consent documents: the signed form, as PDF or image (checked by magic bytes).
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
DOCUMENT_TYPES = {  # kind: (magic prefix, allowed extensions, MIME type)
    "pdf": (b"%PDF-", {".pdf"}, "application/pdf"),
    "jpeg": (b"\xff\xd8\xff", {".jpg", ".jpeg"}, "image/jpeg"),
    "png": (b"\x89PNG\r\n\x1a\n", {".png"}, "image/png"),
}
#: Portal policy: a consent is renewed at least every five years (typo guard: 2099).
MAX_CONSENT_YEARS = 5
MATCHING, PATHWAY, DATA_SHARING = "matching", "pathway", "data_sharing"


# --- Consent ------------------------------------------------------------------------------


@dataclass
class StoredDocument:
    name: str
    sha256: str
    mimetype: str


def uploads_dir() -> Path:
    return uploads.upload_dir("consents")


def document_kind(head: bytes, filename: str) -> str | None:
    """``pdf``, ``jpeg`` or ``png`` when the bytes *and* the extension agree."""
    ext = os.path.splitext(filename or "")[1].lower()
    for kind, (magic, extensions, _mime) in DOCUMENT_TYPES.items():
        if head.startswith(magic) and ext in extensions:
            return kind
    return None


def store_document(stream: Any, filename: str) -> StoredDocument:
    """Check and keep an uploaded signed form under ``uploads/consents/<sha256>``."""
    data = stream.read(MAX_DOCUMENT_BYTES + 1)
    if not data:
        raise CaseloadError({"document": _("The file is empty.")})
    if len(data) > MAX_DOCUMENT_BYTES:
        raise CaseloadError({"document": _("The file is larger than 5 MB.")})
    kind = document_kind(data[:16], filename)
    if kind is None:
        raise CaseloadError({"document": _("Upload the signed form as PDF, JPEG or PNG.")})
    digest = hashlib.sha256(data).hexdigest()
    folder = uploads_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / digest
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    name = os.path.basename((filename or "").replace("\\", "/")).strip()[:200] or digest
    return StoredDocument(name=name, sha256=digest, mimetype=DOCUMENT_TYPES[kind][2])


def document_path(consent: Consent) -> Path | None:
    if not consent.document_sha256:
        return None
    path = uploads_dir() / consent.document_sha256
    return path if path.is_file() else None


def document_mimetype(consent: Consent) -> str:
    ext = os.path.splitext(consent.document_name)[1].lower()
    for _magic, extensions, mime in DOCUMENT_TYPES.values():
        if ext in extensions:
            return mime
    return "application/octet-stream"


def consents_of(candidate: Candidate) -> list[Consent]:
    return list(
        db.session.execute(
            select(Consent)
            .where(Consent.candidate_id == candidate.id)
            .order_by(Consent.given_on.desc(), Consent.id.desc())
        ).scalars()
    )


def refresh_matching_consent(candidate: Candidate, today: date) -> date | None:
    """Keep ``Candidate.matching_consent_until`` true: the latest expiry among valid,
    unrevoked consents to matching, or None. Matching relies on it."""
    valid = [
        c.expires_on for c in consents_of(candidate) if c.purpose == MATCHING and c.is_valid(today)
    ]
    candidate.matching_consent_until = max(valid, default=None)
    return candidate.matching_consent_until


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def record_consent(
    candidate: Candidate,
    user: User,
    purpose: str,
    given_on: date | None,
    expires_on: date | None,
    today: date,
    document: StoredDocument | None = None,
) -> Consent:
    """Explicit, dated consent with purpose and expiry (GDPR art. 7, art. 9(2)(a))."""
    require_holding(user, candidate, "consent")
    errors = {}
    if purpose not in CONSENT_PURPOSES:
        errors["purpose"] = _("Choose the purpose of the consent.")
    if given_on is None:
        errors["given_on"] = _("When was the consent given?")
    elif given_on > today:
        errors["given_on"] = _("The consent cannot be given in the future.")
    if expires_on is None:
        errors["expires_on"] = _("Until when is the consent valid?")
    elif given_on is not None and "given_on" not in errors:
        if expires_on <= given_on:
            errors["expires_on"] = _("The expiry must come after the date of consent.")
        elif expires_on > add_years(given_on, MAX_CONSENT_YEARS):
            errors["expires_on"] = _(
                "A consent lasts at most %(num)d years: renew it then.", num=MAX_CONSENT_YEARS
            )
    if errors:
        raise CaseloadError(errors)
    consent = Consent(
        candidate_id=candidate.id,
        purpose=purpose,
        given_on=given_on,
        expires_on=expires_on,
        recorded_by_id=user.id,
        document_name=document.name if document else "",
        document_sha256=document.sha256 if document else "",
    )
    db.session.add(consent)
    db.session.flush()
    refresh_matching_consent(candidate, today)
    audit.record("consent.record", consent, actor=user, subject=candidate, purpose=purpose)
    return consent


def withdraw_open_proposals(candidate: Candidate, user: User | None, reason: str) -> int:
    """Withdraw the proposals still open (proposed, interview): employers stop seeing them
    as available at once. The employer is not told why."""
    open_ones = (
        db.session.execute(
            select(Proposal).where(
                Proposal.candidate_id == candidate.id, Proposal.status.in_((PROPOSED, INTERVIEW))
            )
        )
        .scalars()
        .all()
    )
    for proposal in open_ones:
        proposal.status = WITHDRAWN
        audit.record("proposal.withdraw", proposal, actor=user, subject=candidate, reason=reason)
    return len(open_ones)


def revoke_consent(
    consent: Consent, user: User, today: date, now: datetime | None = None, reason: str = ""
) -> int:
    """Revocation stops everything at once: the consent ends now, matching stops when no
    valid consent to matching remains, open proposals are withdrawn. Returns how many."""
    candidate = db.session.get(Candidate, consent.candidate_id)
    assert candidate is not None
    require_holding(user, candidate, "consent_revoke")
    if consent.revoked_at is not None:
        raise CaseloadError({"consent": _("This consent has already been revoked.")})
    consent.revoked_at = now or utcnow()
    refresh_matching_consent(candidate, today)
    audit.record(
        "consent.revoke",
        consent,
        actor=user,
        subject=candidate,
        reason=reason.strip()[:500],
        purpose=consent.purpose,
    )
    if candidate.has_matching_consent(today):
        return 0
    return withdraw_open_proposals(candidate, user, "consent revoked")


def has_consent(candidate: Candidate, purpose: str, today: date) -> bool:
    """A valid (given, unexpired, unrevoked) consent for ``purpose`` exists today."""
    if purpose == MATCHING:
        return candidate.has_matching_consent(today)
    return any(c.purpose == purpose and c.is_valid(today) for c in consents_of(candidate))


def consent_missing_message(purpose: str) -> str:
    if purpose == PATHWAY:
        return _(
            "There is no valid consent to the placement pathway: record it before "
            "recording or changing the pathway."
        )
    if purpose == DATA_SHARING:
        return _(
            "There is no valid consent to sharing the data within the network's services: "
            "record it before handing the case over."
        )
    return _("There is no valid consent to matching: record it before matching or proposing.")


class ConsentMissing(CaseloadError):
    """The processing needs a valid consent for a purpose the person has not (or no
    longer) given: revocation stops the matching action at once."""

    def __init__(self, purpose: str) -> None:
        super().__init__({"consent_required": consent_missing_message(purpose)})
        self.purpose = purpose


def require_consent(candidate: Candidate, purpose: str, today: date) -> None:
    """Raise :class:`ConsentMissing` unless a valid consent for ``purpose`` exists today
    (GDPR art. 6(1)(a), 7(3), 9(2)(a): no processing for that purpose without it)."""
    if not has_consent(candidate, purpose, today):
        raise ConsentMissing(purpose)


def consent_status(candidate: Candidate, today: date) -> str:
    """``valid``, ``expired`` (had one, none valid now) or ``missing``."""
    if candidate.has_matching_consent(today):
        return "valid"
    if candidate.matching_consent_until is not None:
        return "expired"
    return "missing"
