"""Caseload services: the candidate's record (profile and sensitive part), consent, the
data subject's rights (access log, export, erasure) and handover between services.

Plain functions, free of any HTTP request: views pass the acting user and today's date.
Every change and every read of the sensitive part is audit-logged in the caller's
transaction; the caller commits (denied accesses are committed here, as in
:func:`brokerage.access.candidate_for`, so that a 404 still leaves its trail).

Privacy rules (PRODUCT.md): the sensitive part — target group, disability percentage,
service of origin, notes — and the full name are visible only to brokers of the services
that hold the case; every read of the sensitive part goes through :func:`read_sensitive`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from brokerage import access
from brokerage.models import (
    CLOSED,
    CONSENT_PURPOSES,
    EDUCATION_LEVELS,
    INTERVIEW,
    PROPOSED,
    TARGET_GROUPS,
    WITHDRAWN,
    Candidate,
    CandidateOccupation,
    CandidateSkill,
    CaseHolding,
    Consent,
    Experience,
    PathwayStage,
    Proposal,
    SensitiveRecord,
)
from portal import audit, db, uploads
from portal.db import utcnow
from portal.models import BROKER, SERVICE, AuditLog, Membership, Municipality, Organisation, User
from portal.notifications import notify
from portal.taxonomy import ADJUSTMENTS, Occupation, Skill

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


class CaseloadError(ValueError):
    """Bad input: ``fields`` maps a form field to its message. Nothing has been saved."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(str(v) for v in fields.values()))
        self.fields = fields


class NotHeld(NotFound):
    """The user's services do not hold the case: a 404 (existence is not revealed)."""


def deny(user: User | None, candidate_id: int, purpose: str) -> NotHeld:
    """Record a refused access (committed now) and return the 404 to raise."""
    audit.record(
        "candidate.access_denied",
        ("candidate", candidate_id),
        actor=user,
        subject=("candidate", candidate_id),
        purpose=purpose,
    )
    db.session.commit()
    return NotHeld()


def require_holding(user: User, candidate: Candidate, purpose: str) -> None:
    if candidate.erased_at is not None or not access.holds(user, candidate):
        raise deny(user, candidate.id, purpose)


def acting_service(user: User, candidate: Candidate) -> Organisation:
    """The user's service that holds the case (the lowest id when several do)."""
    shared = access.broker_service_ids(user) & candidate.holding_service_ids
    if not shared:
        raise deny(user, candidate.id, "act")
    return db.session.get(Organisation, min(shared))  # type: ignore[return-value]


# --- The record ---------------------------------------------------------------------------


@dataclass
class ExperienceData:
    occupation_id: int | None = None
    months: int = 0
    description: str = ""


@dataclass
class ProfileData:
    """The profile part: shareable in anonymised form (no special-category data)."""

    full_name: str
    comune_code: str
    max_commute_km: int = 20
    hours_min: int = 10
    hours_max: int = 40
    education_level: str = "lower_secondary"
    driving_licence: bool = False
    languages: list[str] = field(default_factory=list)
    summary: str = ""
    skill_ids: list[int] = field(default_factory=list)
    occupation_ids: list[int] = field(default_factory=list)
    experiences: list[ExperienceData] = field(default_factory=list)
    adjustments: list[str] = field(default_factory=list)


@dataclass
class SensitiveData:
    """The sensitive part (GDPR art. 9)."""

    target_group: str | None = None
    disability_percentage: int | None = None
    origin_service_id: int | None = None
    notes: str = ""


@dataclass
class SensitiveView:
    target_group: str | None
    target_group_label: str
    disability_percentage: str | None
    origin_service_id: int | None
    origin_service: str
    notes: str
    updated_at: datetime | None


def new_pseudonym() -> str:
    """A random, unique pseudonym like ``C-7F3A2`` (reveals nothing about the person)."""
    while True:
        candidate = "C-" + secrets.token_hex(3)[:5].upper()
        if (
            db.session.execute(select(Candidate.id).where(Candidate.pseudonym == candidate)).first()
            is None
        ):
            return candidate


