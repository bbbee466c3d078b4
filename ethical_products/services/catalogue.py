"""The public catalogue: which products anyone may see, the filtered and full-text
ranked listing, and the facet counts beside it.

A catalogue page is read by many and changes only with a commit: its facet counts, its
total and the search index's answer are remembered while the data version holds
(:mod:`portal.memo`, keyed by everything they depend on, :func:`filters_key`), and a card
reads only the columns it shows, its lowest price and first photo in the same query.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
)

from ethical_products.models import (
    PRODUCER_KINDS,
    Photo,
    ProducerProfile,
    Product,
    Variant,
)
from portal import db, memo, municipalities
from portal.db import utcnow
from portal.models import Organisation


def visible_producer_ids() -> Select[Any]:
    """Ids of the producers whose products anyone may see: verified, with an active shop."""
    return (
        select(Organisation.id)
        .join(ProducerProfile, ProducerProfile.organisation_id == Organisation.id)
        .where(
            Organisation.verified_at.is_not(None),
            Organisation.kind.in_(PRODUCER_KINDS),
            ProducerProfile.active.is_(True),
        )
    )


def visible_products() -> Select[Any]:
    """Products anyone may see: active, of a verified producer with an active shop.

    The producers are a subquery rather than a join: a dozen producers hold thousands of
    products each, and with a join SQLite starts from the producers and sorts every
    product; this way it reads the products in the listing's order from their index.
    """
    return select(Product).where(
        Product.active.is_(True), Product.producer_id.in_(visible_producer_ids())
    )


@dataclass
class CatalogueFilters:
    q: str = ""
    category: str | None = None
    comune: str | None = None
    radius_km: float | None = None
    activities: list[str] = field(default_factory=list)
    organic: bool = False
    producer_id: int | None = None
    in_season: bool = False


#: The catalogue shows at most this many full-text matches, best first.
MAX_SEARCH_HITS = 1000


def search_ids(q: str) -> list[int]:
    """Product ids matching ``q`` in the search index, best first (the index's own answer
    cache serves repeats while this node's index is unchanged)."""
    from portal import search

    return [int(i) for i in search.matching_ids(q, doc_types=["product"], limit=MAX_SEARCH_HITS)]


#: Statements built for the catalogue's filters, kept by this process (at most this many).
MAX_BUILT = 512
_statements: dict[Hashable, Select[Any]] = {}


def _built(key: Hashable, build: Callable[[], Select[Any]]) -> Select[Any]:
    """``build()``, kept for ``key``: a statement is immutable, and building one is a good
    part of a page's work (its SQL is cached by SQLAlchemy anyway)."""
    stmt = _statements.get(key)
    if stmt is None:
        if len(_statements) >= MAX_BUILT:
            _statements.clear()
        stmt = _statements[key] = build()
    return stmt


def catalogue(
    filters: CatalogueFilters, today: date | None = None, ranked: list[int] | None = None
) -> Select[Any]:
    """The public listing, filtered; full-text matches (``ranked``, from the search index,
    looked up here when not given) come best first."""
    if filters.q and ranked is None:
        ranked = search_ids(filters.q)
    if filters.comune:  # the municipalities near it are read from the database
        return _catalogue(filters, today, ranked)
    return _built(
        ("catalogue", *filters_key(filters, today, ranked)),
        lambda: _catalogue(filters, today, ranked),
    )


def _catalogue(
    filters: CatalogueFilters, today: date | None, ranked: list[int] | None
) -> Select[Any]:
    stmt = visible_products()
    if filters.category:
        stmt = stmt.where(Product.category == filters.category)
    if filters.producer_id:
        stmt = stmt.where(Product.producer_id == filters.producer_id)
    if filters.organic:
        stmt = stmt.where(Product.organic.is_(True))
    if filters.comune:
        origin = municipalities.get(filters.comune)
        if origin is not None and filters.radius_km:
            stmt = stmt.where(
                Product.comune_code.in_(municipalities.within_radius(origin, filters.radius_km))
            )
        else:
            stmt = stmt.where(Product.comune_code == filters.comune)
    for code in filters.activities:
        # JSON list of codes: a LIKE on its text works on SQLite and PostgreSQL alike.
        stmt = stmt.where(
            Product.producer_id.in_(
                select(ProducerProfile.organisation_id).where(
                    cast(ProducerProfile.art2_activities, Text).like(f'%"{code}"%')
                )
            )
        )
    if filters.in_season:
        month = (today or utcnow().date()).month
        stmt = stmt.where(
            or_(
                Product.season_from.is_(None),
                Product.season_to.is_(None),
                and_(
                    Product.season_from <= Product.season_to,
                    Product.season_from <= month,
                    Product.season_to >= month,
                ),
                and_(
                    Product.season_from > Product.season_to,
                    or_(Product.season_from <= month, Product.season_to >= month),
                ),
            )
        )
    if filters.q:
        ranked = ranked or []
        stmt = stmt.where(Product.id.in_(ranked))
        if ranked:
            order = case({pid: i for i, pid in enumerate(ranked)}, value=Product.id)
            return stmt.order_by(order, Product.id)
    return stmt.order_by(Product.name, Product.id)


def facet_counts(stmt: Select[Any], column: Any) -> dict[Any, int]:
    """Counts of ``column``'s values over the products ``stmt`` selects (a plain select of
    products, as ``catalogue`` builds it)."""
    rows = db.session.execute(
        stmt.order_by(None).with_only_columns(column, func.count()).group_by(column)
    ).all()
    return {value: count for value, count in rows}


def filters_key(
    filters: CatalogueFilters, today: date | None = None, ranked: list[int] | None = None
) -> tuple[Hashable, ...]:
    """Everything the listing of ``filters`` depends on, as a key for :mod:`portal.memo`:
    the filters, the month when the season counts, the ranked ids of a full-text search
    (the index may answer differently at the same data version)."""
    month = (today or utcnow().date()).month if filters.in_season else None
    return (
        filters.q,
        filters.category,
        filters.comune,
        filters.radius_km,
        tuple(filters.activities),
        filters.organic,
        filters.producer_id,
        filters.in_season,
        month,
        tuple(ranked) if filters.q and ranked is not None else None,
    )


def catalogue_facets(
    filters: CatalogueFilters, today: date | None = None, ranked: list[int] | None = None
) -> tuple[dict[str, int], dict[int, int]]:
    """The category and producer counts beside the listing of ``filters``, each over the
    listing without its own filter.

    Both come from one count by category and producer over the listing without either
    filter, remembered while the data version holds: one scan serves both facets, and
    every choice of a category or a producer with the same other filters."""
    if filters.q and ranked is None:
        ranked = search_ids(filters.q)
    pairs = facet_pairs(replace(filters, category=None, producer_id=None), today, ranked)
    categories: dict[str, int] = {}
    producers: dict[int, int] = {}
    for (category, producer_id), n in pairs.items():
        if not filters.producer_id or producer_id == filters.producer_id:
            categories[category] = categories.get(category, 0) + n
        if not filters.category or category == filters.category:
            producers[producer_id] = producers.get(producer_id, 0) + n
    return categories, producers


def facet_pairs(
    filters: CatalogueFilters, today: date | None = None, ranked: list[int] | None = None
) -> dict[tuple[str, int], int]:
    """Products of the listing of ``filters`` by category and producer (remembered while
    the data version holds; shared by every reader: do not change it)."""

    def count() -> dict[tuple[str, int], int]:
        stmt = catalogue(filters, today, ranked).order_by(None)
        rows = db.session.execute(
            stmt.with_only_columns(Product.category, Product.producer_id, func.count()).group_by(
                Product.category, Product.producer_id
            )
        )
        return {(category, producer_id): n for category, producer_id, n in rows}

    return memo.remember(("ethical_products.facets", *filters_key(filters, today, ranked)), count)


@dataclass(frozen=True)
class CardPhoto:
    thumb_filename: str
    alt: str


@dataclass(frozen=True)
class CardRow:
    """What a product card shows, read without loading the product and its relations."""

    id: int
    name: str
    name_en: str
    category: str
    producer_id: int
    organic_body: str
    organic_number: str
    #: The lowest price of the active variants (as ``Product.min_price``).
    min_price: Decimal | None
    #: The first photo (as ``Product.photos[0]``).
    photo: CardPhoto | None

    def display_name(self, lang: str = "it") -> str:
        return (lang == "en" and self.name_en) or self.name


#: The product columns a card needs (``with_only_columns`` of a ``catalogue`` statement).
CARD_COLUMNS = (
    Product.id,
    Product.name,
    Product.name_en,
    Product.category,
    Product.producer_id,
    Product.organic_body,
    Product.organic_number,
)


#: The lowest price of a product's active variants (as ``Product.min_price``).
MIN_PRICE = (
    select(func.min(Variant.price))
    .where(Variant.product_id == Product.id, Variant.active.is_(True))
    .correlate(Product)
    .scalar_subquery()
)


def _first_photo(column: Any) -> Any:
    """``column`` of a product's first photo (as ``Product.photos[0]``)."""
    return (
        select(column)
        .where(Photo.product_id == Product.id)
        .order_by(Photo.position, Photo.id)
        .limit(1)
        .correlate(Product)
        .scalar_subquery()
    )


def _card_columns(photos: bool) -> list[Any]:
    columns = [*CARD_COLUMNS, MIN_PRICE.label("min_price")]
    if photos:
        columns += [
            _first_photo(Photo.thumb_filename).label("photo_thumb"),
            _first_photo(Photo.alt).label("photo_alt"),
        ]
    return columns


def card_statement(stmt: Select[Any], photos: bool = True) -> Select[Any]:
    """``stmt`` (a ``catalogue`` statement: filter and order) selecting what a card shows:
    the columns of :data:`CARD_COLUMNS`, the lowest price and (with ``photos``) the first
    photo, one row a product (read them with :func:`cards`)."""
    return _built(("card", stmt, photos), lambda: stmt.with_only_columns(*_card_columns(photos)))


def ranked_page(
    filters: CatalogueFilters,
    ranked: list[int],
    page: int,
    per_page: int,
    today: date | None = None,
    count_limit: int | None = None,
) -> db.Page:
    """One page of cards of a full-text search, best first: what ``db.paginate`` of the
    ``card_statement`` gives, read another way. The search answers a few hundred ids at
    most, so the ids among them that pass the filters are read (and remembered while the
    data version holds), put in the ranking's order here, and only the page's products
    are read, with their price and photo, instead of all the matches sorted by rank."""
    page = max(1, page)
    per_page = max(1, min(per_page, 100))
    stmt = catalogue(filters, today, ranked)
    matching = memo.remember(
        ("ethical_products.search_matches", *filters_key(filters, today, ranked)),
        lambda: frozenset(
            db.session.execute(stmt.order_by(None).with_only_columns(Product.id)).scalars()
        ),
    )
    ids = [pid for pid in dict.fromkeys(ranked) if pid in matching]
    total, capped = len(ids), False
    if count_limit is not None and total > count_limit:
        total, capped = count_limit, True
    shown = ids[(page - 1) * per_page : page * per_page]
    rows = {}
    if shown:
        by_ids = _built(
            ("cards by id",),
            lambda: select(*_card_columns(photos=True)).where(
                Product.id.in_(bindparam("ids", expanding=True))
            ),
        )
        rows = {row.id: row for row in db.session.execute(by_ids, {"ids": shown})}
    items = [rows[pid] for pid in shown if pid in rows]
    return db.Page(items=items, total=total, page=page, per_page=per_page, total_capped=capped)


def cards(rows: list[Any]) -> list[CardRow]:
    """The cards of one page of :func:`card_statement` rows."""
    return [
        CardRow(
            id=row.id,
            name=row.name,
            name_en=row.name_en,
            category=row.category,
            producer_id=row.producer_id,
            organic_body=row.organic_body,
            organic_number=row.organic_number,
            min_price=row.min_price,
            photo=CardPhoto(row.photo_thumb, row.photo_alt)
            if getattr(row, "photo_thumb", None) is not None
            else None,
        )
        for row in rows
    ]


def visible_producers() -> list[tuple[Organisation, ProducerProfile]]:
    """Every producer whose products anyone may see, with its shop."""
    return [
        (org, profile)
        for org, profile in db.session.execute(
            select(Organisation, ProducerProfile)
            .join(ProducerProfile, ProducerProfile.organisation_id == Organisation.id)
            .where(Organisation.id.in_(visible_producer_ids()))
        ).all()
    ]
