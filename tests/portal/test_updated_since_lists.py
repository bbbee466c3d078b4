"""``updated_since`` on the vacancy, product and tender lists: the same parameter, the
same 400 on bad values and the same OpenAPI description as on /api/v1/organizations.
A change to a child row (a vacancy's adjustments, a product's variant, a tender's lot)
counts as a change of its parent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from brokerage.tenders.models import TenderLot
from ethical_products.models import ProducerProfile
from portal import db
from portal.db import utcnow
from tests.brokerage.test_tenders_factories import make_officer, make_tender
from tests.employers.factories import make_vacancy
from tests.ethical_products.factories import make_producer, make_product
from tests.factories import make_user

LISTS = ("/api/v1/vacancies", "/api/v1/products", "/api/v1/tenders")


def iso(moment) -> str:  # type: ignore[no-untyped-def]
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ids(client, path: str, since: str) -> set[int]:  # type: ignore[no-untyped-def]
    response = client.get(path, query_string={"updated_since": since})
    assert response.status_code == 200, response.json
    return {item["id"] for item in response.json["items"]}


def age(obj: object, days: int) -> None:
    obj.updated_at = utcnow() - timedelta(days=days)  # type: ignore[attr-defined]
    db.session.flush()


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("bad", ["yesterday", "31/12/2025", "2026-13-01", "2026-01-01T25:00"])
def test_bad_updated_since_is_a_400_field_error(client, db_session, path, bad):
    response = client.get(path, query_string={"updated_since": bad})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"
    assert list(response.json["error"]["fields"]) == ["updated_since"]


def test_openapi_documents_updated_since_on_the_lists(client, db_session):
    spec = client.get("/api/v1/openapi.json").json
    for path in LISTS:
        params = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        assert params["updated_since"]["schema"] == {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "format": "date"},
            ]
        }


def test_vacancies_updated_since(client, db_session):
    employer = make_user("employer")
    old, fresh = make_vacancy(employer), make_vacancy(employer)
    age(old, 10)
    since = iso(utcnow() - timedelta(days=5))
    found = ids(client, "/api/v1/vacancies", since)
    assert fresh.id in found and old.id not in found
    assert {old.id, fresh.id} <= ids(
        client, "/api/v1/vacancies", iso(utcnow() - timedelta(days=11))
    )
    # A date alone means its midnight UTC; an offset is honoured.
    assert old.id not in ids(
        client, "/api/v1/vacancies", (utcnow() - timedelta(days=5)).date().isoformat()
    )
    # Changing only the adjustments offered is a change of the vacancy.
    old.adjustments = ["quiet_place"]
    db.session.flush()
    db.session.expire(old)
    assert old.updated_at > utcnow() - timedelta(minutes=1)
    assert old.id in ids(client, "/api/v1/vacancies", since)


def test_products_updated_since(client, db_session):
    farm, _user = make_producer()
    old, old_variant = make_product(farm)
    fresh, _v = make_product(farm)
    age(old, 10)
    since = iso(utcnow() - timedelta(days=5))
    found = ids(client, "/api/v1/products", since)
    assert fresh.id in found and old.id not in found
    # A new price (a variant's) is a change of the product.
    old_variant.price = Decimal("5.00")
    db.session.flush()
    db.session.expire(old)
    assert old.id in ids(client, "/api/v1/products", since)
    # So is a new declaration of the producer: every product's label shows it.
    age(old, 10)
    assert old.id not in ids(client, "/api/v1/products", since)
    profile = db.session.get(ProducerProfile, farm.id)
    profile.inclusion_hours_share = Decimal("40.0")
    db.session.flush()
    db.session.expire(old)
    assert old.id in ids(client, "/api/v1/products", since)


def test_tenders_updated_since(client, db_session):
    officer, body = make_officer()
    old, fresh = make_tender(body, officer), make_tender(body, officer)
    age(old, 10)
    since = iso(utcnow() - timedelta(days=5))
    found = ids(client, "/api/v1/tenders", since)
    assert fresh.id in found and old.id not in found
    # A lot added to the tender is a change of the tender.
    db.session.add(TenderLot(tender_id=old.id, lot_id="2", title="Lotto 2"))
    db.session.flush()
    db.session.expire(old)
    assert old.id in ids(client, "/api/v1/tenders", since)
