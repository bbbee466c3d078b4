"""Ledger checks: every entry adds up, every balance is derived and consistent.

Used by ``flask microcredit reconcile`` and by the tests.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from microcredit import ledger
from microcredit.models import (
    ACTIVE,
    CLOSED_STATES,
    OVERPAID,
    Loan,
    LoanTransaction,
    SavingsTransaction,
)
from microcredit.money import ZERO
from microcredit.rules import local_today
from microcredit.savings import savings_balances
from portal import db


def reconcile_loans(loans: Iterable[Loan]) -> list[str]:
    loans = list(loans)
    ids = [loan.id for loan in loans]
    problems: list[str] = []
    entries = (
        db.session.execute(select(LoanTransaction).where(LoanTransaction.loan_id.in_(ids or [-1])))
        .scalars()
        .all()
    )
    by_id = {e.id: e for e in entries}
    for entry in entries:
        parts = entry.principal + entry.interest + entry.fee + entry.penalty + entry.overpayment
        if parts != entry.amount:
            problems.append(f"entry {entry.id}: parts {parts} != amount {entry.amount}")
        if (
            min(
                entry.principal,
                entry.interest,
                entry.fee,
                entry.penalty,
                entry.overpayment,
                entry.amount,
            )
            < 0
        ):
            problems.append(f"entry {entry.id}: negative component")
        if entry.sign == -1:
            original = by_id.get(entry.reversal_of_id or -1)
            if (
                original is None
                or original.components != entry.components
                or (original.kind != entry.kind)
            ):
                problems.append(f"entry {entry.id}: does not mirror the entry it reverses")
        elif entry.sign != 1 or entry.reversal_of_id is not None:
            problems.append(f"entry {entry.id}: bad sign or reversal link")
    totals = ledger.totals_for(ids)
    slots = ledger.slots_for(ids)
    today = local_today()
    for loan in loans:
        pos = ledger.position(totals.get(loan.id, {}), slots.get(loan.id, []), today)
        name = f"loan {loan.id}"
        if min(pos.principal, pos.interest, pos.fee, pos.penalty, pos.overpayment) < 0:
            problems.append(f"{name}: negative balance {pos}")
        scheduled = sum((s.principal for s in slots.get(loan.id, [])), ZERO)
        if slots.get(loan.id) and scheduled != pos.disbursed:
            problems.append(f"{name}: schedule principal {scheduled} != disbursed {pos.disbursed}")
        if pos.principal != pos.disbursed - pos.principal_settled:
            problems.append(f"{name}: principal does not reconcile")
        if loan.status in CLOSED_STATES and pos.outstanding != 0:
            problems.append(f"{name}: closed with {pos.outstanding} outstanding")
        if loan.status == ACTIVE and pos.outstanding <= 0:
            problems.append(f"{name}: active with nothing outstanding")
        if (loan.status == OVERPAID) != (pos.overpayment > 0):
            problems.append(f"{name}: state {loan.status} with overpayment {pos.overpayment}")
    return problems


def reconcile_all() -> list[str]:
    problems = reconcile_loans(db.session.execute(select(Loan)).scalars().all())
    group_ids = db.session.execute(select(SavingsTransaction.group_id).distinct()).scalars().all()
    for (group_id, member_id), balance in savings_balances(group_ids).items():
        if balance < 0:
            problems.append(f"savings of group {group_id} member {member_id}: {balance}")
    return problems
