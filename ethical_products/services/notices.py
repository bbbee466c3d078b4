"""What the shop tells people about an order: the buyer's e-mails and the producers'
notifications (with e-mail to the shop's members).
"""

from __future__ import annotations

import contextlib

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import (
    select,
)

from ethical_products.models import (
    BANK_TRANSFER,
    PAYMENT_METHODS,
    STRIPE,
    Order,
    ProducerProfile,
    SubOrder,
)
from ethical_products.services.orders import order_url, short_ref
from ethical_products.services.policy import PRODUCER_ROLES
from portal import db, identifiers, mail
from portal.models import Membership, User


def mail_buyer(order: Order, subject: str, body: str) -> None:
    link = order_url(order)
    mail.send(order.email, subject, body + ("\n\n" + link if link else ""))


def notify_producer(sub: SubOrder, message: str) -> None:
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
    mail_buyer(order, _("Your order %(ref)s on Ponte", ref=short_ref(order)), body)
    if order.payment_method != STRIPE:
        for sub in order.sub_orders:
            notify_producer(
                sub,
                _(
                    "New order %(ref)s: %(n)s lines, %(amount)s EUR (%(method)s)",
                    ref=short_ref(order),
                    n=len(sub.lines),
                    amount=f"{sub.subtotal:.2f}",
                    method=how,
                ),
            )
