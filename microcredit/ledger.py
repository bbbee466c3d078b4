"""The loan ledger: balances derived from append-only entries, and repayment allocation.

Nothing here stores a balance. A loan's position on any date is computed from the
entries dated up to then and from its schedule:

* principal owed = disbursed − principal repaid, written off or transferred;
* interest owed = scheduled interest − interest repaid, waived, written off or transferred;
* fees and penalties owed = charged − repaid, waived, written off or transferred;
* overpayment (owed to the borrower) = overpaid − refunded.

How much of the schedule has been settled is read with a *fill* rule: the principal
settled covers the instalments' principal in order, and so does the interest settled —
which is what allocating every repayment instalment by instalment produces. An
instalment is late while the principal and interest settled do not cover it.

Allocation (:func:`allocate`): a repayment first pays what has fallen due, bucket by
bucket in the loan's allocation order (default: penalties, fees, interest, principal —
Fineract's "penalties, fees, interest, principal" strategy); what is left pays the next
instalments ahead, one at a time (interest and principal in the same relative order);
anything beyond the whole debt is an overpayment.

Reversals are new entries with ``sign = -1`` and the value date of the entry they undo, so
history reads as if the reversed entry had never been booked (as Fineract's reprocessing
does); later repayments keep the split they were booked with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from microcredit.models import (
    DISBURSEMENT,
    FEE,
    PENALTY,
    REFUND,
    REPAYMENT,
    TRANSFER,
    WAIVER,
    WRITE_OFF,
    Loan,
    LoanInstallment,
    LoanTransaction,
    Meeting,
)
from microcredit.money import ZERO, money
from portal import db
from portal.models import User

COMPONENTS = ("principal", "interest", "fee", "penalty", "overpayment")
#: Entry kinds that settle what the borrower owes.
SETTLING = (REPAYMENT, WAIVER, WRITE_OFF, TRANSFER)


@dataclass(frozen=True)
class Parts:
    """Amounts by component."""

    principal: Decimal = ZERO
    interest: Decimal = ZERO
    fee: Decimal = ZERO
    penalty: Decimal = ZERO
    overpayment: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fee + self.penalty + self.overpayment

    def __add__(self, other: Parts) -> Parts:
        return Parts(*(getattr(self, c) + getattr(other, c) for c in COMPONENTS))

    def as_dict(self) -> dict[str, Decimal]:
        return {c: getattr(self, c) for c in COMPONENTS}


@dataclass(frozen=True)
class Slot:
    """One scheduled instalment."""

    number: int
    due_date: date
    principal: Decimal
    interest: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


@dataclass
class Position:
    """A loan's balances on a date, derived from its ledger and schedule."""

    as_of: date
    disbursed: Decimal
    principal: Decimal
    interest: Decimal
    fee: Decimal
    penalty: Decimal
    overpayment: Decimal
    principal_settled: Decimal
    interest_settled: Decimal
    principal_paid: Decimal
    interest_paid: Decimal
    #: Principal and interest of instalments due before ``as_of`` and not settled.
    overdue_principal: Decimal
    overdue_interest: Decimal
    #: Principal and interest due up to and including ``as_of``, not settled.
    due_principal: Decimal
    due_interest: Decimal
    days_late: int
    oldest_late_due: date | None
    next_due: date | None
    slots: list[tuple[Slot, Decimal, Decimal]] = field(default_factory=list)

    @property
    def outstanding(self) -> Decimal:
        """Everything the borrower still owes."""
        return self.principal + self.interest + self.fee + self.penalty

    @property
    def overdue(self) -> Decimal:
        return self.overdue_principal + self.overdue_interest + self.fee + self.penalty

    @property
    def due_now(self) -> Decimal:
        """What should be paid at a meeting on ``as_of``: arrears and today's instalment."""
        return self.due_principal + self.due_interest + self.fee + self.penalty

    @property
    def in_arrears(self) -> bool:
        return self.days_late > 0


Totals = dict[str, Parts]


def totals_for(loan_ids: Iterable[int], as_of: date | None = None) -> dict[int, Totals]:
    """Signed sums of each loan's entries by kind, dated up to ``as_of``."""
    ids = list(loan_ids)
    found: dict[int, Totals] = defaultdict(dict)
    if not ids:
        return found
    t = LoanTransaction
    columns = [func.sum(t.sign * getattr(t, c)) for c in COMPONENTS]
    for start in range(0, len(ids), 5000):
        stmt = select(t.loan_id, t.kind, *columns).where(t.loan_id.in_(ids[start : start + 5000]))
        if as_of is not None:
            stmt = stmt.where(t.on_date <= as_of)
        for loan_id, kind, *sums in db.session.execute(stmt.group_by(t.loan_id, t.kind)):
            found[loan_id][kind] = Parts(*(money(s) for s in sums))
    return found


def slots_for(loan_ids: Iterable[int]) -> dict[int, list[Slot]]:
    ids = list(loan_ids)
    found: dict[int, list[Slot]] = defaultdict(list)
    i = LoanInstallment
    for start in range(0, len(ids), 5000):
        rows = db.session.execute(
            select(i.loan_id, i.number, i.due_date, i.principal, i.interest)
            .where(i.loan_id.in_(ids[start : start + 5000]))
            .order_by(i.loan_id, i.number)
        )
        for loan_id, number, due, principal, interest in rows:
            found[loan_id].append(Slot(number, due, money(principal), money(interest)))
    return found


def _sum(totals: Totals, kinds: Sequence[str], component: str) -> Decimal:
    return sum((getattr(totals[k], component) for k in kinds if k in totals), ZERO)


