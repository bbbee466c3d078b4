"""Public pages of the shop: the catalogue with its filters and facets, a product's page
with its ethical label, a producer's shop, the photos, and the sitemap rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import (
    abort,
    current_app,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import defaultload, joinedload

from ethical_products import formats, payments, photos, services
from ethical_products.forms import (
    AddToCartForm,
)
from ethical_products.label import Fact, label_facts, organic_fact, producer_facts, summarise
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
from portal import db, memo
from portal.db import utcnow
from portal.layout import row_url
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


@dataclass(frozen=True)
class ProducerCard:
    """What cards and filters show of a producer: its name and the producer's part of
    the label's short form (``summarise(producer_facts(...))``), in one language."""

    name: str
    summary: tuple[Fact, ...]


@dataclass(frozen=True)
class ShopTexts:
    """The catalogue's texts that depend only on the data version and the language."""

    producers: dict[int, ProducerCard]
    category_labels: dict[str, str]
    #: The filters' names, printed as their lazy strings print (``LazyString.__html__``).
    category_options: dict[str, Markup]
    activity_options: dict[str, Markup]

    def producer(self, producer_id: int) -> ProducerCard:
        """A producer's card texts (one that became visible after these were made: read)."""
        found = self.producers.get(producer_id)
        if found is None:
            org = db.session.get(Organisation, producer_id)
            profile = db.session.get(ProducerProfile, producer_id)
            found = ProducerCard(
                org.name if org else "",
                tuple(summarise(producer_facts(org, profile))) if org else (),
            )
        return found


def _as_printed(labels: dict[str, Any]) -> dict[str, Markup]:
    """Lazy translations as a template prints them: ``LazyString.__html__`` is trusted."""
    return {code: Markup(label.__html__()) for code, label in labels.items()}  # noqa: S704


def shop_texts() -> ShopTexts:
    """Every visible producer's card texts and the category names, in the page's language,
    remembered while the data version holds (producers and their shops are searchable
    records: a change advances the version)."""

    def compute() -> ShopTexts:
        return ShopTexts(
            producers={
                org.id: ProducerCard(org.name, tuple(summarise(producer_facts(org, profile))))
                for org, profile in services.visible_producers()
            },
            category_labels={code: str(label) for code, label in CATEGORIES.items()},
            category_options=_as_printed(CATEGORIES),
            activity_options=_as_printed(ART2_ACTIVITIES),
        )

    return memo.remember(("ethical_products.shop_texts", lang()), compute)


class PriceText:
    """The "from 4,50 €" of many prices: translated once, formatted once per amount."""

    def __init__(self) -> None:
        self.format = formats.current()
        # A trusted translation whose value is escaped, as Jinja's newstyle gettext does.
        self.template = Markup(gettext("from %(price)s"))  # noqa: S704
        self.done: dict[Decimal, Markup] = {}

    def __call__(self, price: Decimal | None) -> Markup | None:
        if price is None:
            return None
        text = self.done.get(price)
        if text is None:
            text = self.done[price] = self.template % {"price": self.format.euro(price)}
        return text


@dataclass(frozen=True)
class Listed:
    """A product in a producer's list."""

    url: str
    name: str
    #: "from 4,50 €", or None without a variant on sale.
    price: Markup | None


@dataclass(frozen=True)
class Card:
    """One product card, ready to print."""

    id: int
    url: str
    name: str
    producer_name: str
    category_label: str
    #: "from 4,50 €", or None without a variant on sale.
    price: Markup | None
    photo_src: str | None
    photo_alt: str
    summary: list[Fact]


