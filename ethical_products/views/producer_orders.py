"""The producer's orders and money: the sub-orders to fulfil and what is done with them,
the sales reports (page and CSV), and the Stripe account the transfers go to.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ethical_products import payments, pricing, services
from ethical_products.forms import (
    ConfirmReasonForm,
    ReasonForm,
)
from ethical_products.models import (
    BUYER_TYPES,
    STATUS_LABELS,
    ProducerProfile,
    SubOrder,
)
from ethical_products.services import PRODUCER_ROLES, ShopError
from ethical_products.views.common import bp, my_producer
from portal import db, spreadsheets
from portal.db import utcnow
from portal.models import Organisation
from portal.permissions import require, roles_required
from portal.views import page_arg


@bp.route("/shop/manage/orders")
@roles_required(*PRODUCER_ROLES)
def producer_orders() -> Any:
    org = my_producer()
    status = request.args.get("status", "")
    stmt = select(SubOrder).where(SubOrder.producer_id == org.id)
    if status in STATUS_LABELS:
        stmt = stmt.where(SubOrder.status == status)
    page = db.paginate(
        stmt.order_by(SubOrder.id.desc()), page_arg(), current_app.config["PER_PAGE"]
    )
    return render_template(
        "ethical_products/producer_orders.html",
        org=org,
        page=page,
        status=status,
        status_labels=STATUS_LABELS,
    )


def my_sub_order(sub_id: int) -> SubOrder:
    sub = db.session.get(SubOrder, sub_id)
    if sub is None:
        abort(404)
    require(sub.producer_id in {o.id for o in services.producer_organisations(current_user)})
    return sub


@bp.route("/shop/manage/orders/<int:sub_id>")
@roles_required(*PRODUCER_ROLES)
def producer_order(sub_id: int) -> Any:
    sub = my_sub_order(sub_id)
    return render_template(
        "ethical_products/producer_order.html",
        sub=sub,
        order=sub.order,
        form=ReasonForm(),
        stripe=payments.configured(),
        buyer_types=BUYER_TYPES,
    )


#: Producer actions that cannot be undone: a confirmation step with a required reason.
CONFIRMED_ACTIONS = ("cancel", "refund")


@bp.route("/shop/manage/orders/<int:sub_id>/<action>", methods=["GET", "POST"])
@roles_required(*PRODUCER_ROLES)
def producer_order_action(sub_id: int, action: str) -> Any:
    sub = my_sub_order(sub_id)
    if action not in services.PRODUCER_ACTIONS:
        abort(400)
    confirmed = action in CONFIRMED_ACTIONS
    if request.method == "GET" and not confirmed:
        abort(405)
    form = ConfirmReasonForm() if confirmed else ReasonForm()
    if not form.validate_on_submit():
        if not confirmed:
            abort(400)
        return render_template(
            "ethical_products/producer_order_confirm.html",
            sub=sub,
            order=sub.order,
            action=action,
            form=form,
        )
    services.lock_order(sub.order_id)
    try:
        services.producer_action(sub, action, current_user, (form.reason.data or "").strip())
    except ShopError as error:
        db.session.rollback()
        for message in error.fields.values():
            flash(message, "danger")
    else:
        db.session.commit()
        flash(_("Done: the order is now “%(status)s”.", status=sub.status_label), "success")
    return redirect(url_for("ethical_products.producer_order", sub_id=sub.id))


def _period() -> tuple[date, date]:
    today = utcnow().date()
    try:
        start = date.fromisoformat(request.args.get("start", ""))
    except ValueError:
        start = today.replace(day=1)
    try:
        end = date.fromisoformat(request.args.get("end", ""))
    except ValueError:
        end = today
    if end < start:
        start, end = end, start
    return start, min(end, start + timedelta(days=3660))


@bp.route("/shop/manage/reports")
@roles_required(*PRODUCER_ROLES)
def reports() -> Any:
    org = my_producer()
    start, end = _period()
    rows = services.sales_by_product(org.id, start, end)
    balance = (services.balances(org.id) or [services.Balance(org.id)])[0]
    if request.args.get("format") == "csv":
        return _csv(org, start, end, rows, balance)
    return render_template(
        "ethical_products/reports.html",
        org=org,
        rows=rows,
        balance=balance,
        start=start,
        end=end,
        total=sum((r.gross for r in rows), pricing.ZERO),
        vat=sum((r.vat for r in rows), pricing.ZERO),
    )


def _csv(
    org: Organisation,
    start: date,
    end: date,
    rows: list[services.SalesRow],
    balance: services.Balance,
) -> Response:
    out = io.StringIO()
    writer = spreadsheets.CsvWriter(out)
    writer.writerow(
        [
            "product_id",
            "product",
            "variant",
            "vat_rate",
            "quantity",
            "gross_eur",
            "vat_eur",
            "net_eur",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                r.product_id,
                r.product_name,
                r.variant_label,
                f"{r.vat_rate:.2f}",
                r.quantity,
                f"{r.gross:.2f}",
                f"{r.vat:.2f}",
                f"{r.net:.2f}",
            ]
        )
    writer.writerow([])
    writer.writerow(
        [
            "online_sales_eur",
            "platform_fees_eur",
            "due_eur",
            "transferred_eur",
            "owed_by_platform_eur",
            "offline_sales_eur",
        ]
    )
    writer.writerow(
        [
            f"{balance.online_sales:.2f}",
            f"{balance.fees:.2f}",
            f"{balance.due:.2f}",
            f"{balance.transferred:.2f}",
            f"{balance.owed:.2f}",
            f"{balance.offline_sales:.2f}",
        ]
    )
    name = f"sales-{org.slug}-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/shop/manage/stripe/connect", methods=["POST"])
@roles_required(*PRODUCER_ROLES)
def stripe_connect() -> Any:
    org = my_producer()
    if not ReasonForm().validate_on_submit():
        abort(400)
    if not payments.configured():
        flash(_("Online payments are not configured on this portal."), "warning")
        return redirect(url_for("ethical_products.manage"))
    profile = services.profile_for(org)
    try:
        if not profile.stripe_account_id:
            profile.stripe_account_id = payments.create_account(org)
            db.session.commit()
        link = payments.account_link(
            profile.stripe_account_id,
            url_for("ethical_products.manage", _external=True),
            url_for("ethical_products.stripe_return", _external=True),
        )
    except payments.PaymentError:
        db.session.rollback()
        flash(_("Stripe cannot be reached: try again later."), "danger")
        return redirect(url_for("ethical_products.manage"))
    return redirect(link, code=303)


@bp.route("/shop/manage/stripe/return")
@roles_required(*PRODUCER_ROLES)
def stripe_return() -> Any:
    org = my_producer()
    profile = db.session.get(ProducerProfile, org.id)
    if profile is not None and profile.stripe_account_id and payments.configured():
        try:
            profile.stripe_charges_enabled = payments.account_ready(profile.stripe_account_id)
            db.session.commit()
        except payments.PaymentError:
            db.session.rollback()
    if profile is not None and profile.stripe_ready:
        flash(_("Your Stripe account is connected: buyers can pay online."), "success")
    else:
        flash(_("Your Stripe account is not ready yet."), "warning")
    return redirect(url_for("ethical_products.manage"))
