"""Shop rules, free of HTTP: producers, checkout with stock reservation, order states,
Stripe webhook events, refunds with transfer reversals, producer reports.

Stock never oversells: :func:`place_order` reserves stock in the same transaction that
creates the order, with one atomic conditional UPDATE per stocked variant
(``stock = stock - q WHERE id = :id AND stock >= q``); a rowcount of 0 means another
buyer took the units first and the whole order is refused (the caller rolls back).
A line remembers whether it holds stock (``stock_reserved``), and :func:`release_line`
flips that flag with another conditional UPDATE before giving the units back, so stock is
released at most once whatever races between expiry, cancellation and webhooks.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import (
    Select,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import selectinload

from ethical_products import payments, pricing
from ethical_products.models import (
    BANK_TRANSFER,
    BUYER_TYPES,
    CANCELLED,
    CANTEEN,
    COLLECTED,
    DELIVERED,
    DELIVERY,
    FULFILMENT,
    GAS,
    OFFLINE_METHODS,
    PAID,
    PAY_ON_PICKUP,
    PAYMENT_METHODS,
    PENDING_PAYMENT,
    PERSON,
    PICKUP,
    PRODUCER_KINDS,
    READY,
    REFUNDED,
    SOLD_STATES,
    STRIPE,
    GasShare,
    Order,
    OrderLine,
    ProducerProfile,
    Product,
    Refund,
    StripeEvent,
    SubOrder,
    Variant,
)
from portal import audit, db, identifiers, mail, municipalities
from portal.db import utcnow
from portal.models import COOPERATIVE, SOCIAL_FARM, Membership, Organisation, User

#: Roles that run a shop.
PRODUCER_ROLES = (COOPERATIVE, SOCIAL_FARM)
MAX_QUANTITY = 999
MAX_LINES = 50
MAX_MEMBERS = 40


class ShopError(ValueError):
    """A rule was broken; ``fields`` maps form fields to messages."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


class OutOfStock(ShopError):
    pass


# --- Configuration -----------------------------------------------------------------------


def fee_percent() -> Decimal:
    """The platform fee in percent of each producer's subtotal (SHOP_PLATFORM_FEE_PERCENT)."""
    try:
        value = Decimal(str(current_app.config.get("SHOP_PLATFORM_FEE_PERCENT", "0")))
    except InvalidOperation:
        return Decimal(0)
    return value if Decimal(0) <= value < Decimal(100) else Decimal(0)


# --- Producers --------------------------------------------------------------------------


def producer_organisations(user: Any) -> list[Organisation]:
    if user is None or not user.is_authenticated:
        return []
    return [o for o in user.organisations(*PRODUCER_ROLES) if o.kind in PRODUCER_KINDS]


def profile_for(org: Organisation) -> ProducerProfile:
    profile = db.session.get(ProducerProfile, org.id)
    if profile is None:
        profile = ProducerProfile(organisation_id=org.id, organisation=org, art2_activities=[])
        db.session.add(profile)
    return profile


def reindex_producer_products(producer_id: int) -> None:
    """Queue the producer's products for the search index (their documents carry the shop's
    state): one INSERT … SELECT into the search outbox, in this transaction."""
    from portal.search import outbox
    from portal.search.models import SearchOutbox

    db.session.execute(
        insert(SearchOutbox).from_select(
            ["doc_type", "doc_id", "created_at"],
            select(
                literal("product"),
                cast(Product.id, String(40)),
                literal(utcnow(), SearchOutbox.created_at.type),
            ).where(Product.producer_id == producer_id),
        )
    )
    db.session.info[outbox.DIRTY] = True


def visible_producer_ids() -> Select[Any]:
    """Ids of the producers whose products anyone may see: verified, with an active shop."""
    return (
        select(Organisation.id)
        .join(ProducerProfile, ProducerProfile.organisation_id == Organisation.id)
        .where(
            Organisation.verified_at.is_not(None),
            Organisation.kind.in_(PRODUCER_KINDS),
            ProducerProfile.active.is_(True),
        )
    )


def visible_products() -> Select[Any]:
    """Products anyone may see: active, of a verified producer with an active shop.

    The producers are a subquery rather than a join: a dozen producers hold thousands of
    products each, and with a join SQLite starts from the producers and sorts every
    product; this way it reads the products in the listing's order from their index.
    """
    return select(Product).where(
        Product.active.is_(True), Product.producer_id.in_(visible_producer_ids())
    )


