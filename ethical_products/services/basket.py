"""The priced cart: the session's wanted quantities read against today's prices and
stock, grouped by producer with each producer's subtotal and fee, and the payment
methods every producer in the cart accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import (
    select,
)
from sqlalchemy.orm import selectinload

from ethical_products import payments, pricing
from ethical_products.models import (
    OFFLINE_METHODS,
    STRIPE,
    ProducerProfile,
    Product,
    Variant,
)
from ethical_products.services.policy import MAX_LINES, fee_percent
from portal import db
from portal.models import Organisation


@dataclass
class CartItem:
    variant: Variant
    quantity: int
    #: GAS: member → quantity (the line's quantity is their sum); empty for one buyer.
    shares: dict[str, int] = field(default_factory=dict)

    @property
    def product(self) -> Product:
        return self.variant.product

    @property
    def total(self) -> Decimal:
        return self.variant.price * self.quantity

    @property
    def vat(self) -> Decimal:
        return pricing.vat_included(self.total, self.variant.vat_rate)


@dataclass
class ProducerGroup:
    producer: Organisation
    profile: ProducerProfile | None
    items: list[CartItem]
    totals: pricing.ProducerTotals


@dataclass
class PricedCart:
    items: list[CartItem]
    groups: list[ProducerGroup]
    totals: pricing.Totals
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.items

    def fingerprint(self) -> str:
        """What the buyer saw: variants, quantities and prices (checkout compares it)."""
        import hashlib

        text = "|".join(
            f"{i.variant.id}:{i.quantity}:{i.variant.price}"
            for i in sorted(self.items, key=lambda i: i.variant.id)
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def price_cart(wanted: dict[int, dict[str, int]]) -> PricedCart:
    """Price ``{variant_id: {member: quantity}}`` from the database (one query); variants
    that are gone, hidden or out of stock are dropped or capped with a message."""
    problems: list[str] = []
    ids = [vid for vid in wanted if isinstance(vid, int)][:MAX_LINES]
    variants = (
        {
            v.id: v
            for v in db.session.execute(
                select(Variant).where(Variant.id.in_(ids)).options(selectinload(Variant.product))
            ).scalars()
        }
        if ids
        else {}
    )
    items: list[CartItem] = []
    for vid in ids:
        variant = variants.get(vid)
        if variant is None or not variant.active or not variant.product.is_public():
            problems.append(_("A product in your cart is no longer on sale and was removed."))
            continue
        shares = {m: q for m, q in wanted[vid].items() if isinstance(q, int) and q > 0}
        quantity = sum(shares.values())
        if quantity <= 0:
            continue
        if variant.stock is not None and quantity > variant.stock:
            problems.append(
                _("Only %(n)s left of %(name)s.", n=variant.stock, name=variant.product.name)
            )
        items.append(CartItem(variant, quantity, {m: q for m, q in shares.items() if m}))
    lines = [
        pricing.Line(
            i.variant.id, i.product.producer_id, i.variant.price, i.variant.vat_rate, i.quantity
        )
        for i in items
    ]
    totals = pricing.totals(lines, fee_percent())
    by_producer: dict[int, list[CartItem]] = {}
    for item in items:
        by_producer.setdefault(item.product.producer_id, []).append(item)
    groups = []
    for producer_totals in totals.producers:
        group_items = by_producer[producer_totals.producer_id]
        product = group_items[0].product
        groups.append(
            ProducerGroup(product.producer, product.profile, group_items, producer_totals)
        )
    return PricedCart(items, groups, totals, problems)


def payment_methods(cart: PricedCart) -> list[str]:
    """Methods the whole cart can be paid with: Stripe when configured and every producer
    is connected, plus each offline method that every producer accepts."""
    if cart.empty:
        return []
    profiles = [g.profile for g in cart.groups]
    methods = []
    if payments.configured() and all(p is not None and p.stripe_ready for p in profiles):
        methods.append(STRIPE)
    for method in OFFLINE_METHODS:
        if all(p is not None and method in p.offline_methods() for p in profiles):
            methods.append(method)
    return methods
