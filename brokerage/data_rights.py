"""The data subject's rights over the candidate's record: export of everything held
(GDPR art. 15 and 20) and irreversible erasure on request (art. 17), which keeps only
what the law and the statistics need.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from brokerage import pathway
from brokerage.access import require_holding
from brokerage.caseload import access_log_query, audit_entry_json, clean_reason, read_sensitive
from brokerage.consents import consents_of, uploads_dir, withdraw_open_proposals
from brokerage.models import CLOSED, Candidate, Consent, PathwayStage, Proposal
from employers.models import Vacancy
from portal import audit, db
from portal.db import utcnow
from portal.models import Organisation, User

# --- Export and erasure (GDPR art. 15, 17, 20) ---------------------------------------------


def _stage_json(stage: PathwayStage) -> dict[str, Any]:
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
        "candidate.export", candidate, actor=user, subject=candidate, reason=clean_reason(reason)
    )
    db.session.flush()
    proposals = (
        db.session.execute(
            select(Proposal).where(Proposal.candidate_id == candidate.id).order_by(Proposal.id)
        )
        .scalars()
        .all()
    )
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
    reason = clean_reason(reason)
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
