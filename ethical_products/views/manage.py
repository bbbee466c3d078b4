"""The producer's shop: its profile, products, variants with their stock, photos, and
the next steps on the producer's home.
"""

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
from sqlalchemy import func, select

from ethical_products import payments, photos, services
from ethical_products.forms import (
    PhotoForm,
    ProductForm,
    ProfileForm,
    ReasonForm,
    VariantForm,
)
from ethical_products.models import (
    PAID,
    STATUS_LABELS,
    Photo,
    ProducerProfile,
    Product,
    SubOrder,
    Variant,
)
from ethical_products.services import PRODUCER_ROLES
from ethical_products.views.common import bp, my_producer, my_product
from portal import audit, concurrency, db
from portal.layout import HomeAction
from portal.permissions import require, roles_required
from portal.uploads import accepts_upload
from portal.views import page_arg


@bp.route("/shop/manage")
@roles_required(*PRODUCER_ROLES)
def manage() -> Any:
    org = my_producer()
    profile = db.session.get(ProducerProfile, org.id)
    page = db.paginate(
        select(Product).where(Product.producer_id == org.id).order_by(Product.name, Product.id),
        page_arg(),
        current_app.config["PER_PAGE"],
    )
    counts = dict(
        db.session.execute(
            select(SubOrder.status, func.count())
            .where(SubOrder.producer_id == org.id)
            .group_by(SubOrder.status)
        ).all()
    )
    return render_template(
        "ethical_products/manage.html",
        org=org,
        profile=profile,
        page=page,
        counts=counts,
        status_labels=STATUS_LABELS,
        stripe=payments.configured(),
        form=ReasonForm(),
    )


@bp.route("/shop/manage/profile", methods=["GET", "POST"])
@roles_required(*PRODUCER_ROLES)
@accepts_upload(photos.MAX_BYTES)
def manage_profile() -> Any:
    org = my_producer()
    profile = db.session.get(ProducerProfile, org.id)

    def build(**kwargs: Any) -> ProfileForm:
        form = ProfileForm(obj=profile, **kwargs)
        if request.method == "GET" and profile is None:
            form.accepts_bank_transfer.data = False
            form.accepts_pay_on_pickup.data = True
        return form

    form = concurrency.edit_form(build, profile) if profile else build()
    photo_form = PhotoForm()
    if form.validate_on_submit() and concurrency.current_or_new(form, build, profile):
        profile = services.profile_for(org)
        for name in (
            "active",
            "story",
            "story_en",
            "pickup_points",
            "delivery_notes",
            "accepts_bank_transfer",
            "accepts_pay_on_pickup",
            "inclusion_declared_on",
        ):
            setattr(profile, name, getattr(form, name).data)
        profile.delivery_radius_km = form.delivery_radius_km.data or 0
        profile.iban = form.iban.data or ""  # compact (the form's check)
        profile.art2_activities = sorted(form.art2_activities.data or [])
        profile.inclusion_hours_share = form.inclusion_hours_share.data
        services.reindex_producer_products(org.id)
        audit.record("shop.profile.update", org)
        db.session.commit()
        flash(_("Your shop has been saved."), "success")
        return redirect(url_for("ethical_products.manage"))
    shop_photos = (
        db.session.execute(
            select(Photo)
            .where(Photo.producer_id == org.id, Photo.product_id.is_(None))
            .order_by(Photo.position, Photo.id)
        )
        .scalars()
        .all()
    )
    return render_template(
        "ethical_products/profile_form.html",
        form=form,
        org=org,
        photo_form=photo_form,
        photos=shop_photos,
    ), concurrency.status()


def _apply_product(product: Product, form: ProductForm) -> None:
    for name in ("name", "name_en", "description", "description_en", "category"):
        setattr(product, name, (getattr(form, name).data or "").strip())
    product.comune_code = form.comune.data
    product.season_from = int(form.season_from.data) if form.season_from.data else None
    product.season_to = int(form.season_to.data) if form.season_to.data else None
    product.organic_body = (form.organic_body.data or "").strip()
    product.organic_number = (form.organic_number.data or "").strip()
    product.organic = bool(product.organic_body and product.organic_number)
    product.active = bool(form.active.data)


