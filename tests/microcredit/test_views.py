"""Pages: who may see what (every boundary), forms with errors next to their fields,
the collection sheet through HTTP, exports."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import func, select

from microcredit import services
from microcredit.models import DEPOSIT, Loan, LoanTransaction, Meeting
from portal import db
from portal.models import AuditLog
from tests.conftest import login
from tests.factories import make_user
from tests.microcredit.factories import (
    days_ago,
    make_centre,
    make_group,
    make_loan,
    make_member,
    make_officer,
    make_product,
    today,
)

D = Decimal


@pytest.fixture
def world(db_session):
    """An officer's organisation with a centre, a group, loans, savings and ledger entries."""
    officer = make_officer()
    centre = make_centre(officer, first_meeting_on=days_ago(70))
    product = make_product(officer, group_lending=True, enforce_221=False, frequency="weekly")
    group, members = make_group(officer, centre)
    members[0].full_name = "Ginevra Riservatissima"
    loan = make_loan(
        officer, members[0], product, principal="520.00", repayments=26, disbursed=days_ago(14)
    )
    other = make_loan(
        officer, members[1], product, principal="520.00", repayments=26, state="submitted"
    )
    entry = services.repay(loan, D("10.00"), days_ago(1), officer)
    saving = services.post_savings(group, members[0], DEPOSIT, D("5.00"), days_ago(1), officer)
    service = (
        other.services[0]
        if other.services
        else services.add_service(other, "household_budget", "", None, None, "", officer)
    )
    db.session.flush()
    return {
        "officer": officer,
        "centre": centre,
        "product": product,
        "group": group,
        "members": members,
        "loan": loan,
        "submitted": other,
        "entry": entry,
        "saving": saving,
        "service": service,
    }


def object_urls(w) -> list[tuple[str, str]]:
    c, g, m, loan = w["centre"], w["group"], w["members"][0], w["loan"]
    return [
        ("GET", f"/microcredit/centres/{c.id}"),
        ("GET", f"/microcredit/centres/{c.id}/edit"),
        ("GET", f"/microcredit/centres/{c.id}/meetings/{today().isoformat()}"),
        ("POST", f"/microcredit/centres/{c.id}/meetings/{today().isoformat()}"),
        ("GET", f"/microcredit/groups/{g.id}"),
        ("GET", f"/microcredit/groups/{g.id}/edit"),
        ("POST", f"/microcredit/groups/{g.id}/suspend"),
        ("GET", f"/microcredit/groups/{g.id}/members/new"),
        ("GET", f"/microcredit/groups/{g.id}/training/new"),
        ("GET", f"/microcredit/groups/{g.id}/savings"),
        ("POST", f"/microcredit/savings/{w['saving'].id}/reverse"),
        ("GET", f"/microcredit/members/{m.id}"),
        ("GET", f"/microcredit/members/{m.id}/edit"),
        ("POST", f"/microcredit/members/{m.id}/withdraw_consent"),
        ("GET", f"/microcredit/members/{m.id}/loans/new"),
        ("GET", f"/microcredit/products/{w['product'].id}/edit"),
        ("GET", f"/microcredit/loans/{loan.id}"),
        ("GET", f"/microcredit/loans/{loan.id}/do/write_off"),
        ("POST", f"/microcredit/loans/{loan.id}/do/write_off"),
        ("GET", f"/microcredit/loans/{loan.id}/repay"),
        ("POST", f"/microcredit/loans/{loan.id}/repay"),
        ("GET", f"/microcredit/loans/{loan.id}/entries/{w['entry'].id}/reverse"),
        ("GET", f"/microcredit/loans/{loan.id}/services/new"),
        ("POST", f"/microcredit/loans/{w['submitted'].id}/services/{w['service'].id}/delivered"),
    ]


AREA_URLS = [
    "/microcredit/",
    "/microcredit/centres",
    "/microcredit/centres/new",
    "/microcredit/groups",
    "/microcredit/groups/new",
    "/microcredit/members",
    "/microcredit/members/new",
    "/microcredit/products",
    "/microcredit/products/new",
    "/microcredit/loans",
    "/microcredit/arrears",
    "/microcredit/portfolio",
    "/microcredit/portfolio.csv",
    "/microcredit/portfolio.xlsx",
]