def position(totals: Totals, slots: Sequence[Slot], as_of: date) -> Position:
    """Balances and arrears on ``as_of`` (``totals`` should be dated up to it)."""
    disbursed = _sum(totals, (DISBURSEMENT,), "principal")
    principal_settled = _sum(totals, SETTLING, "principal")
    interest_settled = _sum(totals, SETTLING, "interest")
    scheduled_interest = sum((s.interest for s in slots), ZERO)
    fee = _sum(totals, (FEE,), "fee") - _sum(totals, SETTLING, "fee")
    penalty = _sum(totals, (PENALTY,), "penalty") - _sum(totals, SETTLING, "penalty")
    overpayment = _sum(totals, (REPAYMENT,), "overpayment") - _sum(totals, (REFUND,), "overpayment")
    p_left, i_left = principal_settled, interest_settled
    overdue_p = overdue_i = due_p = due_i = ZERO
    days_late, oldest, next_due = 0, None, None
    filled = []
    for slot in slots:
        p_paid = min(slot.principal, max(p_left, ZERO))
        i_paid = min(slot.interest, max(i_left, ZERO))
        p_left -= p_paid
        i_left -= i_paid
        unpaid_p, unpaid_i = slot.principal - p_paid, slot.interest - i_paid
        filled.append((slot, unpaid_p, unpaid_i))
        if slot.due_date <= as_of:
            due_p += unpaid_p
            due_i += unpaid_i
            if slot.due_date < as_of:
                overdue_p += unpaid_p
                overdue_i += unpaid_i
                if (unpaid_p or unpaid_i) and oldest is None:
                    oldest = slot.due_date
                    days_late = (as_of - slot.due_date).days
        elif next_due is None and (unpaid_p or unpaid_i):
            next_due = slot.due_date
    return Position(
        as_of=as_of,
        disbursed=disbursed,
        principal=disbursed - principal_settled,
        interest=scheduled_interest - interest_settled if slots else ZERO,
        fee=fee,
        penalty=penalty,
        overpayment=overpayment,
        principal_settled=principal_settled,
        interest_settled=interest_settled,
        principal_paid=_sum(totals, (REPAYMENT,), "principal"),
        interest_paid=_sum(totals, (REPAYMENT,), "interest"),
        overdue_principal=overdue_p,
        overdue_interest=overdue_i,
        due_principal=due_p,
        due_interest=due_i,
        days_late=days_late,
        oldest_late_due=oldest,
        next_due=next_due,
        slots=filled,
    )


def allocate(amount: Decimal, pos: Position, on_date: date, order: Sequence[str]) -> Parts:
    """Split a repayment of ``amount`` made on ``on_date`` (see the module docstring)."""
    remaining = amount
    taken = dict.fromkeys(COMPONENTS, ZERO)

    def take(bucket: str, available: Decimal) -> None:
        nonlocal remaining
        part = min(remaining, max(available, ZERO))
        taken[bucket] += part
        remaining -= part

    due = [(s, p, i) for s, p, i in pos.slots if s.due_date <= on_date]
    ahead = [(s, p, i) for s, p, i in pos.slots if s.due_date > on_date]
    for bucket in order:
        if bucket == "penalty":
            take("penalty", pos.penalty)
        elif bucket == "fee":
            take("fee", pos.fee)
        elif bucket == "interest":
            take("interest", sum((i for _s, _p, i in due), ZERO))
        elif bucket == "principal":
            take("principal", sum((p for _s, p, _i in due), ZERO))
    for _slot, unpaid_p, unpaid_i in ahead:
        for bucket in order:
            if bucket == "interest":
                take("interest", unpaid_i)
            elif bucket == "principal":
                take("principal", unpaid_p)
    taken["overpayment"] = remaining
    return Parts(**taken)


def payoff_quote(pos: Position) -> tuple[Parts, Decimal]:
    """Paying the loan off early on ``pos.as_of`` (Fineract's "prepay loan").

    The borrower pays penalties, fees, the interest of the instalments already due and of
    the current period, and all the principal; the rest of the scheduled interest is
    waived. Returns (what to pay by component, interest to waive).
    """
    interest = ZERO
    current_seen = False
    for slot, _unpaid_p, unpaid_i in pos.slots:
        if slot.due_date <= pos.as_of:
            interest += unpaid_i
        elif not current_seen:
            interest += unpaid_i
            current_seen = True
    interest = min(interest, pos.interest)
    pay = Parts(principal=pos.principal, interest=interest, fee=pos.fee, penalty=pos.penalty)
    return pay, pos.interest - interest


def check_entry(entry: LoanTransaction) -> None:
    """The split of an entry adds up to its amount (a ledger invariant)."""
    parts = entry.principal + entry.interest + entry.fee + entry.penalty + entry.overpayment
    if parts != entry.amount:
        raise ValueError(f"entry parts {parts} differ from its amount {entry.amount}")


def book(
    loan: Loan,
    kind: str,
    on_date: date,
    parts: Parts,
    actor: User | None,
    *,
    sign: int = 1,
    reversal_of: LoanTransaction | None = None,
    meeting: Meeting | None = None,
    key: str | None = None,
    note: str = "",
    installment_number: int | None = None,
) -> LoanTransaction:
    """Book one entry on the loan's ledger (checked by :func:`check_entry`)."""
    entry = LoanTransaction(
        loan_id=loan.id,
        kind=kind,
        sign=sign,
        on_date=on_date,
        amount=parts.total,
        principal=parts.principal,
        interest=parts.interest,
        fee=parts.fee,
        penalty=parts.penalty,
        overpayment=parts.overpayment,
        reversal_of_id=reversal_of.id if reversal_of else None,
        meeting_id=meeting.id if meeting else None,
        idempotency_key=key,
        note=note[:300],
        installment_number=installment_number,
        created_by_id=actor.id if actor else None,
    )
    check_entry(entry)
    db.session.add(entry)
    db.session.flush()
    return entry
