"""The cart pages: what is in it (priced from the database every time), adding and
changing quantities, and a GAS cart's members.
"""

from __future__ import annotations

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

from ethical_products import cart as session_cart
from ethical_products import services
from ethical_products.forms import (
    AddToCartForm,
    MembersForm,
    ReasonForm,
)
from ethical_products.models import (
    PAYMENT_METHODS,
    Variant,
)
from ethical_products.views.common import bp, lang
from portal import db
from portal.permissions import public


@bp.route("/shop/cart")
@public
def cart_view() -> Any:
    priced = services.price_cart(session_cart.wanted())
    members = session_cart.members()
    return render_template(
        "ethical_products/cart.html",
        cart=priced,
        members=members,
        members_form=MembersForm(members="\n".join(members)),
        lang=lang(),
        methods=[PAYMENT_METHODS[m] for m in services.payment_methods(priced)],
        shares_of=lambda item, m: (session_cart.wanted().get(item.variant.id) or {}).get(m, 0),
    )


@bp.route("/shop/cart/add", methods=["POST"])
@public
def cart_add() -> Any:
    form = AddToCartForm()
    back = request.referrer if (request.referrer or "").startswith(request.host_url) else None
    if not form.validate_on_submit():
        flash(_("Choose a variant and a quantity from 1 to 999."), "danger")
        return redirect(back or url_for("ethical_products.catalogue"))
    variant = db.session.get(Variant, form.variant_id.data)
    if variant is None or not variant.active or not variant.product.is_public():
        # A variant id that is not on sale: tampered or stale form.
        flash(_("This product is not on sale."), "danger")
        return redirect(url_for("ethical_products.catalogue"))
    already = sum((session_cart.wanted().get(variant.id) or {}).values())
    if variant.stock is not None and already + form.quantity.data > variant.stock:
        flash(
            _("Only %(n)s left of %(name)s.", n=variant.stock, name=variant.product.name), "danger"
        )
        return redirect(url_for("ethical_products.product_detail", product_id=variant.product_id))
    try:
        session_cart.add(variant.id, form.quantity.data)
    except ValueError:
        flash(_("Your cart is full."), "danger")
    else:
        flash(_("%(name)s is in your cart.", name=variant.product.display_name(lang())), "success")
    return redirect(back or url_for("ethical_products.cart_view"))


@bp.route("/shop/cart/update", methods=["POST"])
@public
def cart_update() -> Any:
    """Quantities from the cart page: ``qty-<variant>`` or ``qty-<variant>-<member #>``."""
    if not ReasonForm().validate_on_submit():
        abort(400)
    members = session_cart.members()
    wanted = session_cart.wanted()
    for key, raw in request.form.items():
        if not key.startswith("qty-"):
            continue
        parts = key.split("-")
        if not parts[1].isdigit() or int(parts[1]) not in wanted:
            continue
        member = ""
        if len(parts) == 3:
            if not parts[2].isdigit() or int(parts[2]) >= len(members):
                continue
            member = members[int(parts[2])]
        value = raw.strip()
        if not value.lstrip("-").isdigit() or int(value) < 0 or int(value) > 999:
            flash(_("Quantities go from 0 (remove) to 999."), "danger")
            continue
        session_cart.set_quantity(int(parts[1]), member, int(value))
    remove = request.form.get("remove", "")
    if remove.isdigit():
        session_cart.remove(int(remove))
    return redirect(url_for("ethical_products.cart_view"))


@bp.route("/shop/cart/members", methods=["POST"])
@public
def cart_members() -> Any:
    form = MembersForm()
    if form.validate_on_submit():
        session_cart.set_members((form.members.data or "").splitlines())
        flash(_("The group's members are saved: give each one's quantities."), "success")
    return redirect(url_for("ethical_products.cart_view"))
