"""Caseload services: the candidate's record (profile and sensitive part), its access log,
and handover between services. Consent is in :mod:`brokerage.consents`, export and
erasure in :mod:`brokerage.data_rights`, who may act on a case in :mod:`brokerage.access`.

Plain functions, free of any HTTP request: views pass the acting user and today's date.
Every change and every read of the sensitive part is audit-logged in the caller's
transaction; the caller commits (denied accesses are committed here, as in
:func:`brokerage.access.candidate_for`, so that a 404 still leaves its trail).

Privacy rules (PRODUCT.md): the sensitive part — target group, disability percentage,
service of origin, notes — and the full name are visible only to brokers of the services
that hold the case; every read of the sensitive part goes through :func:`read_sensitive`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from brokerage import access
from brokerage.access import acting_service, require_holding
from brokerage.consents import (
    DATA_SHARING,
    has_consent,  # noqa: F401  (microcredit reads it here)
    require_consent,
)
from brokerage.errors import CaseloadError
from brokerage.models import (
    EDUCATION_LEVELS,
    TARGET_GROUPS,
    Candidate,
    CandidateOccupation,
    CandidateSkill,
    CaseHolding,
    Experience,
    PathwayStage,
    SensitiveRecord,
)
from portal import audit, db
from portal.db import utcnow
from portal.models import BROKER, SERVICE, AuditLog, Membership, Municipality, Organisation, User
from portal.notifications import notify
from portal.taxonomy import ADJUSTMENTS, Occupation, Skill

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


def clean_reason(reason: str | None) -> str:
    reason = " ".join((reason or "").split())
    if len(reason) < 3:
        raise CaseloadError({"reason": _("Say why you need the sensitive data.")})
    return reason[:500]


def read_sensitive(candidate: Candidate, user: User, reason: str) -> SensitiveView:
    """The only way to read the sensitive part: holding services only, every read logged
    with its reason (the data subject can be shown the log)."""
    reason = clean_reason(reason)
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
    reason = clean_reason(reason)
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