@bp.route("/shop/manage/products/new", methods=["GET", "POST"])
@roles_required(*PRODUCER_ROLES)
def product_new() -> Any:
    org = my_producer()
    form = ProductForm()
    if request.method == "GET" and org.municipality:
        form.comune.data = org.municipality.label
    if form.validate_on_submit():
        services.profile_for(org)
        product = Product(producer_id=org.id, producer=org)
        _apply_product(product, form)
        db.session.add(product)
        db.session.flush()
        audit.record("shop.product.create", product)
        db.session.commit()
        flash(_("The product is saved: now add its variants and prices."), "success")
        return redirect(url_for("ethical_products.product_edit", product_id=product.id))
    return render_template("ethical_products/product_form.html", form=form, org=org, product=None)


@bp.route("/shop/manage/products/<int:product_id>", methods=["GET", "POST"])
@roles_required(*PRODUCER_ROLES)
def product_edit(product_id: int) -> Any:
    product = my_product(product_id)

    def build(**kwargs: Any) -> ProductForm:
        form = ProductForm(obj=product, **kwargs)
        if request.method == "GET" or kwargs:
            form.comune.data = product.municipality.label if product.municipality else ""
            form.season_from.data = str(product.season_from or "")
            form.season_to.data = str(product.season_to or "")
        return form

    form = concurrency.edit_form(build, product)
    if concurrency.may_save(form, build, product):
        _apply_product(product, form)
        audit.record("shop.product.update", product)
        db.session.commit()
        flash(_("The product is saved."), "success")
        return redirect(url_for("ethical_products.product_edit", product_id=product.id))
    return render_template(
        "ethical_products/product_form.html",
        form=form,
        org=product.producer,
        product=product,
        variant_form=VariantForm(formdata=None),
        photo_form=PhotoForm(formdata=None),
    ), concurrency.status()


def _apply_variant(variant: Variant, form: VariantForm) -> None:
    from decimal import Decimal

    variant.label = (form.label.data or "").strip()
    variant.unit = form.unit.data
    variant.weight_grams = form.weight_grams.data
    variant.price = form.price.data
    variant.vat_rate = Decimal(form.vat_rate.data)
    variant.active = bool(form.active.data)


def _variant_form(variant: Variant, **kwargs: Any) -> VariantForm:
    form = VariantForm(obj=variant, **kwargs)
    if request.method == "GET" or "formdata" in kwargs:
        form.vat_rate.data = f"{variant.vat_rate:.2f}"
    return form


def _save_variant_stock(variant: Variant, form: VariantForm) -> bool:
    """Stock is what buyers decrement: it is written only when the producer changed it,
    and only if it is still what the form showed (services.set_stock)."""
    if not concurrency.changed_by_user(form, "stock"):
        return True
    opened = concurrency.opened_values(form)
    expected = variant.stock if opened is None else opened.get("stock")
    if opened is not None and expected is not None:
        expected = int(expected)
    if opened is None and form.stock.data == variant.stock:
        return True
    if services.set_stock(variant, form.stock.data, expected):
        return True
    current = db.session.get(Variant, variant.id)
    form.stock.errors = [
        *form.stock.errors,
        _(
            "The stock changed to %(n)s since you opened this form (orders or another edit): "
            "enter the new figure again.",
            n=_("on demand") if current.stock is None else current.stock,
        ),
    ]
    form.stock.process(None, data=current.stock)
    form.stock.raw_data = []
    concurrency.stamp_version(form, variant)
    return False


@bp.route("/shop/manage/products/<int:product_id>/variants", methods=["POST"])
@roles_required(*PRODUCER_ROLES)
def variant_new(product_id: int) -> Any:
    product = my_product(product_id)
    form = VariantForm()
    if form.validate_on_submit():
        variant = Variant(product=product, stock=form.stock.data)
        _apply_variant(variant, form)
        db.session.add(variant)
        audit.record("shop.variant.create", product)
        db.session.commit()
        flash(_("The variant is saved."), "success")
        return redirect(url_for("ethical_products.product_edit", product_id=product.id))
    return render_template(
        "ethical_products/product_form.html",
        form=ProductForm(obj=product),
        org=product.producer,
        product=product,
        variant_form=form,
        photo_form=PhotoForm(formdata=None),
    ), 422


