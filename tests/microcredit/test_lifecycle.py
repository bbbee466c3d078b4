"""Groups, training, savings, products and the loan lifecycle with its legal limits."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import gettext as _
from sqlalchemy import select

from microcredit import services
from microcredit.models import (
    ACTIVE,
    ACTIVE_GROUP,
    APPROVED,
    CLOSED_GROUP,
    CLOSED_OBLIGATIONS_MET,
    CLOSED_RESCHEDULED,
    CLOSED_WRITTEN_OFF,
    DEPOSIT,
    FEE,
    OVERPAID,
    PENALTY,
    REJECTED,
    SUBMITTED,
    SUSPENDED,
    TRAINING,
    WAIVER,
    WITHDRAWAL,
    WITHDRAWN,
    LoanTransaction,
)
from microcredit.policy import Policy, policy
from microcredit.reconcile import reconcile_loans
from microcredit.services import McError
from portal import db
from portal.i18n import euro
from portal.models import AuditLog
from tests.microcredit.factories import (
    add_services,
    days_ago,
    individual_loan,
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


def kinds(loan):
    return [(e.kind, e.sign) for e, _r in services.transactions(loan)]


# --- Groups --------------------------------------------------------------------------------


def test_group_goes_through_its_states(db_session):
    officer = make_officer()
    centre = make_centre(officer)
    group, members = make_group(officer, centre, state="forming")
    assert group.status == "forming"
    services.group_transition(group, "start_training", days_ago(200), officer)
    assert group.status == TRAINING
    with pytest.raises(McError) as error:
        services.group_transition(group, "recognise", days_ago(190), officer)
    assert (
        _(
            "%(n)d members have attended fewer than the %(required)d compulsory training sessions.",
            n=5,
            required=5,
        )
        in error.value.fields["status"]
    )
    for k in range(5):
        services.record_training(
            group, days_ago(199 - k), "Regole", [m.id for m in members], officer
        )
    services.group_transition(group, "recognise", days_ago(190), officer)
    assert group.status == ACTIVE_GROUP and group.recognised_on == days_ago(190)
    services.group_transition(group, "suspend", days_ago(100), officer)
    assert group.status == SUSPENDED
    services.group_transition(group, "reactivate", days_ago(90), officer)
    services.group_transition(group, "close", days_ago(10), officer)
    assert group.status == CLOSED_GROUP
    actions = (
        db.session.execute(
            select(AuditLog.action).where(
                AuditLog.object_type == "mc_group", AuditLog.object_id == str(group.id)
            )
        )
        .scalars()
        .all()
    )
    assert "microcredit.group.recognise" in actions and "microcredit.group.close" in actions


def test_group_size_rule(db_session):
    officer = make_officer()
    group, _members = make_group(officer, make_centre(officer), size=4, state="forming")
    with pytest.raises(McError):
        services.group_transition(group, "start_training", days_ago(1), officer)
    make_member(officer, group)
    with pytest.raises(McError) as error:
        make_member(officer, group)  # a sixth one
    assert "full_name" in error.value.fields


def test_size_rule_is_configurable(app, db_session):
    app.extensions["microcredit_policy"] = Policy.from_config(
        {"group_min_size": 3, "group_max_size": 7}
    )
    try:
        officer = make_officer()
        group, _members = make_group(officer, make_centre(officer), size=3, state="active")
        assert group.status == ACTIVE_GROUP
    finally:
        app.extensions["microcredit_policy"] = Policy()


def test_recognition_needs_leader_secretary_and_a_centre(db_session):
    officer = make_officer()
    group, members = make_group(officer, None, state="training")
    problems = services.recognition_problems(group)
    assert _("Assign the group to a centre, where it will meet.") in problems
    services.save_member(
        org_of(officer),
        services.MemberData(full_name=members[0].full_name, consent_on=None, group_role="member"),
        officer,
        member=members[0],
    )
    assert _("Choose the group's leader.") in services.recognition_problems(group)


def test_only_one_leader(db_session):
    officer = make_officer()
    group, members = make_group(officer, make_centre(officer), state="forming")
    services.save_member(
        org_of(officer),
        services.MemberData(full_name="Nuova Capogruppo", consent_on=None, group_role="leader"),
        officer,
        member=members[3],
    )
    db.session.refresh(members[0])
    assert members[0].group_role == "member" and members[3].group_role == "leader"


def test_centre_holds_at_most_eight_groups(db_session):
    officer = make_officer()
    centre = make_centre(officer)
    for n in range(8):
        services.save_group(org_of(officer), f"G{n}", centre, officer)
    with pytest.raises(McError) as error:
        services.save_group(org_of(officer), "Nono", centre, officer)
    assert "centre" in error.value.fields


def test_meeting_calendar(db_session):
    officer = make_officer()
    centre = make_centre(officer, first_meeting_on=days_ago(21))
    dates = services.meeting_dates(centre, days_ago(30), today())
    assert dates == [days_ago(21), days_ago(14), days_ago(7), today()]
    assert services.next_meetings(centre, today() + timedelta(days=1), 2) == [
        today() + timedelta(days=7),
        today() + timedelta(days=14),
    ]
    monthly = make_centre(officer, first_meeting_on=days_ago(65), frequency="monthly")
    assert len(services.meeting_dates(monthly, days_ago(65), today())) == 3


# --- Savings ---------------------------------------------------------------------------------


def test_savings_deposits_withdrawals_and_reversal(db_session):
    officer = make_officer()
    group, members = make_group(officer, make_centre(officer))
    services.post_savings(group, members[0], DEPOSIT, D("20.00"), days_ago(3), officer)
    services.post_savings(group, None, DEPOSIT, D("50.00"), days_ago(3), officer)
    with pytest.raises(McError):
        services.post_savings(group, members[0], WITHDRAWAL, D("20.01"), days_ago(1), officer)
    out = services.post_savings(group, members[0], WITHDRAWAL, D("5.00"), days_ago(1), officer)
    assert services.savings_balance(group.id, members[0].id) == D("15.00")
    assert services.savings_balance(group.id) == D("50.00")
    services.reverse_savings(out, officer, "errore")
    assert services.savings_balance(group.id, members[0].id) == D("20.00")
    with pytest.raises(McError):
        services.reverse_savings(out, officer, "di nuovo")
    with pytest.raises(McError):
        services.post_savings(group, members[0], DEPOSIT, D("1.001"), days_ago(1), officer)


def test_group_with_savings_cannot_close(db_session):
    officer = make_officer()
    group, members = make_group(officer, make_centre(officer))
    services.post_savings(group, members[1], DEPOSIT, D("2.00"), days_ago(1), officer)
    with pytest.raises(McError):
        services.group_transition(group, "close", days_ago(0), officer)


# --- Products ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"kind": "social", "max_principal": D("10000.01")}, "max_principal"),
        (
            {"kind": "business", "max_principal": D("40000.01"), "min_principal": D("5000")},
            "max_principal",
        ),
        ({"kind": "social", "frequency": "monthly", "max_repayments": 61}, "max_repayments"),
        (
            {
                "kind": "business",
                "frequency": "monthly",
                "max_repayments": 85,
                "min_principal": D("1000"),
            },
            "max_repayments",
        ),
        ({"min_principal": D("500"), "max_principal": D("100")}, "max_principal"),
        ({"allocation_order": "interest,principal"}, "allocation_order"),
        ({"interest_rate": D("150")}, "interest_rate"),
        ({"frequency": "daily"}, "frequency"),
    ],
)
def test_product_limits(db_session, overrides, field):
    officer = make_officer()
    with pytest.raises(McError) as error:
        make_product(officer, **overrides)
    assert field in error.value.fields


def test_business_limit_of_l234_2021_is_a_pending_option(app, db_session):
    officer = make_officer()
    with pytest.raises(McError):
        make_product(officer, kind="business", min_principal=D("5000"), max_principal=D("75000"))
    app.extensions["microcredit_policy"] = Policy.from_config({"apply_l234_2021": True})
    try:
        product = make_product(
            officer, kind="business", min_principal=D("5000"), max_principal=D("75000")
        )
        assert product.max_principal == D("75000")
    finally:
        app.extensions["microcredit_policy"] = Policy()


def test_policy_rejects_unknown_settings():
    with pytest.raises(ValueError):
        Policy.from_config({"max_social": 5})


# --- Loans ------------------------------------------------------------------------------------


def test_lifecycle_submitted_approved_active_closed(db_session):
    officer = make_officer()
    product = make_product(officer)
    member = make_member(officer)
    loan = make_loan(
        officer,
        member,
        product,
        principal="600.00",
        repayments=3,
        disbursed=days_ago(100),
        state="submitted",
    )
    assert loan.status == SUBMITTED and loan.disbursed_on is None
    with pytest.raises(McError) as error:
        services.approve(loan, days_ago(90), officer)
    assert "services" in error.value.fields  # DM 176/2014: support services first
    add_services(loan, officer)
    services.approve(loan, days_ago(90), officer, D("500.00"))
    assert loan.status == APPROVED and loan.principal == D("500.00")
    with pytest.raises(McError):
        services.disburse(loan, days_ago(95), officer)  # before the approval
    with pytest.raises(McError):
        services.disburse(loan, today() + timedelta(days=1), officer)  # in the future
    services.disburse(loan, days_ago(89), officer)
    assert loan.status == ACTIVE and len(loan.installments) == 3
    services.repay(loan, services.loan_position(loan).outstanding, days_ago(1), officer)
    assert loan.status == CLOSED_OBLIGATIONS_MET and loan.closed_on == days_ago(1)
    with pytest.raises(McError) as error:
        services.repay(loan, D("1.00"), days_ago(0), officer)
    assert error.value.fields["amount"] == _("The loan is closed: it takes no repayments.")
    actions = set(
        db.session.execute(
            select(AuditLog.action).where(
                AuditLog.object_type == "mc_loan", AuditLog.object_id == str(loan.id)
            )
        ).scalars()
    )
    assert {
        "microcredit.loan.submit",
        "microcredit.loan.approve",
        "microcredit.loan.disburse",
    } <= actions


def test_reject_withdraw_undo(db_session):
    officer = make_officer()
    product = make_product(officer)
    first = make_loan(officer, make_member(officer), product, state="submitted")
    with pytest.raises(McError):
        services.reject(first, days_ago(0), officer, "")  # a reason is required
    services.reject(first, days_ago(0), officer, "Sovraindebitamento")
    assert first.status == REJECTED
    second = make_loan(officer, make_member(officer), product, state="submitted")
    services.withdraw(second, days_ago(0), officer, "Non serve più")
    assert second.status == WITHDRAWN
    third = make_loan(officer, make_member(officer), product, state="approved")
    services.undo_approval(third, officer)
    assert third.status == SUBMITTED
    with pytest.raises(McError):
        services.disburse(third, days_ago(0), officer)


def test_social_limit_is_cumulative_per_borrower(db_session):
    officer = make_officer()
    product = make_product(officer, max_principal=D("10000"))
    member = make_member(officer)
    loan = make_loan(
        officer, member, product, principal="8000.00", repayments=2, disbursed=days_ago(90)
    )
    services.repay(loan, services.loan_position(loan).outstanding, days_ago(1), officer)
    assert loan.status == CLOSED_OBLIGATIONS_MET
    with pytest.raises(McError) as error:
        make_loan(officer, member, product, principal="2000.01", state="submitted")
    assert euro(D("10000")) in error.value.fields["principal"]
    make_loan(officer, member, product, principal="2000.00", state="submitted")


def test_business_limit_counts_open_loans(db_session):
    officer = make_officer()
    product = make_product(
        officer,
        kind="business",
        min_principal=D("1000"),
        max_principal=D("40000"),
        max_repayments=84,
    )
    member = make_member(officer)
    with pytest.raises(McError) as error:
        make_loan(officer, member, product, principal="40000.01", state="submitted")
    assert "principal" in error.value.fields
    make_loan(officer, member, product, principal="40000.00", repayments=60, state="submitted")
    with pytest.raises(McError) as error:  # the open exposure, and one open loan a kind
        make_loan(officer, member, product, principal="1000.00", repayments=60, state="submitted")
    assert {"principal", "member"} <= set(error.value.fields)


def test_term_limits(db_session):
    officer = make_officer()
    product = make_product(officer, max_repayments=260, frequency="weekly")
    with pytest.raises(McError) as error:  # 261 weeks > 60 months
        make_loan(officer, make_member(officer), product, repayments=261, state="submitted")
    assert "repayments" in error.value.fields
    make_loan(officer, make_member(officer), product, repayments=260, state="submitted")


def test_consent_is_needed_for_a_new_loan(db_session):
    officer = make_officer()
    product = make_product(officer)
    member = make_member(officer)
    services.withdraw_consent(member, days_ago(0), officer)
    with pytest.raises(McError) as error:
        make_loan(officer, member, product, state="submitted")
    assert error.value.fields["member"] == _(
        "The member's consent is missing, expired or withdrawn."
    )


@pytest.mark.parametrize("principal", [D("100.001"), D("0"), D("-50"), None])
def test_bad_amounts(db_session, principal):
    officer = make_officer()
    with pytest.raises(McError) as error:
        services.submit_loan(
            make_member(officer), make_product(officer), principal, 12, today(), "", None, officer
        )
    assert "principal" in error.value.fields


def test_bad_repayment_amounts(db_session):
    officer = make_officer()
    loan = individual_loan(officer, disbursed=days_ago(30))
    for amount in (D("0"), D("-1"), D("10.005"), None):
        with pytest.raises(McError):
            services.repay(loan, amount, days_ago(0), officer)
    assert [k for k, _s in kinds(loan)] == ["disbursement"]


def test_write_off_and_its_reversal(db_session):
    officer = make_officer()
    loan = individual_loan(officer, disbursed=days_ago(200), repayments=6)
    services.repay(loan, D("100.00"), days_ago(150), officer)
    outstanding = services.loan_position(loan).principal
    with pytest.raises(McError):
        services.write_off(loan, days_ago(1), officer, "")
    entry = services.write_off(loan, days_ago(1), officer, "Irreperibile")
    assert loan.status == CLOSED_WRITTEN_OFF and entry.principal == outstanding
    assert services.loan_position(loan).outstanding == 0
    with pytest.raises(McError):
        services.repay(loan, D("5.00"), days_ago(0), officer)
    repayment = next(e for e, _r in services.transactions(loan) if e.kind == "repayment")
    with pytest.raises(McError):  # reverse the write-off first
        services.reverse(repayment, officer, "errore")
    services.reverse(entry, officer, "Ritrovato: riprende a pagare")
    assert loan.status == ACTIVE and services.loan_position(loan).principal == outstanding
    assert reconcile_loans([loan]) == []


def test_reschedule_moves_what_is_owed_to_a_new_loan(db_session):
    officer = make_officer()
    loan = individual_loan(officer, principal="1200.00", repayments=12, disbursed=days_ago(120))
    before = services.loan_position(loan, days_ago(1), all_entries=True)
    successor = services.reschedule(loan, days_ago(1), 24, officer, "Perdita del lavoro")
    assert loan.status == CLOSED_RESCHEDULED
    assert successor.status == ACTIVE and successor.rescheduled_from_id == loan.id
    assert successor.principal == before.principal + before.due_interest
    assert services.loan_position(loan).outstanding == 0
    assert (WAIVER, 1) in kinds(loan)
    assert reconcile_loans([loan, successor]) == []
    transfer = next(e for e, _r in services.transactions(loan) if e.kind == "transfer")
    with pytest.raises(McError):
        services.reverse(transfer, officer, "no")


def test_early_payoff_waives_later_interest(db_session):
    officer = make_officer()
    loan = individual_loan(officer, principal="1200.00", repayments=12, disbursed=days_ago(45))
    position = services.loan_position(loan, days_ago(0), all_entries=True)
    services.prepay(loan, days_ago(0), officer)
    assert loan.status == CLOSED_OBLIGATIONS_MET
    entries = [e for e, _r in services.transactions(loan)]
    waived = next(e for e in entries if e.kind == WAIVER).interest
    paid = next(e for e in entries if e.kind == "repayment")
    assert paid.principal == position.principal and waived > 0
    assert paid.interest + waived == position.interest


def test_fee_and_penalties(db_session):
    officer = make_officer()
    product = make_product(
        officer,
        disbursement_fee=D("25.00"),
        late_penalty=D("3.00"),
        penalty_after_days=5,
        frequency="weekly",
    )
    loan = individual_loan(officer, product=product, repayments=10, disbursed=days_ago(30))
    assert (FEE, 1) in kinds(loan)
    assert services.apply_penalties(loan.organisation_id, today(), officer) == 3
    assert services.apply_penalties(loan.organisation_id, today(), officer) == 0  # once each
    pos = services.loan_position(loan)
    assert pos.penalty == D("9.00") and pos.fee == D("25.00")
    entry = services.repay(loan, D("30.00"), today(), officer)
    assert (entry.penalty, entry.fee, entry.interest) == (D("9.00"), D("21.00"), D("0.00"))
    penalty = next(e for e, _r in services.transactions(loan) if e.kind == PENALTY)
    with pytest.raises(McError):  # already paid: reverse the repayment first
        services.reverse(penalty, officer, "condono")
    services.reverse(entry, officer, "errore di cassa")
    services.reverse(penalty, officer, "condono")
    assert services.loan_position(loan).penalty == D("6.00")
    assert reconcile_loans([loan]) == []


def test_undo_disbursement(db_session):
    officer = make_officer()
    loan = individual_loan(officer, disbursed=days_ago(5))
    disbursement = next(e for e, _r in services.transactions(loan) if e.kind == "disbursement")
    services.repay(loan, D("10.00"), days_ago(1), officer)
    with pytest.raises(McError):
        services.reverse(disbursement, officer, "data sbagliata")
    repayment = next(e for e, _r in services.transactions(loan) if e.kind == "repayment")
    services.reverse(repayment, officer, "errore")
    services.reverse(disbursement, officer, "data sbagliata")
    assert loan.status == APPROVED and loan.disbursed_on is None and not loan.installments
    services.disburse(loan, days_ago(2), officer)
    assert loan.status == ACTIVE and loan.installments[0].due_date > days_ago(2)
    assert reconcile_loans([loan]) == []


# --- Groups and loans: training, 2-2-1 --------------------------------------------------------


def group_product(officer):
    return make_product(
        officer,
        group_lending=True,
        enforce_221=True,
        frequency="weekly",
        max_principal=D("3000"),
        default_repayments=25,
    )


def test_group_loans_need_a_recognised_group_and_training(db_session):
    officer = make_officer()
    product = group_product(officer)
    group, members = make_group(officer, make_centre(officer), state="training")
    with pytest.raises(McError) as error:
        make_loan(officer, members[2], product, state="submitted")
    assert error.value.fields["member"] == _("The member's group is not recognised (active).")
    with pytest.raises(McError):  # an individual borrower cannot use a group product
        make_loan(officer, make_member(officer), product, state="submitted")


def test_staggered_first_disbursement_two_two_one(db_session):
    officer = make_officer()
    product = group_product(officer)
    group, members = make_group(officer, make_centre(officer, days_ago(120)))
    start = days_ago(90)
    loans = {
        i: make_loan(
            officer,
            m,
            product,
            principal="1000.00",
            repayments=25,
            disbursed=start,
            state="approved",
        )
        for i, m in enumerate(members)
    }
    services.disburse(loans[1], start, officer)
    services.disburse(loans[2], start, officer)
    assert loans[1].wave == 1 and loans[2].wave == 1
    with pytest.raises(McError) as error:  # the second wave waits 28 days
        services.disburse(loans[3], start + timedelta(days=7), officer)
    assert "28" in error.value.fields["on_date"]
    with pytest.raises(McError) as error:  # the leader is last
        services.disburse(loans[0], start + timedelta(days=28), officer)
    assert error.value.fields["on_date"] == _(
        "The group leader receives the first loan last (staggered %(pattern)s).", pattern="2-2-1"
    )
    # The first wave repays on time, then the second wave goes out.
    for k in range(1, 5):
        day = start + timedelta(days=7 * k)
        for i in (1, 2):
            services.repay(loans[i], services.loan_position(loans[i], day).due_now, day, officer)
    services.disburse(loans[3], start + timedelta(days=28), officer)
    services.disburse(loans[4], start + timedelta(days=28), officer)
    assert loans[4].wave == 2
    # The first wave now falls behind: the leader must wait.
    with pytest.raises(McError) as error:
        services.disburse(loans[0], start + timedelta(days=60), officer)
    assert error.value.fields["on_date"]
    for i in (1, 2, 3, 4):
        day = start + timedelta(days=60)
        services.repay(loans[i], services.loan_position(loans[i], day).due_now, day, officer)
    services.disburse(loans[0], start + timedelta(days=60), officer)
    assert loans[0].wave == 3


def test_221_can_be_switched_off(db_session):
    officer = make_officer()
    product = make_product(officer, group_lending=True, enforce_221=False, frequency="weekly")
    _group, members = make_group(officer, make_centre(officer))
    loan = make_loan(officer, members[0], product, disbursed=days_ago(3))
    assert loan.status == ACTIVE and loan.wave is None


def test_reconcile_catches_a_tampered_entry(db_session):
    officer = make_officer()
    loan = individual_loan(officer, disbursed=days_ago(10))
    db.session.execute(
        LoanTransaction.__table__.update()
        .where(LoanTransaction.__table__.c.loan_id == loan.id)
        .values(principal=D("1.00"))
    )
    db.session.expire_all()
    assert reconcile_loans([loan])


# --- Every transition: by an officer of the organisation, dated, audit-logged ----------------


def loan_audit(loan):
    """The loan's audit trail: (action, actor id, details) in order."""
    return [
        (row.action, row.actor_id, row.details)
        for row in db.session.execute(
            select(AuditLog)
            .where(AuditLog.object_type == "mc_loan", AuditLog.object_id == str(loan.id))
            .order_by(AuditLog.id)
        ).scalars()
    ]