@dataclass
class CatalogueFilters:
    q: str = ""
    category: str | None = None
    comune: str | None = None
    radius_km: float | None = None
    activities: list[str] = field(default_factory=list)
    organic: bool = False
    producer_id: int | None = None
    in_season: bool = False


#: The catalogue shows at most this many full-text matches, best first.
MAX_SEARCH_HITS = 1000


def search_ids(q: str) -> list[int]:
    """Product ids matching ``q`` in the search index, best first."""
    from portal import search

    hits = search.query(q, doc_types=["product"], per_page=MAX_SEARCH_HITS).hits
    return [int(h.doc_id) for h in hits]


def catalogue(
    filters: CatalogueFilters, today: date | None = None, ranked: list[int] | None = None
) -> Select[Any]:
    """The public listing, filtered; full-text matches (``ranked``, from the search index,
    looked up here when not given) come best first."""
    stmt = visible_products()
    if filters.category:
        stmt = stmt.where(Product.category == filters.category)
    if filters.producer_id:
        stmt = stmt.where(Product.producer_id == filters.producer_id)
    if filters.organic:
        stmt = stmt.where(Product.organic.is_(True))
    if filters.comune:
        origin = municipalities.get(filters.comune)
        if origin is not None and filters.radius_km:
            stmt = stmt.where(
                Product.comune_code.in_(municipalities.within_radius(origin, filters.radius_km))
            )
        else:
            stmt = stmt.where(Product.comune_code == filters.comune)
    for code in filters.activities:
        # JSON list of codes: a LIKE on its text works on SQLite and PostgreSQL alike.
        stmt = stmt.where(
            Product.producer_id.in_(
                select(ProducerProfile.organisation_id).where(
                    cast(ProducerProfile.art2_activities, Text).like(f'%"{code}"%')
                )
            )
        )
    if filters.in_season:
        month = (today or utcnow().date()).month
        stmt = stmt.where(
            or_(
                Product.season_from.is_(None),
                Product.season_to.is_(None),
                and_(
                    Product.season_from <= Product.season_to,
                    Product.season_from <= month,
                    Product.season_to >= month,
                ),
                and_(
                    Product.season_from > Product.season_to,
                    or_(Product.season_from <= month, Product.season_to >= month),
                ),
            )
        )
    if filters.q:
        if ranked is None:
            ranked = search_ids(filters.q)
        stmt = stmt.where(Product.id.in_(ranked))
        if ranked:
            order = case({pid: i for i, pid in enumerate(ranked)}, value=Product.id)
            return stmt.order_by(order, Product.id)
    return stmt.order_by(Product.name, Product.id)


def facet_counts(stmt: Select[Any], column: Any) -> dict[Any, int]:
    """Counts of ``column``'s values over the products ``stmt`` selects (a plain select of
    products, as ``catalogue`` builds it)."""
    rows = db.session.execute(
        stmt.order_by(None).with_only_columns(column, func.count()).group_by(column)
    ).all()
    return {value: count for value, count in rows}


# --- Cart pricing -------------------------------------------------------------------------


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


# --- Checkout ---------------------------------------------------------------------------


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


def find_order(idempotency_key: str) -> Order | None:
    return db.session.execute(
        select(Order).where(Order.idempotency_key == idempotency_key)
    ).scalar_one_or_none()


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


def reserve_stock(order: Order) -> None:
    """The atomic conditional UPDATE, in ascending variant order (no lock-order deadlock)."""
    table = Variant.__table__
    for line in sorted(order.lines, key=lambda line: line.variant_id):
        result = db.session.execute(
            update(table)
            .where(
                table.c.id == line.variant_id,
                table.c.stock.is_not(None),
                table.c.stock >= line.quantity,
            )
            .values(stock=table.c.stock - line.quantity)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            line.stock_reserved = True
            continue
        stocked = db.session.execute(
            select(table.c.stock).where(table.c.id == line.variant_id)
        ).scalar_one_or_none()
        if stocked is not None:
            raise OutOfStock(
                {
                    "cart": _(
                        "Sorry: %(name)s has just sold out or has fewer units than you asked for "
                        "(%(n)s left).",
                        name=line.product_name,
                        n=stocked,
                    )
                }
            )
    db.session.flush()
    _expire_variants(order)


def set_stock(variant: Variant, units: int | None, expected: int | None) -> bool:
    """A producer's "set the stock to N", valid only while the stock is still what the
    producer saw (``expected``): a sale or another edit in between refuses it, so units sold
    meanwhile are never put back on sale. One conditional UPDATE, like the reservation."""
    table = Variant.__table__
    result = db.session.execute(
        update(table)
        .where(table.c.id == variant.id, table.c.stock.is_not_distinct_from(expected))
        .values(stock=units)
    )
    db.session.expire(variant, ["stock"])
    return result.rowcount == 1  # type: ignore[attr-defined]


def _expire_variants(order: Order) -> None:
    """The UPDATEs bypassed the identity map: reload stock when next read."""
    ids = {line.variant_id for line in order.lines}
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Variant) and obj.id in ids:
            db.session.expire(obj, ["stock"])