def _count_existing(model: Any, ids: set[int]) -> int:
    if not ids:
        return 0
    return db.session.execute(
        select(func.count()).select_from(model).where(model.id.in_(ids))
    ).scalar_one()


def validate_profile(data: ProfileData) -> dict[str, str]:
    errors: dict[str, str] = {}
    data.full_name = (data.full_name or "").strip()
    if not data.full_name:
        errors["full_name"] = _("Write the person's name: only your service will see it.")
    elif len(data.full_name) > 200:
        errors["full_name"] = _("At most %(num)d characters.", num=200)
    if not data.comune_code or db.session.get(Municipality, data.comune_code) is None:
        errors["comune"] = _("Choose a municipality from the list.")
    if not 0 <= (data.max_commute_km or 0) <= 300:
        errors["max_commute_km"] = _("Between %(low)d and %(high)d km.", low=0, high=300)
    for name in ("hours_min", "hours_max"):
        value = getattr(data, name)
        if value is None or not 1 <= value <= 48:
            errors[name] = _("Between %(low)d and %(high)d hours a week.", low=1, high=48)
    if (
        "hours_min" not in errors
        and "hours_max" not in errors
        and (data.hours_min > data.hours_max)
    ):
        errors["hours_max"] = _("The maximum cannot be lower than the minimum.")
    if data.education_level not in EDUCATION_LEVELS:
        errors["education_level"] = _("Choose an education level.")
    languages = []
    for item in data.languages or []:
        item = item.strip()
        if item and item.lower() not in {x.lower() for x in languages}:
            languages.append(item)
    if len(languages) > 10 or any(len(x) > 40 for x in languages):
        errors["languages"] = _("At most 10 languages, 40 characters each.")
    data.languages = languages
    data.summary = (data.summary or "").strip()
    if len(data.summary) > 2000:
        errors["summary"] = _("At most %(num)d characters.", num=2000)
    skills = set(data.skill_ids or [])
    if len(skills) > 100 or _count_existing(Skill, skills) != len(skills):
        errors["skills"] = _("Choose skills from the list (at most 100).")
    data.skill_ids = sorted(skills)
    occupations = list(dict.fromkeys(data.occupation_ids or []))
    if len(occupations) > 10 or _count_existing(Occupation, set(occupations)) != len(occupations):
        errors["occupations"] = _("Choose occupations from the list (at most 10).")
    data.occupation_ids = occupations
    if len(data.experiences) > 30:
        errors["experiences"] = _("At most 30 work experiences.")
    for exp in data.experiences:
        exp.description = (exp.description or "").strip()
        if exp.months is None or not 0 <= exp.months <= 600:
            errors["experiences"] = _("Months of experience: between 0 and 600.")
        elif len(exp.description) > 500:
            errors["experiences"] = _("At most %(num)d characters.", num=500)
        elif (
            exp.occupation_id is not None and db.session.get(Occupation, exp.occupation_id) is None
        ):
            errors["experiences"] = _("Choose occupations from the list (at most 10).")
    if not set(data.adjustments or []) <= set(ADJUSTMENTS):
        errors["adjustments"] = _("Choose adjustments from the list.")
    return errors


def validate_sensitive(data: SensitiveData) -> dict[str, str]:
    errors: dict[str, str] = {}
    data.target_group = data.target_group or None
    if data.target_group is not None and data.target_group not in TARGET_GROUPS:
        errors["target_group"] = _("Choose a target group from the list.")
    if data.disability_percentage is not None and not 0 <= data.disability_percentage <= 100:
        errors["disability_percentage"] = _("A percentage between 0 and 100.")
    data.origin_service_id = data.origin_service_id or None
    if data.origin_service_id is not None:
        org = db.session.get(Organisation, data.origin_service_id)
        if org is None or org.kind != SERVICE:
            errors["origin_service"] = _("Choose a service of the network.")
    data.notes = (data.notes or "").strip()
    if len(data.notes) > 4000:
        errors["sensitive_notes"] = _("At most %(num)d characters.", num=4000)
    return errors


