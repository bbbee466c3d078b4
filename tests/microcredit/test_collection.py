"""Collection sheets: due amounts, one-transaction saving, bad input, races; arrears."""

from __future__ import annotations

import threading
from datetime import time, timedelta
from decimal import Decimal

import pytest
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from microcredit import collection, services
from microcredit.collection import SheetConflict
from microcredit.models import (
    Centre,
    Group,
    Loan,
    LoanInstallment,
    LoanProduct,
    LoanService,
    LoanTransaction,
    Meeting,
    MeetingAttendance,
    Member,
    SavingsTransaction,
    TrainingAttendance,
    TrainingSession,
)
from microcredit.reconcile import reconcile_loans
from microcredit.services import McError
from portal import db
from portal.models import AuditLog, Membership, Organisation, User
from tests.microcredit.factories import (
    days_ago,
    make_centre,
    make_group,
    make_loan,
    make_officer,
    make_product,
    today,
)

D = Decimal


def meeting_setup(disbursed_weeks_ago: int = 3):
    """A weekly centre meeting today, one group of five with weekly loans."""
    officer = make_officer()
    centre = make_centre(officer, first_meeting_on=days_ago(7 * 20))
    product = make_product(officer, group_lending=True, enforce_221=False, frequency="weekly")
    group, members = make_group(officer, centre)
    loans = [
        make_loan(
            officer,
            m,
            product,
            principal="520.00",
            repayments=26,
            disbursed=days_ago(7 * disbursed_weeks_ago),
        )
        for m in members
    ]
    return officer, centre, group, members, loans


def repayments(loans):
    return db.session.execute(
        select(func.count())
        .select_from(LoanTransaction)
        .where(
            LoanTransaction.loan_id.in_([loan.id for loan in loans]),
            LoanTransaction.kind == "repayment",
        )
    ).scalar_one()


def test_sheet_lists_what_is_due(db_session):
    _officer, centre, group, _members, loans = meeting_setup()
    sheet = collection.build_sheet(centre, today())
    assert [g.group.id for g in sheet.groups] == [group.id]
    assert sorted(sl.loan.id for sl in sheet.loans().values()) == sorted(loan.id for loan in loans)
    one = sheet.loans()[loans[0].id].position
    instalment = loans[0].installments[0].total
    assert one.due_now == instalment * 3  # three weekly instalments fell due
    assert sheet.due == one.due_now * 5 and sheet.version == 0 and not sheet.saved


def test_saving_books_everything_in_one_go(db_session):
    officer, centre, group, members, loans = meeting_setup()
    sheet = collection.build_sheet(centre, today())
    amounts = {
        sl.loan.id: f"{sl.position.due_now:.2f}".replace(".", ",") for sl in sheet.loans().values()
    }
    amounts[loans[4].id] = ""  # one member pays nothing today
    saved = collection.save_sheet(
        centre,
        today(),
        sheet.version,
        amounts,
        {members[0].id: "2,50"},
        {m.id: "present" for m in members[:4]} | {members[4].id: "absent"},
        officer,
    )
    assert saved.repayments == 4 and saved.savings == D("2.50")
    meeting = saved.meeting
    assert meeting.version == 1 and meeting.status == "held" and meeting.saved_by_id == officer.id
    booked = (
        db.session.execute(select(LoanTransaction).where(LoanTransaction.meeting_id == meeting.id))
        .scalars()
        .all()
    )
    assert len(booked) == 4
    assert services.savings_balance(group.id, members[0].id) == D("2.50")
    assert db.session.get(MeetingAttendance, (meeting.id, members[4].id)).status == "absent"
    after = collection.build_sheet(centre, today())
    assert after.saved and after.collected == saved.collected
    assert after.loans()[loans[0].id].position.due_now == 0
    assert after.loans()[loans[4].id].position.due_now > 0
    assert reconcile_loans(loans) == []