def release_line(line: OrderLine) -> bool:
    """Give a line's units back, at most once (conditional UPDATE on the flag)."""
    lines = OrderLine.__table__
    flipped = db.session.execute(
        update(lines)
        .where(lines.c.id == line.id, lines.c.stock_reserved.is_(True))
        .values(stock_reserved=False)
    ).rowcount  # type: ignore[attr-defined]
    if flipped != 1:
        return False
    variants = Variant.__table__
    db.session.execute(
        update(variants)
        .where(variants.c.id == line.variant_id, variants.c.stock.is_not(None))
        .values(stock=variants.c.stock + line.quantity)
    )
    db.session.expire(line, ["stock_reserved"])
    return True


def release_sub_order(sub: SubOrder) -> None:
    for line in sub.lines:
        release_line(line)
    _expire_variants(sub.order)


def rereserve(order: Order) -> bool:
    """After a late payment of a cancelled order: take the units again, all or none."""
    try:
        with db.session.begin_nested():
            reserve_stock(order)
    except OutOfStock:
        return False
    return True


# --- Order states ------------------------------------------------------------------------


def refresh_order_status(order: Order) -> None:
    states = {sub.status for sub in order.sub_orders}
    if states <= {CANCELLED}:
        order.status = CANCELLED
        order.cancelled_at = order.cancelled_at or utcnow()
    elif states <= {CANCELLED, REFUNDED}:
        order.status = REFUNDED
    elif any(s.paid_at is not None for s in order.sub_orders if s.status in SOLD_STATES):
        # Paid once money has arrived for some part (pay on pickup: at the handover).
        order.status = PAID
    order.refunded_amount = sum((s.refunded_amount for s in order.sub_orders), pricing.ZERO)


