"""Public listings of network life, shared by the pages and the JSON API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, or_, select

from portal import db, search
from portal.models import Municipality, Organisation
from portal.network.models import (
    ACTIVE,
    AGREEMENT_KINDS,
    CANCELLED,
    EVENT_KINDS,
    PUBLISHED,
    TARGET_GROUPS,
    TERMINATED,
    THEMES,
    Agreement,
    AgreementParty,
    Event,
    GoodPractice,
    PracticeTarget,
    PracticeTheme,
)

#: At most this many search hits narrow a listing (as the vacancies do).
MAX_SEARCH_HITS = 1000


def record_id(raw: str) -> int | None:
    """A record id typed in a query string, or None when it cannot be one (at most
    ``db.MAX_ID``)."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
        return None
    value = int(raw)
    return value if 0 < value <= db.MAX_ID else None


def search_ids(q: str, doc_type: str) -> list[int]:
    ids = search.matching_ids(q, doc_types=[doc_type], limit=MAX_SEARCH_HITS)
    return [int(i) for i in ids if i.isdigit()]


# --- Good practices ---------------------------------------------------------------------------


@dataclass
class PracticeFilters:
    q: str = ""
    themes: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    region: str = ""
    organisation_id: int | None = None
    updated_since: datetime | None = None

    @classmethod
    def from_args(cls, args: Any) -> PracticeFilters:
        org = args.get("organisation", "")
        return cls(
            q=(args.get("q") or "").strip()[:200],
            themes=[t for t in args.getlist("theme") if t in THEMES],
            targets=[t for t in args.getlist("target") if t in TARGET_GROUPS],
            region=(args.get("region") or "").strip()[:60],
            organisation_id=record_id(org),
        )


def public_practices(filters: PracticeFilters) -> Select[Any]:
    stmt = (
        select(GoodPractice)
        .join(Organisation, GoodPractice.organisation_id == Organisation.id)
        .where(GoodPractice.status == PUBLISHED, Organisation.verified_at.is_not(None))
    )
    for code in filters.themes:
        stmt = stmt.where(
            exists().where(PracticeTheme.practice_id == GoodPractice.id, PracticeTheme.code == code)
        )
    for code in filters.targets:
        stmt = stmt.where(
            exists().where(
                PracticeTarget.practice_id == GoodPractice.id, PracticeTarget.code == code
            )
        )
    if filters.region:
        stmt = stmt.where(GoodPractice.region == filters.region)
    if filters.organisation_id:
        stmt = stmt.where(GoodPractice.organisation_id == filters.organisation_id)
    if filters.updated_since is not None:
        stmt = stmt.where(GoodPractice.updated_at >= filters.updated_since)
    if filters.q:
        stmt = stmt.where(GoodPractice.id.in_(search_ids(filters.q, "good_practice")))
    return stmt.order_by(GoodPractice.published_at.desc(), GoodPractice.id.desc())


def practice_facets(stmt: Select[Any]) -> dict[str, list[tuple[str, int]]]:
    """Counts of themes, target groups and regions among the listed practices."""
    ids = stmt.order_by(None).with_only_columns(GoodPractice.id).scalar_subquery()
    themes = dict(
        db.session.execute(
            select(PracticeTheme.code, func.count())
            .where(PracticeTheme.practice_id.in_(ids))
            .group_by(PracticeTheme.code)
        ).all()
    )
    targets = dict(
        db.session.execute(
            select(PracticeTarget.code, func.count())
            .where(PracticeTarget.practice_id.in_(ids))
            .group_by(PracticeTarget.code)
        ).all()
    )
    regions = db.session.execute(
        select(GoodPractice.region, func.count())
        .where(GoodPractice.id.in_(ids), GoodPractice.region != "")
        .group_by(GoodPractice.region)
        .order_by(GoodPractice.region)
    ).all()
    return {
        "theme": [(c, themes[c]) for c in THEMES if themes.get(c)],
        "target": [(c, targets[c]) for c in TARGET_GROUPS if targets.get(c)],
        "region": [(r, n) for r, n in regions],
    }


# --- Events ----------------------------------------------------------------------------------


@dataclass
class EventFilters:
    when: str = "upcoming"  # upcoming | past | all
    kind: str = ""
    region: str = ""
    organisation_id: int | None = None
    updated_since: datetime | None = None

    @classmethod
    def from_args(cls, args: Any) -> EventFilters:
        org = args.get("organisation", "")
        when = args.get("when", "upcoming")
        return cls(
            when=when if when in ("upcoming", "past", "all") else "upcoming",
            kind=args.get("kind", "") if args.get("kind") in EVENT_KINDS else "",
            region=(args.get("region") or "").strip()[:60],
            organisation_id=record_id(org),
        )


def public_events(filters: EventFilters, now: datetime) -> Select[Any]:
    stmt = (
        select(Event)
        .join(Organisation, Event.organisation_id == Organisation.id)
        .where(Event.status.in_((PUBLISHED, CANCELLED)), Organisation.verified_at.is_not(None))
    )
    if filters.kind:
        stmt = stmt.where(Event.kind == filters.kind)
    if filters.region:
        stmt = stmt.where(
            Event.comune_code.in_(
                select(Municipality.istat_code).where(Municipality.region == filters.region)
            )
        )
    if filters.organisation_id:
        stmt = stmt.where(Event.organisation_id == filters.organisation_id)
    if filters.updated_since is not None:
        stmt = stmt.where(Event.updated_at >= filters.updated_since)
    if filters.when == "upcoming":
        return stmt.where(Event.ends_at >= now).order_by(Event.starts_at, Event.id)
    if filters.when == "past":
        return stmt.where(Event.ends_at < now).order_by(Event.starts_at.desc(), Event.id.desc())
    return stmt.order_by(Event.starts_at.desc(), Event.id.desc())


# --- Agreements ------------------------------------------------------------------------------


@dataclass
class AgreementFilters:
    q: str = ""
    kind: str = ""
    organisation_id: int | None = None
    updated_since: datetime | None = None

    @classmethod
    def from_args(cls, args: Any) -> AgreementFilters:
        org = args.get("organisation", "")
        return cls(
            q=(args.get("q") or "").strip()[:200],
            kind=args.get("kind", "") if args.get("kind") in AGREEMENT_KINDS else "",
            organisation_id=record_id(org),
        )


def public_agreements(filters: AgreementFilters) -> Select[Any]:
    stmt = (
        select(Agreement)
        .join(Organisation, Agreement.organisation_id == Organisation.id)
        .where(Agreement.status.in_((ACTIVE, TERMINATED)), Organisation.verified_at.is_not(None))
    )
    if filters.kind:
        stmt = stmt.where(Agreement.kind == filters.kind)
    if filters.organisation_id:
        stmt = stmt.where(
            exists().where(
                AgreementParty.agreement_id == Agreement.id,
                AgreementParty.organisation_id == filters.organisation_id,
            )
        )
    if filters.q:
        like = "%" + filters.q.lower().replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(
            or_(
                func.lower(Agreement.title).like(like),
                exists().where(
                    AgreementParty.agreement_id == Agreement.id,
                    func.lower(AgreementParty.name).like(like),
                ),
            )
        )
    if filters.updated_since is not None:
        stmt = stmt.where(Agreement.updated_at >= filters.updated_since)
    return stmt.order_by(Agreement.starts_on.desc().nulls_last(), Agreement.id.desc())
