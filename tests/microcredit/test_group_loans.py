"""Group applications: one form for the whole group, all or nothing, with the staggered
first disbursement (Grameen 2-2-1) planned, shown and enforced; bulk approval and
disbursement through the single-loan rules."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import func, select

from microcredit import services
from microcredit.models import ACTIVE, APPROVED, SUBMITTED, Loan
from microcredit.services import GroupLoanRow, McError
from portal import db
from portal.accounts import issue_token
from portal.i18n import euro
from portal.models import AuditLog
from tests.conftest import login
from tests.factories import make_user
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


def loan_count() -> int:
    return db.session.execute(select(func.count()).select_from(Loan)).scalar_one()


@pytest.fixture
def crew(db_session):
    officer = make_officer()
    product = make_product(
        officer,
        group_lending=True,
        enforce_221=True,
        frequency="weekly",
        max_principal=D("3000"),
        default_repayments=25,
    )
    group, members = make_group(officer, make_centre(officer, days_ago(120)))
    return officer, product, group, members  # members[0] is the leader


def rows_for(members, tranches=(3, 1, 1, 2, 2), principal="1000.00"):
    return [
        GroupLoanRow(m.id, D(principal), 25, "Bancarella", t)
        for m, t in zip(members, tranches, strict=True)
    ]


def test_the_plan_suggests_two_two_then_the_leader(crew):
    _officer, product, group, members = crew
    plan = services.group_plan(group, product)
    assert [(line.member.id, line.tranche) for line in plan] == [
        (members[0].id, 3),
        (members[1].id, 1),
        (members[2].id, 1),
        (members[3].id, 2),
        (members[4].id, 2),
    ]
    assert all(line.cycle == 1 and not line.fixed for line in plan)


def test_no_tranches_when_the_product_is_not_staggered(crew):
    officer, _product, group, members = crew
    plain = make_product(officer, group_lending=True, enforce_221=False, frequency="weekly")
    assert {line.tranche for line in services.group_plan(group, plain)} == {None}


def test_the_whole_group_applies_at_once(crew):
    officer, product, group, members = crew
    start = today() + timedelta(days=7)
    loans = services.submit_group_loans(
        group, product, rows_for(members), start, None, ["household_budget"], officer, today()
    )
    assert len(loans) == 5 and {loan.status for loan in loans} == {SUBMITTED}
    by_member = {loan.member_id: loan for loan in loans}
    assert [by_member[m.id].tranche for m in members] == [3, 1, 1, 2, 2]
    # later tranches are expected later, at a centre meeting
    assert by_member[members[1].id].expected_disbursement_on == start
    assert by_member[members[3].id].expected_disbursement_on >= start + timedelta(days=28)
    assert all(len(loan.services) == 1 for loan in loans)
    actions = db.session.execute(
        select(AuditLog.action).where(AuditLog.action.like("microcredit.%loan%submit"))
    ).scalars()
    assert sorted(actions) == ["microcredit.group.loans_submit"] + ["microcredit.loan.submit"] * 5
    # the plan now shows the tranches as taken
    plan = services.group_plan(group, product)
    assert all(line.fixed for line in plan)


def test_one_bad_line_saves_nothing_and_every_problem_is_reported(crew):
    officer, product, group, members = crew
    other = make_product(officer, name="Sociale individuale", frequency="weekly")
    make_loan(officer, members[2], other, state="submitted")  # an open social loan
    before = loan_count()
    rows = rows_for(members)
    rows[1].principal = D("50.00")  # below the product's minimum
    rows[4].repayments = None
    with pytest.raises(McError) as error:
        services.submit_group_loans(group, product, rows, today(), None, [], officer, today())
    fields = error.value.fields
    assert fields[f"principal-{members[1].id}"] == _(
        "The product lends from %(low)s to %(high)s.", low=euro(D("100")), high=euro(D("3000"))
    )
    assert fields[f"member-{members[2].id}"] == _(
        "The member already has an open loan of this kind."
    )
    assert f"repayments-{members[4].id}" in fields
    assert f"principal-{members[0].id}" not in fields
    assert loan_count() == before


def test_limits_per_borrower_are_those_of_single_loans(crew):
    officer, product, group, members = crew
    earlier = make_product(officer, name="Sociale", max_principal=D("10000"), frequency="weekly")
    loan = make_loan(officer, members[3], earlier, principal="9500.00", disbursed=days_ago(30))
    services.write_off(loan, today(), officer, "irrecuperabile")
    rows = [GroupLoanRow(members[3].id, D("1000.00"), 25, "", None)]
    with pytest.raises(McError) as error:
        services.submit_group_loans(group, product, rows, today(), None, [], officer, today())
    assert error.value.fields[f"principal-{members[3].id}"] == _(
        "This would bring the member's %(kind)s to %(total)s: the limit is %(max)s.",
        kind=_("social microcredit"),
        total=euro(D("10500.00")),
        max=euro(D("10000.00")),
    )


@pytest.mark.parametrize(
    ("tranches", "who", "message"),
    [
        ((1, 2, 1, 2, 3), 0, "The group leader's first loan is in the last tranche"),
        ((3, 1, 1, 1, 2), 3, "Tranche %(n)d holds at most %(size)d first loans"),
        ((3, 1, 1, 2, 3), 4, "Tranche %(n)d holds at most %(size)d first loans"),
    ],
)
def test_tranches_follow_the_pattern(crew, tranches, who, message):
    officer, product, group, members = crew
    with pytest.raises(McError) as error:
        services.submit_group_loans(
            group, product, rows_for(members, tranches), today(), None, [], officer, today()
        )
    text = error.value.fields[f"tranche-{members[who].id}"]
    assert text.startswith(_(message + " (staggered %(pattern)s).").split("%")[0])


def test_the_last_tranche_is_kept_for_the_leader(crew):
    officer, product, group, members = crew
    rows = [GroupLoanRow(members[1].id, D("1000.00"), 25, "", 3)]
    with pytest.raises(McError) as error:
        services.submit_group_loans(group, product, rows, today(), None, [], officer, today())
    assert error.value.fields[f"tranche-{members[1].id}"] == _(
        "The last tranche is kept for the group leader (staggered %(pattern)s).", pattern="2-2-1"
    )


def test_bulk_approval_and_disbursement_respect_the_staggered_order(crew):
    officer, product, group, members = crew
    applied = days_ago(70)
    loans = services.submit_group_loans(
        group,
        product,
        rows_for(members),
        days_ago(65),
        None,
        ["household_budget", "financial_education"],
        officer,
        applied,
    )
    by_member = {loan.member_id: loan for loan in loans}
    ids = [loan.id for loan in loans]
    services.approve_group_loans(group, ids, days_ago(65), officer)
    assert {loan.status for loan in loans} == {APPROVED}

    # Everybody on the same day: the second tranche must wait, so nobody is disbursed.
    with pytest.raises(McError) as error:
        services.disburse_group_loans(group, ids, days_ago(60), officer)
    second = by_member[members[3].id]
    assert "28" in error.value.fields[f"loan-{second.id}"]
    assert f"loan-{by_member[members[1].id].id}" not in error.value.fields
    assert {loan.status for loan in loans} == {APPROVED}

    # A second-tranche loan cannot jump ahead of the first, on the single-loan page either.
    with pytest.raises(McError) as error:
        services.disburse(second, days_ago(60), officer)
    assert error.value.fields["on_date"] == _(
        "Tranche %(n)d of the group's first loans goes out first: %(names)s "
        "(staggered %(pattern)s).",
        n=1,
        names=f"{members[1].full_name}, {members[2].full_name}",
        pattern="2-2-1",
    )
    first = [by_member[members[1].id].id, by_member[members[2].id].id]
    services.disburse_group_loans(group, first, days_ago(60), officer)
    with pytest.raises(McError) as error:  # and the leader is last
        services.disburse(by_member[members[0].id], days_ago(30), officer)
    assert error.value.fields["on_date"]

    # The first tranche repays on time; the second goes out 28 days on, then the leader.
    for loan_id in first:
        loan = db.session.get(Loan, loan_id)
        for k in range(1, 5):
            day = days_ago(60) + timedelta(days=7 * k)
            services.repay(loan, services.loan_position(loan, day).due_now, day, officer)
    services.disburse_group_loans(
        group, [by_member[m.id].id for m in members[3:]], days_ago(32), officer
    )
    assert [by_member[m.id].wave for m in members[1:]] == [1, 1, 2, 2]
    assert all(by_member[m.id].status == ACTIVE for m in members[1:])


def test_bulk_approval_checks_each_loan_like_the_single_page(crew):
    officer, product, group, members = crew
    loans = services.submit_group_loans(
        group, product, rows_for(members), today(), None, [], officer, today()
    )
    with pytest.raises(McError) as error:  # no support service recorded (DM 176/2014)
        services.approve_group_loans(group, [loan.id for loan in loans], today(), officer)
    assert set(error.value.fields) == {f"loan-{loan.id}" for loan in loans}
    assert {loan.status for loan in loans} == {SUBMITTED}
    with pytest.raises(McError) as error:
        services.approve_group_loans(group, [], today(), officer)
    assert "loans" in error.value.fields


# --- Pages ---------------------------------------------------------------------------------------


def form_data(officer, product, members, **changes):
    data = {
        "product": str(product.id),
        "officer": str(officer.id),
        "expected_disbursement_on": today().isoformat(),
        "services": ["household_budget"],
    }
    for member, tranche in zip(members, (3, 1, 1, 2, 2), strict=True):
        data |= {
            f"include-{member.id}": "1",
            f"principal-{member.id}": "1.000,00",
            f"repayments-{member.id}": "25",
            f"purpose-{member.id}": "Attrezzi",
            f"tranche-{member.id}": str(tranche),
        }
    data.update(changes)
    return data


def test_the_group_form_shows_every_member_and_the_tranches(client, crew):
    officer, product, group, members = crew
    login(client, officer)
    html = client.get(f"/microcredit/groups/{group.id}/loans/new").get_data(as_text=True)
    for member in members:
        assert f'name="principal-{member.id}"' in html
        assert f'id="include-{member.id}" name="include-{member.id}" value="1" checked' in html
    assert escape(_("Staggered first disbursement (%(pattern)s)", pattern="2-2-1")) in html


def test_a_bad_line_on_the_form_is_marked_and_nothing_saved(client, crew):
    officer, product, group, members = crew
    login(client, officer)
    before = loan_count()
    data = form_data(officer, product, members, **{f"principal-{members[2].id}": "12,345"})
    response = client.post(f"/microcredit/groups/{group.id}/loans/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="principal-{members[2].id}-error"' in html
    assert escape(_("Use at most two decimals.")) in html
    assert 'value="12,345"' in html  # what was typed stays
    assert loan_count() == before


def test_odd_input_is_refused_not_a_crash(client, crew):
    officer, product, group, members = crew
    login(client, officer)
    data = form_data(
        officer,
        product,
        members,
        **{f"repayments-{members[1].id}": "²", f"tranche-{members[2].id}": "٣"},
    )
    data["officer"] = "x"
    response = client.post(f"/microcredit/groups/{group.id}/loans/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f'id="repayments-{members[1].id}-error"' in html
    assert loan_count() == 0
    response = client.post(
        f"/microcredit/groups/{group.id}/loans",
        data={"disburse-loans": ["x"], "disburse-on_date": "x", "disburse-submit": "1"},
    )
    assert response.status_code == 200


def test_the_group_applies_approves_and_disburses_through_the_pages(client, crew):
    officer, product, group, members = crew
    login(client, officer)
    response = client.post(
        f"/microcredit/groups/{group.id}/loans/new", data=form_data(officer, product, members)
    )
    assert response.status_code == 302
    loans = (
        db.session.execute(select(Loan).where(Loan.group_id == group.id).order_by(Loan.id))
        .scalars()
        .all()
    )
    assert len(loans) == 5 and all(loan.principal == D("1000.00") for loan in loans)
    page = client.get(f"/microcredit/groups/{group.id}/loans").get_data(as_text=True)
    assert escape(_("Approve the selected applications")) in page
    response = client.post(
        f"/microcredit/groups/{group.id}/loans",
        data={
            "approve-loans": [str(loan.id) for loan in loans],
            "approve-on_date": today().isoformat(),
            "approve-submit": "1",
        },
    )
    assert response.status_code == 302 and {loan.status for loan in loans} == {APPROVED}
    # All five on one day: refused next to the loans of the later tranches, nothing done.
    response = client.post(
        f"/microcredit/groups/{group.id}/loans",
        data={
            "disburse-loans": [str(loan.id) for loan in loans],
            "disburse-on_date": today().isoformat(),
            "disburse-submit": "1",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and {loan.status for loan in loans} == {APPROVED}
    leader_loan = next(loan for loan in loans if loan.member_id == members[0].id)
    assert f'id="disburse-loans-{leader_loan.id}-error"' in html


def group_urls(group):
    return [
        ("GET", f"/microcredit/groups/{group.id}/loans/new"),
        ("POST", f"/microcredit/groups/{group.id}/loans/new"),
        ("GET", f"/microcredit/groups/{group.id}/loans"),
        ("POST", f"/microcredit/groups/{group.id}/loans"),
    ]


def test_officers_of_other_organisations_get_404(client, crew):
    officer, product, group, members = crew
    login(client, make_officer())
    for method, url in group_urls(group):
        response = client.open(url, method=method, data=form_data(officer, product, members))
        assert response.status_code == 404, f"{method} {url}"
    assert loan_count() == 0


@pytest.mark.parametrize("role", ["employer", "broker", "admin", "public_officer", "buyer"])
def test_other_roles_are_refused(client, crew, role):
    officer, product, group, members = crew
    login(client, make_user(role))
    for method, url in group_urls(group):
        response = client.open(url, method=method, data=form_data(officer, product, members))
        assert response.status_code == 403, f"{role} {method} {url}"


# --- API -----------------------------------------------------------------------------------------


def api_body(product, members):
    return {
        "product_id": product.id,
        "expected_disbursement_on": today().isoformat(),
        "services": ["household_budget"],
        "loans": [
            {"member_id": m.id, "principal": "800.00", "repayments": 25, "purpose": "Forno"}
            for m in members
        ],
    }


def test_the_api_applies_for_the_group(client, crew):
    officer, product, group, members = crew
    headers = {"Authorization": f"Bearer {issue_token(officer)}"}
    url = f"/api/v1/microcredit/groups/{group.id}/loans"
    body = api_body(product, members)
    body["loans"][1]["principal"] = "800.001"
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 422
    assert "loans.1.principal" in response.json["error"]["fields"]  # the field's path
    assert loan_count() == 0
    response = client.post(url, json=api_body(product, members), headers=headers)
    assert response.status_code == 201
    loans = response.json["loans"]
    assert [item["tranche"] for item in loans] == [3, 1, 1, 2, 2]  # suggested: 2-2-1
    assert {item["principal"] for item in loans} == {"800.00"} and loan_count() == 5


def test_the_api_hides_other_organisations_groups(client, crew):
    officer, product, group, members = crew
    stranger = {"Authorization": f"Bearer {issue_token(make_officer())}"}
    url = f"/api/v1/microcredit/groups/{group.id}/loans"
    assert client.post(url, json=api_body(product, members), headers=stranger).status_code == 404
    broker = {"Authorization": f"Bearer {issue_token(make_user('broker'))}"}
    assert client.post(url, json=api_body(product, members), headers=broker).status_code == 403
    assert client.post(url, json=api_body(product, members)).status_code == 401
    assert loan_count() == 0


def test_the_plan_says_what_has_happened_and_what_will(client, crew):
    officer, product, group, members = crew
    login(client, officer)
    html = client.get(f"/microcredit/groups/{group.id}/loans/new").get_data(as_text=True)
    # Nobody has a loan yet: every tranche is ahead, "1 membro" in the singular.
    assert "fino a 2 membri, prevista dal" in html and "fino a 1 membro, prevista dal" in html
    assert "1 membri" not in html and "erogat" not in html.split('<form method="post"')[0]
    assert re.search(r"tasso di interesse \d+(,\d+)?%\.", html) and " %." not in html
    # The whole cell is the checkbox's label, its visible text part of the name.
    member = members[1]
    assert re.search(
        rf'<label for="include-{member.id}" class="d-flex[^"]*p-3"[^>]*>\s*<input type="checkbox"',
        html,
    )
    assert f'<span>Domanda<span class="visually-hidden"> {member.full_name}' in html
    # The first tranche goes out: it is history, the others are still ahead.
    loans = services.submit_group_loans(
        group,
        product,
        rows_for(members),
        days_ago(65),
        None,
        ["household_budget", "financial_education"],
        officer,
        days_ago(70),
    )
    services.approve_group_loans(group, [loan.id for loan in loans], days_ago(65), officer)
    first = [loan.id for loan in loans if loan.member_id in (members[1].id, members[2].id)]
    services.disburse_group_loans(group, first, days_ago(60), officer)
    html = client.get(f"/microcredit/groups/{group.id}/loans/new").get_data(as_text=True)
    plan = html.split('id="tranches-title"')[1].split("</section>")[0]
    assert "Tranche 1, 2 membri: primi prestiti erogati." in plan
    assert f"{members[1].full_name} (primo prestito erogato)" in plan
    assert f"{members[3].full_name} (domanda presentata, non ancora erogato)" in plan
    assert "Tranche 2, fino a 2 membri, prevista dal" in plan
    assert plan.count("prevista dal") == 2


def test_weekdays_are_written_the_italian_way(client, db_session):
    from datetime import date

    officer = make_officer()
    centre = make_centre(officer, date(2026, 11, 1))  # a Sunday
    login(client, officer)
    detail = client.get(f"/microcredit/centres/{centre.id}").get_data(as_text=True)
    listing = client.get("/microcredit/centres").get_data(as_text=True)
    for html in (detail, listing):
        assert "Settimanale, domenica" in html and "Domenica" not in html
