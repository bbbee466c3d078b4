"""The shop's pages: catalogue, product and producer pages, cart, checkout, orders; the
producer's area (shop, products, orders, reports); the administrator's orders."""

from __future__ import annotations

import io
import secrets
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ethical_products import cart as session_cart
from ethical_products import payments, photos, services
from ethical_products.forms import (
    AddToCartForm,
    CheckoutForm,
    ConfirmReasonForm,
    MembersForm,
    PhotoForm,
    ProductForm,
    ProfileForm,
    ReasonForm,
    VariantForm,
)
from ethical_products.label import label_facts, label_summary
from ethical_products.models import (
    ART2_ACTIVITIES,
    BANK_TRANSFER,
    BUYER_TYPES,
    CATEGORIES,
    PAID,
    PAYMENT_METHODS,
    PRODUCER_KINDS,
    STATUS_LABELS,
    STRIPE,
    Order,
    Photo,
    ProducerProfile,
    Product,
    SubOrder,
    Variant,
)
from ethical_products.services import PRODUCER_ROLES, CatalogueFilters, ShopError
from portal import audit, concurrency, db, mail, spreadsheets
from portal.db import utcnow
from portal.layout import HomeAction
from portal.models import ADMIN, Organisation
from portal.permissions import login_required, public, require, roles_required
from portal.uploads import accepts_upload
from portal.views import page_arg

bp = Blueprint("ethical_products", __name__, template_folder="templates")


def lang() -> str:
    return str(get_locale() or "it")


# --- Catalogue --------------------------------------------------------------------------


def filters_from_args() -> CatalogueFilters:
    radius = request.args.get("radius_km", "")
    producer = request.args.get("producer", "")
    comune = (request.args.get("comune") or "").strip() or None
    if comune and not comune.isdigit():
        from portal.municipalities import resolve_municipality

        found = resolve_municipality(comune)
        comune = found.istat_code if found else "000000"
    return CatalogueFilters(
        q=(request.args.get("q") or "").strip()[:200],
        category=request.args.get("category")
        if request.args.get("category") in CATEGORIES
        else None,
        comune=comune,
        radius_km=float(radius) if radius.isdigit() and 0 < int(radius) <= 300 else None,
        activities=[a for a in request.args.getlist("activity") if a in ART2_ACTIVITIES],
        organic=request.args.get("organic") == "1",
        producer_id=int(producer) if producer.isdigit() and len(producer) < 10 else None,
        in_season=request.args.get("season") == "1",
    )


@bp.route("/shop")
@public
def catalogue() -> Any:
    filters = filters_from_args()
    ranked = services.search_ids(filters.q) if filters.q else None
    stmt = services.catalogue(filters, ranked=ranked)
    page = db.paginate(
        stmt,
        page_arg(),
        current_app.config["PER_PAGE"],
        count_limit=current_app.config["LISTING_COUNT_LIMIT"],
    )
    categories = services.facet_counts(
        services.catalogue(replace(filters, category=None), ranked=ranked), Product.category
    )
    producer_counts = services.facet_counts(
        services.catalogue(replace(filters, producer_id=None), ranked=ranked), Product.producer_id
    )
    producers = (
        {
            o.id: o
            for o in db.session.execute(
                select(Organisation).where(Organisation.id.in_(list(producer_counts)))
            ).scalars()
        }
        if producer_counts
        else {}
    )
    return render_template(
        "ethical_products/catalogue.html",
        page=page,
        filters=filters,
        categories=categories,
        category_labels=CATEGORIES,
        activities=ART2_ACTIVITIES,
        producers=sorted(
            ((producers[i], n) for i, n in producer_counts.items() if i in producers),
            key=lambda p: p[0].name,
        ),
        comune_label=request.args.get("comune", ""),
        lang=lang(),
        summary=label_summary,
    )


@bp.route("/shop/products/<int:product_id>")
@public
def product_detail(product_id: int) -> Any:
    product = db.session.get(Product, product_id)
    manager = product is not None and product.producer in services.producer_organisations(
        current_user
    )
    if product is None or not (product.is_public() or manager):
        abort(404)
    form = AddToCartForm()
    return render_template(
        "ethical_products/product.html",
        product=product,
        form=form,
        facts=label_facts(product),
        lang=lang(),
        manager=manager,
        month=utcnow().month,
    )