def _apply_profile(candidate: Candidate, data: ProfileData) -> None:
    candidate.full_name = data.full_name
    candidate.comune_code = data.comune_code
    candidate.max_commute_km = data.max_commute_km
    candidate.hours_min = data.hours_min
    candidate.hours_max = data.hours_max
    candidate.education_level = data.education_level
    candidate.driving_licence = bool(data.driving_licence)
    candidate.languages = list(data.languages)
    candidate.summary = data.summary
    wanted = set(data.skill_ids)
    candidate.skills = [s for s in candidate.skills if s.skill_id in wanted] + [
        CandidateSkill(skill_id=s, skill=db.session.get(Skill, s))
        for s in sorted(wanted - {s.skill_id for s in candidate.skills})
    ]
    have = {d.occupation_id for d in candidate.desired}
    candidate.desired = [
        o for o in candidate.desired if o.occupation_id in set(data.occupation_ids)
    ] + [
        CandidateOccupation(occupation_id=o, occupation=db.session.get(Occupation, o))
        for o in data.occupation_ids
        if o not in have
    ]
    candidate.experiences = [
        Experience(
            occupation_id=e.occupation_id,
            months=e.months,
            description=e.description,
            occupation=db.session.get(Occupation, e.occupation_id) if e.occupation_id else None,
        )
        for e in data.experiences
    ]
    candidate.adjustments = list(data.adjustments)


def _apply_sensitive(candidate: Candidate, data: SensitiveData) -> None:
    record = candidate.sensitive
    if record is None:
        record = SensitiveRecord()
        candidate.sensitive = record
    record.target_group = data.target_group
    record.disability_percentage = (
        None if data.disability_percentage is None else str(data.disability_percentage)
    )
    record.origin_service_id = data.origin_service_id
    record.notes = data.notes or None
    record.updated_at = utcnow()


def create_candidate(
    service: Organisation, broker: User, profile: ProfileData, sensitive: SensitiveData, today: date
) -> Candidate:
    """A new case held by ``service``: the record, the holding, the referral stage."""
    errors = {}
    if service.id not in access.broker_service_ids(broker):
        errors["service"] = _("You are not a broker of this service.")
    errors.update(validate_profile(profile))
    errors.update(validate_sensitive(sensitive))
    if errors:
        raise CaseloadError(errors)
    candidate = Candidate(pseudonym=new_pseudonym(), status="active", languages=[])
    _apply_profile(candidate, profile)
    _apply_sensitive(candidate, sensitive)
    candidate.holdings.append(CaseHolding(service=service, since=today, broker=broker))
    db.session.add(candidate)
    db.session.flush()
    db.session.add(
        PathwayStage(
            candidate_id=candidate.id,
            stage="referral",
            started_on=today,
            service_id=service.id,
            broker_id=broker.id,
            details={},
        )
    )
    audit.record("candidate.create", candidate, actor=broker, subject=candidate)
    return candidate


def update_profile(candidate: Candidate, user: User, profile: ProfileData) -> None:
    require_holding(user, candidate, "update")
    errors = validate_profile(profile)
    if errors:
        raise CaseloadError(errors)
    _apply_profile(candidate, profile)
    audit.record("candidate.update", candidate, actor=user, subject=candidate)


def profile_of(candidate: Candidate) -> ProfileData:
    return ProfileData(
        full_name=candidate.full_name,
        comune_code=candidate.comune_code,
        max_commute_km=candidate.max_commute_km,
        hours_min=candidate.hours_min,
        hours_max=candidate.hours_max,
        education_level=candidate.education_level,
        driving_licence=candidate.driving_licence,
        languages=list(candidate.languages or []),
        summary=candidate.summary,
        skill_ids=[s.skill_id for s in candidate.skills],
        occupation_ids=[o.occupation_id for o in candidate.desired],
        experiences=[
            ExperienceData(e.occupation_id, e.months, e.description) for e in candidate.experiences
        ],
        adjustments=candidate.adjustments,
    )