def last_audit(loan):
    return loan_audit(loan)[-1]


def test_every_loan_transition_is_dated_and_audited_with_its_officer(db_session):
    officer = make_officer()
    product = make_product(officer)
    member = make_member(officer)
    day = days_ago(40).isoformat()

    # submitted → approved → submitted (undo) → approved → active → approved (undo) → active
    loan = make_loan(
        officer,
        member,
        product,
        principal="600.00",
        repayments=3,
        disbursed=days_ago(40),
        state="submitted",
    )
    assert last_audit(loan)[:2] == ("microcredit.loan.submit", officer.id)
    add_services(loan, officer)
    services.approve(loan, days_ago(40), officer)
    assert last_audit(loan) == (
        "microcredit.loan.approve",
        officer.id,
        {"on_date": day, "principal": "600.00"},
    )
    services.undo_approval(loan, officer, "Importo da rivedere")
    action, actor, details = last_audit(loan)
    assert (action, actor, details["on_date"]) == (
        "microcredit.loan.undo_approval",
        officer.id,
        today().isoformat(),
    )
    services.approve(loan, days_ago(40), officer)
    services.disburse(loan, days_ago(40), officer)
    action, actor, details = last_audit(loan)
    assert (action, actor, details["on_date"]) == ("microcredit.loan.disburse", officer.id, day)
    disbursement = next(e for e, _r in services.transactions(loan) if e.kind == "disbursement")
    services.reverse(disbursement, officer, "Bonifico non partito")
    action, actor, details = last_audit(loan)
    assert (action, actor, details["on_date"]) == (
        "microcredit.loan.undo_disbursement",
        officer.id,
        day,
    )
    services.disburse(loan, days_ago(40), officer)

    # active → overpaid → closed (obligations met): the implicit changes are audited too
    outstanding = services.loan_position(loan, all_entries=True).outstanding
    services.repay(loan, outstanding + D("5.00"), days_ago(2), officer)
    assert loan.status == OVERPAID
    assert last_audit(loan) == (
        "microcredit.loan.state",
        officer.id,
        {"on_date": days_ago(2).isoformat(), "from": ACTIVE, "to": OVERPAID},
    )
    services.refund(loan, days_ago(1), officer)
    assert ("microcredit.loan.state", officer.id) in [a[:2] for a in loan_audit(loan)[-2:]]
    states = [d for a, _u, d in loan_audit(loan) if a == "microcredit.loan.state"]
    assert states[-1] == {
        "on_date": days_ago(1).isoformat(),
        "from": OVERPAID,
        "to": CLOSED_OBLIGATIONS_MET,
    }
    assert loan.status == CLOSED_OBLIGATIONS_MET

    # active → closed (obligations met) by a plain repayment, and back by its reversal
    paid = make_loan(officer, make_member(officer), product, principal="300.00", repayments=2)
    entry = services.repay(paid, services.loan_position(paid).outstanding, today(), officer)
    assert last_audit(paid)[2] == {
        "on_date": today().isoformat(),
        "from": ACTIVE,
        "to": CLOSED_OBLIGATIONS_MET,
    }
    services.reverse(entry, officer, "Assegno scoperto")
    assert paid.status == ACTIVE
    assert last_audit(paid)[2]["from"] == CLOSED_OBLIGATIONS_MET

    # active → closed (written off) → active (write-off reversed)
    lost = make_loan(officer, make_member(officer), product, disbursed=days_ago(100))
    write_off = services.write_off(lost, days_ago(1), officer, "Irreperibile")
    action, actor, details = last_audit(lost)
    assert (action, actor, details["on_date"]) == (
        "microcredit.loan.write_off",
        officer.id,
        days_ago(1).isoformat(),
    )
    services.reverse(write_off, officer, "Ritrovato")
    assert last_audit(lost)[2] == {
        "on_date": today().isoformat(),
        "from": CLOSED_WRITTEN_OFF,
        "to": ACTIVE,
    }

    # active → closed (rescheduled); the new loan's disbursement is on its own trail
    successor = services.reschedule(lost, days_ago(0), 12, officer, "Perdita del lavoro")
    action, actor, details = last_audit(lost)
    assert (action, actor, details["on_date"]) == (
        "microcredit.loan.reschedule",
        officer.id,
        today().isoformat(),
    )
    action, actor, details = last_audit(successor)
    assert (action, actor, details["rescheduled_from"]) == (
        "microcredit.loan.disburse",
        officer.id,
        lost.id,
    )

    # submitted → rejected, submitted → withdrawn
    rejected = make_loan(officer, make_member(officer), product, state="submitted")
    services.reject(rejected, days_ago(0), officer, "Sovraindebitamento")
    assert last_audit(rejected)[:2] == ("microcredit.loan.reject", officer.id)
    withdrawn = make_loan(officer, make_member(officer), product, state="submitted")
    services.withdraw(withdrawn, days_ago(0), officer, "Non serve più")
    assert last_audit(withdrawn)[:2] == ("microcredit.loan.withdraw", officer.id)
    for row in (rejected, withdrawn):
        assert last_audit(row)[2]["on_date"] == today().isoformat()


