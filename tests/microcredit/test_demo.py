"""The demo data: every group and loan state, histories that reconcile, idempotent."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from microcredit import demo
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
    count = db.session.execute(select(func.count()).select_from(Loan)).scalar_one()
    demo.seed("small", messages.append)
    assert db.session.execute(select(func.count()).select_from(Loan)).scalar_one() == count
    assert len(messages) == 1