def test_the_officer_reaches_every_page(client, world):
    login(client, world["officer"])
    for method, url in object_urls(world):
        if method == "GET":
            response = client.get(url)
            assert response.status_code == 200, url
    for url in AREA_URLS:
        assert client.get(url).status_code == 200, url


def test_an_officer_of_another_organisation_gets_404(client, world):
    login(client, make_officer())
    for method, url in object_urls(world):
        response = client.open(
            url, method=method, data={"on_date": today().isoformat(), "reason": "x", "amount": "1"}
        )
        assert response.status_code == 404, f"{method} {url}: {response.status_code}"
    # and nothing of the first organisation shows in its own area
    for url in AREA_URLS[:-2]:
        assert "Riservatissima" not in client.get(url).get_data(as_text=True)
    assert (
        db.session.execute(
            select(func.count())
            .select_from(LoanTransaction)
            .where(LoanTransaction.loan_id == world["loan"].id)
        ).scalar_one()
        == 2
    )


@pytest.mark.parametrize(
    "role", ["employer", "broker", "admin", "public_officer", "buyer", "cooperative", "social_farm"]
)
def test_other_roles_are_refused(client, world, role):
    login(client, make_user(role))
    for method, url in object_urls(world)[:6] + [("GET", u) for u in AREA_URLS]:
        response = client.open(url, method=method)
        assert response.status_code == 403, f"{role} {method} {url}"