def test_only_an_officer_of_the_organisation_moves_a_loan(db_session):
    officer = make_officer()
    product = make_product(officer)
    outsider = make_officer()  # a microcredit officer of another organisation
    submitted = make_loan(officer, make_member(officer), product, state="submitted")
    approved = make_loan(officer, make_member(officer), product, state="approved")
    active = make_loan(officer, make_member(officer), product, disbursed=days_ago(60))
    entry = services.repay(active, D("10.00"), days_ago(1), officer)
    trail = {loan.id: loan_audit(loan) for loan in (submitted, approved, active)}
    attempts = [
        lambda: services.submit_loan(
            make_member(officer), product, D("500.00"), 12, today(), "", None, outsider
        ),
        lambda: services.approve(submitted, today(), outsider),
        lambda: services.reject(submitted, today(), outsider, "no"),
        lambda: services.withdraw(submitted, today(), outsider, "no"),
        lambda: services.undo_approval(approved, outsider),
        lambda: services.disburse(approved, today(), outsider),
        lambda: services.repay(active, D("10.00"), today(), outsider),
        lambda: services.prepay(active, today(), outsider),
        lambda: services.reverse(entry, outsider, "no"),
        lambda: services.write_off(active, today(), outsider, "no"),
        lambda: services.reschedule(active, today(), 12, outsider, "no"),
    ]
    for attempt in attempts:
        with pytest.raises(McError) as error:
            attempt()
        assert error.value.fields == {
            "actor": _("Only a microcredit officer of the loan's organisation can do this.")
        }
    assert (submitted.status, approved.status, active.status) == (SUBMITTED, APPROVED, ACTIVE)
    assert {loan.id: loan_audit(loan) for loan in (submitted, approved, active)} == trail
    assert kinds(active) == [("disbursement", 1), ("repayment", 1)]


