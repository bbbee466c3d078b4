"""Microcredit: the PAR30 portfolio report over 10,000 loans, and saving a 40-member
collection sheet (the large demo data set has centres of 8 groups of 5)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from bench.common import report, report_latency, timed


def run(app: Flask) -> None:
    from microcredit import collection, portfolio, services
    from microcredit.demo import ORG_NAME
    from microcredit.models import Centre, Loan
    from portal import accounts, db

    with app.test_request_context():
        org = accounts.find_organisation(ORG_NAME)
        if org is None:
            print("microcredit: no demo organisation, skipped", flush=True)
            return
        today = services.local_today()
        loans = db.session.execute(
            select(func.count()).select_from(Loan).where(Loan.organisation_id == org.id)
        ).scalar_one()
        report("microcredit loans in the portfolio", loans, "loans")
        portfolio.portfolio_report(org.id, today)  # warm up
        samples = timed(lambda: portfolio.portfolio_report(org.id, today), repeat=15)
        report_latency("microcredit PAR30 report (10,000 loans)", samples)

        # A large-scale centre: 8 groups of 5 members, each repaying a loan.
        centre = (
            db.session.execute(
                select(Centre)
                .where(Centre.organisation_id == org.id, Centre.name.like("Centro territoriale%"))
                .order_by(Centre.id)
            )
            .scalars()
            .first()
        )
        if centre is None:
            print("microcredit: no large-scale centre, sheet benchmark skipped", flush=True)
            return
        officer = accounts.find_user("microcredit@ponte.demo")
        day = services.last_meeting(centre, today) or today
        sheet = collection.build_sheet(centre, day)
        members = len(sheet.members())
        report("microcredit collection sheet members", members, "members")

        def save_sheet() -> None:
            built = collection.build_sheet(centre, day)
            amounts = {
                sl.loan.id: f"{sl.position.due_now:.2f}"
                for sl in built.loans().values()
                if sl.open and sl.position.due_now > 0
            }
            savings = {member_id: "2.00" for member_id in built.members()}
            attendance = {member_id: "present" for member_id in built.members()}
            collection.save_sheet(centre, day, built.version, amounts, savings, attendance, officer)
            db.session.flush()
            db.session.rollback()  # leave the data as it was for the next run

        save_sheet()  # warm up
        report_latency(
            "microcredit save a 40-member collection sheet", timed(save_sheet, repeat=10)
        )
