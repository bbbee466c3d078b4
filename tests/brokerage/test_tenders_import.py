"""OCDS import and export: hand-written release and record packages, with and without the
social extensions, and invalid ones (rejected whole, with JSON pointers)."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal

from sqlalchemy import func, select

from brokerage.tenders import ocds
from brokerage.tenders.models import (
    AWARDED,
    NONE,
    PUBLISHED,
    RESERVED,
    SOCIAL_CLAUSE,
    Contract,
    Tender,
    TenderNotice,
)
from portal import db
from portal.accounts import issue_token
from portal.notifications import Notification
from tests.brokerage.test_tenders_factories import (
    make_officer,
    make_supplier,
    make_tender,
    sample,
)
from tests.conftest import login
from tests.factories import make_org


def post(client, token, body, content_type="application/json"):
    return client.post(
        "/api/v1/tenders/import",
        data=body,
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
    )


def tender_count() -> int:
    return db.session.execute(select(func.count()).select_from(Tender)).scalar_one()


def by_ocid(ocid: str) -> Tender:
    return db.session.execute(select(Tender).where(Tender.ocid == ocid)).scalar_one()


def test_release_package_with_extensions(client, db_session):
    officer, body = make_officer()
    token = issue_token(officer)
    response = post(client, token, sample("release_package_extensions.json"))
    assert response.status_code == 201, response.json
    report = response.json
    assert [t["ocid"] for t in report["created"]] == ["ocds-test01-PN-2026-001"]
    tender = by_ocid("ocds-test01-PN-2026-001")
    assert tender.buyer_org_id == body.id and tender.buyer_name == "Comune di Pordenone"
    # Two releases of one process are merged in date order.
    assert tender.description.startswith("Sfalcio, potature e cura")
    assert [lot.title for lot in tender.lots] == ["Parchi", "Aiuole e rotonde"]
    # Loose CPV ids are normalised; an unknown code is kept with a warning.
    assert tender.cpv_codes == ["77310000", "90911200", "90919200", "99999999"]
    assert [row.known for row in tender.cpv_rows] == [True, True, True, False]
    warnings = {w["path"]: w["message"] for w in report["warnings"]}
    assert "/releases/0/tender/items/2/classification/id" in warnings
    assert "99999999" in warnings["/releases/0/tender/items/2/classification/id"]
    assert "/releases/0/tender/items/0/classification/id" in warnings  # "-6" dropped
    # Exact amounts with their currency; lots too.
    assert tender.value_amount == Decimal("180000.50") and tender.value_currency == "EUR"
    assert tender.lots[1].value_amount == Decimal("60000.50")
    assert tender.lots[0].reserved_participation == "res-ws"
    assert tender.lots[1].reserved_execution is True
    # The social extensions make it a reserved contract (art. 61), 30% by default.
    assert tender.clause_type == RESERVED and tender.threshold == Decimal(30)
    assert tender.reserved_participation == "res-ws"
    assert tender.social_standards.startswith("Applicazione del CCNL")
    assert tender.sustainability[0]["goal"] == "social.disadvantagedEmploymentOpportunities"
    assert tender.comune_code == "093033"
    assert tender.deadline is not None and tender.deadline.year == 2099
    assert tender.status == PUBLISHED and tender.source == "ocds"


def test_reimport_updates_never_duplicates(client, db_session):
    officer, _body = make_officer()
    token = issue_token(officer)
    assert post(client, token, sample("release_package_extensions.json")).status_code == 201
    first = by_ocid("ocds-test01-PN-2026-001").id
    count = tender_count()
    package = json.loads(sample("release_package_extensions.json"))
    package["releases"][1]["tender"]["title"] = "Titolo aggiornato"
    response = post(client, token, json.dumps(package))
    assert response.status_code == 200
    assert response.json["created"] == [] and response.json["updated"][0]["id"] == first
    assert tender_count() == count
    assert by_ocid("ocds-test01-PN-2026-001").title == "Titolo aggiornato"


def test_plain_release_package_without_extensions(client, db_session):
    officer, _body = make_officer()
    response = post(client, issue_token(officer), sample("release_package_plain.json"))
    assert response.status_code == 201
    tender = by_ocid("ocds-test01-PN-2026-002")
    assert tender.clause_type == NONE and tender.value_amount == Decimal("85000")
    assert tender.lots == [] and tender.comune_code is None


def test_record_package_reads_the_compiled_release_and_awards(client, db_session):
    officer, _body = make_officer()
    supplier, _user = make_supplier(name="Cooperativa Campione OCDS", codes=("90511000",))
    response = post(client, issue_token(officer), sample("record_package.json"))
    assert response.status_code == 201, response.json
    tender = by_ocid("ocds-test01-PN-2026-003")
    assert tender.clause_type == SOCIAL_CLAUSE
    assert (tender.clause_measure, tender.clause_target, tender.clause_base) == (
        "share",
        Decimal(30),
        "contract_workforce",
    )
    assert tender.status == AWARDED
    contract = db.session.execute(
        select(Contract).where(Contract.tender_id == tender.id)
    ).scalar_one()
    assert contract.supplier_org_id == supplier.id
    assert contract.value_amount == Decimal("205000.00") and contract.ocds_award_id == "A1"
    assert response.json["contracts_created"] == 1
    assert any("Impresa Sconosciuta" in w["message"] for w in response.json["warnings"])


def test_a_package_without_a_usable_process_is_refused_with_json_pointers(client, db_session):
    """No ocid: nothing to import. The schema problems come with it, as warnings would."""
    officer, _body = make_officer()
    response = post(client, issue_token(officer), sample("invalid_schema.json"))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid_ocds"
    assert set(error["fields"]) >= {
        "",
        "/releases/0/ocid",
        "/releases/0/initiationType",
        "/releases/0/tender/value/amount",
        "/releases/0/tender/value/currency",
    }
    # A closed-codelist violation names the offending value, as the Data Review Tool does.
    assert '"euro"' in error["fields"]["/releases/0/tender/value/currency"]
    assert tender_count() == 0


def test_schema_errors_are_warnings_and_every_usable_process_imports(client, db_session):
    officer, _body = make_officer()
    response = post(client, issue_token(officer), sample("invalid_partial.json"))
    assert response.status_code == 201, response.json
    warnings = {w["path"] for w in response.json["warnings"]}
    assert "/releases/1/tender/value/amount" in warnings
    assert "/releases/1/tender/tenderPeriod/endDate" in warnings
    assert "/releases/1/tender/items/0/classification/id" in warnings
    assert not any(path.startswith("/releases/0/") for path in warnings)
    assert tender_count() == 2
    bad = by_ocid("ocds-test01-PN-2026-011")
    # What Ponte cannot model is left unset; the release is kept whole.
    assert bad.value_amount is None and bad.deadline is None and bad.cpv_codes == []
    assert bad.source_release["tender"]["value"]["amount"] == -50
    assert bad.source_release["tender"]["tenderPeriod"]["endDate"] == "domani"


def test_record_without_compiled_release_is_rejected(client, db_session):
    officer, _body = make_officer()
    response = post(client, issue_token(officer), sample("record_package_no_compiled.json"))
    assert response.status_code == 422
    assert "/records/0/compiledRelease" in response.json["error"]["fields"]


def test_malformed_json_and_wrong_documents(client, db_session):
    officer, _body = make_officer()
    token = issue_token(officer)
    response = post(client, token, sample("malformed.json"))
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"
    where = response.json["error"]["fields"][""]  # "line 2, column 14" in any language
    assert re.search(r"\b2\b.*\b14\b", where), where
    assert post(client, token, b"").status_code == 400
    assert post(client, token, b"NaN").status_code == 400
    assert post(client, token, b"\xff\xfe").status_code == 400
    deep = '{"releases": ' + "[" * 5000 + "]" * 5000 + "}"
    assert post(client, token, deep).status_code == 400
    nested = '{"releases": [{"tender": ' + '{"a": ' * 100 + "1" + "}" * 100 + "}]}"
    assert post(client, token, nested).status_code == 400
    for body in ("[]", "{}", '{"releases": "x"}', '{"records": [1]}', "42"):
        response = post(client, token, body)
        assert response.status_code == 422, body
        assert response.json["error"]["code"] == "invalid_ocds"
    assert tender_count() == 0


def test_import_needs_an_officer_and_respects_other_bodies(client, db_session):
    supplier, user = make_supplier()
    assert post(client, issue_token(user), sample("release_package_plain.json")).status_code == 403
    assert (
        client.post(
            "/api/v1/tenders/import",
            data=sample("release_package_plain.json"),
            content_type="application/json",
        ).status_code
        == 401
    )
    # The buyer named in the data is another body of the portal: refused.
    make_org("public_body", name="Comune di Pordenone")
    officer, _body = make_officer()
    response = post(client, issue_token(officer), sample("release_package_plain.json"))
    assert response.status_code == 422
    assert "/releases/0/buyer" in response.json["error"]["fields"]


def test_another_body_cannot_overwrite_a_process(client, db_session):
    first, _body = make_officer()
    package = json.loads(sample("release_package_plain.json"))
    package["releases"][0]["buyer"]["name"] = "Ente Qualsiasi"
    assert post(client, issue_token(first), json.dumps(package)).status_code == 201
    second, _other = make_officer()
    response = post(client, issue_token(second), json.dumps(package))
    assert response.status_code == 422
    assert "/releases/0/ocid" in response.json["error"]["fields"]


def test_import_notifies_eligible_suppliers_once(client, db_session):
    officer, _body = make_officer()
    supplier, user = make_supplier(codes=("77310000",), total="10", art4="3")
    token = issue_token(officer)
    response = post(client, token, sample("release_package_extensions.json"))
    assert response.json["notified_suppliers"] == 1
    tender = by_ocid("ocds-test01-PN-2026-001")
    notes = (
        db.session.execute(select(Notification).where(Notification.user_id == user.id))
        .scalars()
        .all()
    )
    assert len(notes) == 1 and str(tender.id) in notes[0].link
    post(client, token, sample("release_package_extensions.json"))
    assert db.session.execute(select(func.count()).select_from(TenderNotice)).scalar_one() == 1


def test_export_is_valid_ocds_and_round_trips(client, db_session):
    officer, body = make_officer()
    tender = make_tender(
        body,
        officer,
        clause=SOCIAL_CLAUSE,
        clause_measure="count",
        clause_target=Decimal("2"),
        clause_base="new_hires",
        codes=("90911200", "77310000"),
        value_amount=Decimal("1234.56"),
        social_standards="CCNL cooperative sociali",
    )
    response = client.get(f"/tenders/{tender.id}/ocds.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    package = json.loads(response.data, parse_float=Decimal)
    assert ocds.schema_problems(package, "release-package") == []
    release = package["releases"][0]
    assert release["tender"]["value"] == {"amount": Decimal("1234.56"), "currency": "EUR"}
    assert release["tender"]["socialClause"]["type"] == SOCIAL_CLAUSE
    assert release["tender"]["sustainability"][0]["strategies"] == ["contractPerformanceConditions"]
    assert release["tender"]["contractTerms"]["socialStandards"] == "CCNL cooperative sociali"
    assert [i["classification"]["id"] for i in release["tender"]["items"]] == [
        "90911200",
        "77310000",
    ]
    # The official extensions used, and Ponte's own for the social clause.
    assert len(package["extensions"]) == 6
    assert package["extensions"][-1].endswith("/ocds/extensions/social-clause/v1.0/extension.json")
    # Importing the export elsewhere gives the same tender.
    release["ocid"] = "ocds-test01-roundtrip"
    assert post(client, issue_token(officer), ocds.dumps(package)).status_code == 201
    copy = by_ocid("ocds-test01-roundtrip")
    assert (copy.clause_type, copy.clause_measure, copy.clause_target, copy.clause_base) == (
        SOCIAL_CLAUSE,
        "count",
        Decimal(2),
        "new_hires",
    )
    assert copy.value_amount == Decimal("1234.56") and copy.cpv_codes == tender.cpv_codes
    assert copy.comune_code == tender.comune_code
    api = client.get(f"/api/v1/tenders/{tender.id}/ocds").json
    assert api["releases"][0]["ocid"] == tender.ocid


def test_upload_form_does_the_same_as_the_api(client, db_session):
    officer, _body = make_officer()
    login(client, officer)
    response = client.post(
        "/tenders/import",
        data={"package": (io.BytesIO(sample("release_package_extensions.json")), "gara.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert "ocds-test01-PN-2026-001" in {
        t.ocid for t in db.session.execute(select(Tender)).scalars()
    }
    text = response.get_data(as_text=True)
    assert "99999999" in text  # the warning is shown
    partial = client.post("/tenders/import", data={"text": sample("invalid_partial.json").decode()})
    assert partial.status_code == 200
    assert "/releases/1/tender/value/amount" in partial.get_data(as_text=True)
    assert tender_count() == 3
    bad = client.post("/tenders/import", data={"text": sample("invalid_schema.json").decode()})
    assert bad.status_code == 422
    assert "/releases/0/ocid" in bad.get_data(as_text=True)
    assert tender_count() == 3
    malformed = client.post("/tenders/import", data={"text": "{not json"})
    assert malformed.status_code == 422
    empty = client.post("/tenders/import", data={})
    assert empty.status_code == 200 and tender_count() == 3


def test_imported_award_and_contract_get_compliance_monitoring(client, db_session):
    """An award to a supplier of the portal on a tender with a social clause becomes a
    contract followed like one awarded in Ponte: value and period from the OCDS contract."""
    from brokerage.tenders import services

    officer, body = make_officer()
    supplier, _user = make_supplier(name="Cooperativa Sociale Importata")
    release = {
        "ocid": "ocds-test01-award-flow",
        "id": "r1",
        "date": "2026-04-01T10:00:00Z",
        "tag": ["award", "contract"],
        "initiationType": "tender",
        "parties": [
            {"id": "B1", "name": "Ente appaltante", "roles": ["buyer"]},
            {"id": "S1", "name": supplier.name, "roles": ["supplier"]},
        ],
        "buyer": {"id": "B1", "name": "Ente appaltante"},
        "tender": {
            "id": "T1",
            "title": "Pulizia degli uffici",
            "status": "complete",
            "items": [{"id": "1", "classification": {"scheme": "CPV", "id": "90911200"}}],
            "socialClause": {
                "type": "social_clause",
                "measure": "share",
                "target": 30,
                "base": "contract_workforce",
            },
        },
        "awards": [
            {
                "id": "A1",
                "status": "active",
                "value": {"amount": 100000, "currency": "EUR"},
                "suppliers": [{"id": "S1", "name": supplier.name}],
            }
        ],
        "contracts": [
            {
                "id": "C1",
                "awardID": "A1",
                "status": "active",
                "value": {"amount": 98000.5, "currency": "EUR"},
                "period": {"startDate": "2026-05-01T00:00:00Z", "endDate": "2027-04-30T23:59:00Z"},
            }
        ],
    }
    response = post(
        client, issue_token(officer), json.dumps({"version": "1.1", "releases": [release]})
    )
    assert response.status_code == 201, response.json
    assert response.json["contracts_created"] == 1
    contract = db.session.execute(select(Contract)).scalar_one()
    assert contract.supplier_org_id == supplier.id and contract.ocds_award_id == "A1"
    assert contract.value_amount == Decimal("98000.50")
    assert (contract.start_date.isoformat(), contract.end_date.isoformat()) == (
        "2026-05-01",
        "2027-04-30",
    )
    # Reports are due every period of the contract, as for one awarded in Ponte.
    assert len(services.periods(contract)) == 4  # quarterly over a year
    late = services.overdue_periods(contract, contract.end_date)
    assert late and late[0][0] == contract.start_date
    # The publisher's end of period stays as published in the export (not truncated to a day).
    tender = by_ocid("ocds-test01-award-flow")
    exported = ocds.record(tender)["compiledRelease"]
    assert exported["contracts"][0]["period"]["endDate"] == "2027-04-30T23:59:00Z"
    assert exported["buyer"] == {"id": "B1", "name": "Ente appaltante"}
    assert [p["id"] for p in exported["parties"]] == ["B1", "S1"]
