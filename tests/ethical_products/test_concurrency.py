"""Stock never oversells: 20 buyers race for 5 units on a real PostgreSQL server.

Each buyer is a thread with its own connection and session on a private database (not the
test's rolled-back transaction); the database is created, migrated and dropped here.
"""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ethical_products import services
from ethical_products.models import Order, ProducerProfile, Product, Variant
from portal import db
from portal.accounts import create_organisation
from portal.db import utcnow

BUYERS = 20
UNITS = 5


pytestmark = pytest.mark.postgresql_only


def test_twenty_buyers_race_for_five_units(race_app):
    with race_app.app_context():
        org = create_organisation(
            "Fattoria della gara", "social_farm", comune_code="093033", regional_register="REG-RACE"
        )
        org.verified_at = utcnow()
        db.session.flush()
        db.session.add(
            ProducerProfile(
                organisation_id=org.id,
                iban="IT60X0542811101000000123456",
                accepts_bank_transfer=True,
                art2_activities=["a"],
            )
        )
        product = Product(
            producer_id=org.id, name="Miele raro", category="honey", comune_code="093033"
        )
        variant = Variant(
            label="Vasetto", price=Decimal("9.00"), vat_rate=Decimal("10.00"), stock=UNITS
        )
        product.variants = [variant]
        db.session.add(product)
        db.session.commit()
        variant_id = variant.id

    barrier = threading.Barrier(BUYERS)
    results: list[str] = []
    lock = threading.Lock()

    def buyer(n: int) -> None:
        with race_app.app_context():
            try:
                cart = services.price_cart({variant_id: {"": 1}})
                data = services.CheckoutData(
                    idempotency_key=f"race-{n:04d}-{uuid.uuid4().hex}",
                    name=f"Buyer {n}",
                    email=f"buyer{n}@example.it",
                    payment_method="bank_transfer",
                )
                barrier.wait(timeout=30)
                services.place_order(data, cart)
                db.session.commit()
                outcome = "ok"
            except services.ShopError:
                db.session.rollback()
                outcome = "refused"
            except Exception as error:  # pragma: no cover - reported below
                db.session.rollback()
                outcome = f"error: {error!r}"
            finally:
                db.session.remove()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == ["ok"] * UNITS + ["refused"] * (BUYERS - UNITS), results
    with race_app.app_context():
        assert (
            db.session.execute(select(Variant.stock).where(Variant.id == variant_id)).scalar_one()
            == 0
        )
        assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == UNITS
