"""Loan products: the list with the legal limits, and the create and edit form."""

from __future__ import annotations

from typing import Any

from flask import (
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from microcredit import ledger
from microcredit.forms import (
    ProductForm,
)
from microcredit.models import (
    LoanProduct,
)
from microcredit.policy import policy
from microcredit.products import ProductData, save_product
from microcredit.views.common import (
    bp,
    current_org,
    edit_page,
    officer_only,
    org_of,
    owned,
)
from portal import db


@bp.route("/products")
@officer_only
def product_list() -> Any:
    org = current_org()
    products = (
        db.session.execute(
            select(LoanProduct)
            .where(LoanProduct.organisation_id == org.id)
            .order_by(LoanProduct.name)
        )
        .scalars()
        .all()
    )
    return render_template("microcredit/products.html", products=products, rules=policy())


def _product_form_page(product: LoanProduct | None) -> Any:
    org = org_of(product)

    def build(**kwargs: Any) -> ProductForm:
        form = ProductForm(obj=product, **kwargs)
        if (request.method == "GET" or kwargs) and product is not None:
            form.days_in_year.data = str(product.days_in_year)
        return form

    def save(form: ProductForm) -> LoanProduct:
        data = ProductData(
            name=form.name.data or "",
            kind=form.kind.data,
            min_principal=form.min_principal.data,
            max_principal=form.max_principal.data,
            interest_rate=form.interest_rate.data,
            min_repayments=form.min_repayments.data,
            max_repayments=form.max_repayments.data,
            default_repayments=form.default_repayments.data,
            frequency=form.frequency.data,
            interest_rate_period=form.interest_rate_period.data,
            interest_method=form.interest_method.data,
            amortization=form.amortization.data,
            interest_calculation=form.interest_calculation.data,
            days_in_year=int(form.days_in_year.data),
            grace_on_principal=form.grace_on_principal.data or 0,
            in_multiples_of=form.in_multiples_of.data,
            allocation_order=form.allocation_order.data or "",
            disbursement_fee=form.disbursement_fee.data or ledger.ZERO,
            late_penalty=form.late_penalty.data or ledger.ZERO,
            penalty_after_days=form.penalty_after_days.data or 0,
            group_lending=form.group_lending.data,
            enforce_221=form.enforce_221.data,
            move_non_working_days=form.move_non_working_days.data,
            description=form.description.data or "",
            active=form.active.data,
        )
        return save_product(org, data, current_user, product)

    return edit_page(
        product,
        build,
        save,
        template="microcredit/product_form.html",
        done=_("The product has been saved."),
        then=lambda saved: url_for("microcredit.product_list"),
        product=product,
        rules=policy(),
    )


@bp.route("/products/new", methods=["GET", "POST"])
@officer_only
def product_new() -> Any:
    return _product_form_page(None)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@officer_only
def product_edit(product_id: int) -> Any:
    return _product_form_page(owned(LoanProduct, product_id))
