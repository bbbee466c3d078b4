"""Ethical products: producers' shops, products and variants, orders split per producer,
Stripe events and refunds.

Money is ``Decimal`` in ``Numeric(12, 2)`` columns (euros, VAT included); VAT rates are
``Numeric(5, 2)`` percentages. Arithmetic lives in :mod:`ethical_products.pricing`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import identifiers
from portal.concurrency import Versioned
from portal.db import Base, TimestampMixin, touches_parent, utcnow
from portal.models import COOPERATIVE_B, SOCIAL_FARM_KIND, Municipality, Organisation, User

Money = Numeric(12, 2)
Rate = Numeric(5, 2)

#: Organisation kinds that may sell in the ethical catalogue.
PRODUCER_KINDS = (COOPERATIVE_B, SOCIAL_FARM_KIND)

CATEGORIES = {
    "vegetables": _l("Vegetables"),
    "fruit": _l("Fruit"),
    "preserves": _l("Preserves and sauces"),
    "honey": _l("Honey"),
    "oil": _l("Olive oil"),
    "wine": _l("Wine and drinks"),
    "dairy": _l("Cheese and dairy"),
    "bakery": _l("Bread, pasta and bakery"),
    "legumes": _l("Legumes and cereals"),
    "eggs_meat": _l("Eggs and meat"),
    "plants": _l("Plants and flowers"),
    "crafts": _l("Crafts"),
}

#: L. 141/2015 art. 2 c.1: the activities of social agriculture.
ART2_ACTIVITIES = {
    "a": _l(
        "work inclusion of workers with disabilities, disadvantaged workers, "
        "migrants and refugees, and minors in rehabilitation"
    ),
    "b": _l("social services for local communities"),
    "c": _l("support to medical and rehabilitation therapies"),
    "d": _l("environmental and food education, social and educational farms"),
}

UNITS = {
    "piece": _l("piece"),
    "kg": _l("kg"),
    "g": _l("g"),
    "l": _l("litre"),
    "ml": _l("ml"),
    "box": _l("box"),
    "jar": _l("jar"),
    "bottle": _l("bottle"),
    "bunch": _l("bunch"),
}

#: Italian VAT rates that apply to food and farm products (DPR 633/1972, Table A).
VAT_RATES = (Decimal("4.00"), Decimal("5.00"), Decimal("10.00"), Decimal("22.00"))

# Payment methods.
STRIPE = "stripe"
BANK_TRANSFER = "bank_transfer"
PAY_ON_PICKUP = "pay_on_pickup"
OFFLINE_METHODS = (BANK_TRANSFER, PAY_ON_PICKUP)
PAYMENT_METHODS = {
    STRIPE: _l("Card or other online payment (Stripe)"),
    BANK_TRANSFER: _l("Bank transfer to the producer"),
    PAY_ON_PICKUP: _l("Pay on pickup"),
}

# Buyer types.
PERSON, GAS, CANTEEN = "person", "gas", "canteen"
BUYER_TYPES = {
    PERSON: _l("Private person"),
    GAS: _l("Solidarity purchasing group (GAS)"),
    CANTEEN: _l("Public canteen"),
}

# Fulfilment.
PICKUP, DELIVERY = "pickup", "delivery"
FULFILMENT = {PICKUP: _l("Pickup at the producer's point"), DELIVERY: _l("Delivery")}

# Order and sub-order states.
PENDING_PAYMENT = "pending_payment"
PAID = "paid"
READY = "ready"
DELIVERED = "delivered"
COLLECTED = "collected"
CANCELLED = "cancelled"
REFUNDED = "refunded"
STATUS_LABELS = {
    PENDING_PAYMENT: _l("Pending payment"),
    PAID: _l("Paid"),
    READY: _l("Ready"),
    DELIVERED: _l("Delivered"),
    COLLECTED: _l("Picked up"),
    CANCELLED: _l("Cancelled"),
    REFUNDED: _l("Refunded"),
}
#: Sub-order states that count as a sale.
SOLD_STATES = (PAID, READY, DELIVERED, COLLECTED)


class ProducerProfile(Versioned, TimestampMixin, Base):
    """A producer's shop: story, pickup, delivery, payment methods and the declared facts
    of the ethical label (one per organisation)."""

    __tablename__ = "ep_producer"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    story: Mapped[str] = mapped_column(Text, default="")
    story_en: Mapped[str] = mapped_column(Text, default="")
    #: One pickup point per line ("Cascina, via dei Campi 3 – Sat 9-12").
    pickup_points: Mapped[str] = mapped_column(Text, default="")
    delivery_radius_km: Mapped[int] = mapped_column(default=0)
    delivery_notes: Mapped[str] = mapped_column(String(500), default="")
    accepts_bank_transfer: Mapped[bool] = mapped_column(default=True)
    iban: Mapped[str] = mapped_column(String(34), default="")
    accepts_pay_on_pickup: Mapped[bool] = mapped_column(default=True)
    stripe_account_id: Mapped[str] = mapped_column(String(64), default="")
    stripe_charges_enabled: Mapped[bool] = mapped_column(default=False)
    # --- Declared facts of the ethical label (L. 141/2015 art. 2) ---
    #: Codes of ART2_ACTIVITIES the producer carries out.
    art2_activities: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Share (percent) of work hours done by people in inclusion pathways, as declared.
    inclusion_hours_share: Mapped[Decimal | None] = mapped_column(Rate)
    inclusion_declared_on: Mapped[date | None] = mapped_column(Date)

    organisation: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def pickup_list(self) -> list[str]:
        return [line.strip() for line in self.pickup_points.splitlines() if line.strip()]

    def offline_methods(self) -> list[str]:
        methods = []
        if self.accepts_bank_transfer and self.iban.strip():
            methods.append(BANK_TRANSFER)
        if self.accepts_pay_on_pickup and self.pickup_list:
            methods.append(PAY_ON_PICKUP)
        return methods

    @property
    def stripe_ready(self) -> bool:
        return bool(self.stripe_account_id and self.stripe_charges_enabled)


class Product(Versioned, TimestampMixin, Base):
    __tablename__ = "ep_product"
    __search_type__ = "product"
    __table_args__ = (
        # A producer's shop in the catalogue's order (and the producer facet's counts).
        Index("ix_ep_product_producer_listing", "producer_id", "active", "name", "id"),
        # The facets count by category and producer from the index alone, also with the
        # organic and season filters.
        Index(
            "ix_ep_product_active_category",
            "active",
            "category",
            "producer_id",
            "organic",
            "season_from",
            "season_to",
        ),
        # The catalogue's order: by name, read from the index, no sort.
        Index("ix_ep_product_listing", "active", "name", "id"),
        # A category's listing in the same order (with the producer last, counts by
        # category and producer may read it alone too).
        Index("ix_ep_product_category_listing", "active", "category", "name", "id", "producer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(20))
    #: Origin municipality (ISTAT), for the label and the territory filter.
    comune_code: Mapped[str] = mapped_column(ForeignKey("municipality.istat_code"), index=True)
    #: Season: months 1–12 (from > to wraps around the new year); None = all year.
    season_from: Mapped[int | None]
    season_to: Mapped[int | None]
    #: Organic certification (Reg. EU 2018/848): control body code and certificate number.
    organic_body: Mapped[str] = mapped_column(String(40), default="")
    organic_number: Mapped[str] = mapped_column(String(60), default="")
    #: Denormalised for the facet filter (both organic fields given).
    organic: Mapped[bool] = mapped_column(default=False, index=True)
    active: Mapped[bool] = mapped_column(default=True)

    producer: Mapped[Organisation] = relationship(lazy="joined")
    profile: Mapped[ProducerProfile | None] = relationship(
        primaryjoin="Product.producer_id == foreign(ProducerProfile.organisation_id)",
        viewonly=True,
        lazy="joined",
    )
    municipality: Mapped[Municipality] = relationship(lazy="joined")
    variants: Mapped[list[Variant]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="Variant.id",
    )
    photos: Mapped[list[Photo]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="Photo.position",
    )

    @property
    def category_label(self) -> str:
        return str(CATEGORIES.get(self.category, self.category))

    def display_name(self, lang: str = "it") -> str:
        return (lang == "en" and self.name_en) or self.name

    def display_description(self, lang: str = "it") -> str:
        return (lang == "en" and self.description_en) or self.description

    @property
    def active_variants(self) -> list[Variant]:
        return [v for v in self.variants if v.active]

    @property
    def min_price(self) -> Decimal | None:
        prices = [v.price for v in self.active_variants]
        return min(prices) if prices else None

    def in_season(self, month: int) -> bool:
        if self.season_from is None or self.season_to is None:
            return True
        if self.season_from <= self.season_to:
            return self.season_from <= month <= self.season_to
        return month >= self.season_from or month <= self.season_to

    def is_public(self) -> bool:
        profile = self.profile
        return bool(
            self.active
            and self.producer.verified_at is not None
            and self.producer.kind in PRODUCER_KINDS
            and profile is not None
            and profile.active
        )

    def search_document(self) -> dict[str, Any] | None:
        if not self.is_public():
            return None
        place = self.municipality
        profile = self.profile
        tags = [f"art2-{code}" for code in (profile.art2_activities if profile else [])]
        tags.append(f"producer-{self.producer_id}")
        if self.organic:
            tags.append("organic")
        return {
            "title": self.name,
            "body": [
                self.description,
                self.category_label,
                self.producer.name,
                place.name if place else "",
            ],
            "title_en": self.name_en,
            "body_en": self.description_en,
            "kind": self.category,
            "comune": self.comune_code,
            "province": place.province_code if place else "",
            "region": place.region if place else "",
            "tags": tags,
            "published": self.created_at,
            "url_endpoint": ("ethical_products.product_detail", {"product_id": self.id}),
        }


# The ethical label of every product shows its producer's declaration: a changed
# declaration is a change of each of those products for ``updated_since`` harvesting.
touches_parent(Product, "organisation_id", parent_key="producer_id")(ProducerProfile)


@touches_parent(Product, "product_id")  # its changes show in Product.updated_at
class Variant(Versioned, Base):
    """What is sold: a unit, weight and a price in euros including VAT."""

    __tablename__ = "ep_variant"
    __table_args__ = (
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        CheckConstraint("price > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("ep_product.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(10), default="piece")
    weight_grams: Mapped[int | None]
    price: Mapped[Decimal] = mapped_column(Money)
    vat_rate: Mapped[Decimal] = mapped_column(Rate, default=Decimal("4.00"))
    #: Units available; None = made or picked on demand (never runs out).
    stock: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True)

    product: Mapped[Product] = relationship(back_populates="variants")

    @property
    def on_demand(self) -> bool:
        return self.stock is None

    @property
    def unit_label(self) -> str:
        return str(UNITS.get(self.unit, self.unit))


@touches_parent(Product, "product_id")  # its changes show in Product.updated_at
class Photo(Base):
    """A resized photo under ``instance/uploads/products/``."""

    __tablename__ = "ep_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("ep_product.id", ondelete="CASCADE"), index=True
    )
    producer_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(80), unique=True)
    thumb_filename: Mapped[str] = mapped_column(String(80))
    width: Mapped[int]
    height: Mapped[int]
    alt: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product | None] = relationship(back_populates="photos")


class Order(TimestampMixin, Base):
    """One checkout: one payment (or one offline method), split into producer sub-orders."""

    __tablename__ = "ep_order"
    __table_args__ = (Index("ix_ep_order_status_expires", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Unguessable: the guest's link to the order page and Stripe's client_reference_id.
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    #: From the checkout form: a double click finds the same order.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    buyer_type: Mapped[str] = mapped_column(String(10), default=PERSON)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(40), default="")
    fulfilment: Mapped[str] = mapped_column(String(10), default=PICKUP)
    address: Mapped[str] = mapped_column(String(300), default="")
    comune_code: Mapped[str | None] = mapped_column(ForeignKey("municipality.istat_code"))
    notes: Mapped[str] = mapped_column(String(1000), default="")
    #: GAS: the group's name (members are on the lines' shares).
    gas_name: Mapped[str] = mapped_column(String(200), default="")
    #: Public canteen: invoice details (electronic invoice to the public administration).
    invoice_entity: Mapped[str] = mapped_column(String(200), default="")
    invoice_tax_code: Mapped[str] = mapped_column(String(16), default="")
    invoice_sdi_code: Mapped[str] = mapped_column(String(7), default="")
    invoice_pec: Mapped[str] = mapped_column(String(254), default="")
    invoice_cig: Mapped[str] = mapped_column(String(10), default="")
    payment_method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=PENDING_PAYMENT, index=True)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    total: Mapped[Decimal] = mapped_column(Money)
    vat_total: Mapped[Decimal] = mapped_column(Money)
    platform_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    refunded_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    #: Pending orders are cancelled (stock released) after this moment.
    expires_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    stripe_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_session_url: Mapped[str] = mapped_column(String(1000), default="")
    stripe_payment_intent: Mapped[str | None] = mapped_column(String(255), index=True)
    stripe_charge_id: Mapped[str] = mapped_column(String(255), default="")
    #: Refunds made outside the portal that Stripe told us about (cents).
    stripe_refunded_cents: Mapped[int] = mapped_column(default=0)

    buyer: Mapped[User | None] = relationship()
    municipality: Mapped[Municipality | None] = relationship()
    sub_orders: Mapped[list[SubOrder]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="SubOrder.id",
    )

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    @property
    def payment_label(self) -> str:
        return str(PAYMENT_METHODS.get(self.payment_method, self.payment_method))

    @property
    def lines(self) -> list[OrderLine]:
        return [line for sub in self.sub_orders for line in sub.lines]


class SubOrder(Base):
    """One producer's part of an order: only that producer sees and fulfils it."""

    __tablename__ = "ep_sub_order"
    __table_args__ = (
        Index("ix_ep_sub_order_producer_status", "producer_id", "status"),
        UniqueConstraint("order_id", "producer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("ep_order.id", ondelete="CASCADE"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    status: Mapped[str] = mapped_column(String(20), default=PENDING_PAYMENT)
    subtotal: Mapped[Decimal] = mapped_column(Money)
    vat: Mapped[Decimal] = mapped_column(Money)
    platform_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    #: subtotal − platform fee: what the producer gets for it.
    payout: Mapped[Decimal] = mapped_column(Money)
    refunded_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    #: Stripe Connect (separate charges and transfers).
    transfer_id: Mapped[str] = mapped_column(String(255), default="")
    transferred_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    reversed_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    #: L. 141/2015 art. 6: a social-agriculture operator's products (canteen priority).
    art6_eligible: Mapped[bool] = mapped_column(default=False)
    paid_at: Mapped[datetime | None] = mapped_column(index=True)
    ready_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    order: Mapped[Order] = relationship(back_populates="sub_orders")
    producer: Mapped[Organisation] = relationship(lazy="joined")
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="sub_order",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="OrderLine.id",
    )

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))


