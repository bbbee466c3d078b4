"""A buyer's orders: the list, guest orders claimed by e-mail link, and the next steps
on the buyer's home.
"""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from ethical_products import services
from ethical_products.forms import (
    ReasonForm,
)
from ethical_products.models import (
    Order,
)
from ethical_products.views.common import bp
from portal import db, mail
from portal.layout import HomeAction
from portal.permissions import login_required
from portal.views import page_arg


@bp.route("/shop/my-orders")
@login_required
def my_orders() -> Any:
    page = db.paginate(
        select(Order).where(Order.buyer_id == current_user.id).order_by(Order.id.desc()),
        page_arg(),
        current_app.config["PER_PAGE"],
    )
    guest = db.session.execute(
        select(func.count()).select_from(services.guest_orders_for(current_user.email).subquery())
    ).scalar_one()
    return render_template(
        "ethical_products/my_orders.html", page=page, guest=guest, form=ReasonForm()
    )


def _claim_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="shop-claim-orders")


@bp.route("/shop/my-orders/claim", methods=["POST"])
@login_required
def claim_orders_request() -> Any:
    """Send a link to the account's address: opening it proves the e-mail is the buyer's,
    and the guest orders placed with it join the account."""
    if not ReasonForm().validate_on_submit():
        abort(400)
    token = _claim_serializer().dumps({"user": current_user.id, "email": current_user.email})
    link = url_for("ethical_products.claim_orders", token=token, _external=True)
    mail.send(
        current_user.email,
        _("Ponte: add your orders to your account"),
        _(
            "To add to your account the orders placed with this e-mail address without "
            "signing in, open this link within %(hours)d hours:",
            hours=services.CLAIM_LINK_HOURS,
        )
        + "\n\n"
        + link,
    )
    flash(
        _(
            "We sent a link to %(email)s: open it to add the orders to your account.",
            email=current_user.email,
        ),
        "success",
    )
    return redirect(url_for("ethical_products.my_orders"))


@bp.route("/shop/my-orders/claim/<token>")
@login_required
def claim_orders(token: str) -> Any:
    try:
        data = _claim_serializer().loads(token, max_age=services.CLAIM_LINK_HOURS * 3600)
    except (BadSignature, SignatureExpired):
        data = None
    if (
        not isinstance(data, dict)
        or data.get("user") != current_user.id
        or data.get("email") != current_user.email
    ):
        flash(_("The link is not valid or has expired: ask for a new one."), "danger")
        return redirect(url_for("ethical_products.my_orders"))
    claimed = services.claim_guest_orders(current_user)
    flash(
        ngettext(
            "%(num)d order added to your account.", "%(num)d orders added to your account.", claimed
        ),
        "success",
    )
    return redirect(url_for("ethical_products.my_orders"))


def buyer_home_actions(user: Any) -> list[HomeAction]:
    """A buyer's next steps: the catalogue and the orders placed with this account."""
    placed = db.session.execute(
        select(func.count()).select_from(Order).where(Order.buyer_id == user.id)
    ).scalar_one()
    return [
        HomeAction(_("Your orders"), url_for("ethical_products.my_orders"), placed),
        HomeAction(_("Browse the ethical products"), url_for("ethical_products.catalogue")),
    ]
