"""An order's life after checkout: cancellation (stock given back), expiry of unpaid
orders past their deadline, and what a producer does with its sub-order (confirm an
offline payment, mark it ready, complete, cancel, refund).
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    select,
)

from ethical_products import payments
from ethical_products.models import (
    CANCELLED,
    COLLECTED,
    DELIVERED,
    OFFLINE_METHODS,
    PAID,
    PAY_ON_PICKUP,
    PENDING_PAYMENT,
    PICKUP,
    READY,
    STRIPE,
    Order,
    SubOrder,
)
from ethical_products.services.money import refund
from ethical_products.services.notices import mail_buyer
from ethical_products.services.orders import lock_order, refresh_order_status, short_ref
from ethical_products.services.policy import ShopError
from ethical_products.services.stock import release_sub_order
from portal import audit, db
from portal.db import utcnow
from portal.models import User


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
    mail_buyer(
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
        mail_buyer(
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
        mail_buyer(
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
            mail_buyer(
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
