"""The public transparency page of a buying body: its tenders with social clauses and the
aggregate compliance status of their contracts (no person, no comment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from brokerage.tenders.models import (
    ACCEPTED,
    AWARDED,
    FLAGGED,
    PUBLISHED,
    SUBMITTED,
    Contract,
    Tender,
)
from brokerage.tenders.services.compliance import overdue_periods
from portal import db
from portal.models import Organisation


@dataclass
class ContractSummary:
    contract: Contract
    accepted: int
    flagged: int
    awaiting: int
    overdue: int

    @property
    def status(self) -> str:
        if self.flagged:
            return FLAGGED
        if self.overdue:
            return "overdue"
        if self.awaiting:
            return SUBMITTED
        return ACCEPTED if self.accepted else "none"


def summarise(contract: Contract, today: date) -> ContractSummary:
    statuses = [r.status for r in contract.reports]
    return ContractSummary(
        contract,
        statuses.count(ACCEPTED),
        statuses.count(FLAGGED),
        statuses.count(SUBMITTED),
        len(overdue_periods(contract, today)),
    )


def transparency(org: Organisation, today: date) -> list[tuple[Tender, list[ContractSummary]]]:
    """Public: the body's tenders with social clauses and their contracts' compliance
    (aggregate statuses only: no person, no comment)."""
    tenders = (
        db.session.execute(
            select(Tender)
            .where(
                Tender.buyer_org_id == org.id,
                Tender.status.in_((PUBLISHED, AWARDED, "closed")),
                Tender.clause_type != "none",
            )
            .order_by(Tender.published_at.desc(), Tender.id.desc())
        )
        .scalars()
        .all()
    )
    return [(t, [summarise(c, today) for c in t.contracts]) for t in tenders]
