"""Orders as records: finding and locking one, deriving its status from its producers'
sub-orders, its short reference and link, and guest orders claimed by their buyer's
account.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, url_for
from sqlalchemy import (
    Select,
    func,
    select,
)

from ethical_products import pricing
from ethical_products.models import (
    CANCELLED,
    PAID,
    REFUNDED,
    SOLD_STATES,
    Order,
)
from portal import audit, db
from portal.db import utcnow
from portal.models import User


def find_order(idempotency_key: str) -> Order | None:
    return db.session.execute(
        select(Order).where(Order.idempotency_key == idempotency_key)
    ).scalar_one_or_none()


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


def short_ref(order: Order) -> str:
    return f"#{order.id}"


def order_url(order: Order) -> str:
    if not has_request_context() and not current_app.config.get("SERVER_NAME"):
        return ""
    try:
        return url_for("ethical_products.order_detail", reference=order.reference, _external=True)
    except RuntimeError:
        return ""


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
