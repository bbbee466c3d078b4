"""Checkout and the order's own page: the checkout form, the order placed (and sent
to Stripe when paid online), the order page reached by its reference, paying it again
and cancelling it.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ethical_products import cart as session_cart
from ethical_products import payments, services
from ethical_products.forms import (
    CheckoutForm,
    ReasonForm,
)
from ethical_products.models import (
    BANK_TRANSFER,
    BUYER_TYPES,
    PAYMENT_METHODS,
    STRIPE,
    Order,
    ProducerProfile,
)
from ethical_products.services import ShopError
from ethical_products.views.common import bp, lang
from portal import db
from portal.permissions import public


def _checkout_data(form: CheckoutForm) -> services.CheckoutData:
    for name in form.other_types_fields():
        form[name].data = ""
    return services.CheckoutData(
        idempotency_key=form.idempotency_key.data or "",
        fingerprint=form.fingerprint.data or None,
        name=form.name.data or "",
        email=form.email.data or "",
        payment_method=form.payment_method.data or "",
        buyer_type=form.buyer_type.data or "",
        phone=form.phone.data or "",
        fulfilment=form.fulfilment.data or "",
        address=form.address.data or "",
        comune_code=form.comune.data,
        notes=form.notes.data or "",
        gas_name=form.gas_name.data or "",
        invoice_entity=form.invoice_entity.data or "",
        invoice_tax_code=form.invoice_tax_code.data or "",
        invoice_sdi_code=form.invoice_sdi_code.data or "",
        invoice_pec=form.invoice_pec.data or "",
        invoice_cig=form.invoice_cig.data or "",
        buyer=current_user._get_current_object() if current_user.is_authenticated else None,
    )


FIELD_OF_ERROR = {
    "comune": "comune",
    "cart": "payment_method",
    "status": "payment_method",
    "idempotency_key": "payment_method",
}


@bp.route("/shop/checkout", methods=["GET", "POST"])
@public
def checkout() -> Any:
    form = CheckoutForm()
    key = form.idempotency_key.data or ""
    if request.method == "POST" and key:
        done = services.find_order(key)
        if done is not None:  # the second click of a double click
            return _after_checkout(done)
    priced = services.price_cart(session_cart.wanted())
    methods = services.payment_methods(priced)
    form.payment_method.choices = [(m, str(PAYMENT_METHODS[m])) for m in methods]
    if request.method == "GET":
        form.idempotency_key.data = secrets.token_urlsafe(24)
        form.fingerprint.data = priced.fingerprint()
        if session_cart.members():
            form.buyer_type.data = "gas"
        if current_user.is_authenticated:
            form.name.data = current_user.full_name
            form.email.data = current_user.email
        if methods:
            form.payment_method.data = methods[0]
    cart_error = None
    valid = form.validate_on_submit()
    if request.method == "POST" and not valid:
        # Show the rules' problems too, so a person sees every problem at once.
        try:
            services.check_checkout(_checkout_data(form), priced)
        except ShopError as error:
            cart_error = _show_errors(form, error)
    if valid:
        data = _checkout_data(form)
        try:
            order = services.place_order(data, priced)
            db.session.commit()
        except ShopError as error:
            db.session.rollback()
            cart_error = _show_errors(form, error)
            if "cart" in error.fields:
                form.fingerprint.data = services.price_cart(session_cart.wanted()).fingerprint()
        except IntegrityError:
            # Two clicks raced past the look-up: the first one's order stands.
            db.session.rollback()
            order = services.find_order(key)
            if order is None:
                raise
            return _after_checkout(order)
        else:
            session_cart.clear()
            services.announce_order(order)
            return _after_checkout(order, fresh=True)
    return render_template(
        "ethical_products/checkout.html",
        form=form,
        cart=priced,
        methods=methods,
        cart_error=cart_error,
        lang=lang(),
        buyer_types=BUYER_TYPES,
    )


def _show_errors(form: CheckoutForm, error: ShopError) -> str | None:
    for name, message in error.fields.items():
        target = getattr(form, FIELD_OF_ERROR.get(name, name), form.payment_method)
        if target.errors:
            continue
        target.errors = [*target.errors, message]
    return error.fields.get("cart")


def _after_checkout(order: Order, fresh: bool = False) -> Any:
    if order.payment_method == STRIPE and order.status == "pending_payment":
        try:
            target = services.start_stripe_checkout(order)
            db.session.commit()
            return redirect(target, code=303)
        except payments.PaymentError:
            db.session.rollback()
            flash(
                _(
                    "The online payment service cannot be reached: try again in a "
                    "moment from this page."
                ),
                "danger",
            )
    elif fresh and order.status == "pending_payment":
        # Placed, not confirmed: nothing is paid yet (bank transfer or payment on pickup).
        if order.payment_method == BANK_TRANSFER:
            flash(
                _(
                    "Order placed: awaiting your bank transfer. The producers' bank "
                    "details are below."
                ),
                "info",
            )
        else:
            flash(_("Order placed: you pay on pickup. The pickup details are below."), "info")
    elif fresh:
        flash(_("Thank you: your order is confirmed."), "success")
    return redirect(url_for("ethical_products.order_detail", reference=order.reference), code=303)


def _order_or_404(reference: str) -> Order:
    if not (10 <= len(reference) <= 32):
        abort(404)
    order = db.session.execute(
        select(Order).where(Order.reference == reference)
    ).scalar_one_or_none()
    if order is None:
        abort(404)
    return order


@bp.route("/shop/orders/<reference>")
@public
def order_detail(reference: str) -> Any:
    """The buyer's page: its unguessable reference is the key (guests have no account)."""
    order = _order_or_404(reference)
    profiles = {
        p.organisation_id: p
        for p in db.session.execute(
            select(ProducerProfile).where(
                ProducerProfile.organisation_id.in_([s.producer_id for s in order.sub_orders])
            )
        ).scalars()
    }
    members: dict[str, Any] = {}
    member_totals: dict[str, Any] = {}
    for line in order.lines:
        for share in line.shares:
            members.setdefault(share.member, []).append((line, share.quantity))
            # Exact: unit prices have cents, quantities are whole.
            member_totals[share.member] = (
                member_totals.get(share.member, 0) + line.unit_price * share.quantity
            )
    return render_template(
        "ethical_products/order.html",
        order=order,
        profiles=profiles,
        members=members,
        member_totals=member_totals,
        form=ReasonForm(),
        lang=lang(),
        returned=request.args.get("returned") == "1",
        stripe=payments.configured(),
    )


@bp.route("/shop/orders/<reference>/pay", methods=["POST"])
@public
def order_pay(reference: str) -> Any:
    order = _order_or_404(reference)
    if not ReasonForm().validate_on_submit():
        abort(400)
    return _after_checkout(order)


@bp.route("/shop/orders/<reference>/cancel", methods=["POST"])
@public
def order_cancel(reference: str) -> Any:
    order = _order_or_404(reference)
    if not ReasonForm().validate_on_submit():
        abort(400)
    order = services.lock_order(order.id)
    if order is not None and services.cancel_order(order, reason=_("Cancelled by the buyer.")):
        db.session.commit()
        flash(_("Your order is cancelled."), "success")
    else:
        db.session.rollback()
        flash(_("This order can no longer be cancelled here: contact the producers."), "danger")
    return redirect(url_for("ethical_products.order_detail", reference=reference))