def test_anonymous_is_sent_to_sign_in_but_the_calculator_is_public(client, world):
    response = client.get(f"/microcredit/members/{world['members'][0].id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    page = client.get("/microcredit/calculator?principal=1000&interest_rate=10&repayments=10")
    assert page.status_code == 200 and "Riservatissima" not in page.get_data(as_text=True)


def test_personal_data_is_shown_to_the_officer_and_its_reading_logged(client, world):
    login(client, world["officer"])
    member = world["members"][0]
    html = client.get(f"/microcredit/members/{member.id}").get_data(as_text=True)
    assert "Ginevra Riservatissima" in html
    assert (
        db.session.execute(
            select(func.count())
            .select_from(AuditLog)
            .where(
                AuditLog.action == "microcredit.member.view", AuditLog.subject_id == str(member.id)
            )
        ).scalar_one()
        == 1
    )


def test_form_errors_show_next_to_the_fields(client, world):
    login(client, world["officer"])
    member = world["members"][2]
    before = db.session.execute(select(func.count()).select_from(Loan)).scalar_one()
    response = client.post(
        f"/microcredit/members/{member.id}/loans/new",
        data={
            "product": world["product"].id,
            "principal": "100,001",
            "repayments": "12",
            "expected_disbursement_on": today().isoformat(),
            "officer": world["officer"].id,
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="principal-error"' in html and escape(_("Use at most two decimals.")) in html
    assert 'aria-invalid="true"' in html
    assert db.session.execute(select(func.count()).select_from(Loan)).scalar_one() == before
    response = client.post("/microcredit/centres/new", data={"name": ""})
    assert 'id="name-error"' in response.get_data(as_text=True)


def test_loan_application_through_the_form(client, world):
    login(client, world["officer"])
    member = world["members"][3]
    response = client.post(
        f"/microcredit/members/{member.id}/loans/new",
        data={
            "product": world["product"].id,
            "principal": "1.000,00",
            "repayments": "20",
            "expected_disbursement_on": today().isoformat(),
            "officer": world["officer"].id,
            "purpose": "Macchina da cucire",
        },
    )
    assert response.status_code == 302
    loan = db.session.execute(select(Loan).where(Loan.member_id == member.id)).scalar_one()
    assert loan.principal == D("1000.00") and loan.status == "submitted"


def test_a_repayment_form_submitted_twice_books_once(client, world):
    login(client, world["officer"])
    loan = world["loan"]
    data = {"amount": "5,00", "on_date": today().isoformat(), "nonce": "abc123"}
    assert client.post(f"/microcredit/loans/{loan.id}/repay", data=data).status_code == 302
    again = client.post(f"/microcredit/loans/{loan.id}/repay", data=data)
    assert again.status_code == 200
    assert escape(_("This repayment has already been recorded.")) in again.get_data(as_text=True)
    assert (
        db.session.execute(
            select(func.count())
            .select_from(LoanTransaction)
            .where(LoanTransaction.loan_id == loan.id, LoanTransaction.kind == "repayment")
        ).scalar_one()
        == 2
    )


def test_lifecycle_through_the_pages(client, world):
    login(client, world["officer"])
    loan = world["submitted"]
    url = f"/microcredit/loans/{loan.id}/do/approve"
    assert client.get(url).status_code == 200
    response = client.post(url, data={"on_date": today().isoformat(), "principal": "500"})
    assert response.status_code == 302 and loan.status == "approved"
    response = client.post(
        f"/microcredit/loans/{loan.id}/do/disburse", data={"on_date": today().isoformat()}
    )
    assert response.status_code == 302 and loan.status == "active"
    page = client.get(f"/microcredit/loans/{loan.id}").get_data(as_text=True)
    assert escape(_("Repayment schedule")) in page
    bad = client.post(
        f"/microcredit/loans/{loan.id}/do/write_off",
        data={"on_date": today().isoformat(), "reason": ""},
    )
    assert bad.status_code == 200 and loan.status == "active"


def sheet_url(world):
    return f"/microcredit/centres/{world['centre'].id}/meetings/{today().isoformat()}"


def test_collection_sheet_through_http(client, world):
    login(client, world["officer"])
    page = client.get(sheet_url(world)).get_data(as_text=True)
    loan = world["loan"]
    assert f'for="amount-{loan.id}"' in page and "data-ponte-print" in page
    assert 'name="version" value="0"' in page
    response = client.post(
        sheet_url(world),
        data={
            "version": "0",
            f"amount-{loan.id}": "12,00",
            f"savings-{world['members'][0].id}": "1,50",
            f"attendance-{world['members'][0].id}": "present",
        },
    )
    assert response.status_code == 302
    meeting = db.session.execute(select(Meeting)).scalars().one()
    assert meeting.version == 1
    stale = client.post(sheet_url(world), data={"version": "0", f"amount-{loan.id}": "12,00"})
    assert stale.status_code == 200
    assert escape(
        _(
            "%(who)s saved this collection sheet while you were filling it in: nothing from "
            "your copy was recorded. Check the amounts now shown and save again only what "
            "is still to be recorded.",
            who=world["officer"].display_name,
        )
    ) in stale.get_data(as_text=True)
    bad = client.post(sheet_url(world), data={"version": "1", f"amount-{loan.id}": "1,234"})
    html = bad.get_data(as_text=True)
    assert (
        f'id="amount-{loan.id}-error"' in html
        and escape(
            _("Some amounts are not valid: nothing has been recorded. Correct them and save again.")
        )
        in html
    )
    assert (
        db.session.execute(
            select(func.count())
            .select_from(LoanTransaction)
            .where(LoanTransaction.meeting_id == meeting.id)
        ).scalar_one()
        == 1
    )


def test_exports_download(client, world):
    login(client, world["officer"])
    csv = client.get("/microcredit/portfolio.csv?as_of=" + today().isoformat())
    assert csv.mimetype == "text/csv" and "attachment" in csv.headers["Content-Disposition"]
    xlsx = client.get("/microcredit/portfolio.xlsx")
    assert xlsx.data[:2] == b"PK"


def test_group_and_member_actions(client, world):
    login(client, world["officer"])
    group = world["group"]
    response = client.post(
        f"/microcredit/groups/{group.id}/suspend", data={"on_date": today().isoformat()}
    )
    assert response.status_code == 302 and group.status == "suspended"
    member = make_member(world["officer"])
    client.post(
        f"/microcredit/members/{member.id}/withdraw_consent", data={"on_date": today().isoformat()}
    )
    assert member.consent_withdrawn_on == today()
    new = client.post(
        f"/microcredit/groups/{group.id}/members/new",
        data={"full_name": "Senza Consenso", "group_role": "member"},
    )
    assert new.status_code == 200  # the group is full, and no consent was ticked
    assert 'aria-invalid="true"' in new.get_data(as_text=True)
