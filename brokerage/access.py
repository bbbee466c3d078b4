"""Who may see a candidate: only brokers of the services holding the case.

A broker of another service asking for a candidate gets 404 (the candidate's existence
is not revealed) and the attempt is audit-logged; a broker acts on a case through the
service of theirs that holds it (``acting_service``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from brokerage.errors import NotHeld
from brokerage.models import Candidate, CaseHolding
from portal import audit, db
from portal.models import BROKER, Organisation, User


def broker_service_ids(user: Any) -> set[int]:
    """The services in which ``user`` works as a broker."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return {org.id for org in user.organisations(BROKER)}


def holds(user: Any, candidate: Candidate) -> bool:
    return bool(broker_service_ids(user) & candidate.holding_service_ids)


def caseload_query(user: User) -> Select:
    """Candidates held by the user's services (open holdings), not erased."""
    services = broker_service_ids(user)
    held = select(CaseHolding.candidate_id).where(
        CaseHolding.service_id.in_(services), CaseHolding.until.is_(None)
    )
    return select(Candidate).where(Candidate.id.in_(held), Candidate.erased_at.is_(None))


def candidate_for(user: User, candidate_id: int, purpose: str = "view") -> Candidate:
    """The candidate if ``user``'s services hold the case; 404 otherwise, audit-logged."""
    candidate = db.session.get(Candidate, candidate_id)
    if candidate is None or candidate.erased_at is not None or not holds(user, candidate):
        raise deny(user, candidate_id, purpose)
    return candidate


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
    if candidate.erased_at is not None or not holds(user, candidate):
        raise deny(user, candidate.id, purpose)


def acting_service(user: User, candidate: Candidate) -> Organisation:
    """The user's service that holds the case (the lowest id when several do)."""
    shared = broker_service_ids(user) & candidate.holding_service_ids
    if not shared:
        raise deny(user, candidate.id, "act")
    return db.session.get(Organisation, min(shared))  # type: ignore[return-value]
