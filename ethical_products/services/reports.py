"""Producer reports: sales by product over a period, and each producer's balance of
what was sold, transferred, refunded and is still owed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    and_,
    case,
    func,
    select,
)

from ethical_products import pricing
from ethical_products.models import (
    SOLD_STATES,
    STRIPE,
    Order,
    OrderLine,
    SubOrder,
)
from portal import db


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
