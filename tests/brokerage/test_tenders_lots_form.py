"""Lots in the officer's tender form: added, edited and removed in the
portal, bad input shown next to the field and nothing saved, imported lots keep what the
form does not edit and are removed only on purpose."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import func, select

from brokerage.tenders.models import DRAFT, Tender, TenderLot
from brokerage.tenders.services import LotData
from portal import db
from tests.brokerage.test_tenders_factories import make_officer, make_tender
from tests.brokerage.test_tenders_views import TENDER_FORM
from tests.conftest import login


def lots(*rows: dict[str, str]) -> dict[str, str]:
    form: dict[str, str] = {}
    for index, row in enumerate(rows):
        for name, value in row.items():
            form[f"lots-{index}-{name}"] = value
    return form


BLANK = {"lot_id": "", "title": "", "value_amount": "", "reserved_participation": "none"}


def test_an_officer_adds_lots_in_the_form(client, db_session):
    officer, body = make_officer()
    login(client, officer)
    page = client.get("/tenders/new").get_data(as_text=True)
    assert 'name="lots-0-title"' in page and 'name="lots-1-title"' in page
    response = client.post(
        "/tenders/new",
        data={
            **TENDER_FORM,
            **lots(
                {"title": "Scuole primarie", "value_amount": "60000.00"},
                BLANK,
                {
                    "title": "Palestre",
                    "value_amount": "35000",
                    "reserved_participation": "res-ws",
                    "reserved_execution": "y",
                },
            ),
        },
    )
    assert response.status_code == 302
    tender = db.session.execute(select(Tender).where(Tender.buyer_org_id == body.id)).scalar_one()
    assert [(lot.lot_id, lot.title, lot.value_amount) for lot in tender.lots] == [
        ("1", "Scuole primarie", Decimal("60000.00")),
        ("2", "Palestre", Decimal("35000.00")),
    ]
    assert tender.lots[1].reserved_participation == "res-ws" and tender.lots[1].reserved_execution
    assert tender.lots[0].value_currency == "EUR"
    release = json.loads(client.get(f"/tenders/{tender.id}/ocds.json").data)["releases"][0]
    assert [lot["title"] for lot in release["tender"]["lots"]] == ["Scuole primarie", "Palestre"]


def test_lots_are_edited_removed_and_never_renumbered(client, db_session):
    officer, body = make_officer()
    tender = make_tender(
        body,
        officer,
        status=DRAFT,
        lots=[
            LotData(lot_id="1", title="Parchi", value_amount=Decimal(1000)),
            LotData(lot_id="2", title="Aiuole", value_amount=Decimal(2000)),
        ],
    )
    login(client, officer)
    page = client.get(f"/tenders/{tender.id}/edit").get_data(as_text=True)
    assert 'value="Parchi"' in page and 'value="Aiuole"' in page
    assert 'name="lots-3-title"' in page  # two lots, then two empty rows
    response = client.post(
        f"/tenders/{tender.id}/edit",
        data={
            **TENDER_FORM,
            **lots(
                {"lot_id": "1", "title": "Parchi e giardini", "value_amount": "1500"},
                {"lot_id": "2", "title": "Aiuole", "remove": "y"},
                {"title": "Rotonde", "value_amount": "500"},
            ),
        },
    )
    assert response.status_code == 302
    db.session.refresh(tender)
    assert [(lot.lot_id, lot.title, lot.value_amount) for lot in tender.lots] == [
        ("1", "Parchi e giardini", Decimal("1500.00")),
        ("3", "Rotonde", Decimal("500.00")),  # not "2": that id meant another lot
    ]


def test_bad_lot_input_is_shown_next_to_the_field_and_nothing_is_saved(client, db_session):
    officer, _body = make_officer()
    login(client, officer)
    for row, field in (
        ({"title": "Parchi", "value_amount": "-1"}, "lots-0-value_amount"),
        ({"title": "Parchi", "value_amount": "tanti"}, "lots-0-value_amount"),
        ({"title": "", "value_amount": "1000"}, "lots-0-title"),
        ({"title": "", "reserved_execution": "y"}, "lots-0-title"),
        ({"title": "x" * 301}, "lots-0-title"),
        (
            {"title": "Parchi", "reserved_participation": "res-evil"},
            "lots-0-reserved_participation",
        ),
    ):
        response = client.post("/tenders/new", data={**TENDER_FORM, **lots({**BLANK, **row})})
        assert response.status_code == 200, row
        html = response.get_data(as_text=True)
        assert f'id="{field}-error"' in html, row
    assert db.session.execute(select(func.count()).select_from(Tender)).scalar_one() == 0
    assert db.session.execute(select(func.count()).select_from(TenderLot)).scalar_one() == 0


def test_an_imported_lot_keeps_its_description_and_currency(client, db_session):
    officer, body = make_officer()
    tender = make_tender(
        body,
        officer,
        status=DRAFT,
        lots=[
            LotData(
                lot_id="PN-A",
                title="Parchi",
                description="Dal bando originale",
                value_amount=Decimal(1000),
                value_currency="CHF",
            )
        ],
    )
    login(client, officer)
    response = client.post(
        f"/tenders/{tender.id}/edit",
        data={
            **TENDER_FORM,
            **lots({**BLANK, "lot_id": "PN-A", "title": "Parchi comunali"}),
        },
    )
    assert response.status_code == 302
    db.session.refresh(tender)
    (lot,) = tender.lots
    assert (lot.lot_id, lot.title, lot.description, lot.value_currency) == (
        "PN-A",
        "Parchi comunali",
        "Dal bando originale",
        "CHF",
    )
    assert lot.value_amount is None  # the officer cleared the value


def test_an_untitled_imported_lot_survives_an_edit_of_the_tender(client, db_session):
    officer, body = make_officer()
    tender = make_tender(
        body, officer, status=DRAFT, lots=[LotData(lot_id="L1", description="Solo descrizione")]
    )
    login(client, officer)
    page = client.get(f"/tenders/{tender.id}/edit").get_data(as_text=True)
    assert 'name="lots-0-remove"' in page and 'name="lots-1-remove"' not in page
    response = client.post(
        f"/tenders/{tender.id}/edit",
        data={**TENDER_FORM, "title": "Titolo nuovo", **lots({**BLANK, "lot_id": "L1"})},
    )
    assert response.status_code == 302
    db.session.refresh(tender)
    assert [(lot.lot_id, lot.title, lot.description) for lot in tender.lots] == [
        ("L1", "", "Solo descrizione")
    ]
