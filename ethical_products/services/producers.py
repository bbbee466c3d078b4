"""Producers' shops: the organisations a user runs a shop for, their shop profile, and
queueing their products for the search index when the shop's state changes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    String,
    cast,
    insert,
    literal,
    select,
)

from ethical_products.models import (
    PRODUCER_KINDS,
    ProducerProfile,
    Product,
)
from ethical_products.services.policy import PRODUCER_ROLES
from portal import db
from portal.db import utcnow
from portal.models import Organisation


def producer_organisations(user: Any) -> list[Organisation]:
    if user is None or not user.is_authenticated:
        return []
    return [o for o in user.organisations(*PRODUCER_ROLES) if o.kind in PRODUCER_KINDS]


def profile_for(org: Organisation) -> ProducerProfile:
    profile = db.session.get(ProducerProfile, org.id)
    if profile is None:
        profile = ProducerProfile(organisation_id=org.id, organisation=org, art2_activities=[])
        db.session.add(profile)
    return profile


def reindex_producer_products(producer_id: int) -> None:
    """Queue the producer's products for the search index (their documents carry the shop's
    state): one INSERT … SELECT into the search outbox, in this transaction."""
    from portal.search import outbox
    from portal.search.models import SearchOutbox

    db.session.execute(
        insert(SearchOutbox).from_select(
            ["doc_type", "doc_id", "created_at"],
            select(
                literal("product"),
                cast(Product.id, String(40)),
                literal(utcnow(), SearchOutbox.created_at.type),
            ).where(Product.producer_id == producer_id),
        )
    )
    db.session.info[outbox.DIRTY] = True
