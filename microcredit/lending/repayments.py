"""Repayments and reversals: a repayment allocated by the loan's order,
early repayment, the refund of an overpayment, the reversal of any entry by a
counter-entry (never a deletion), and the loan's state set again from its balances after
each of them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from microcredit import ledger
from microcredit.access import require_officer
from microcredit.ledger import Parts
from microcredit.lending.state import begin, date_errors, loan_position, lock_loan
from microcredit.models import (
    ACTIVE,
    APPROVED,
    CLOSED_OBLIGATIONS_MET,
    CLOSED_RESCHEDULED,
    CLOSED_WRITTEN_OFF,
    DISBURSEMENT,
    FEE,
    OVERPAID,
    REFUND,
    REPAYMENT,
    TRANSFER,
    WAIVER,
    WRITE_OFF,
    Loan,
    LoanTransaction,
    Meeting,
)
from microcredit.rules import McError, local_today, record
from portal import db
from portal.models import User


def _state(loan: Loan) -> tuple[ledger.Totals, list[ledger.Slot]]:
    """All the loan's entries summed by kind, and its schedule."""
    return (
        ledger.totals_for([loan.id]).get(loan.id, {}),
        ledger.slots_for([loan.id]).get(loan.id, []),
    )


def _after_change(
    loan: Loan,
    on_date: date,
    actor: User | None,
    state: tuple[ledger.Totals, list[ledger.Slot]] | None = None,
) -> None:
    """Set the loan's state from its balances after a repayment, reversal or refund; a
    change of state (closed with obligations met, overpaid, back to active) is audited
    on the loan, with who and when."""
    before = loan.status
    _set_state_from_balances(loan, on_date, state)
    _audit_state(loan, before, on_date, actor)


def _audit_state(loan: Loan, before: str, on_date: date, actor: User | None) -> None:
    if loan.status != before:
        record(
            "loan.state",
            loan,
            actor,
            subject=loan.member,
            on_date=on_date,
            **{"from": before, "to": loan.status},
        )


def _set_state_from_balances(
    loan: Loan, on_date: date, state: tuple[ledger.Totals, list[ledger.Slot]] | None
) -> None:
    totals, slots = state or _state(loan)
    pos = ledger.position(totals, slots, on_date)
    if pos.overpayment > 0:
        loan.status = OVERPAID
        loan.closed_on = None
    elif pos.outstanding == 0:
        loan.status = CLOSED_OBLIGATIONS_MET
        loan.closed_on = loan.closed_on or on_date
    else:
        loan.status = ACTIVE
        loan.closed_on = None


def _existing(key: str | None) -> LoanTransaction | None:
    if not key:
        return None
    return db.session.execute(
        select(LoanTransaction).where(LoanTransaction.idempotency_key == key)
    ).scalar_one_or_none()


def repay(
    loan: Loan,
    amount: Decimal | None,
    on_date: date | None,
    actor: User,
    *,
    meeting: Meeting | None = None,
    key: str | None = None,
    note: str = "",
    locked: bool = False,
) -> LoanTransaction:
    """Book a repayment, allocated by the loan's order (see :mod:`microcredit.ledger`).

    ``locked``: the caller already holds the loan's row lock and refreshed it.
    """
    require_officer(actor, loan.organisation_id)
    if not locked:
        loan = lock_loan(loan)
    errors: dict[str, str] = {}
    if loan.status in (CLOSED_OBLIGATIONS_MET, CLOSED_WRITTEN_OFF, CLOSED_RESCHEDULED):
        errors["amount"] = _("The loan is closed: it takes no repayments.")
    elif loan.status == OVERPAID:
        errors["amount"] = _("The loan is already overpaid: refund the overpayment instead.")
    elif loan.status != ACTIVE:
        errors["amount"] = _("The loan has not been disbursed.")
    elif amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        errors["amount"] = _("Give an amount in euros, more than zero, with at most two decimals.")
    if not errors:
        errors = date_errors(loan, on_date)
    if key and _existing(key) is not None:
        errors["amount"] = _("This repayment has already been recorded.")
    if errors:
        raise McError(errors)
    assert on_date is not None and amount is not None
    totals, slots = _state(loan)
    pos = ledger.position(totals, slots, on_date)
    parts = ledger.allocate(amount, pos, on_date, loan.allocation)
    entry = ledger.book(loan, REPAYMENT, on_date, parts, actor, meeting=meeting, key=key, note=note)
    totals[REPAYMENT] = totals.get(REPAYMENT, Parts()) + parts
    _after_change(loan, on_date, actor, (totals, slots))
    record(
        "loan.repay",
        entry,
        actor,
        subject=loan.member,
        loan=loan.id,
        amount=amount,
        on_date=on_date,
        meeting=meeting.id if meeting else None,
        **{c: v for c, v in parts.as_dict().items() if v},
    )
    return entry


def _negated(parts: Parts) -> Parts:
    return Parts(*(-getattr(parts, c) for c in ledger.COMPONENTS))


