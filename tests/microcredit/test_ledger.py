"""The ledger: allocation, append-only entries, reversals, and its invariants under random
sequences of repayments and reversals (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from microcredit import ledger, services
from microcredit.ledger import Parts, Slot
from microcredit.models import (
    ACTIVE,
    CLOSED_OBLIGATIONS_MET,
    DISBURSEMENT,
    OVERPAID,
    REPAYMENT,
    LoanTransaction,
)
from microcredit.reconcile import reconcile_loans
from microcredit.services import McError
from portal import db
from tests.microcredit.factories import days_ago, individual_loan, make_officer, make_product

D = Decimal
ORDER = ("penalty", "fee", "interest", "principal")


def slots(*rows: tuple[int, str, str]) -> list[Slot]:
    start = date(2026, 1, 1)
    return [Slot(n, start + timedelta(days=30 * n), D(p), D(i)) for n, p, i in rows]


def pos_for(totals: dict[str, Parts], schedule: list[Slot], on: date) -> ledger.Position:
    return ledger.position(totals, schedule, on)


SCHEDULE = slots((1, "100.00", "10.00"), (2, "100.00", "5.00"), (3, "100.00", "2.00"))
DISBURSED = {DISBURSEMENT: Parts(principal=D("300.00"))}


def test_allocation_pays_penalties_fees_interest_then_principal():
    totals = {**DISBURSED, "penalty": Parts(penalty=D("3.00")), "fee": Parts(fee=D("4.00"))}
    on = date(2026, 3, 5)  # instalments 1 and 2 have fallen due
    pos = pos_for(totals, SCHEDULE, on)
    assert pos.due_now == D("3.00") + D("4.00") + D("215.00")
    parts = ledger.allocate(D("20.00"), pos, on, ORDER)
    assert parts == Parts(penalty=D("3.00"), fee=D("4.00"), interest=D("13.00"))
    parts = ledger.allocate(D("250.00"), pos, on, ORDER)
    # Everything due (222.00), then the next instalment ahead: interest 2.00, principal 26.00.
    assert parts == Parts(
        principal=D("226.00"), interest=D("17.00"), fee=D("4.00"), penalty=D("3.00")
    )


def test_allocation_order_is_configurable():
    pos = pos_for(DISBURSED, SCHEDULE, date(2026, 3, 5))
    parts = ledger.allocate(
        D("150.00"), pos, date(2026, 3, 5), ("principal", "interest", "penalty", "fee")
    )
    assert parts == Parts(principal=D("150.00"))


def test_overpayment_beyond_the_whole_debt():
    pos = pos_for(DISBURSED, SCHEDULE, date(2026, 1, 2))
    parts = ledger.allocate(D("400.00"), pos, date(2026, 1, 2), ORDER)
    assert parts == Parts(principal=D("300.00"), interest=D("17.00"), overpayment=D("83.00"))


def test_position_reads_arrears_and_days_late():
    totals = {**DISBURSED, REPAYMENT: Parts(principal=D("100.00"), interest=D("10.00"))}
    pos = pos_for(totals, SCHEDULE, date(2026, 3, 13))  # instalment 2 was due on 2 March
    assert pos.days_late == 11 and pos.oldest_late_due == date(2026, 3, 2)
    assert pos.overdue_principal == D("100.00") and pos.overdue_interest == D("5.00")
    assert pos.principal == D("200.00") and pos.interest == D("7.00")


def test_payoff_quote_waives_future_interest():
    pos = pos_for(DISBURSED, SCHEDULE, date(2026, 1, 15))
    pay, waive = ledger.payoff_quote(pos)
    assert pay == Parts(principal=D("300.00"), interest=D("10.00"))  # the current period only
    assert waive == D("7.00")


amounts = st.decimals(min_value=D("0.01"), max_value=D("500.00"), places=2)


@settings(max_examples=300, deadline=None)
@given(
    amounts,
    st.sampled_from([date(2026, 1, 1), date(2026, 2, 15), date(2026, 4, 30)]),
    st.permutations(list(ORDER)),
    amounts,
    amounts,
)
def test_allocation_splits_exactly(amount, on, order, penalty, fee):
    totals = {**DISBURSED, "penalty": Parts(penalty=penalty), "fee": Parts(fee=fee)}
    pos = pos_for(totals, SCHEDULE, on)
    parts = ledger.allocate(amount, pos, on, order)
    assert parts.total == amount
    assert min(parts.as_dict().values()) >= 0
    assert parts.penalty <= penalty and parts.fee <= fee
    assert parts.principal <= pos.principal and parts.interest <= pos.interest
    if parts.overpayment:
        assert parts.total - parts.overpayment == pos.outstanding


# --- With the database -----------------------------------------------------------------------


def entries_of(loan):
    return (
        db.session.execute(select(LoanTransaction).where(LoanTransaction.loan_id == loan.id))
        .scalars()
        .all()
    )


def independent_balances(loan) -> tuple[Decimal, Decimal]:
    """Disbursed − principal repaid, summed straight from the rows."""
    rows = entries_of(loan)
    disbursed = sum((r.sign * r.principal for r in rows if r.kind == DISBURSEMENT), D(0))
    repaid = sum((r.sign * r.principal for r in rows if r.kind == REPAYMENT), D(0))
    return disbursed, repaid


def test_ledger_rows_cannot_be_changed_or_deleted(db_session):
    loan = individual_loan()
    db.session.commit()  # (a savepoint in tests) so the rollbacks below keep the loan
    entry = entries_of(loan)[0]
    entry.amount = D("1.00")
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()
    entry = entries_of(loan)[0]
    db.session.delete(entry)
    with pytest.raises(PermissionError):
        db.session.flush()
    db.session.rollback()


def test_repayment_then_reversal(db_session):
    officer = make_officer()
    loan = individual_loan(officer, principal="1200.00", repayments=12, disbursed=days_ago(95))
    due = services.loan_position(loan).due_now
    assert due > 0
    entry = services.repay(loan, due, days_ago(2), officer)
    assert entry.principal + entry.interest == due and services.loan_position(loan).due_now == 0
    with pytest.raises(McError):
        services.reverse(entry, officer, "")  # a reason is required
    reversal = services.reverse(entry, officer, "Assegno scoperto")
    assert reversal.sign == -1 and reversal.on_date == entry.on_date
    assert services.loan_position(loan).due_now == due
    with pytest.raises(McError):
        services.reverse(entry, officer, "again")
    with pytest.raises(McError):
        services.reverse(reversal, officer, "reverse the reversal")
    assert reconcile_loans([loan]) == []


def test_overpaid_then_refunded(db_session):
    officer = make_officer()
    loan = individual_loan(officer, principal="500.00", repayments=2, disbursed=days_ago(10))
    outstanding = services.loan_position(loan).outstanding
    services.repay(loan, outstanding + D("7.50"), days_ago(1), officer)
    assert loan.status == OVERPAID
    assert services.loan_position(loan).overpayment == D("7.50")
    with pytest.raises(McError):
        services.repay(loan, D("1.00"), days_ago(1), officer)
    services.refund(loan, days_ago(0), officer)
    assert loan.status == CLOSED_OBLIGATIONS_MET
    assert reconcile_loans([loan]) == []


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["repay", "repay", "reverse", "penalty"]),
            st.decimals(min_value=D("0.01"), max_value=D("900.00"), places=2),
            st.integers(0, 1000),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_random_repayments_and_reversals_keep_the_ledger_balanced(db_session, operations):
    officer = make_officer()
    product = make_product(
        officer, late_penalty=D("2.50"), penalty_after_days=0, frequency="weekly"
    )
    loan = individual_loan(
        officer, product=product, principal="1000.00", repayments=8, disbursed=days_ago(60)
    )
    on = days_ago(40)
    for kind, amount, pick in operations:
        on = min(on + timedelta(days=3), days_ago(0))
        try:
            if kind == "repay":
                services.repay(loan, amount, on, officer)
            elif kind == "penalty":
                services.apply_penalties(loan.organisation_id, on, officer)
            else:
                live = [
                    e
                    for e, was_reversed in services.transactions(loan)
                    if e.sign == 1 and not was_reversed and e.kind != DISBURSEMENT
                ]
                if live:
                    services.reverse(live[pick % len(live)], officer, "prova")
        except McError:
            pass  # refused operations (closed loan, negative balance) change nothing
        assert reconcile_loans([loan]) == []
        pos = services.loan_position(loan, all_entries=True)
        disbursed, repaid = independent_balances(loan)
        assert pos.principal == disbursed - repaid  # no write-off in this sequence
        assert pos.principal >= 0 and pos.interest >= 0 and pos.penalty >= 0
        for entry in entries_of(loan):
            assert (
                entry.principal + entry.interest + entry.fee + entry.penalty + entry.overpayment
                == entry.amount
            )
        expected = (
            OVERPAID
            if pos.overpayment > 0
            else CLOSED_OBLIGATIONS_MET
            if pos.outstanding == 0
            else ACTIVE
        )
        assert loan.status == expected


def test_idempotency_key_books_once(db_session):
    officer = make_officer()
    loan = individual_loan(officer, disbursed=days_ago(40))
    services.repay(loan, D("10.00"), days_ago(1), officer, key="form:abc")
    with pytest.raises(McError):
        services.repay(loan, D("10.00"), days_ago(1), officer, key="form:abc")
    assert len([e for e in entries_of(loan) if e.kind == REPAYMENT]) == 1