def test_a_bad_amount_books_nothing(db_session):
    officer, centre, _group, members, loans = meeting_setup()
    amounts = {loans[0].id: "10,00", loans[1].id: "10,001", loans[2].id: "-3", loans[3].id: "dieci"}
    with pytest.raises(McError) as error:
        collection.save_sheet(
            centre, today(), 0, amounts, {members[0].id: "1.234,567"}, {}, officer
        )
    fields = error.value.fields
    assert set(fields) == {
        f"amount-{loans[1].id}",
        f"amount-{loans[2].id}",
        f"amount-{loans[3].id}",
        f"savings-{members[0].id}",
    }
    assert fields[f"amount-{loans[1].id}"] == _("Use at most two decimals.")
    assert repayments(loans) == 0


def test_a_stale_sheet_is_refused(db_session):
    officer, centre, _group, _members, loans = meeting_setup()
    amounts = {loan.id: "20.00" for loan in loans}
    collection.save_sheet(centre, today(), 0, amounts, {}, {}, officer)
    with pytest.raises(SheetConflict):
        collection.save_sheet(centre, today(), 0, amounts, {}, {}, make_officer())
    assert repayments(loans) == 5
    # Saving again on the new version adds what is typed (a late payer, say).
    collection.save_sheet(centre, today(), 1, {loans[0].id: "5.00"}, {}, {}, officer)
    assert repayments(loans) == 6


def test_closed_loans_and_foreign_loans_are_refused(db_session):
    officer, centre, _group, _members, loans = meeting_setup()
    outstanding = services.loan_position(loans[0]).outstanding
    collection.save_sheet(
        centre, today(), 0, {loans[0].id: f"{outstanding:.2f}"}, {}, {}, officer
    )  # paid off at this meeting: it stays on the sheet, closed
    with pytest.raises(McError) as error:
        collection.save_sheet(centre, today(), 1, {loans[0].id: "5.00"}, {}, {}, officer)
    assert error.value.fields[f"amount-{loans[0].id}"] == _(
        "The loan is closed: it takes no repayments."
    )
    services.repay(loans[1], services.loan_position(loans[1]).outstanding, today(), officer)
    with pytest.raises(McError) as error:  # closed before the meeting: not on the sheet
        collection.save_sheet(centre, today(), 1, {loans[1].id: "5.00"}, {}, {}, officer)
    assert f"amount-{loans[1].id}" in error.value.fields
    with pytest.raises(McError) as error:
        collection.save_sheet(centre, today(), 0, {999999: "5.00"}, {}, {}, officer)
    assert "amount-999999" in error.value.fields


def test_future_meetings_print_but_do_not_save(db_session):
    officer, centre, _group, _members, loans = meeting_setup()
    ahead = today() + timedelta(days=7)
    sheet = collection.build_sheet(centre, ahead)
    assert sheet.loans()[loans[0].id].position.due_now > 0
    with pytest.raises(McError):
        collection.save_sheet(centre, ahead, 0, {loans[0].id: "1.00"}, {}, {}, officer)


def test_arrears_ageing_and_the_group_view(db_session):
    officer, centre, group, _members, loans = meeting_setup(disbursed_weeks_ago=8)
    for loan in loans[:3]:
        services.repay(loan, services.loan_position(loan).due_now, today(), officer)
    rows = collection.arrears(loans[0].organisation_id, today())
    assert sorted(r.loan.id for r in rows) == sorted(loan.id for loan in loans[3:])
    assert all(r.position.days_late == 49 for r in rows)
    ageing = collection.ageing(rows)
    assert ageing[1][1] == 2  # both in 31–60 days
    view = collection.group_view(group, today())
    assert len(view.in_arrears) == 2
    assert view.overdue == sum((r.position.overdue for r in rows), D(0))
    by_centre = collection.arrears(loans[0].organisation_id, today(), centre_id=centre.id + 1)
    assert by_centre == []


# --- Two officers saving the same sheet at once (PostgreSQL) -------------------------------------


