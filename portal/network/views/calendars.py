"""iCalendar files (RFC 5545) of network events: one event, an organisation's
feed and the whole network's upcoming events, built by portal.network.ics."""

from __future__ import annotations

from typing import Any

from flask import Response, abort
from flask_babel import gettext as _

from portal import db
from portal.db import utcnow
from portal.models import Organisation
from portal.network import ics
from portal.network.queries import EventFilters, public_events
from portal.network.views.base import bp
from portal.network.views.events import event_or_404
from portal.permissions import public


def _ics_response(body: bytes, filename: str) -> Response:
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f"attachment; filename={filename}"},
    )


@bp.route("/events/<int:event_id>.ics")
@public
def event_ics(event_id: int) -> Any:
    event = event_or_404(event_id)
    return _ics_response(ics.calendar([event], event.title), f"event-{event.id}.ics")


@bp.route("/events/organisations/<int:org_id>.ics")
@public
def organisation_feed(org_id: int) -> Any:
    org = db.session.get(Organisation, org_id)
    if org is None or not org.is_verified:
        abort(404)
    events = (
        db.session.execute(
            public_events(EventFilters(when="all", organisation_id=org.id), utcnow()).limit(500)
        )
        .scalars()
        .all()
    )
    return _ics_response(
        ics.calendar(events, _("Events of %(name)s", name=org.name)), f"events-{org.id}.ics"
    )


@bp.route("/events/feed.ics")
@public
def network_feed() -> Any:
    events = (
        db.session.execute(public_events(EventFilters(when="upcoming"), utcnow()).limit(500))
        .scalars()
        .all()
    )
    return _ics_response(ics.calendar(events, _("Ponte network events")), "ponte-events.ics")
