"""Overdue compliance reports and the reminders sent to the supplier's people, at most once
every ``REMINDER_INTERVAL_DAYS`` per contract (run daily by ``flask tenders remind``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from brokerage.tenders.models import Contract, Tender
from brokerage.tenders.services.base import (
    REMINDER_INTERVAL_DAYS,
    REPORT_GRACE_DAYS,
    SUPPLIER_ROLES,
    link,
)
from brokerage.tenders.services.compliance import overdue_periods
from portal import db
from portal.db import utcnow
from portal.models import Membership, User


@dataclass
class Overdue:
    contract: Contract
    period_start: date
    period_end: date

    @property
    def due_on(self) -> date:
        return self.period_end + timedelta(days=REPORT_GRACE_DAYS)


def overdue_reports(
    today: date, *, buyer_ids: list[int] | None = None, supplier_ids: list[int] | None = None
) -> list[Overdue]:
    """Every period whose report is overdue, oldest first (contracts and their reports are
    loaded in two queries)."""
    stmt = (
        select(Contract)
        .join(Tender, Tender.id == Contract.tender_id)
        .where(Contract.start_date <= today - timedelta(days=REPORT_GRACE_DAYS))
    )
    if buyer_ids is not None:
        stmt = stmt.where(Tender.buyer_org_id.in_(buyer_ids))
    if supplier_ids is not None:
        stmt = stmt.where(Contract.supplier_org_id.in_(supplier_ids))
    found = []
    for contract in db.session.execute(stmt).scalars().unique():
        found += [Overdue(contract, s, e) for s, e in overdue_periods(contract, today)]
    found.sort(key=lambda o: (o.period_end, o.contract.id))
    return found


def send_reminders(today: date) -> int:
    """Remind the supplier's people of overdue reports, at most once a week per contract."""
    from portal.notifications import notify

    now = utcnow()
    by_contract: dict[int, list[Overdue]] = defaultdict(list)
    for item in overdue_reports(today):
        by_contract[item.contract.id].append(item)
    sent = 0
    for items in by_contract.values():
        contract = items[0].contract
        if contract.reminded_at and now - contract.reminded_at < timedelta(
            days=REMINDER_INTERVAL_DAYS
        ):
            continue
        users = (
            db.session.execute(
                select(User)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.organisation_id == contract.supplier_org_id,
                    Membership.role.in_(SUPPLIER_ROLES),
                )
            )
            .scalars()
            .unique()
            .all()
        )
        for user in users:
            notify(
                user,
                _(
                    '%(n)d compliance report(s) overdue for "%(title)s".',
                    n=len(items),
                    title=contract.tender.title,
                ),
                link(
                    "tenders.contract_detail",
                    f"/tenders/contracts/{contract.id}",
                    contract_id=contract.id,
                ),
            )
        contract.reminded_at = now
        sent += 1
    return sent
