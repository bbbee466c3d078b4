"""The microcredit commands: penalties for one or every organisation, in the daily run."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from microcredit import services
from microcredit.models import PENALTY, LoanTransaction
from portal import db
from portal.jobs import daily_jobs
from portal.models import Organisation
from tests.microcredit.factories import (
    days_ago,
    individual_loan,
    make_officer,
    make_product,
    org_of,
)

D = Decimal


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def late_loan():
    """An active loan of a fresh organisation with three weekly instalments unpaid for
    more than the product's five days: three penalties due."""
    officer = make_officer()
    product = make_product(
        officer, late_penalty=D("3.00"), penalty_after_days=5, frequency="weekly"
    )
    return individual_loan(officer, product=product, repayments=10, disbursed=days_ago(30))


def org_name(loan) -> str:
    return db.session.get(Organisation, loan.organisation_id).name


def penalties(loan) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(LoanTransaction)
        .where(LoanTransaction.loan_id == loan.id, LoanTransaction.kind == PENALTY)
    ).scalar_one()


def test_without_org_every_organisation_is_charged(app, db_session):
    first, second = late_loan(), late_loan()
    result = run(app, "microcredit", "penalties")
    assert result.exit_code == 0, result.output
    assert (penalties(first), penalties(second)) == (3, 3)
    for loan in (first, second):
        assert f"{org_name(loan)}: 3 penalties charged." in result.output
    # Once each: a second run (or a per-organisation cron line) charges nothing more.
    again = run(app, "microcredit", "penalties")
    assert again.exit_code == 0 and again.output.rstrip().endswith("0 penalties charged.")
    assert (penalties(first), penalties(second)) == (3, 3)


def test_with_org_only_that_organisation(app, db_session):
    first, second = late_loan(), late_loan()
    result = run(app, "microcredit", "penalties", "--org", org_name(first))
    assert result.exit_code == 0, result.output
    assert "3 penalties charged." in result.output
    assert (penalties(first), penalties(second)) == (3, 0)
    unknown = run(app, "microcredit", "penalties", "--org", "Nessuna organisation")
    assert unknown.exit_code != 0 and "No organisation named" in unknown.output


def test_the_organisations_are_those_with_late_penalty_products(app, db_session):
    charging = late_loan()
    officer = make_officer()
    individual_loan(officer, product=make_product(officer), disbursed=days_ago(30))
    found = {org.id for org in services.penalty_organisations()}
    assert charging.organisation_id in found
    assert org_of(officer).id not in found


def test_penalties_run_daily_before_the_ledger_check(app, db_session):
    jobs = daily_jobs(app)
    assert jobs.index("microcredit penalties") < jobs.index("microcredit reconcile")
    loan = late_loan()
    result = run(app, "ponte", "daily")
    assert "== microcredit penalties\n" in result.output
    assert penalties(loan) == 3