def reverse(entry: LoanTransaction, actor: User, reason: str = "") -> LoanTransaction:
    """Undo an entry with a reversal entry (never a deletion)."""
    loan = db.session.get(Loan, entry.loan_id)
    assert loan is not None
    require_officer(actor, loan.organisation_id)
    loan = lock_loan(loan)
    if entry.sign != 1 or entry.reversal_of_id is not None:
        raise McError({"entry": _("A reversal cannot be reversed.")})
    if db.session.execute(
        select(LoanTransaction.id).where(LoanTransaction.reversal_of_id == entry.id)
    ).first():
        raise McError({"entry": _("This entry has already been reversed.")})
    if loan.status == CLOSED_RESCHEDULED or entry.kind == TRANSFER:
        raise McError({"entry": _("The entries of a rescheduled loan cannot be reversed.")})
    if loan.status == CLOSED_WRITTEN_OFF and entry.kind != WRITE_OFF:
        raise McError({"entry": _("The loan is written off: reverse the write-off first.")})
    if not (reason or "").strip():
        raise McError({"reason": _("Say why the entry is reversed.")})
    parts = Parts(**entry.components)
    if entry.kind == DISBURSEMENT:
        return _undo_disbursement(loan, entry, actor, reason)
    totals = ledger.totals_for([loan.id]).get(loan.id, {})
    totals[entry.kind] = totals.get(entry.kind, Parts()) + _negated(parts)
    slots = ledger.slots_for([loan.id]).get(loan.id, [])
    after = ledger.position(totals, slots, entry.on_date)
    if min(after.principal, after.interest, after.fee, after.penalty, after.overpayment) < 0:
        raise McError(
            {
                "entry": _(
                    "Reversing this entry would leave a negative balance: reverse the later "
                    "entries that depend on it first."
                )
            }
        )
    reversal = ledger.book(
        loan, entry.kind, entry.on_date, parts, actor, sign=-1, reversal_of=entry, note=reason
    )
    if entry.kind == WRITE_OFF:
        loan.status = ACTIVE
        loan.closed_on = None
        _audit_state(loan, CLOSED_WRITTEN_OFF, local_today(), actor)
    elif loan.status in (ACTIVE, OVERPAID, CLOSED_OBLIGATIONS_MET):
        _after_change(loan, local_today(), actor)
    record(
        "loan.reverse",
        entry,
        actor,
        reason=reason,
        subject=loan.member,
        loan=loan.id,
        kind=entry.kind,
        amount=entry.amount,
    )
    return reversal


def _undo_disbursement(
    loan: Loan, entry: LoanTransaction, actor: User, reason: str
) -> LoanTransaction:
    """Back to approved, when nothing but the disbursement (and its fee) was booked."""
    entries = (
        db.session.execute(select(LoanTransaction).where(LoanTransaction.loan_id == loan.id))
        .scalars()
        .all()
    )
    reversed_ids = {e.reversal_of_id for e in entries if e.reversal_of_id}
    live = [e for e in entries if e.sign == 1 and e.id not in reversed_ids and e.id != entry.id]
    if any(not (e.kind == FEE and e.note == "disbursement fee") for e in live):
        raise McError({"entry": _("Other entries follow the disbursement: reverse them first.")})
    for fee in live:
        ledger.book(
            loan,
            FEE,
            fee.on_date,
            Parts(**fee.components),
            actor,
            sign=-1,
            reversal_of=fee,
            note=reason,
        )
    reversal = ledger.book(
        loan,
        DISBURSEMENT,
        entry.on_date,
        Parts(**entry.components),
        actor,
        sign=-1,
        reversal_of=entry,
        note=reason,
    )
    for row in list(loan.installments):  # the schedule is derived data, rebuilt next time
        db.session.delete(row)
    loan.status = APPROVED
    loan.disbursed_on = None
    loan.wave = None
    db.session.flush()
    db.session.expire(loan, ["installments"])
    record(
        "loan.undo_disbursement",
        loan,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=entry.on_date,
    )
    return reversal


def prepay(
    loan: Loan, on_date: date | None, actor: User, key: str | None = None
) -> LoanTransaction:
    """Pay the loan off early: interest after the current period is waived."""
    loan = begin(loan, actor, ACTIVE)
    errors = date_errors(loan, on_date)
    if _existing(key) is not None:
        errors["on_date"] = _("This repayment has already been recorded.")
    if errors:
        raise McError(errors)
    assert on_date is not None
    pay, waive = ledger.payoff_quote(loan_position(loan, on_date, all_entries=True))
    if waive > 0:
        ledger.book(
            loan,
            WAIVER,
            on_date,
            Parts(interest=waive),
            actor,
            note="interest waived on early repayment",
        )
    entry = ledger.book(loan, REPAYMENT, on_date, pay, actor, key=key, note="early repayment")
    _after_change(loan, on_date, actor)
    record(
        "loan.prepay",
        entry,
        actor,
        subject=loan.member,
        loan=loan.id,
        amount=pay.total,
        waived=waive,
        on_date=on_date,
    )
    return entry


def refund(loan: Loan, on_date: date | None, actor: User) -> LoanTransaction:
    loan = begin(loan, actor, OVERPAID)
    errors = date_errors(loan, on_date)
    if errors:
        raise McError(errors)
    assert on_date is not None
    pos = loan_position(loan, on_date, all_entries=True)
    entry = ledger.book(loan, REFUND, on_date, Parts(overpayment=pos.overpayment), actor)
    _after_change(loan, on_date, actor)
    loan.closed_on = on_date if loan.status == CLOSED_OBLIGATIONS_MET else None
    record("loan.refund", loan, actor, subject=loan.member, amount=pos.overpayment, on_date=on_date)
    return entry