@bp.route("/shop/producers/<int:org_id>")
@public
def producer_shop(org_id: int) -> Any:
    org = db.session.get(Organisation, org_id)
    profile = db.session.get(ProducerProfile, org_id) if org else None
    if (
        org is None
        or profile is None
        or not profile.active
        or org.verified_at is None
        or org.kind not in PRODUCER_KINDS
    ):
        abort(404)
    page = db.paginate(
        services.catalogue(CatalogueFilters(producer_id=org.id)),
        page_arg(),
        current_app.config["PER_PAGE"],
    )
    shop_photos = (
        db.session.execute(
            select(Photo)
            .where(Photo.producer_id == org.id, Photo.product_id.is_(None))
            .order_by(Photo.position, Photo.id)
        )
        .scalars()
        .all()
    )
    sample = page.items[0] if page.items else None
    return render_template(
        "ethical_products/producer.html",
        org=org,
        profile=profile,
        page=page,
        photos=shop_photos,
        lang=lang(),
        facts=[f for f in label_facts(sample) if f.code != "origin" and f.code != "organic"]
        if sample
        else [],
        methods=PAYMENT_METHODS,
        stripe=payments.configured() and profile.stripe_ready,
    )


@bp.route("/shop/photos/<name>")
@public
def photo(name: str) -> Any:
    if not name.endswith(".jpg") or "/" in name or name.startswith("."):
        abort(404)
    return send_from_directory(photos.upload_dir(), name, max_age=86400)


# --- Cart -------------------------------------------------------------------------------


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


# --- Checkout ---------------------------------------------------------------------------


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


# --- The producer's area -----------------------------------------------------------------


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


def _store_photo(form: PhotoForm) -> photos.StoredPhoto | None:
    if not form.validate_on_submit():
        return None
    data = form.photo.data.read(photos.MAX_BYTES + 1)
    try:
        return photos.store(data)
    except photos.PhotoError as error:
        form.photo.errors = [*form.photo.errors, str(error)]
        return None


@bp.route("/shop/manage/products/<int:product_id>/photos", methods=["POST"])
@roles_required(*PRODUCER_ROLES)
@accepts_upload(photos.MAX_BYTES)
def photo_upload(product_id: int) -> Any:
    product = my_product(product_id)
    form = PhotoForm()
    stored = _store_photo(form)
    if stored is None:
        return render_template(
            "ethical_products/product_form.html",
            form=ProductForm(obj=product),
            org=product.producer,
            product=product,
            variant_form=VariantForm(formdata=None),
            photo_form=form,
        ), 422
    db.session.add(
        Photo(
            product_id=product.id,
            producer_id=product.producer_id,
            filename=stored.filename,
            thumb_filename=stored.thumb_filename,
            width=stored.width,
            height=stored.height,
            alt=form.alt.data,
            position=len(product.photos),
        )
    )
    db.session.commit()
    flash(_("The photo is uploaded."), "success")
    return redirect(url_for("ethical_products.product_edit", product_id=product.id))


@bp.route("/shop/manage/photos", methods=["POST"])
@roles_required(*PRODUCER_ROLES)
@accepts_upload(photos.MAX_BYTES)
def shop_photo_upload() -> Any:
    org = my_producer()
    form = PhotoForm()
    stored = _store_photo(form)
    if stored is None:
        for message in form.photo.errors or form.alt.errors or [_("Choose a photo.")]:
            flash(str(message), "danger")
        return redirect(url_for("ethical_products.manage_profile"))
    db.session.add(
        Photo(
            producer_id=org.id,
            filename=stored.filename,
            thumb_filename=stored.thumb_filename,
            width=stored.width,
            height=stored.height,
            alt=form.alt.data,
        )
    )
    db.session.commit()
    flash(_("The photo is uploaded."), "success")
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


# --- Producer orders and reports ---------------------------------------------------------


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
        total=sum((r.gross for r in rows), services.pricing.ZERO),
        vat=sum((r.vat for r in rows), services.pricing.ZERO),
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


# --- Administration ---------------------------------------------------------------------


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


# --- Next steps on the roles' homes --------------------------------------------------------


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


def buyer_home_actions(user: Any) -> list[HomeAction]:
    """A buyer's next steps: the catalogue and the orders placed with this account."""
    placed = db.session.execute(
        select(func.count()).select_from(Order).where(Order.buyer_id == user.id)
    ).scalar_one()
    return [
        HomeAction(_("Your orders"), url_for("ethical_products.my_orders"), placed),
        HomeAction(_("Browse the ethical products"), url_for("ethical_products.catalogue")),
    ]


# --- Sitemaps ------------------------------------------------------------------------------


def sitemap_products() -> Any:
    """Every product anyone may see, with its last change."""
    visible = services.visible_products().subquery()
    return select(visible.c.id, visible.c.updated_at)


def sitemap_product_url(row: Any) -> str:
    return url_for("ethical_products.product_detail", product_id=row[0], _external=True)


def sitemap_producers() -> Any:
    """Every producer with a public shop, with the shop's last change."""
    return select(ProducerProfile.organisation_id, ProducerProfile.updated_at).where(
        ProducerProfile.organisation_id.in_(services.visible_producer_ids())
    )


def sitemap_producer_url(row: Any) -> str:
    return url_for("ethical_products.producer_shop", org_id=row[0], _external=True)
