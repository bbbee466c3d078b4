"""Stripe webhook events applied to orders: a completed or expired Checkout session, a
payment failed, a charge refunded from Stripe's dashboard; each event once.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import (
    select,
)

from ethical_products import payments, pricing
from ethical_products.models import (
    CANCELLED,
    PENDING_PAYMENT,
    REFUNDED,
    SOLD_STATES,
    Order,
    StripeEvent,
)
from ethical_products.services.money import payment_succeeded
from ethical_products.services.orders import lock_order, refresh_order_status
from ethical_products.services.policy import ShopError
from ethical_products.services.stock import release_sub_order
from portal import audit, db
from portal.db import utcnow


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