@bp.route("/shop/manage/variants/<int:variant_id>", methods=["GET", "POST"])
@roles_required(*PRODUCER_ROLES)
def variant_edit(variant_id: int) -> Any:
    variant = db.session.get(Variant, variant_id)
    if variant is None:
        abort(404)
    my_product(variant.product_id)
    form = _variant_form(variant)
    if request.method == "GET":
        concurrency.stamp(form, variant)
    if form.validate_on_submit() and concurrency.unchanged_since(
        form, variant, lambda: _variant_form(variant, formdata=None)
    ):
        _apply_variant(variant, form)
        if _save_variant_stock(variant, form):
            audit.record("shop.variant.update", variant.product, variant=variant.id)
            db.session.commit()
            flash(_("The variant is saved."), "success")
            return redirect(url_for("ethical_products.product_edit", product_id=variant.product_id))
        db.session.rollback()
        return render_template(
            "ethical_products/variant_form.html", form=form, variant=variant
        ), 409
    return render_template(
        "ethical_products/variant_form.html", form=form, variant=variant
    ), concurrency.status()


def _store_photo(form: PhotoForm, producer_id: int, product: Product | None = None) -> bool:
    """Store the uploaded photo and add its row, of the product or else of the shop;
    False (nothing stored, the form carries the errors) when it cannot be."""
    if not form.validate_on_submit():
        return False
    data = form.photo.data.read(photos.MAX_BYTES + 1)
    try:
        stored = photos.store(data)
    except photos.PhotoError as error:
        form.photo.errors = [*form.photo.errors, str(error)]
        return False
    db.session.add(
        Photo(
            product_id=product.id if product else None,
            producer_id=producer_id,
            filename=stored.filename,
            thumb_filename=stored.thumb_filename,
            width=stored.width,
            height=stored.height,
            alt=form.alt.data,
            position=len(product.photos) if product else 0,
        )
    )
    db.session.commit()
    flash(_("The photo is uploaded."), "success")
    return True


@bp.route("/shop/manage/products/<int:product_id>/photos", methods=["POST"])
@roles_required(*PRODUCER_ROLES)
@accepts_upload(photos.MAX_BYTES)
def photo_upload(product_id: int) -> Any:
    product = my_product(product_id)
    form = PhotoForm()
    if not _store_photo(form, product.producer_id, product):
        return render_template(
            "ethical_products/product_form.html",
            form=ProductForm(obj=product),
            org=product.producer,
            product=product,
            variant_form=VariantForm(formdata=None),
            photo_form=form,
        ), 422
    return redirect(url_for("ethical_products.product_edit", product_id=product.id))


@bp.route("/shop/manage/photos", methods=["POST"])
@roles_required(*PRODUCER_ROLES)
@accepts_upload(photos.MAX_BYTES)
def shop_photo_upload() -> Any:
    org = my_producer()
    form = PhotoForm()
    if not _store_photo(form, org.id):
        for message in form.photo.errors or form.alt.errors or [_("Choose a photo.")]:
            flash(str(message), "danger")
    return redirect(url_for("ethical_products.manage_profile"))


@bp.route("/shop/manage/photos/<int:photo_id>/delete", methods=["POST"])
@roles_required(*PRODUCER_ROLES)
def photo_delete(photo_id: int) -> Any:
    item = db.session.get(Photo, photo_id)
    if item is None:
        abort(404)
    require(item.producer_id in {o.id for o in services.producer_organisations(current_user)})
    if not ReasonForm().validate_on_submit():
        abort(400)
    product_id = item.product_id
    photos.delete(item.filename, item.thumb_filename)
    db.session.delete(item)
    db.session.commit()
    flash(_("The photo is deleted."), "success")
    if product_id:
        return redirect(url_for("ethical_products.product_edit", product_id=product_id))
    return redirect(url_for("ethical_products.manage_profile"))


def producer_home_actions(user: Any) -> list[HomeAction]:
    """A producer's next steps: paid orders to prepare, its shop, a new product."""
    orgs = services.producer_organisations(user)
    if not orgs:
        return []
    to_prepare = db.session.execute(
        select(func.count())
        .select_from(SubOrder)
        .where(SubOrder.producer_id == orgs[0].id, SubOrder.status == PAID)
    ).scalar_one()
    return [
        HomeAction(
            _("Orders to prepare"),
            url_for("ethical_products.producer_orders", status=PAID),
            to_prepare,
        ),
        HomeAction(_("Your shop"), url_for("ethical_products.manage")),
        HomeAction(_("Add a product"), url_for("ethical_products.product_new")),
    ]
