"""Pages and API of tenders: permissions (a supplier sees only its own reports and files
only for contracts it holds; an officer edits only their body's tenders), bad input in
forms, eligible suppliers, notifications, reviews, the transparency page."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import func, select

from brokerage.tenders import services
from brokerage.tenders.models import (
    ACCEPTED,
    DRAFT,
    FLAGGED,
    PUBLISHED,
    RESERVED,
    ComplianceReport,
    SupplierCapability,
    Tender,
    WorkforceDeclaration,
)
from portal import db
from portal.accounts import issue_token
from portal.notifications import Notification
from tests.brokerage.test_tenders_factories import (
    make_contract,
    make_officer,
    make_supplier,
    make_tender,
    today,
)
from tests.conftest import login


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


TENDER_FORM = {
    "title": "Pulizia delle scuole",
    "description": "",
    "cpv_codes": "90911200, 90919200",
    "main_category": "services",
    "value_amount": "95000.00",
    "value_currency": "EUR",
    "comune": "Pordenone (PN)",
    "clause_type": "reserved",
    "threshold": "30",
    "reserved_participation": "res-ws",
    "clause_measure": "",
    "clause_base": "",
}


def test_officer_creates_publishes_and_suppliers_are_told(client, db_session):
    officer, body = make_officer()
    eligible, eligible_user = make_supplier(codes=("90910000",), total="10", art4="3")
    below, below_user = make_supplier(codes=("90910000",), total="1000", art4="299")
    login(client, officer)
    response = client.post("/tenders/new", data=TENDER_FORM)
    assert response.status_code == 302
    tender = db.session.execute(select(Tender).where(Tender.buyer_org_id == body.id)).scalar_one()
    assert tender.status == DRAFT and tender.cpv_codes == ["90911200", "90919200"]
    assert client.post(f"/tenders/{tender.id}/publish").status_code == 302
    assert tender.status == PUBLISHED
    told = {n.user_id for n in db.session.execute(select(Notification)).scalars()}
    assert eligible_user.id in told and below_user.id not in told
    login(client, eligible_user)
    page = client.get("/tenders/supplier").get_data(as_text=True)
    assert "Pulizia delle scuole" in page
    login(client, below_user)
    assert "Pulizia delle scuole" not in client.get("/tenders/supplier").get_data(as_text=True)


def test_tender_form_rejects_bad_input_and_saves_nothing(client, db_session):
    officer, _body = make_officer()
    login(client, officer)
    for change in (
        {"cpv_codes": "99999999"},
        {"cpv_codes": "pulizie"},
        {"value_amount": "-10"},
        {"threshold": "150"},
        {"threshold": "-5"},
        {"threshold": "25"},
        {"title": ""},
        {"value_currency": "euro"},
        {"comune": "Atlantide"},
        {"clause_type": "social_clause"},
        {"value_amount": "abc"},
    ):
        response = client.post("/tenders/new", data={**TENDER_FORM, **change})
        assert response.status_code == 200, change
        assert 'aria-invalid="true"' in response.get_data(as_text=True), change
    assert count(Tender) == 0


def test_officer_edits_only_their_bodys_tenders(client, db_session):
    owner, body = make_officer()
    tender = make_tender(body, owner, status=DRAFT)
    stranger, _other = make_officer()
    login(client, stranger)
    assert client.get(f"/tenders/{tender.id}/edit").status_code == 403
    assert client.post(f"/tenders/{tender.id}/edit", data=TENDER_FORM).status_code == 403
    assert client.post(f"/tenders/{tender.id}/publish").status_code == 403
    assert client.get(f"/tenders/{tender.id}/award").status_code == 403
    assert client.get(f"/tenders/{tender.id}").status_code == 404  # drafts are private
    login(client, owner)
    response = client.post(
        f"/tenders/{tender.id}/edit", data={**TENDER_FORM, "title": "Nuovo titolo"}
    )
    assert response.status_code == 302 and tender.title == "Nuovo titolo"


def test_eligible_suppliers_api_ranks_with_reasons(client, db_session):
    officer, body = make_officer()
    tender = make_tender(body, officer, codes=("90911200",))
    best, _u1 = make_supplier(codes=("90911200",), total="10", art4="5")
    broad, _u2 = make_supplier(codes=("90000000",), total="10", art4="3", comune="093013")
    below, _u3 = make_supplier(codes=("90910000",), total="1000", art4="299")
    unrelated, _u4 = make_supplier(codes=("55524000",), total="10", art4="5")
    token = issue_token(officer)
    data = client.get(
        f"/api/v1/tenders/{tender.id}/eligible-suppliers",
        headers={"Authorization": f"Bearer {token}"},
    ).json
    ids = [item["id"] for item in data["items"]]
    assert ids[0] == best.id and broad.id in ids
    assert below.id not in ids and unrelated.id not in ids
    assert data["required_share"] == "30.00"
    first = data["items"][0]
    assert first["eligible"] and {c["name"] for c in first["criteria"]} == {
        "kind",
        "register",
        "share",
        "cpv",
        "territory",
    }
    everything = client.get(
        f"/api/v1/tenders/{tender.id}/eligible-suppliers?all=1",
        headers={"Authorization": f"Bearer {token}"},
    ).json
    reasons = {i["id"]: i for i in everything["items"]}
    share = next(c for c in reasons[below.id]["criteria"] if c["name"] == "share")
    assert not share["passed"] and "29,9%" in share["explanation"]
    assert (
        client.get(
            f"/api/v1/tenders/{tender.id}/eligible-suppliers?limit=0",
            headers={"Authorization": f"Bearer {token}"},
        ).status_code
        == 400
    )
    # Suppliers and anonymous callers do not get the ranking.
    _org, supplier_user = make_supplier()
    assert (
        client.get(
            f"/api/v1/tenders/{tender.id}/eligible-suppliers",
            headers={"Authorization": f"Bearer {issue_token(supplier_user)}"},
        ).status_code
        == 403
    )
    assert client.get(f"/api/v1/tenders/{tender.id}/eligible-suppliers").status_code == 401
    login(client, officer)
    page = client.get(f"/tenders/{tender.id}/suppliers").get_data(as_text=True)
    assert best.name in page and below.name not in page


def test_public_tender_api_and_listing(client, db_session):
    officer, body = make_officer()
    published = make_tender(body, officer, title="Verde pubblico riservato")
    draft = make_tender(body, officer, status=DRAFT, title="Bozza segreta")
    items = client.get("/api/v1/tenders").json["items"]
    assert [i["id"] for i in items] == [published.id]
    item = items[0]
    assert item["url"].startswith("http") and item["value"] == {
        "amount": "100000.00",
        "currency": "EUR",
    }
    assert client.get(f"/api/v1/tenders/{draft.id}").status_code == 404
    assert client.get("/api/v1/tenders?clause=reserved").json["total"] == 1
    assert client.get("/api/v1/tenders?cpv=77000000").json["total"] == 1
    assert client.get("/api/v1/tenders?cpv=90000000").json["total"] == 0
    assert client.get("/api/v1/tenders?clause=nope").status_code == 400
    assert client.get("/api/v1/tenders?cpv=abc").status_code == 400
    assert client.get("/api/v1/tenders?q=verde").json["total"] == 1
    assert client.get("/api/v1/tenders?q=inesistente").json["total"] == 0
    assert "Verde pubblico riservato" in client.get("/tenders?q=verde").get_data(as_text=True)
    assert client.get("/api/v1/cpv?q=pulizia").json["items"]


def test_supplier_profile_and_declaration_forms(client, db_session):
    org, user = make_supplier(declare=False)
    login(client, user)
    bad = client.post("/tenders/supplier/profile", data={"cpv_codes": "77310000, 12345678"})
    assert bad.status_code == 200 and "12345678" in bad.get_data(as_text=True)
    assert [
        c.cpv_code
        for c in db.session.execute(
            select(SupplierCapability).where(SupplierCapability.organisation_id == org.id)
        ).scalars()
    ] == ["77310000"]
    good = client.post(
        "/tenders/supplier/profile",
        data={"cpv_codes": "90910000-8, 77310000", "provinces": "pn, UD", "regions": ["Lazio"]},
    )
    assert good.status_code == 302
    assert bad.status_code == 200
    for change in (
        {"total_workers": "-1"},
        {"total_workers": "10", "disabled": "11"},
        {"total_workers": "10", "disabled": "-2"},
        {"year": "1990"},
    ):
        response = client.post(
            "/tenders/supplier/declarations", data={"year": str(today().year - 1), **change}
        )
        assert response.status_code == 200, change
    assert count(WorkforceDeclaration) == 0
    response = client.post(
        "/tenders/supplier/declarations",
        data={
            "year": str(today().year - 1),
            "total_workers": "20",
            "disabled": "3",
            "psychiatric": "1.98",
            "addiction": "1",
        },
    )
    assert response.status_code == 302
    declaration = db.session.execute(select(WorkforceDeclaration)).scalar_one()
    assert declaration.l381_share == Decimal("29.9")
    assert "29,9%" in client.get("/tenders/supplier/declarations").get_data(as_text=True)


def test_the_cpv_picker_serves_the_tender_and_the_profile_forms(client, db_session):
    officer, _body = make_officer()
    org, user = make_supplier()
    for who, path in ((officer, "/tenders/new"), (user, "/tenders/supplier/profile")):
        login(client, who)
        html = client.get(path).get_data(as_text=True)
        assert 'list="cpv-list"' in html and 'data-cpv-picker="1"' in html, path
        assert '<datalist id="cpv-list">' in html and "/api/v1/cpv" in html, path
    found = client.get("/api/v1/cpv?q=pulizia&lang=it").json["items"]
    assert found and all(len(item["code"]) == 8 for item in found)
    assert client.get("/api/v1/cpv?q=9091").json["items"][0]["code"].startswith("9091")


def test_supplier_files_reports_only_for_its_own_contracts(client, db_session):
    officer, body = make_officer()
    tender = make_tender(body, officer)
    holder, holder_user = make_supplier()
    other, other_user = make_supplier()
    contract = make_contract(tender, holder)
    period = services.periods(contract, today())[0][0].isoformat()
    figures = {
        "period_start": period,
        "workers_total": "10",
        "workers_disadvantaged": "2",
        "workers_disabled": "1",
        "hours_total": "100",
        "hours_disadvantaged": "30",
        "new_hires_total": "1",
        "new_hires_disadvantaged": "1",
        "new_hires_from_caseload": "1",
    }
    login(client, other_user)
    assert client.get(f"/tenders/contracts/{contract.id}").status_code == 404
    assert client.post(f"/tenders/contracts/{contract.id}/report", data=figures).status_code == 404
    assert count(ComplianceReport) == 0
    try:
        services.file_report(
            contract,
            other_user,
            services.ReportData(
                period_start=services.periods(contract, today())[0][0], workers_total=1
            ),
            today(),
        )
    except services.TenderError as error:
        assert "contract" in error.fields
    else:
        raise AssertionError("a supplier filed for a contract it does not hold")
    login(client, holder_user)
    for change in (
        {"workers_total": "-1"},
        {"workers_disadvantaged": "20"},
        {"period_start": "2001-01-01"},
        {"hours_disadvantaged": "500"},
    ):
        response = client.post(
            f"/tenders/contracts/{contract.id}/report", data={**figures, **change}
        )
        assert response.status_code == 200, change
    assert count(ComplianceReport) == 0
    response = client.post(f"/tenders/contracts/{contract.id}/report", data=figures)
    assert response.status_code == 302
    report = db.session.execute(select(ComplianceReport)).scalar_one()
    assert report.compliant is True and report.measured == Decimal("30.00")
    # The same period cannot be filed twice.
    assert client.post(f"/tenders/contracts/{contract.id}/report", data=figures).status_code == 200
    assert count(ComplianceReport) == 1
    # Another supplier's contract page and reports stay hidden; its own are shown.
    assert client.get(f"/tenders/contracts/{contract.id}").status_code == 200
    login(client, other_user)
    assert holder.name not in client.get("/tenders/supplier").get_data(as_text=True)


def test_officer_reviews_flagging_needs_a_comment(client, db_session):
    officer, body = make_officer()
    tender = make_tender(body, officer)
    supplier, supplier_user = make_supplier()
    contract = make_contract(tender, supplier)
    report = services.file_report(
        contract,
        supplier_user,
        services.ReportData(
            period_start=contract.start_date, workers_total=10, workers_disadvantaged=1
        ),
        today(),
    )
    assert report.compliant is False
    stranger, _other = make_officer()
    login(client, stranger)
    assert (
        client.post(
            f"/tenders/reports/{report.id}/review", data={"decision": "accepted"}
        ).status_code
        == 403
    )
    login(client, officer)
    client.post(f"/tenders/reports/{report.id}/review", data={"decision": "flagged"})
    assert report.status == "submitted"
    client.post(
        f"/tenders/reports/{report.id}/review",
        data={"decision": "flagged", "comment": "Quota sotto il 30%: Mario Rossi"},
    )
    assert report.status == FLAGGED
    # A flagged period can be filed again by the supplier.
    assert contract.start_date in [p[0] for p in services.open_periods(contract, today())]
    # The public page shows the status, never the comment.
    page = client.get(f"/tenders/buyers/{body.id}").get_data(as_text=True)
    assert supplier.name in page and "Mario Rossi" not in page
    client.post(f"/tenders/reports/{report.id}/review", data={"decision": "accepted"})
    assert report.status == ACCEPTED


def test_overdue_reports_listed_and_reminded(client, db_session):
    officer, body = make_officer()
    tender = make_tender(body, officer)
    supplier, supplier_user = make_supplier()
    contract = make_contract(tender, supplier, months_ago=9)
    overdue = services.overdue_reports(today(), buyer_ids=[body.id])
    assert [o.contract.id for o in overdue] == [contract.id, contract.id]
    login(client, officer)
    page = client.get("/tenders/officer").get_data(as_text=True)
    assert supplier.name in page
    assert services.send_reminders(today()) == 1
    assert services.send_reminders(today()) == 0  # at most weekly
    notes = (
        db.session.execute(select(Notification).where(Notification.user_id == supplier_user.id))
        .scalars()
        .all()
    )
    assert any("overdue" in n.message or "ritardo" in n.message for n in notes)


def test_award_checks(client, db_session):
    officer, body = make_officer()
    tender = make_tender(body, officer)
    supplier, _user = make_supplier()
    login(client, officer)
    base = {
        "supplier": str(supplier.id),
        "value_amount": "1000.00",
        "value_currency": "EUR",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
        "report_every_months": "3",
    }
    for change in (
        {"value_amount": "-1"},
        {"end_date": "2025-01-01"},
        {"report_every_months": "13"},
        {"supplier": "999999"},
    ):
        response = client.post(f"/tenders/{tender.id}/award", data={**base, **change})
        assert response.status_code == 200, change
    assert tender.contracts == []
    assert client.post(f"/tenders/{tender.id}/award", data=base).status_code == 302
    assert len(tender.contracts) == 1 and tender.status == "awarded"
    assert client.post(f"/tenders/{tender.id}/award", data=base).status_code == 200


def test_pages_render_for_every_side(client, db_session):
    officer, body = make_officer()
    tender = make_tender(body, officer, clause=RESERVED)
    supplier, supplier_user = make_supplier()
    make_contract(tender, supplier)
    for path in ("/tenders", f"/tenders/{tender.id}", f"/tenders/buyers/{body.id}"):
        assert client.get(path).status_code == 200, path
    assert client.get("/tenders/buyers/999999").status_code == 404
    login(client, officer)
    for path in (
        "/tenders/officer",
        "/tenders/new",
        "/tenders/import",
        f"/tenders/{tender.id}/suppliers?all=1",
        f"/tenders/{tender.id}/edit",
    ):
        assert client.get(path).status_code == 200, path
    login(client, supplier_user)
    for path in (
        "/tenders/supplier",
        "/tenders/supplier/profile",
        "/tenders/supplier/declarations",
        f"/tenders/{tender.id}",
    ):
        assert client.get(path).status_code == 200, path


def test_publishing_tells_how_many_suppliers_in_the_right_number(client, db_session):
    officer, _body = make_officer()
    make_supplier(codes=("90910000",), total="10", art4="3")
    login(client, officer)
    client.post("/tenders/new", data=TENDER_FORM)
    tender = db.session.execute(select(Tender)).scalar_one()
    html = client.post(f"/tenders/{tender.id}/publish", follow_redirects=True).get_data(
        as_text=True
    )
    assert "è stato avvisato 1 fornitore idoneo" in html
    assert "1 fornitori" not in html


def test_tender_pages_speak_italian_numbers_dates_and_agreement(client, db_session):
    from datetime import UTC, datetime

    officer, body = make_officer()
    supplier, _user = make_supplier(codes=("77310000",), total="10", art4="4")
    tender = make_tender(
        body, officer, title="Verde pubblico", deadline=datetime(2030, 3, 12, 11, 0, 0, tzinfo=UTC)
    )
    login(client, officer)
    detail = client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    # Bootstrap Italia breadcrumbs need their separator element.
    assert '<span class="separator" aria-hidden="true">/</span></li>' in detail
    # The legal basis in Italian; the deadline in one medium format, without seconds.
    assert "Direttiva 2014/24/UE art. 20" in detail and "Directive" not in detail
    assert "12 mar 2030, 12:00" in detail and "12:00:00" not in detail
    listing = client.get("/tenders").get_data(as_text=True)
    assert "12 mar 2030, 12:00" in listing
    suppliers = client.get(f"/tenders/{tender.id}/suppliers").get_data(as_text=True)
    assert supplier.name in suppliers
    assert suppliers.count('class="separator" aria-hidden="true"') == 2
    assert "40,0%" in suppliers and "40.0%" not in suppliers
    assert re.search(r"Compatibilità \d+(,\d)? su 100", suppliers)
    assert not re.search(r"Compatibilità \d+\.\d", suppliers)
    assert "coprono 1 codice CPV su 1" in suppliers
    dashboard = client.get("/tenders/officer").get_data(as_text=True)
    assert "Nessuna relazione da esaminare." in dashboard
    assert "Nessuna relazione in ritardo." in dashboard and "Nessuno." not in dashboard


def test_every_breadcrumb_container_has_separators():
    """Bootstrap Italia hides the CSS divider inside .breadcrumb-container: every linked
    item needs its own (aria-hidden) separator, in every template of the repository."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    checked = 0
    for path in root.glob("*/**/templates/**/*.html"):
        text = path.read_text(encoding="utf-8")
        if "breadcrumb-container" not in text:
            continue
        for item in re.findall(r'<li class="breadcrumb-item">(.*?)</li>', text, re.S):
            checked += 1
            assert '<span class="separator" aria-hidden="true">/</span>' in item, path
    assert checked >= 6
