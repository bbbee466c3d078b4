"""Factories for the network-life tests (no tests here)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from portal import db
from portal.db import utcnow
from portal.models import Organisation
from portal.network.models import (
    ACTIVE,
    DRAFT,
    ENTERPRISE_MEETING,
    IN_PERSON,
    PUBLISHED,
    Agreement,
    Event,
    GoodPractice,
)

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def make_practice(org: Organisation, *, status: str = PUBLISHED, **fields: Any) -> GoodPractice:
    fields.setdefault("title", "Tirocini con tutor aziendale")
    fields.setdefault("summary", "Un tutor in azienda segue ogni tirocinio.")
    themes = fields.pop("themes", ["employer_engagement"])
    targets = fields.pop("targets", ["disability"])
    practice = GoodPractice(
        organisation=org,
        status=status,
        published_at=utcnow() if status == PUBLISHED else None,
        region=fields.pop("region", "Friuli-Venezia Giulia"),
        **fields,
    )
    practice.slug = "pratica"
    practice.themes = themes
    practice.target_groups = targets
    db.session.add(practice)
    db.session.flush()
    return practice


def make_event(
    org: Organisation,
    *,
    status: str = PUBLISHED,
    capacity: int | None = 10,
    days: int = 7,
    **fields: Any,
) -> Event:
    start = utcnow().replace(microsecond=0) + timedelta(days=days)
    event = Event(
        organisation=org,
        title=fields.pop("title", "Incontro con le imprese"),
        slug="incontro",
        kind=fields.pop("kind", ENTERPRISE_MEETING),
        starts_at=start,
        ends_at=start + timedelta(hours=2),
        mode=fields.pop("mode", IN_PERSON),
        comune_code=fields.pop("comune_code", "093033"),
        venue="Sala riunioni",
        capacity=capacity,
        status=status,
        published_at=utcnow() if status == PUBLISHED else None,
        **fields,
    )
    db.session.add(event)
    db.session.flush()
    return event


def make_agreement(org: Organisation, *, status: str = ACTIVE, **fields: Any) -> Agreement:
    today = utcnow().date()
    agreement = Agreement(
        organisation=org,
        title=fields.pop("title", "Protocollo di rete"),
        kind=fields.pop("kind", "protocol"),
        starts_on=fields.pop("starts_on", today - timedelta(days=100)),
        ends_on=fields.pop("ends_on", today + timedelta(days=300)),
        status=status,
        **fields,
    )
    db.session.add(agreement)
    db.session.flush()
    from portal.network.services import set_parties

    set_parties(agreement, [], [])
    db.session.flush()
    return agreement


def outbox(app: Any) -> list[Any]:
    return app.extensions.setdefault("mail_outbox", [])


__all__ = ["DRAFT", "PDF", "make_agreement", "make_event", "make_practice", "outbox"]
