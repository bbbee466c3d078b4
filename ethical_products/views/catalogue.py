"""Public pages of the shop: the catalogue with its filters and facets, a product's page
with its ethical label, a producer's shop, the photos, and the sitemap rows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import (
    abort,
    current_app,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from ethical_products import payments, photos, services
from ethical_products.forms import (
    AddToCartForm,
)
from ethical_products.label import label_facts, label_summary
from ethical_products.models import (
    ART2_ACTIVITIES,
    CATEGORIES,
    PAYMENT_METHODS,
    PRODUCER_KINDS,
    Photo,
    ProducerProfile,
    Product,
)
from ethical_products.services import CatalogueFilters
from ethical_products.views.common import bp, lang
from portal import db
from portal.db import utcnow
from portal.models import Organisation
from portal.permissions import public
from portal.views import page_arg


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