# --- The sensitive part -------------------------------------------------------------------


def _clean_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if len(reason) < 3:
        raise CaseloadError({"reason": _("Say why you need the sensitive data.")})
    return reason[:500]


def read_sensitive(candidate: Candidate, user: User, reason: str) -> SensitiveView:
    """The only way to read the sensitive part: holding services only, every read logged
    with its reason (the data subject can be shown the log)."""
    reason = _clean_reason(reason)
    require_holding(user, candidate, "sensitive_read")
    record = candidate.sensitive
    audit.record(
        "candidate.sensitive_read",
        ("candidate_sensitive", candidate.id),
        actor=user,
        subject=candidate,
        reason=reason,
    )
    if record is None:
        return SensitiveView(None, "", None, None, "", "", None)
    origin = record.origin_service
    return SensitiveView(
        target_group=record.target_group,
        target_group_label=str(
            TARGET_GROUPS.get(record.target_group or "", record.target_group or "")
        ),
        disability_percentage=record.disability_percentage,
        origin_service_id=record.origin_service_id,
        origin_service=origin.name if origin else "",
        notes=record.notes or "",
        updated_at=record.updated_at,
    )


def update_sensitive(candidate: Candidate, user: User, data: SensitiveData, reason: str) -> None:
    reason = _clean_reason(reason)
    require_holding(user, candidate, "sensitive_update")
    errors = validate_sensitive(data)
    if errors:
        raise CaseloadError(errors)
    _apply_sensitive(candidate, data)
    audit.record(
        "candidate.sensitive_update",
        ("candidate_sensitive", candidate.id),
        actor=user,
        subject=candidate,
        reason=reason,
    )


def access_log_query(candidate_id: int) -> Any:
    """Every audit entry about the person: what the data subject can be shown."""
    return (
        select(AuditLog)
        .where(AuditLog.subject_type == "candidate", AuditLog.subject_id == str(candidate_id))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
    )


def audit_entry_json(entry: AuditLog) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "who": entry.actor.display_name if entry.actor else "",
        "action": entry.action,
        "object": f"{entry.object_type} {entry.object_id}".strip(),
        "reason": entry.reason,
    }


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


# --- Export and erasure (GDPR art. 15, 17, 20) ---------------------------------------------


def _stage_json(stage: PathwayStage) -> dict[str, Any]:
    from brokerage import pathway

    details = dict(stage.details or {})
    if "observations" in details:
        details["observations"] = [o.as_json() for o in pathway.observations(stage)]
    return {
        "stage": stage.stage,
        "started_on": stage.started_on.isoformat(),
        "ended_on": stage.ended_on.isoformat() if stage.ended_on else None,
        "service": stage.service.name,
        "broker": stage.broker.display_name if stage.broker else "",
        "tutor": stage.tutor,
        "notes": stage.notes,
        "details": details,
    }


