"""The demo data: every group and loan state, histories that reconcile, idempotent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from microcredit import demo, ledger, portfolio, services
from microcredit.models import GROUP_STATES, LOAN_STATES, Group, Loan, LoanTransaction
from microcredit.reconcile import reconcile_all
from portal import db
from portal import demo as portal_demo

pytestmark = pytest.mark.slow


def test_demo_has_every_state_and_reconciles(db_session):
    orgs = portal_demo._seed_organisations()
    portal_demo._seed_users(orgs)
    messages: list[str] = []
    demo.seed("small", messages.append)
    org = orgs[demo.ORG_NAME]
    loan_states = set(
        db.session.execute(select(Loan.status).where(Loan.organisation_id == org.id)).scalars()
    )
    assert loan_states == set(LOAN_STATES)
    group_states = set(
        db.session.execute(select(Group.status).where(Group.organisation_id == org.id)).scalars()
    )
    assert group_states == set(GROUP_STATES)
    kinds = set(
        db.session.execute(
            select(LoanTransaction.kind).join(Loan).where(Loan.organisation_id == org.id)
        ).scalars()
    )
    assert {"disbursement", "repayment", "penalty", "write_off", "transfer", "waiver"} <= kinds
    assert reconcile_all() == []
    assert_histories_on_time_late_and_missed(org.id)
    count = db.session.execute(select(func.count()).select_from(Loan)).scalar_one()
    demo.seed("small", messages.append)
    assert db.session.execute(select(func.count()).select_from(Loan)).scalar_one() == count
    assert len(messages) == 1


def assert_histories_on_time_late_and_missed(org_id: int) -> None:
    """Repayments made when due, repayments that caught up with arrears (late), and
    instalments still unpaid long after they fell due (missed)."""
    loans = (
        db.session.execute(
            select(Loan).where(Loan.organisation_id == org_id, Loan.disbursed_on.is_not(None))
        )
        .scalars()
        .all()
    )
    ids = [loan.id for loan in loans]
    slots = ledger.slots_for(ids)
    on_time = late = 0
    repayments = db.session.execute(
        select(LoanTransaction.loan_id, LoanTransaction.on_date).where(
            LoanTransaction.loan_id.in_(ids),
            LoanTransaction.kind == "repayment",
            LoanTransaction.sign == 1,
        )
    ).all()
    for loan_id, on in repayments:
        before = ledger.position(
            ledger.totals_for([loan_id], on - timedelta(days=1)).get(loan_id, {}),
            slots.get(loan_id, []),
            on,
        )  # the day's position before its repayments
        if before.days_late > 0:
            late += 1
        else:
            on_time += 1
    assert on_time > 0 and late > 0, (on_time, late)
    today = services.local_today()
    report = portfolio.portfolio_report(org_id, today)
    assert report.total.at_risk[30] > 0  # missed: unpaid more than 30 days
    rate = report.total.on_time_rate
    assert rate is not None and 0 < rate < 100
