"""iCalendar (RFC 5545) for events: one event, or an organisation's feed."""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

import icalendar
from flask import current_app, url_for

from portal.db import utcnow
from portal.network.models import CANCELLED, ONLINE, Event

PRODID = "-//Ponte//Network events//IT"


ROME = ZoneInfo("Europe/Rome")


def canonical_host() -> str:
    """The portal's configured host (PONTE_CANONICAL_HOST, else SERVER_NAME), never the
    request's: one event keeps one UID whichever address it was fetched through, so
    calendar subscribers get no duplicates (RFC 5545 §3.8.4.7)."""
    config = current_app.config
    host = config.get("PONTE_CANONICAL_HOST") or config.get("SERVER_NAME") or "ponte.localhost"
    return host.split(":")[0]


def _uid(event: Event) -> str:
    return f"event-{event.id}@{canonical_host()}"


def vevent(event: Event) -> icalendar.Event:
    item = icalendar.Event()
    url = url_for("network.event_detail", event_id=event.id, slug=event.slug, _external=True)
    item.add("uid", _uid(event))
    item.add("dtstamp", utcnow())
    # Italian wall-clock times with their VTIMEZONE (added to the calendar), not UTC.
    item.add("dtstart", event.starts_at.astimezone(ROME))
    item.add("dtend", event.ends_at.astimezone(ROME))
    item.add("summary", event.title)
    # The link to join online goes only to confirmed registrants (e-mails, event page).
    description = "\n\n".join(filter(None, [event.kind_label, event.description, url]))
    item.add("description", description)
    location = event.place if event.mode != ONLINE else str(event.mode_label)
    if location:
        item.add("location", location)
    if event.municipality is not None and event.municipality.lat is not None:
        item.add("geo", (event.municipality.lat, event.municipality.lon))
    item.add("url", url)
    item.add(
        "organizer",
        f"mailto:{event.organisation.email}"
        if event.organisation.email
        else url_for(
            "portal.organisation_detail",
            org_id=event.organisation.id,
            slug=event.organisation.slug,
            _external=True,
        ),
        parameters={"CN": event.organisation.name},
    )
    item.add("status", "CANCELLED" if event.status == CANCELLED else "CONFIRMED")
    item.add("sequence", event.sequence)
    item.add("last-modified", event.updated_at)
    item.add("categories", [event.kind_label])
    return item


def calendar(events: Iterable[Event], name: str) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Europe/Rome")
    for event in events:
        cal.add_component(vevent(event))
    cal.add_missing_timezones()
    return cal.to_ical()