def export_candidate(candidate: Candidate, user: User, reason: str) -> dict[str, Any]:
    """Everything held about the person, as JSON-ready data (audit-logged)."""
    sensitive = read_sensitive(candidate, user, reason)
    audit.record(
        "candidate.export", candidate, actor=user, subject=candidate, reason=_clean_reason(reason)
    )
    db.session.flush()
    proposals = (
        db.session.execute(
            select(Proposal).where(Proposal.candidate_id == candidate.id).order_by(Proposal.id)
        )
        .scalars()
        .all()
    )
    from employers.models import Vacancy

    stages = (
        db.session.execute(
            select(PathwayStage)
            .where(PathwayStage.candidate_id == candidate.id)
            .order_by(PathwayStage.started_on, PathwayStage.id)
        )
        .scalars()
        .all()
    )
    return {
        "exported_at": utcnow().isoformat(),
        "candidate": {
            "pseudonym": candidate.pseudonym,
            "full_name": candidate.full_name,
            "municipality": candidate.municipality.label,
            "municipality_istat_code": candidate.comune_code,
            "max_commute_km": candidate.max_commute_km,
            "hours_min": candidate.hours_min,
            "hours_max": candidate.hours_max,
            "education_level": candidate.education_level,
            "driving_licence": candidate.driving_licence,
            "languages": list(candidate.languages or []),
            "summary": candidate.summary,
            "status": candidate.status,
            "skills": [
                {"uri": s.skill.uri, "label_en": s.skill.label_en, "label_it": s.skill.label_it}
                for s in candidate.skills
            ],
            "desired_occupations": [
                {
                    "uri": o.occupation.uri,
                    "label_en": o.occupation.label_en,
                    "label_it": o.occupation.label_it,
                }
                for o in candidate.desired
            ],
            "experiences": [
                {
                    "occupation": e.occupation.label_en if e.occupation else None,
                    "months": e.months,
                    "description": e.description,
                }
                for e in candidate.experiences
            ],
            "workplace_adjustments": candidate.adjustments,
            "matching_consent_until": candidate.matching_consent_until.isoformat()
            if candidate.matching_consent_until
            else None,
            "created_at": candidate.created_at.isoformat(),
        },
        "sensitive": {
            "target_group": sensitive.target_group,
            "target_group_label": sensitive.target_group_label,
            "disability_percentage": sensitive.disability_percentage,
            "origin_service": sensitive.origin_service,
            "notes": sensitive.notes,
        },
        "services": [
            {
                "service": h.service.name,
                "since": h.since.isoformat(),
                "until": h.until.isoformat() if h.until else None,
                "broker": h.broker.display_name if h.broker else "",
            }
            for h in sorted(candidate.holdings, key=lambda h: (h.since, h.id or 0))
        ],
        "consents": [
            {
                "purpose": c.purpose,
                "given_on": c.given_on.isoformat(),
                "expires_on": c.expires_on.isoformat(),
                "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
                "document": c.document_name,
                "document_sha256": c.document_sha256,
                "recorded_by": c.recorded_by.display_name,
            }
            for c in consents_of(candidate)
        ],
        "pathway": [_stage_json(s) for s in stages],
        "proposals": [
            {
                "vacancy": (
                    db.session.get(Vacancy, p.vacancy_id).title  # type: ignore
                    if db.session.get(Vacancy, p.vacancy_id)
                    else ""
                ),
                "employer": db.session.get(Organisation, p.employer_org_id).name,
                "status": p.status,
                "proposed_at": p.created_at.isoformat(),
                "card": p.card,
                "note": p.note,
                "interview_at": p.interview_at.isoformat() if p.interview_at else None,
                "hire_start_on": p.hire_start_on.isoformat() if p.hire_start_on else None,
            }
            for p in proposals
        ],
        "access_log": [
            audit_entry_json(e)
            for e in db.session.execute(access_log_query(candidate.id)).scalars()
        ],
    }


#: Pathway details kept after erasure: what the indicators count, nothing personal.
STATISTICAL_DETAILS = (
    "kind",
    "planned_end",
    "contract_type",
    "hours",
    "month",
    "still_employed",
    "reason",
)


def _blank_like(value: Any) -> Any:
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {k: None for k in value}
    if isinstance(value, str):
        return ""
    return None


