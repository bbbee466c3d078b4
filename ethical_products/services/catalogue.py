"""The public catalogue: which products anyone may see, the filtered and full-text
ranked listing, and the facet counts beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    Select,
    Text,
    and_,
    case,
    cast,
    func,
    or_,
    select,
)

from ethical_products.models import (
    PRODUCER_KINDS,
    ProducerProfile,
    Product,
)
from portal import db, municipalities
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
    """Product ids matching ``q`` in the search index, best first."""
    from portal import search

    hits = search.query(q, doc_types=["product"], per_page=MAX_SEARCH_HITS).hits
    return [int(h.doc_id) for h in hits]


def catalogue(
    filters: CatalogueFilters, today: date | None = None, ranked: list[int] | None = None
) -> Select[Any]:
    """The public listing, filtered; full-text matches (``ranked``, from the search index,
    looked up here when not given) come best first."""
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
        if ranked is None:
            ranked = search_ids(filters.q)
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
