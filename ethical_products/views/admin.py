"""The administrator's view of the shop: every order, and refunds on a buyer's behalf."""

from __future__ import annotations

from typing import Any

from flask import (
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

from ethical_products import services
from ethical_products.forms import (
    ConfirmReasonForm,
    ReasonForm,
)
from ethical_products.models import (
    STATUS_LABELS,
    Order,
)
from ethical_products.services import ShopError
from ethical_products.views.common import bp
from portal import db
from portal.models import ADMIN, Organisation
from portal.permissions import roles_required
from portal.views import page_arg


@bp.route("/shop/admin/orders")
@roles_required(ADMIN)
def admin_orders() -> Any:
    status = request.args.get("status", "")
    stmt = select(Order)
    if status in STATUS_LABELS:
        stmt = stmt.where(Order.status == status)
    page = db.paginate(stmt.order_by(Order.id.desc()), page_arg(), current_app.config["PER_PAGE"])
    owed = [b for b in services.balances() if b.owed or b.due]
    names = (
        dict(
            db.session.execute(
                select(Organisation.id, Organisation.name).where(
                    Organisation.id.in_([b.producer_id for b in owed])
                )
            ).all()
        )
        if owed
        else {}
    )
    return render_template(
        "ethical_products/admin_orders.html",
        page=page,
        status=status,
        status_labels=STATUS_LABELS,
        owed=owed,
        names=names,
        form=ReasonForm(),
    )


@bp.route("/shop/admin/orders/<int:order_id>/refund", methods=["GET", "POST"])
@roles_required(ADMIN)
def admin_refund(order_id: int) -> Any:
    """Refunding cannot be undone: a confirmation page with a required reason first."""
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404)
    form = ConfirmReasonForm()
    if not form.validate_on_submit():
        return render_template(
            "ethical_products/admin_refund_confirm.html", order=order, form=form
        ), (422 if request.method == "POST" else 200)
    order = services.lock_order(order_id)
    if order is None:
        abort(404)
    sub_id = request.form.get("sub_order", type=int)
    subs = [s for s in order.sub_orders if sub_id is None or s.id == sub_id]
    try:
        amount = services.refund(order, subs, current_user, form.reason.data.strip())
    except ShopError as error:
        db.session.rollback()
        for message in error.fields.values():
            flash(message, "danger")
    else:
        db.session.commit()
        flash(_("%(amount)s EUR refunded.", amount=f"{amount:.2f}"), "success")
    return redirect(url_for("ethical_products.admin_orders"))