def erase_candidate(
    candidate: Candidate, user: User, reason: str, now: datetime | None = None
) -> None:
    """Erasure on request (GDPR art. 17), irreversible. What remains is what the law and
    the statistics need: the pseudonym, the municipality, who held the case and when,
    anonymous pathway stages (no notes, tutor or observations), consent dates (proof
    of lawful processing), the audit log."""
    reason = _clean_reason(reason)
    require_holding(user, candidate, "erase")
    now = now or utcnow()
    withdraw_open_proposals(candidate, user, "erasure")
    for proposal in db.session.execute(
        select(Proposal).where(Proposal.candidate_id == candidate.id)
    ).scalars():
        proposal.card = {
            k: (v if k == "pseudonym" else _blank_like(v)) for k, v in (proposal.card or {}).items()
        }
        proposal.note = ""
        proposal.interview_outcome = ""
        proposal.decline_reason = ""
    consents = consents_of(candidate)
    digests = {c.document_sha256 for c in consents if c.document_sha256}
    for consent in consents:
        consent.revoked_at = consent.revoked_at or now
        consent.document_name = ""
        consent.document_sha256 = ""
    db.session.flush()
    for digest in digests:
        still_used = db.session.execute(
            select(Consent.id).where(Consent.document_sha256 == digest)
        ).first()
        if still_used is None:
            (uploads_dir() / digest).unlink(missing_ok=True)
    for stage in db.session.execute(
        select(PathwayStage).where(PathwayStage.candidate_id == candidate.id)
    ).scalars():
        stage.notes = ""
        stage.tutor = ""
        stage.details = {k: v for k, v in (stage.details or {}).items() if k in STATISTICAL_DETAILS}
    candidate.full_name = ""
    candidate.summary = ""
    candidate.languages = []
    candidate.driving_licence = False
    candidate.skills = []
    candidate.desired = []
    candidate.experiences = []
    candidate.adjustment_rows = []
    if candidate.sensitive is not None:
        candidate.sensitive = None
    candidate.matching_consent_until = None
    candidate.status = CLOSED
    candidate.erased_at = now
    audit.record("candidate.erase", candidate, actor=user, subject=candidate, reason=reason)


# --- Handover between services -----------------------------------------------------------


def handover_targets(candidate: Candidate) -> list[Organisation]:
    """Verified services of the network that do not already hold the case."""
    return list(
        db.session.execute(
            select(Organisation)
            .where(
                Organisation.kind == SERVICE,
                Organisation.verified_at.is_not(None),
                Organisation.id.not_in(candidate.holding_service_ids or {0}),
            )
            .order_by(Organisation.name)
        ).scalars()
    )


def hand_over(
    candidate: Candidate, user: User, to_service_id: int | None, today: date, note: str = ""
) -> CaseHolding:
    """Hand the case from the user's service to another: the old holding ends today, a
    new one opens; pathway stages keep their service. Who may see the sensitive part
    changes at once (brokerage.access reads open holdings). Handing over shares the
    record with another service: it needs a valid consent to data sharing."""
    from_service = acting_service(user, candidate)
    require_consent(candidate, DATA_SHARING, today)
    target = db.session.get(Organisation, to_service_id) if to_service_id else None
    if target is None or target.kind != SERVICE or not target.is_verified:
        raise CaseloadError({"to_service": _("Choose a verified service of the network.")})
    if target.id in candidate.holding_service_ids:
        raise CaseloadError({"to_service": _("That service already holds the case.")})
    note = (note or "").strip()
    if len(note) > 500:
        raise CaseloadError({"note": _("At most %(num)d characters.", num=500)})
    for holding in candidate.holdings:
        if holding.service_id == from_service.id and holding.until is None:
            holding.until = today
    new = CaseHolding(service=target, since=today, broker=None)
    candidate.holdings.append(new)
    db.session.flush()
    audit.record(
        "candidate.handover",
        new,
        actor=user,
        subject=candidate,
        reason=note,
        from_service_id=from_service.id,
        to_service_id=target.id,
    )
    brokers = (
        db.session.execute(
            select(User)
            .join(Membership)
            .where(
                Membership.organisation_id == target.id,
                Membership.role == BROKER,
                User.active.is_(True),
            )
        )
        .scalars()
        .all()
    )
    link = url_for("brokerage.candidate_detail", candidate_id=candidate.id)
    for broker in brokers:
        # No sensitive data, not even the giving service (its type reveals the condition).
        notify(
            broker,
            _(
                "A case has been handed over to your service: %(pseudonym)s.",
                pseudonym=candidate.pseudonym,
            ),
            link,
        )
    return new
