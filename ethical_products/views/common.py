"""What the shop's pages share: the ``ethical_products`` blueprint every view module
registers on, the page language, and the producer (and product) the signed-in user
manages.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    request,
)
from flask_babel import get_locale
from flask_login import current_user

from ethical_products import services
from ethical_products.models import (
    Product,
)
from portal import db
from portal.models import Organisation
from portal.permissions import require

#: The one blueprint of the shop; named after the package, so its templates are those of
#: ``ethical_products/templates``.
bp = Blueprint("ethical_products", "ethical_products", template_folder="templates")


def lang() -> str:
    return str(get_locale() or "it")


def my_producer() -> Organisation:
    orgs = services.producer_organisations(current_user)
    chosen = request.args.get("org", type=int)
    for org in orgs:
        if chosen is None or org.id == chosen:
            return org
    abort(404)


def my_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        abort(404)
    require(product.producer in services.producer_organisations(current_user))
    return product
