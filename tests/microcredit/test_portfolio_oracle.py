"""The portfolio report (sums and risk decided in SQL, rolled up per officer, centre and
product) against a straightforward computation from the definitions, loan by loan, in
Python, on a crafted portfolio with every kind of history, on several dates."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from microcredit import portfolio, services
from microcredit.ledger import SETTLING
from microcredit.models import (
    DISBURSED_STATES,
    DISBURSEMENT,
    REPAYMENT,
    WRITE_OFF,
    Loan,
    LoanTransaction,
)
from microcredit.money import ZERO
from microcredit.policy import policy
from portal import db
from tests.microcredit.factories import (
    days_ago,
    make_centre,
    make_group,
    make_loan,
    make_member,
    make_officer,
    make_product,
    org_of,
    today,
)

D = Decimal


def oracle(org_id: int, as_of: date) -> dict[tuple[str, object], dict[str, object]]:
    """Every figure of the report, per loan from its entries and instalments, then summed
    per dimension value (and "total")."""
    rules = policy()
    window_start = as_of - timedelta(days=rules.write_off_window_days)
    collection_start = as_of - timedelta(days=rules.collection_window_days)
    step = max(1, rules.write_off_window_days // 12)
    samples = [
        as_of - timedelta(days=step * k) for k in range(rules.write_off_window_days // step + 1)
    ]
    figures: dict[tuple[str, object], dict[str, object]] = defaultdict(
        lambda: {
            "loans": 0,
            "gross": ZERO,
            "at_risk": dict.fromkeys(rules.par_days, ZERO),
            "loans_at_risk": dict.fromkeys(rules.par_days, 0),
            "overdue_principal": ZERO,
            "fell_due": ZERO,
            "paid_on_time": ZERO,
            "written_off": ZERO,
            "sampled_gross": ZERO,
        }
    )
    loans = db.session.execute(
        select(Loan).where(
            Loan.organisation_id == org_id,
            Loan.status.in_(DISBURSED_STATES),
            Loan.disbursed_on <= as_of,
        )
    ).scalars()
    for loan in loans:
        entries = [
            e
            for e in db.session.execute(
                select(LoanTransaction).where(LoanTransaction.loan_id == loan.id)
            ).scalars()
            if e.on_date <= as_of
        ]
        if not entries:
            continue

        def balance(day: date, entries=entries) -> Decimal:
            total = ZERO
            for e in entries:
                if e.on_date <= day:
                    if e.kind == DISBURSEMENT:
                        total += e.sign * e.principal
                    elif e.kind in SETTLING:
                        total -= e.sign * e.principal
            return total

        gross = balance(as_of)
        p_settled = sum((e.sign * e.principal for e in entries if e.kind in SETTLING), ZERO)
        pi_settled = sum(
            (e.sign * (e.principal + e.interest) for e in entries if e.kind in SETTLING), ZERO
        )
        mine: dict[str, object] = {
            "loans": 1 if gross > 0 else 0,
            "gross": gross,
            "written_off": sum(
                (
                    e.sign * e.principal
                    for e in entries
                    if e.kind == WRITE_OFF and e.on_date > window_start
                ),
                ZERO,
            ),
            "sampled_gross": sum((balance(s) for s in samples), ZERO),
            "at_risk": dict.fromkeys(rules.par_days, ZERO),
            "loans_at_risk": dict.fromkeys(rules.par_days, 0),
            "overdue_principal": ZERO,
            "fell_due": ZERO,
            "paid_on_time": ZERO,
        }
        open_on_date = loan.closed_on is None or loan.closed_on > as_of
        cumulative, cumulative_p, due_before = ZERO, ZERO, False
        for inst in loan.installments:
            before = cumulative
            cumulative += inst.principal + inst.interest
            if inst.due_date < as_of:
                cumulative_p += inst.principal
                due_before = True
                for n in rules.par_days:
                    if (as_of - inst.due_date).days > n and pi_settled < cumulative:
                        mine["at_risk"][n] = gross  # type: ignore[index]
                        mine["loans_at_risk"][n] = 1  # type: ignore[index]
            if collection_start < inst.due_date <= as_of and (
                loan.closed_on is None or loan.closed_on >= inst.due_date
            ):
                total = inst.principal + inst.interest
                paid = sum(
                    (
                        e.sign * (e.principal + e.interest)
                        for e in entries
                        if e.kind == REPAYMENT and e.on_date <= inst.due_date
                    ),
                    ZERO,
                )
                mine["fell_due"] += total  # type: ignore[operator]
                mine["paid_on_time"] += min(total, max(ZERO, paid - before))  # type: ignore[operator]
        if not (open_on_date and gross > 0 and due_before):
            mine["at_risk"] = dict.fromkeys(rules.par_days, ZERO)
            mine["loans_at_risk"] = dict.fromkeys(rules.par_days, 0)
        else:
            mine["overdue_principal"] = max(ZERO, cumulative_p - p_settled)
        for key in (
            ("total", None),
            ("officer", loan.officer_id),
            ("centre", loan.centre_id),
            ("product", loan.product_id),
        ):
            into = figures[key]
            for name, value in mine.items():
                if isinstance(value, dict):
                    for n, v in value.items():
                        into[name][n] += v  # type: ignore[index]
                else:
                    into[name] += value  # type: ignore[operator]
    return figures


def figures_of(report: portfolio.Report) -> dict[tuple[str, object], dict[str, object]]:
    samples = policy().write_off_window_days // max(1, policy().write_off_window_days // 12) + 1
    found = {}
    rows = [("total", report.total)] + [
        (dimension, row) for dimension, rows in report.by.items() for row in rows
    ]
    for dimension, row in rows:
        found[(dimension, row.key)] = {
            "loans": row.loans,
            "gross": row.gross,
            "at_risk": row.at_risk,
            "loans_at_risk": row.loans_at_risk,
            "overdue_principal": row.overdue_principal,
            "fell_due": row.fell_due,
            "paid_on_time": row.paid_on_time,
            "written_off": row.written_off,
            "sampled_gross": (row.average_gross * samples).quantize(D("0.01")),
        }
    return found


@pytest.fixture
def portfolio_of_every_kind(db_session):
    first = make_officer()
    second = make_officer(org_of(first))
    org = org_of(first)
    monthly = make_product(first, max_principal=D("5000"), interest_rate=D("14"))
    weekly = make_product(
        first,
        frequency="weekly",
        group_lending=True,
        max_principal=D("3000"),
        interest_rate=D("20"),
    )
    centre = make_centre(first, first_meeting_on=days_ago(600))
    _group, members = make_group(first, centre, formed=days_ago(590))

    def individual(officer, days, principal="1200.00", repayments=12):
        return make_loan(
            officer,
            make_member(first),
            monthly,
            principal=principal,
            repayments=repayments,
            disbursed=days_ago(days),
        )

    loans = []
    # Paid on time, all of it: closed.
    on_time = individual(first, 400)
    for slot in on_time.installments:
        services.repay(on_time, slot.total, slot.due_date, first)
    loans.append(on_time)
    # Partly paid, then stopped; one payment late, one reversed.
    partial = individual(second, 240, "2400.00")
    slots = partial.installments
    services.repay(partial, slots[0].total, slots[0].due_date, second)
    services.repay(partial, slots[1].total, slots[1].due_date + timedelta(days=20), second)
    wrong = services.repay(partial, D("50.00"), slots[2].due_date, second)
    services.reverse(wrong, second, "importo sbagliato")
    loans.append(partial)
    # Never paid: in every PAR bucket.
    loans.append(individual(first, 150))
    # Interest paid ahead, principal behind.
    ahead = individual(second, 100, "1800.00")
    services.repay(ahead, D("60.00"), days_ago(95), second)
    loans.append(ahead)
    # Written off inside the window, and long before it.
    recent = individual(first, 300)
    services.repay(recent, recent.installments[0].total, recent.installments[0].due_date, first)
    services.write_off(recent, days_ago(20), first, "irreperibile")
    old = individual(second, 700, repayments=6)
    services.write_off(old, days_ago(500), second, "irreperibile")
    loans += [recent, old]
    # Rescheduled into a new loan.
    before = individual(first, 200)
    services.reschedule(before, days_ago(60), 10, first, "difficoltà")
    # Overpaid.
    over = individual(second, 80, "600.00", 6)
    services.repay(over, D("700.00"), days_ago(10), second)
    # Group loans, weekly, some behind.
    for k, member in enumerate(members[1:4]):
        loan = make_loan(
            first, member, weekly, principal="1000.00", repayments=25, disbursed=days_ago(120)
        )
        for slot in loan.installments[: 8 + 4 * k]:
            if slot.due_date <= today():
                services.repay(loan, slot.total, slot.due_date, first)
    db.session.flush()
    return org


@pytest.mark.parametrize("days_back", [0, 15, 45, 130, 380, 650])
def test_the_report_matches_the_definitions(portfolio_of_every_kind, days_back):
    org = portfolio_of_every_kind
    as_of = days_ago(days_back)
    expected = oracle(org.id, as_of)
    found = figures_of(portfolio.portfolio_report(org.id, as_of))
    assert set(found) == set(expected) | {("total", None)}
    for key, values in expected.items():
        assert found[key] == values, key
    if days_back == 0:  # the crafted portfolio has something in every column
        total = found[("total", None)]
        assert all(
            total[name] for name in ("gross", "fell_due", "written_off", "overdue_principal")
        )
        assert all(total["at_risk"].values())  # type: ignore[union-attr]