class OrderLine(Base):
    """A variant bought: name and price are copied, so later edits do not change it."""

    __tablename__ = "ep_order_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    sub_order_id: Mapped[int] = mapped_column(
        ForeignKey("ep_sub_order.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("ep_product.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("ep_variant.id"), index=True)
    product_name: Mapped[str] = mapped_column(String(200))
    variant_label: Mapped[str] = mapped_column(String(120))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    vat_rate: Mapped[Decimal] = mapped_column(Rate)
    quantity: Mapped[int]
    line_total: Mapped[Decimal] = mapped_column(Money)
    #: True while this line holds stock of a stocked variant (released at most once).
    stock_reserved: Mapped[bool] = mapped_column(default=False)

    sub_order: Mapped[SubOrder] = relationship(back_populates="lines")
    shares: Mapped[list[GasShare]] = relationship(
        back_populates="line",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="GasShare.id",
    )


class GasShare(Base):
    """A GAS member's quantity of one line (the line's quantity is their sum)."""

    __tablename__ = "ep_gas_share"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(
        ForeignKey("ep_order_line.id", ondelete="CASCADE"), index=True
    )
    member: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int]

    line: Mapped[OrderLine] = relationship(back_populates="shares")


class StripeEvent(Base):
    """Every webhook event applied, once: the unique event id makes redelivery a no-op."""

    __tablename__ = "ep_stripe_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("ep_order.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(60), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Refund(Base):
    """A refund of a whole order or of one producer's sub-order."""

    __tablename__ = "ep_refund"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("ep_order.id", ondelete="CASCADE"), index=True)
    sub_order_id: Mapped[int | None] = mapped_column(ForeignKey("ep_sub_order.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(500), default="")
    stripe_refund_id: Mapped[str] = mapped_column(String(255), default="")
    reversal_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Stored identifiers, checked by `flask ponte check-identifiers` (portal.identifiers).
identifiers.register_stored("producer IBAN", ProducerProfile, "iban", identifiers.iban)
identifiers.register_stored(
    "canteen invoice fiscal code", Order, "invoice_tax_code", identifiers.fiscal_code
)
