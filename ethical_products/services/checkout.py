"""Checkout: the buyer's data checked against the priced cart (every problem at once),
and the order placed with its sub-orders, lines and GAS shares, its stock reserved in
the same transaction (see :mod:`ethical_products.services.stock`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from ethical_products.models import (
    BANK_TRANSFER,
    BUYER_TYPES,
    CANTEEN,
    DELIVERY,
    FULFILMENT,
    GAS,
    PAY_ON_PICKUP,
    PENDING_PAYMENT,
    PERSON,
    PICKUP,
    STRIPE,
    GasShare,
    Order,
    OrderLine,
    ProducerProfile,
    SubOrder,
)
from ethical_products.services.basket import PricedCart, payment_methods
from ethical_products.services.orders import find_order
from ethical_products.services.policy import ShopError
from ethical_products.services.stock import reserve_stock
from portal import audit, db, identifiers, municipalities
from portal.db import utcnow
from portal.models import Organisation, User


@dataclass
class CheckoutData:
    idempotency_key: str
    name: str
    email: str
    payment_method: str
    buyer_type: str = PERSON
    phone: str = ""
    fulfilment: str = PICKUP
    address: str = ""
    comune_code: str | None = None
    notes: str = ""
    gas_name: str = ""
    invoice_entity: str = ""
    invoice_tax_code: str = ""
    invoice_sdi_code: str = ""
    invoice_pec: str = ""
    invoice_cig: str = ""
    buyer: User | None = None
    #: The fingerprint of the cart the buyer reviewed (None: do not compare).
    fingerprint: str | None = None


def check_checkout(data: CheckoutData, cart: PricedCart) -> None:
    errors: dict[str, str] = {}
    key = data.idempotency_key or ""
    if not (16 <= len(key) <= 64) or not key.replace("-", "").replace("_", "").isalnum():
        errors["idempotency_key"] = _("The form has expired: reload the page.")
    if cart.empty:
        errors["cart"] = _("Your cart is empty.")
    if data.fingerprint is not None and data.fingerprint != cart.fingerprint():
        errors["cart"] = _("Your cart or its prices changed: check it and confirm again.")
    if not data.name.strip():
        errors["name"] = _("Give your name.")
    if "@" not in data.email or len(data.email) > 254:
        errors["email"] = _("Give a valid e-mail address.")
    if data.buyer_type not in BUYER_TYPES:
        errors["buyer_type"] = _("Choose who is buying.")
    if data.fulfilment not in FULFILMENT:
        errors["fulfilment"] = _("Choose pickup or delivery.")
    if data.fulfilment == DELIVERY:
        if not data.address.strip():
            errors["address"] = _("Give the delivery address.")
        place = municipalities.get(data.comune_code)
        if place is None:
            errors["comune"] = _("Choose a municipality from the list.")
        else:
            for group in cart.groups:
                if not delivers_to(group.profile, group.producer, place):
                    errors["fulfilment"] = _(
                        "%(producer)s does not deliver to %(place)s: choose pickup.",
                        producer=group.producer.name,
                        place=place.label,
                    )
                    break
    if data.payment_method not in payment_methods(cart):
        errors["payment_method"] = _("Choose one of the payment methods offered.")
    if data.payment_method == PAY_ON_PICKUP and data.fulfilment != PICKUP:
        errors["payment_method"] = _("Pay on pickup needs pickup.")
    if data.buyer_type == GAS:
        if not data.gas_name.strip():
            errors["gas_name"] = _("Give the name of the purchasing group.")
        if not any(item.shares for item in cart.items):
            errors["cart"] = _("Add the group's members and their quantities in the cart.")
    if data.buyer_type == CANTEEN:
        if not data.invoice_entity.strip():
            errors["invoice_entity"] = _("Give the public body to invoice.")
        try:
            data.invoice_tax_code = identifiers.fiscal_code(data.invoice_tax_code)
        except identifiers.IdentifierError as error:
            errors["invoice_tax_code"] = str(error.message)
        sdi = data.invoice_sdi_code.strip().upper()
        if not (len(sdi) == 6 and sdi.isalnum()):
            # Public administrations receive e-invoices on a 6-character office code (IPA).
            errors["invoice_sdi_code"] = _(
                "Give the 6-character office code (codice "
                "univoco ufficio) for the electronic invoice."
            )
    if cart.problems:
        errors.setdefault("cart", " ".join(cart.problems))
    if errors:
        raise ShopError(errors)


def delivers_to(profile: ProducerProfile | None, producer: Organisation, place: Any) -> bool:
    if profile is None or profile.delivery_radius_km <= 0:
        return False
    distance = municipalities.distance_between(producer.municipality, place)
    return distance is not None and distance <= profile.delivery_radius_km


def place_order(data: CheckoutData, cart: PricedCart, now: datetime | None = None) -> Order:
    """Create the order, its sub-orders and lines, and reserve stock, in this transaction.

    Prices come from ``cart`` (the database), never from the form. Raises ShopError
    (OutOfStock when another buyer took the units): the caller must roll back.
    An order with the same idempotency key is returned as it is (a double click).
    """
    existing = find_order(data.idempotency_key)
    if existing is not None:
        return existing
    check_checkout(data, cart)
    now = now or utcnow()
    order = Order(
        reference=secrets.token_urlsafe(16)[:22],
        idempotency_key=data.idempotency_key,
        buyer_id=data.buyer.id if data.buyer is not None else None,
        buyer_type=data.buyer_type,
        name=data.name.strip()[:200],
        email=data.email.strip().lower(),
        phone=data.phone.strip()[:40],
        fulfilment=data.fulfilment,
        address=data.address.strip()[:300],
        comune_code=data.comune_code if data.fulfilment == DELIVERY else None,
        notes=data.notes.strip()[:1000],
        gas_name=data.gas_name.strip()[:200] if data.buyer_type == GAS else "",
        payment_method=data.payment_method,
        status=PENDING_PAYMENT,
        total=cart.totals.total,
        vat_total=cart.totals.vat,
        platform_fee=cart.totals.fee,
        expires_at=_expiry(data.payment_method, now),
    )
    if data.buyer_type == CANTEEN:
        order.invoice_entity = data.invoice_entity.strip()[:200]
        order.invoice_tax_code = data.invoice_tax_code
        order.invoice_sdi_code = data.invoice_sdi_code.strip().upper()[:7]
        order.invoice_pec = data.invoice_pec.strip()[:254]
        order.invoice_cig = data.invoice_cig.strip().upper()[:10]
    for group in cart.groups:
        t = group.totals
        sub = SubOrder(
            producer_id=group.producer.id,
            status=PENDING_PAYMENT,
            subtotal=t.subtotal,
            vat=t.vat,
            platform_fee=t.fee,
            payout=t.payout,
            art6_eligible=is_social_agriculture(group.producer, group.profile),
            created_at=now,
        )
        for item in group.items:
            line = OrderLine(
                product_id=item.product.id,
                variant_id=item.variant.id,
                product_name=item.product.name,
                variant_label=item.variant.label,
                unit_price=item.variant.price,
                vat_rate=item.variant.vat_rate,
                quantity=item.quantity,
                line_total=item.total,
            )
            if data.buyer_type == GAS:
                line.shares = [GasShare(member=m[:120], quantity=q) for m, q in item.shares.items()]
            sub.lines.append(line)
        order.sub_orders.append(sub)
    db.session.add(order)
    db.session.flush()
    reserve_stock(order)
    audit.record(
        "shop.order.create",
        order,
        actor=data.buyer,
        total=str(order.total),
        method=order.payment_method,
    )
    return order


def _expiry(method: str, now: datetime) -> datetime | None:
    if method == STRIPE:
        minutes = int(current_app.config.get("SHOP_STRIPE_SESSION_MINUTES", 30))
        return now + timedelta(minutes=max(30, minutes))  # Stripe's minimum is 30 minutes
    if method == BANK_TRANSFER:
        return now + timedelta(days=int(current_app.config.get("SHOP_BANK_TRANSFER_DAYS", 7)))
    return None  # pay on pickup: held until the producer cancels or hands it over


def is_social_agriculture(producer: Organisation, profile: ProducerProfile | None) -> bool:
    """L. 141/2015 art. 2: social farms, and cooperatives declaring art. 2 activities."""
    return producer.kind == "social_farm" or bool(profile and profile.art2_activities)