def lock_order(order_id: int) -> Order | None:
    """The order, with its row locked until commit (PostgreSQL; SQLite's write lock is
    taken by BEGIN IMMEDIATE already)."""
    return db.session.execute(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def cancel_order(order: Order, actor: User | None = None, reason: str = "") -> bool:
    """Cancel an unpaid order and release its stock; False if it is not pending."""
    if order.status != PENDING_PAYMENT:
        return False
    if order.payment_method == STRIPE and order.stripe_session_id and payments.configured():
        try:
            if payments.expire_session(order.stripe_session_id) == "complete":
                return False  # paid meanwhile: the webhook will say so
        except payments.PaymentError:
            current_app.logger.warning("shop: could not expire session of %s", order.reference)
    now = utcnow()
    for sub in order.sub_orders:
        if sub.status == PENDING_PAYMENT:
            release_sub_order(sub)
            sub.status = CANCELLED
            sub.cancelled_at = now
    refresh_order_status(order)
    order.cancelled_at = now
    audit.record("shop.order.cancel", order, actor=actor, reason=reason)
    _mail_buyer(
        order,
        _("Your order %(ref)s is cancelled", ref=short_ref(order)),
        _("Your order has been cancelled and nothing will be charged.") + "\n" + (reason or ""),
    )
    return True


def expire_due(now: datetime | None = None) -> int:
    """Cancel pending orders past their expiry (stock goes back on sale)."""
    now = now or utcnow()
    due = (
        db.session.execute(
            select(Order.id).where(Order.status == PENDING_PAYMENT, Order.expires_at < now)
        )
        .scalars()
        .all()
    )
    done = 0
    for order_id in due:
        order = lock_order(order_id)
        if order is not None and cancel_order(
            order, reason=_("The payment did not arrive in time.")
        ):
            done += 1
    return done


# Producer actions on their own sub-order: name → (allowed from, to, needs…)
PRODUCER_ACTIONS = ("confirm_payment", "ready", "complete", "cancel", "refund")


def producer_action(sub: SubOrder, action: str, actor: User, reason: str = "") -> None:
    """What a producer does with its part of an order."""
    order = sub.order
    now = utcnow()
    offline = order.payment_method in OFFLINE_METHODS
    if action == "confirm_payment":
        if not (offline and sub.status == PENDING_PAYMENT):
            raise ShopError({"status": _("Only an unpaid offline order can be marked paid.")})
        sub.status, sub.paid_at = PAID, now
        _mail_buyer(
            order,
            _("Payment received for order %(ref)s", ref=short_ref(order)),
            _("%(producer)s has received your payment.", producer=sub.producer.name),
        )
    elif action == "ready":
        allowed = sub.status == PAID or (
            sub.status == PENDING_PAYMENT and order.payment_method == PAY_ON_PICKUP
        )
        if not allowed:
            raise ShopError({"status": _("This order cannot be marked ready now.")})
        sub.status, sub.ready_at = READY, now
        what = _("ready for pickup") if order.fulfilment == PICKUP else _("on its way")
        _mail_buyer(
            order,
            _(
                "Order %(ref)s: %(producer)s is %(what)s",
                ref=short_ref(order),
                producer=sub.producer.name,
                what=what,
            ),
            _(
                "Your products from %(producer)s are %(what)s.",
                producer=sub.producer.name,
                what=what,
            ),
        )
    elif action == "complete":
        if sub.status != READY:
            raise ShopError({"status": _("Mark the order ready first.")})
        sub.status = COLLECTED if order.fulfilment == PICKUP else DELIVERED
        sub.completed_at = now
        if sub.paid_at is None:  # paid on pickup
            sub.paid_at = now
    elif action == "cancel":
        if sub.status == PENDING_PAYMENT or (
            offline and sub.status in (PAID, READY) and sub.paid_at is None
        ):
            release_sub_order(sub)
            sub.status, sub.cancelled_at = CANCELLED, now
            _mail_buyer(
                order,
                _(
                    "Order %(ref)s: %(producer)s cancelled its part",
                    ref=short_ref(order),
                    producer=sub.producer.name,
                ),
                reason or _("The producer cannot fulfil this part of your order."),
            )
        else:
            raise ShopError({"status": _("A paid order is refunded, not cancelled.")})
    elif action == "refund":
        refund(order, [sub], actor, reason)
        return
    else:
        raise ShopError({"action": _("Unknown action.")})
    refresh_order_status(order)
    audit.record(f"shop.sub_order.{action}", sub, actor=actor, reason=reason)


# --- Payments ---------------------------------------------------------------------------


def start_stripe_checkout(order: Order) -> str:
    """Create the Checkout Session (idempotent per order); answers the URL to go to."""
    if order.stripe_session_id and order.stripe_session_url:
        return order.stripe_session_url
    success = url_for(
        "ethical_products.order_detail", reference=order.reference, returned="1", _external=True
    )
    cancel = url_for("ethical_products.order_detail", reference=order.reference, _external=True)
    session_id, session_url = payments.create_checkout_session(
        order, success, cancel, order.expires_at or utcnow() + timedelta(minutes=30)
    )
    order.stripe_session_id, order.stripe_session_url = session_id, session_url
    return session_url


def payment_succeeded(order: Order, payment_intent: str | None, session_id: str | None) -> str:
    """Stripe says the order is paid. Works whatever came before (expiry, refund)."""
    if session_id and not order.stripe_session_id:
        order.stripe_session_id = session_id
    if payment_intent:
        order.stripe_payment_intent = payment_intent
    if order.paid_at is not None:
        return "already_paid"
    now = utcnow()
    order.paid_at = now
    total_cents = pricing.to_cents(order.total)
    if order.stripe_refunded_cents >= total_cents:
        # charge.refunded came first: the money is back with the buyer already.
        for sub in order.sub_orders:
            release_sub_order(sub)
            sub.status, sub.refunded_amount = REFUNDED, sub.subtotal
        refresh_order_status(order)
        return "refunded_before_completion"
    if order.status == CANCELLED:
        # Cancelled locally (expired), then paid: take the stock again or refund at once.
        if not rereserve(order):
            for sub in order.sub_orders:
                sub.status = REFUNDED
                sub.refunded_amount = sub.subtotal
            if payment_intent and payments.configured():
                payments.refund(payment_intent, order.total, f"refund-late-{order.reference}")
            refresh_order_status(order)
            _mail_buyer(
                order,
                _("Order %(ref)s refunded", ref=short_ref(order)),
                _(
                    "Your payment arrived after the order expired and the products "
                    "sold out meanwhile: it has been refunded in full."
                ),
            )
            return "late_payment_refunded"
        order.cancelled_at = None
    for sub in order.sub_orders:
        if sub.status in (PENDING_PAYMENT, CANCELLED):
            sub.status, sub.paid_at, sub.cancelled_at = PAID, now, None
    refresh_order_status(order)
    audit.record("shop.order.paid", order, method=order.payment_method)
    _mail_buyer(
        order,
        _("Payment received for order %(ref)s", ref=short_ref(order)),
        _(
            "Thank you: your payment of %(amount)s EUR has been received. The "
            "producers will tell you when your products are ready.",
            amount=f"{order.total:.2f}",
        ),
    )
    for sub in order.sub_orders:
        _notify_producer(sub, _("Order %(ref)s has been paid: prepare it.", ref=short_ref(order)))
    pay_out(order)
    return "paid"


def pay_out(order: Order) -> int:
    """Transfer each producer's payout (separate charges and transfers); failures stay
    pending for ``flask shop transfers`` and are visible in the reports."""
    if order.payment_method != STRIPE or not payments.configured():
        return 0
    if not order.stripe_charge_id and order.stripe_payment_intent:
        try:
            order.stripe_charge_id = payments.charge_of(order.stripe_payment_intent)
        except payments.PaymentError:
            current_app.logger.warning("shop: no charge for %s yet", order.reference)
    done = 0
    for sub in order.sub_orders:
        if sub.status not in SOLD_STATES or sub.transfer_id or sub.payout <= 0:
            continue
        profile = db.session.get(ProducerProfile, sub.producer_id)
        if profile is None or not profile.stripe_account_id:
            current_app.logger.warning("shop: producer %s has no Stripe account", sub.producer_id)
            continue
        try:
            sub.transfer_id = payments.create_transfer(
                sub, profile.stripe_account_id, order.stripe_charge_id
            )
        except payments.PaymentError:
            current_app.logger.warning("shop: transfer for sub-order %s failed", sub.id)
            continue
        sub.transferred_amount = sub.payout
        done += 1
    return done


def pending_transfers() -> int:
    """Retry transfers that failed (CLI)."""
    ids = (
        db.session.execute(
            select(SubOrder.order_id)
            .join(Order)
            .where(
                Order.payment_method == STRIPE,
                SubOrder.status.in_(SOLD_STATES),
                SubOrder.transfer_id == "",
                SubOrder.payout > 0,
            )
            .distinct()
        )
        .scalars()
        .all()
    )
    return sum(pay_out(o) for o in (lock_order(i) for i in ids) if o is not None)


def refund(order: Order, subs: list[SubOrder], actor: User | None, reason: str = "") -> Decimal:
    """Refund whole sub-orders: one Stripe refund for their sum, and for each a reversal
    of what was transferred to its producer. Offline orders record the refund (the
    producer returned the money)."""
    targets = [s for s in subs if s.status in SOLD_STATES and s.subtotal > s.refunded_amount]
    if not targets:
        raise ShopError({"status": _("Nothing to refund.")})
    amount = sum((s.subtotal - s.refunded_amount for s in targets), pricing.ZERO)
    record = Refund(
        order_id=order.id,
        amount=amount,
        reason=reason[:500],
        sub_order_id=targets[0].id if len(targets) == 1 else None,
        actor_id=actor.id if actor else None,
        reversal_ids=[],
    )
    if order.payment_method == STRIPE:
        if not (payments.configured() and order.stripe_payment_intent):
            raise ShopError({"status": _("Online payments are not available now.")})
        n = db.session.execute(
            select(func.count()).select_from(Refund).where(Refund.order_id == order.id)
        ).scalar_one()
        key = f"refund-{order.reference}-{'-'.join(str(s.id) for s in targets)}-{n}"
        try:
            record.stripe_refund_id = payments.refund(order.stripe_payment_intent, amount, key)
        except payments.PaymentError as error:
            raise ShopError(
                {"status": _("Stripe refused the refund: %(e)s", e=str(error))}
            ) from error
        for sub in targets:
            to_reverse = sub.transferred_amount - sub.reversed_amount
            if sub.transfer_id and to_reverse > 0:
                try:
                    record.reversal_ids = [
                        *record.reversal_ids,
                        payments.reverse_transfer(
                            sub.transfer_id, to_reverse, f"reversal-{sub.id}-{n}"
                        ),
                    ]
                    sub.reversed_amount += to_reverse
                except payments.PaymentError:
                    current_app.logger.warning("shop: reversal of %s failed", sub.transfer_id)
        order.stripe_refunded_cents = max(
            order.stripe_refunded_cents, pricing.to_cents(order.refunded_amount + amount)
        )
    for sub in targets:
        sub.refunded_amount = sub.subtotal
        sub.status = REFUNDED
    db.session.add(record)
    refresh_order_status(order)
    audit.record(
        "shop.order.refund",
        order,
        actor=actor,
        reason=reason,
        amount=str(amount),
        sub_orders=[s.id for s in targets],
    )
    _mail_buyer(
        order,
        _("Refund for order %(ref)s", ref=short_ref(order)),
        _("%(amount)s EUR have been refunded.", amount=f"{amount:.2f}"),
    )
    return amount


# --- Stripe events ----------------------------------------------------------------------


def _find_order(obj: dict[str, Any]) -> Order | None:
    metadata = obj.get("metadata") or {}
    reference = (
        obj.get("client_reference_id")
        or metadata.get("order_reference")
        or (obj.get("transfer_group"))
    )
    stmt = select(Order.id)
    if reference:
        stmt = stmt.where(Order.reference == str(reference))
    elif obj.get("payment_intent"):
        stmt = stmt.where(Order.stripe_payment_intent == str(obj["payment_intent"]))
    elif obj.get("object") == "checkout.session" and obj.get("id"):
        stmt = stmt.where(Order.stripe_session_id == str(obj["id"]))
    else:
        return None
    order_id = db.session.execute(stmt).scalar_one_or_none()
    return lock_order(order_id) if order_id is not None else None


def handle_event(event: dict[str, Any]) -> str:
    """Apply one verified Stripe event, once. Answers what happened (for the log).

    The event id is inserted in this transaction before anything else; a second delivery
    hits the unique constraint (or finds the row) and changes nothing.
    """
    from sqlalchemy.exc import IntegrityError

    event_id = str(event.get("id") or "")
    kind = str(event.get("type") or "")
    if not event_id:
        raise ShopError({"event": "no id"})
    if (
        db.session.execute(select(StripeEvent.id).where(StripeEvent.event_id == event_id)).first()
        is not None
    ):
        return "duplicate"
    record = StripeEvent(event_id=event_id, type=kind[:100])
    try:
        with db.session.begin_nested():
            db.session.add(record)
            db.session.flush()
    except IntegrityError:
        return "duplicate"
    obj = (event.get("data") or {}).get("object") or {}
    order = _find_order(obj) if isinstance(obj, dict) else None
    outcome = "ignored"
    if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if order is None:
            outcome = "unknown_order"
        elif obj.get("payment_status") in ("paid", "no_payment_required"):
            outcome = payment_succeeded(order, _str(obj.get("payment_intent")), _str(obj.get("id")))
        else:
            order.stripe_session_id = order.stripe_session_id or _str(obj.get("id"))
            order.stripe_payment_intent = _str(obj.get("payment_intent")) or (
                order.stripe_payment_intent
            )
            outcome = "awaiting_payment"
    elif kind in ("checkout.session.expired", "checkout.session.async_payment_failed"):
        if order is None:
            outcome = "unknown_order"
        elif order.status == PENDING_PAYMENT and order.paid_at is None:
            cancel_order_locally(order, kind)
            outcome = "cancelled"
        else:
            outcome = "ignored_state"
    elif kind == "charge.refunded":
        outcome = "unknown_order" if order is None else charge_refunded(order, obj)
    elif kind == "payment_intent.payment_failed":
        # The session stays open for another attempt; its expiry releases the stock.
        outcome = "noted" if order is not None else "unknown_order"
    record.order_id = order.id if order is not None else None
    record.outcome = outcome
    return outcome


def _str(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def cancel_order_locally(order: Order, why: str) -> None:
    """Stripe already closed the session: cancel without calling it back."""
    now = utcnow()
    for sub in order.sub_orders:
        if sub.status == PENDING_PAYMENT:
            release_sub_order(sub)
            sub.status, sub.cancelled_at = CANCELLED, now
    refresh_order_status(order)
    order.cancelled_at = now
    audit.record("shop.order.cancel", order, reason=why)


def charge_refunded(order: Order, charge: dict[str, Any]) -> str:
    """A refund seen by Stripe (ours, or made in its dashboard). Monotonic: the highest
    refunded amount wins, so an old event arriving late changes nothing."""
    refunded = charge.get("amount_refunded")
    if not isinstance(refunded, int) or refunded < 0:
        return "ignored"
    if charge.get("id") and not order.stripe_charge_id:
        order.stripe_charge_id = str(charge["id"])
    if refunded <= order.stripe_refunded_cents:
        return "already_known"
    order.stripe_refunded_cents = refunded
    if order.paid_at is None:
        return "recorded_before_payment"
    if refunded >= pricing.to_cents(order.total):
        open_subs = [s for s in order.sub_orders if s.status in SOLD_STATES]
        for sub in open_subs:
            to_reverse = sub.transferred_amount - sub.reversed_amount
            if sub.transfer_id and to_reverse > 0 and payments.configured():
                try:
                    payments.reverse_transfer(
                        sub.transfer_id, to_reverse, f"reversal-{sub.id}-dashboard"
                    )
                    sub.reversed_amount += to_reverse
                except payments.PaymentError:
                    current_app.logger.warning("shop: reversal of %s failed", sub.transfer_id)
            sub.status, sub.refunded_amount = REFUNDED, sub.subtotal
        refresh_order_status(order)
        return "refunded"
    return "partial_refund_recorded"


# --- Mail -------------------------------------------------------------------------------


def short_ref(order: Order) -> str:
    return f"#{order.id}"


def order_url(order: Order) -> str:
    if not has_request_context() and not current_app.config.get("SERVER_NAME"):
        return ""
    try:
        return url_for("ethical_products.order_detail", reference=order.reference, _external=True)
    except RuntimeError:
        return ""


def _mail_buyer(order: Order, subject: str, body: str) -> None:
    link = order_url(order)
    mail.send(order.email, subject, body + ("\n\n" + link if link else ""))


def _notify_producer(sub: SubOrder, message: str) -> None:
    """In-app and e-mail to the producer's people (or its address if it has none)."""
    from portal.notifications import notify

    users = (
        db.session.execute(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.organisation_id == sub.producer_id,
                Membership.role.in_(PRODUCER_ROLES),
                User.active.is_(True),
            )
        )
        .scalars()
        .all()
    )
    link = ""
    with contextlib.suppress(RuntimeError):
        link = url_for("ethical_products.producer_order", sub_id=sub.id)
    for user in users:
        notify(user, message, link)
    if not users and sub.producer.email:
        mail.send(sub.producer.email, message, message)


def announce_order(order: Order) -> None:
    """After checkout: the buyer's summary, and each producer's lines."""
    lines = "\n".join(
        f"- {line.product_name} ({line.variant_label}) × {line.quantity}: {line.line_total:.2f} EUR"
        for line in order.lines
    )
    how = str(PAYMENT_METHODS.get(order.payment_method, order.payment_method))
    body = _("Thank you for your order %(ref)s.", ref=short_ref(order)) + "\n\n" + lines + "\n"
    body += (
        _(
            "Total: %(total)s EUR (VAT included: %(vat)s EUR)",
            total=f"{order.total:.2f}",
            vat=f"{order.vat_total:.2f}",
        )
        + "\n"
    )
    body += _("Payment: %(method)s", method=how) + "\n"
    if order.payment_method == BANK_TRANSFER:
        for sub in order.sub_orders:
            profile = db.session.get(ProducerProfile, sub.producer_id)
            body += (
                _(
                    "Transfer %(amount)s EUR to %(producer)s, IBAN %(iban)s, reference %(ref)s",
                    amount=f"{sub.subtotal:.2f}",
                    producer=sub.producer.name,
                    iban=identifiers.format_iban(profile.iban) if profile else "",
                    ref=short_ref(order),
                )
                + "\n"
            )
    _mail_buyer(order, _("Your order %(ref)s on Ponte", ref=short_ref(order)), body)
    if order.payment_method != STRIPE:
        for sub in order.sub_orders:
            _notify_producer(
                sub,
                _(
                    "New order %(ref)s: %(n)s lines, %(amount)s EUR (%(method)s)",
                    ref=short_ref(order),
                    n=len(sub.lines),
                    amount=f"{sub.subtotal:.2f}",
                    method=how,
                ),
            )


# --- Reports ----------------------------------------------------------------------------


def _dec(value: Any) -> Decimal:
    """Sums come back as floats on SQLite: back to cents (ROUND_HALF_UP)."""
    return pricing.money(Decimal(str(value or 0)))


@dataclass
class SalesRow:
    product_id: int
    product_name: str
    variant_label: str
    vat_rate: Decimal
    quantity: int
    gross: Decimal

    @property
    def vat(self) -> Decimal:
        return pricing.vat_included(self.gross, self.vat_rate)

    @property
    def net(self) -> Decimal:
        return self.gross - self.vat


def sales_by_product(producer_id: int, start: date, end: date) -> list[SalesRow]:
    """Sold lines (paid, ready, delivered or collected) with payment dates in [start, end]."""
    begin = datetime.combine(start, datetime.min.time())
    until = datetime.combine(end + timedelta(days=1), datetime.min.time())
    rows = db.session.execute(
        select(
            OrderLine.product_id,
            OrderLine.product_name,
            OrderLine.variant_label,
            OrderLine.vat_rate,
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.line_total),
        )
        .join(SubOrder, OrderLine.sub_order_id == SubOrder.id)
        .where(
            SubOrder.producer_id == producer_id,
            SubOrder.status.in_(SOLD_STATES),
            SubOrder.paid_at >= _aware(begin),
            SubOrder.paid_at < _aware(until),
        )
        .group_by(
            OrderLine.product_id,
            OrderLine.product_name,
            OrderLine.variant_label,
            OrderLine.vat_rate,
        )
        .order_by(OrderLine.product_name, OrderLine.variant_label)
    ).all()
    return [
        SalesRow(pid, name, label, Decimal(str(rate)), int(qty), _dec(gross))
        for pid, name, label, rate, qty, gross in rows
    ]


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC)