class CardMaker:
    """Builds the cards of one page: what is the same for every card (URLs, the price
    text, the number format, the organic summary) is worked out once per request."""

    def __init__(self, texts: ShopTexts) -> None:
        self.texts = texts
        self.lang = lang()
        self.product_url = row_url("ethical_products.product_detail", "product_id")
        self.from_price = PriceText()
        self.organic: dict[tuple[str, str], list[Fact]] = {}

    def __call__(self, row: services.CardRow) -> Card:
        producer = self.texts.producer(row.producer_id)
        summary = [*producer.summary, *self._organic(row.organic_body, row.organic_number)]
        return Card(
            id=row.id,
            url=self.product_url(row.id),
            name=row.display_name(self.lang),
            producer_name=producer.name,
            category_label=self.texts.category_labels.get(row.category, row.category),
            price=self.from_price(row.min_price),
            photo_src=url_for("ethical_products.photo", name=row.photo.thumb_filename)
            if row.photo
            else None,
            photo_alt=row.photo.alt if row.photo else "",
            summary=summary,
        )

    def _organic(self, body: str, number: str) -> list[Fact]:
        key = (body, number)
        found = self.organic.get(key)
        if found is None:
            fact = organic_fact(body, number)
            found = self.organic[key] = summarise([fact]) if fact else []
        return found


@bp.route("/shop")
@public
def catalogue() -> Any:
    filters = filters_from_args()
    ranked = services.search_ids(filters.q) if filters.q else None
    today = utcnow().date()
    count_limit = current_app.config["LISTING_COUNT_LIMIT"]
    if ranked is None:
        page = db.paginate(
            services.card_statement(services.catalogue(filters, today)),
            page_arg(),
            current_app.config["PER_PAGE"],
            scalars=False,
            count_limit=count_limit,
            count_key=("ethical_products.catalogue", *services.filters_key(filters, today)),
        )
    else:
        page = services.ranked_page(
            filters, ranked, page_arg(), current_app.config["PER_PAGE"], today, count_limit
        )
    categories, producer_counts = services.catalogue_facets(filters, today, ranked)
    texts = shop_texts()
    make_card = CardMaker(texts)
    page.items = [make_card(row) for row in services.cards(page.items)]
    number = formats.current().number
    return render_template(
        "ethical_products/catalogue.html",
        page=page,
        filters=filters,
        categories=[
            (value, label, number(categories.get(value, 0)))
            for value, label in texts.category_options.items()
        ],
        activities=texts.activity_options,
        producers=sorted(
            (
                (producer_id, texts.producers[producer_id].name, number(n))
                for producer_id, n in producer_counts.items()
                if producer_id in texts.producers
            ),
            key=lambda p: p[1],
        ),
        comune_label=request.args.get("comune", ""),
    )


#: The product page in one query: its variants and photos (a handful each) joined rather
#: than selected apart; the producer's municipality, which the page does not show, and
#: the producer a second time through its shop are left out (read on use, if ever).
PRODUCT_PAGE_LOADING = (
    joinedload(Product.variants),
    joinedload(Product.photos),
    defaultload(Product.producer).lazyload(Organisation.municipality),
    defaultload(Product.profile).lazyload(ProducerProfile.organisation),
)


@bp.route("/shop/products/<int:product_id>")
@public
def product_detail(product_id: int) -> Any:
    product = db.session.get(Product, product_id, options=PRODUCT_PAGE_LOADING)
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
    filters = CatalogueFilters(producer_id=org.id)
    page = db.paginate(
        services.card_statement(services.catalogue(filters), photos=False),
        page_arg(),
        current_app.config["PER_PAGE"],
        scalars=False,
        count_key=("ethical_products.producer_shop", *services.filters_key(filters)),
    )
    product_url = row_url("ethical_products.product_detail", "product_id")
    from_price = PriceText()
    language = lang()
    page.items = [
        Listed(product_url(row.id), row.display_name(language), from_price(row.min_price))
        for row in services.cards(page.items)
    ]
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
        "ethical_products/producer.html",
        org=org,
        profile=profile,
        page=page,
        photos=shop_photos,
        lang=language,
        # The label's facts of the producer, shown while it has a product on sale.
        facts=producer_facts(org, profile) if page.items else [],
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
