"""Money of an order: the Stripe Checkout session, the payment recorded, the transfers
to the producers (separate charges and transfers, retried when they fail) and refunds
with their transfer reversals.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import (
    func,
    select,
)

from ethical_products import payments, pricing
from ethical_products.models import (
    CANCELLED,
    PAID,
    PENDING_PAYMENT,
    REFUNDED,
    SOLD_STATES,
    STRIPE,
    Order,
    ProducerProfile,
    Refund,
    SubOrder,
)
from ethical_products.services.notices import mail_buyer, notify_producer
from ethical_products.services.orders import lock_order, refresh_order_status, short_ref
from ethical_products.services.policy import ShopError
from ethical_products.services.stock import release_sub_order, rereserve
from portal import audit, db
from portal.db import utcnow
from portal.models import User


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
            mail_buyer(
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
    mail_buyer(
        order,
        _("Payment received for order %(ref)s", ref=short_ref(order)),
        _(
            "Thank you: your payment of %(amount)s EUR has been received. The "
            "producers will tell you when your products are ready.",
            amount=f"{order.total:.2f}",
        ),
    )
    for sub in order.sub_orders:
        notify_producer(sub, _("Order %(ref)s has been paid: prepare it.", ref=short_ref(order)))
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
    mail_buyer(
        order,
        _("Refund for order %(ref)s", ref=short_ref(order)),
        _("%(amount)s EUR have been refunded.", amount=f"{amount:.2f}"),
    )
    return amount