def _cleanup(org_ids: list[int], user_ids: list[int]) -> None:
    loans = select(Loan.id).where(Loan.organisation_id.in_(org_ids))
    groups = select(Group.id).where(Group.organisation_id.in_(org_ids))
    centres = select(Centre.id).where(Centre.organisation_id.in_(org_ids))
    meetings = select(Meeting.id).where(Meeting.centre_id.in_(centres))
    sessions = select(TrainingSession.id).where(TrainingSession.group_id.in_(groups))
    for stmt in (
        delete(LoanTransaction).where(LoanTransaction.loan_id.in_(loans)),
        delete(LoanInstallment).where(LoanInstallment.loan_id.in_(loans)),
        delete(LoanService).where(LoanService.loan_id.in_(loans)),
        delete(Loan).where(Loan.organisation_id.in_(org_ids)),
        delete(SavingsTransaction).where(SavingsTransaction.organisation_id.in_(org_ids)),
        delete(MeetingAttendance).where(MeetingAttendance.meeting_id.in_(meetings)),
        delete(Meeting).where(Meeting.centre_id.in_(centres)),
        delete(TrainingAttendance).where(TrainingAttendance.session_id.in_(sessions)),
        delete(TrainingSession).where(TrainingSession.group_id.in_(groups)),
        delete(Member).where(Member.organisation_id.in_(org_ids)),
        delete(Group).where(Group.organisation_id.in_(org_ids)),
        delete(Centre).where(Centre.organisation_id.in_(org_ids)),
        delete(LoanProduct).where(LoanProduct.organisation_id.in_(org_ids)),
        delete(AuditLog).where(AuditLog.actor_id.in_(user_ids)),
        delete(Membership).where(Membership.user_id.in_(user_ids)),
        delete(User).where(User.id.in_(user_ids)),
        delete(Organisation).where(Organisation.id.in_(org_ids)),
    ):
        db.session.execute(stmt)
    db.session.commit()


@pytest.mark.postgresql_only
def test_two_officers_saving_the_same_sheet_at_once(app):
    """Real connections, real commits: exactly one save books the repayments."""
    org_ids: list[int] = []
    user_ids: list[int] = []
    try:
        with app.app_context():
            first = make_officer()
            org = first.organisations("microcredit_officer")[0]
            second = make_officer(org)
            org_ids.append(org.id)
            user_ids.extend([first.id, second.id])
            centre = services.save_centre(
                org,
                services.CentreData(
                    name="Centro concorrenza",
                    first_meeting_on=days_ago(70),
                    meeting_time=time(9, 0),
                    officer_id=first.id,
                ),
                first,
            )
            product = make_product(first, group_lending=True, enforce_221=False, frequency="weekly")
            _group, members = make_group(first, centre)
            loans = [
                make_loan(
                    first, m, product, principal="500.00", repayments=20, disbursed=days_ago(14)
                )
                for m in members
            ]
            db.session.commit()
            centre_id, loan_ids = centre.id, [loan.id for loan in loans]
            officers = [first.id, second.id]

        barrier = threading.Barrier(2, timeout=30)
        outcomes: list[str] = []

        def save(user_id: int) -> None:
            with app.app_context():
                centre = db.session.get(Centre, centre_id)
                user = db.session.get(User, user_id)
                sheet = collection.build_sheet(centre, today())
                amounts = {loan_id: "25.00" for loan_id in loan_ids}
                db.session.commit()  # end the read; the save starts a fresh transaction
                barrier.wait()
                try:
                    collection.save_sheet(centre, today(), sheet.version, amounts, {}, {}, user)
                    db.session.commit()
                    outcomes.append("saved")
                except SheetConflict:
                    db.session.rollback()
                    outcomes.append("conflict")

        threads = [threading.Thread(target=save, args=(uid,)) for uid in officers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["conflict", "saved"]
        with app.app_context():
            booked = db.session.execute(
                select(LoanTransaction.loan_id, func.count())
                .where(LoanTransaction.loan_id.in_(loan_ids), LoanTransaction.kind == "repayment")
                .group_by(LoanTransaction.loan_id)
            ).all()
            assert sorted(booked) == [(loan_id, 1) for loan_id in sorted(loan_ids)]
            meeting = db.session.execute(
                select(Meeting).where(Meeting.centre_id == centre_id)
            ).scalar_one()
            assert meeting.version == 1
            loans = db.session.execute(select(Loan).where(Loan.id.in_(loan_ids))).scalars()
            assert reconcile_loans(list(loans)) == []
    finally:
        with app.app_context():
            _cleanup(org_ids, user_ids)
