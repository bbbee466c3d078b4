"""iCalendar (RFC 5545) for events: one event, or an organisation's feed."""

from __future__ import annotations

from collections.abc import Iterable

import icalendar
from flask import request, url_for

from portal.db import utcnow
from portal.network.models import CANCELLED, ONLINE, Event

PRODID = "-//Ponte//Network events//IT"


def _uid(event: Event) -> str:
    host = (request.host or "ponte").split(":")[0]
    return f"event-{event.id}@{host}"


def vevent(event: Event) -> icalendar.Event:
    item = icalendar.Event()
    url = url_for("network.event_detail", event_id=event.id, slug=event.slug, _external=True)
    item.add("uid", _uid(event))
    item.add("dtstamp", utcnow())
    item.add("dtstart", event.starts_at)
    item.add("dtend", event.ends_at)
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
    return cal.to_ical()