@dataclass
class Balance:
    """What the platform collected online for a producer and what it still owes."""

    producer_id: int
    online_sales: Decimal = pricing.ZERO
    fees: Decimal = pricing.ZERO
    due: Decimal = pricing.ZERO
    transferred: Decimal = pricing.ZERO
    offline_sales: Decimal = pricing.ZERO

    @property
    def owed(self) -> Decimal:
        return self.due - self.transferred


def balances(producer_id: int | None = None) -> list[Balance]:
    """Per producer: online sales (Stripe) minus fees = due; minus net transfers = owed.
    Refunded sub-orders count neither as due nor, after reversal, as transferred."""
    sold = SubOrder.status.in_(SOLD_STATES)
    online = Order.payment_method == STRIPE
    stmt = (
        select(
            SubOrder.producer_id,
            func.sum(case((and_(sold, online), SubOrder.subtotal), else_=0)),
            func.sum(case((and_(sold, online), SubOrder.platform_fee), else_=0)),
            func.sum(case((and_(sold, online), SubOrder.payout), else_=0)),
            func.sum(
                case((online, SubOrder.transferred_amount - SubOrder.reversed_amount), else_=0)
            ),
            func.sum(case((and_(sold, ~online), SubOrder.subtotal), else_=0)),
        )
        .join(Order, SubOrder.order_id == Order.id)
        .group_by(SubOrder.producer_id)
    )
    if producer_id is not None:
        stmt = stmt.where(SubOrder.producer_id == producer_id)
    return [
        Balance(pid, _dec(a), _dec(b), _dec(c), _dec(d), _dec(e))
        for pid, a, b, c, d, e in db.session.execute(stmt).all()
    ]


# --- Guest orders claimed by their buyer's account --------------------------------------------

#: How long the link that proves the e-mail address stays valid.
CLAIM_LINK_HOURS = 24


def guest_orders_for(email: str) -> Select[Any]:
    """Orders placed without an account with ``email`` (case does not matter)."""
    return select(Order).where(
        Order.buyer_id.is_(None), func.lower(Order.email) == email.strip().lower()
    )


def claim_guest_orders(user: User) -> int:
    """Attach to ``user`` the guest orders placed with the account's e-mail; the caller has
    just proved the address (a link sent to it). Returns how many."""
    orders = db.session.execute(guest_orders_for(user.email)).scalars().all()
    for order in orders:
        order.buyer_id = user.id
    if orders:
        audit.record("shop.orders_claimed", user, actor=user, reason=f"{len(orders)} orders")
    db.session.commit()
    return len(orders)