def test_a_member_who_joins_a_recognised_group_trains_before_the_first_loan(db_session):
    officer = make_officer()
    product = make_product(officer, group_lending=True, enforce_221=False)
    group, members = make_group(officer, make_centre(officer))
    services.leave_group(members[4], days_ago(20), officer)
    newcomer = make_member(officer, group, joined=days_ago(20))
    with pytest.raises(McError) as error:
        make_loan(officer, newcomer, product, state="submitted")
    assert error.value.fields["member"] == _(
        "The member has not attended the compulsory group training."
    )
    required = policy().training_sessions_required
    for k in range(required - 1):
        services.record_training(group, days_ago(19 - k), "Sessione", [newcomer.id], officer)
    with pytest.raises(McError):  # one session short
        make_loan(officer, newcomer, product, state="submitted")
    services.record_training(group, days_ago(5), "Sessione", [newcomer.id], officer)
    loan = make_loan(officer, newcomer, product, state="submitted")
    assert loan.status == SUBMITTED and loan.group_id == group.id


def test_a_member_is_linked_to_a_candidate_record_only_with_consent_to_sharing(db_session):
    from tests.brokerage.factories import make_candidate

    officer = make_officer()
    without = make_candidate(consent=("matching", "pathway"))
    with pytest.raises(McError) as error:
        make_member(officer, candidate_pseudonym=without.pseudonym)
    assert "candidate" in error.value.fields
    with pytest.raises(McError) as error:
        make_member(officer, candidate_pseudonym="NON-ESISTE")
    assert error.value.fields["candidate"] == _("No candidate record has this code.")
    sharing = make_candidate(consent=("data_sharing",))
    member = make_member(officer, candidate_pseudonym=sharing.pseudonym)
    assert member.candidate_id == sharing.id
