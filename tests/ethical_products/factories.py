"""Factories for the shop: producers with a shop, products with variants, orders."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from ethical_products import services
from ethical_products.models import ProducerProfile, Product, Variant
from portal import db
from portal.models import Organisation, User
from tests.factories import make_org, make_user

_seq = itertools.count(1)
IBAN = "IT60X0542811101000000123456"


def make_producer(
    kind: str = "social_farm", *, verified: bool = True, stripe_account: str = "", **profile: Any
) -> tuple[Organisation, User]:
    org = make_org(kind, verified=verified)
    role = "social_farm" if kind == "social_farm" else "cooperative"
    user = make_user(role, org=org)
    fields: dict[str, Any] = {
        "active": True,
        "story": "La nostra storia",
        "pickup_points": "Cascina, via Roma 1",
        "accepts_bank_transfer": True,
        "iban": IBAN,
        "accepts_pay_on_pickup": True,
        "art2_activities": ["a"],
        "inclusion_hours_share": Decimal("35.0"),
        "inclusion_declared_on": date(2026, 1, 10),
        "delivery_radius_km": 30,
    }
    if stripe_account:
        fields.update(stripe_account_id=stripe_account, stripe_charges_enabled=True)
    fields.update(profile)
    db.session.add(ProducerProfile(organisation_id=org.id, **fields))
    db.session.flush()
    return org, user


def make_product(
    org: Organisation,
    *,
    price: str = "4.50",
    vat: str = "4.00",
    stock: int | None = 10,
    name: str | None = None,
    category: str = "honey",
    **fields: Any,
) -> tuple[Product, Variant]:
    n = next(_seq)
    fields.setdefault("comune_code", org.comune_code or "093033")
    product = Product(
        producer_id=org.id,
        name=name or f"Miele di prova {n}",
        description="Miele di acacia",
        category=category,
        **fields,
    )
    variant = Variant(
        label="Vasetto 250 g",
        unit="jar",
        weight_grams=250,
        price=Decimal(price),
        vat_rate=Decimal(vat),
        stock=stock,
    )
    product.variants = [variant]
    db.session.add(product)
    db.session.flush()
    return product, variant


def checkout_data(method: str = "bank_transfer", **overrides: Any) -> services.CheckoutData:
    values: dict[str, Any] = {
        "idempotency_key": f"test-key-{next(_seq):08d}-abcdef",
        "name": "Giulia Bianchi",
        "email": "giulia@example.it",
        "payment_method": method,
    }
    values.update(overrides)
    return services.CheckoutData(**values)


def place(
    wanted: dict[int, int] | dict[int, dict[str, int]],
    method: str = "bank_transfer",
    **overrides: Any,
):
    cart = {vid: (q if isinstance(q, dict) else {"": q}) for vid, q in wanted.items()}
    priced = services.price_cart(cart)
    return services.place_order(checkout_data(method, **overrides), priced)
