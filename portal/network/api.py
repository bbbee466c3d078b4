"""Open data of network life in the JSON API: good practices, events, agreements.

Lists are paginated (``page``), take ``updated_since`` (ISO 8601) for incremental
harvesting, and every object carries its stable ``id`` and its public ``url``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for

from portal import db
from portal.api import (
    PAGE_PARAM,
    UPDATED_SINCE_PARAM,
    ApiError,
    doc,
    id_param,
    page_number,
    paginated,
    query_param,
    updated_since,
)
from portal.db import utcnow
from portal.extensions import csrf
from portal.network import services
from portal.network.models import (
    AGREEMENT_KINDS,
    AGREEMENT_STATES,
    CONFIRMED,
    EVENT_KINDS,
    EVENT_MODES,
    EVENT_STATUSES,
    IN_PERSON,
    TARGET_GROUPS,
    THEMES,
    WAITLISTED,
    Agreement,
    Document,
    Event,
    GoodPractice,
)
from portal.network.queries import (
    AgreementFilters,
    EventFilters,
    PracticeFilters,
    public_agreements,
    public_events,
    public_practices,
)
from portal.permissions import public

bp = Blueprint("network_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

PER_PAGE = 20


def _org(org: Any) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "url": url_for("portal.organisation_detail", org_id=org.id, slug=org.slug, _external=True),
    }


def _document(d: Document, endpoint: str, **args: Any) -> dict[str, Any]:
    return {
        "id": d.id,
        "title": d.display_name,
        "filename": d.filename,
        "media_type": "application/pdf",
        "size": d.size,
        "sha256": d.sha256,
        "url": url_for(endpoint, document_id=d.id, _external=True, **args),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def practice_json(p: GoodPractice) -> dict[str, Any]:
    return {
        "id": p.id,
        "url": url_for("network.practice_detail", practice_id=p.id, slug=p.slug, _external=True),
        "title": p.title,
        "summary": p.summary,
        "body": p.body,
        "region": p.region or None,
        "province": p.province_code or None,
        "themes": p.themes,
        "target_groups": p.target_groups,
        "organization": _org(p.organisation),
        "documents": [
            _document(d, "network.practice_document", practice_id=p.id) for d in p.documents
        ],
        "published_at": _iso(p.published_at),
        "updated_at": _iso(p.updated_at),
    }


def event_json(e: Event, counts: dict[str, int]) -> dict[str, Any]:
    place = e.municipality
    taken = counts.get(CONFIRMED, 0)
    return {
        "id": e.id,
        "url": url_for("network.event_detail", event_id=e.id, slug=e.slug, _external=True),
        "ics_url": url_for("network.event_ics", event_id=e.id, _external=True),
        "title": e.title,
        "kind": e.kind,
        "description": e.description,
        "status": e.status,
        "starts_at": _iso(e.starts_at),
        "ends_at": _iso(e.ends_at),
        "mode": e.mode,
        "venue": e.venue or None,
        "address": e.address or None,
        "comune": e.comune_code,
        "municipality": place.name if place else None,
        "province": place.province_code if place else None,
        "region": place.region if place else None,
        #: The link itself goes only to confirmed registrants.
        "online": e.mode != IN_PERSON,
        "capacity": e.capacity,
        "seats_taken": taken,
        "seats_left": None if e.capacity is None else max(0, e.capacity - taken),
        "waiting_list": counts.get(WAITLISTED, 0),
        "registration_open": e.accepts_registrations(utcnow()),
        "organization": _org(e.organisation),
        "updated_at": _iso(e.updated_at),
    }


def agreement_json(a: Agreement) -> dict[str, Any]:
    today = services.today()
    return {
        "id": a.id,
        "url": url_for("network.agreement_detail", agreement_id=a.id, _external=True),
        "title": a.title,
        "kind": a.kind,
        "description": a.description,
        "status": a.state(today),
        "signed_on": _iso(a.signed_on),
        "starts_on": _iso(a.starts_on),
        "ends_on": _iso(a.ends_on),
        "parties": [{"name": p.name, "organization_id": p.organisation_id} for p in a.parties],
        "recorded_by": _org(a.organisation),
        "documents": [
            _document(d, "network.agreement_document", agreement_id=a.id) for d in a.documents
        ],
        "updated_at": _iso(a.updated_at),
    }


def _page_response(name: str) -> dict[str, Any]:
    return {
        "200": {
            "description": "A page of results.",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        },
        "400": {"$ref": "#/components/responses/Error"},
    }


def _one_response(name: str) -> dict[str, Any]:
    return {
        "200": {
            "description": "The object.",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        },
        "404": {"$ref": "#/components/responses/Error"},
    }


ORG_REF = {
    "type": "object",
    "required": ["id", "name", "url"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
    },
}
DOCUMENT = {
    "type": "object",
    "required": ["id", "url", "filename", "size"],
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "filename": {"type": "string"},
        "media_type": {"type": "string"},
        "size": {"type": "integer"},
        "sha256": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
    },
}
NULLABLE_STRING = {"type": "string", "nullable": True}
PRACTICE_SCHEMA = {
    "type": "object",
    "required": ["id", "url", "title", "summary", "organization", "published_at", "updated_at"],
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "body": {"type": "string"},
        "region": NULLABLE_STRING,
        "province": NULLABLE_STRING,
        "themes": {"type": "array", "items": {"type": "string", "enum": list(THEMES)}},
        "target_groups": {
            "type": "array",
            "items": {"type": "string", "enum": list(TARGET_GROUPS)},
        },
        "organization": ORG_REF,
        "documents": {"type": "array", "items": DOCUMENT},
        "published_at": {"type": "string", "format": "date-time", "nullable": True},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
EVENT_SCHEMA = {
    "type": "object",
    "required": [
        "id",
        "url",
        "ics_url",
        "title",
        "kind",
        "status",
        "starts_at",
        "ends_at",
        "mode",
        "organization",
        "updated_at",
    ],
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string", "format": "uri"},
        "ics_url": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "kind": {"type": "string", "enum": list(EVENT_KINDS)},
        "description": {"type": "string"},
        "status": {"type": "string", "enum": list(EVENT_STATUSES)},
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time"},
        "mode": {"type": "string", "enum": list(EVENT_MODES)},
        "venue": NULLABLE_STRING,
        "address": NULLABLE_STRING,
        "comune": NULLABLE_STRING,
        "municipality": NULLABLE_STRING,
        "province": NULLABLE_STRING,
        "region": NULLABLE_STRING,
        "online": {"type": "boolean"},
        "capacity": {"type": "integer", "nullable": True},
        "seats_taken": {"type": "integer"},
        "seats_left": {"type": "integer", "nullable": True},
        "waiting_list": {"type": "integer"},
        "registration_open": {"type": "boolean"},
        "organization": ORG_REF,
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
AGREEMENT_SCHEMA = {
    "type": "object",
    "required": ["id", "url", "title", "kind", "status", "parties", "updated_at"],
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "kind": {"type": "string", "enum": list(AGREEMENT_KINDS)},
        "description": {"type": "string"},
        "status": {"type": "string", "enum": list(AGREEMENT_STATES)},
        "signed_on": {"type": "string", "format": "date", "nullable": True},
        "starts_on": {"type": "string", "format": "date", "nullable": True},
        "ends_on": {"type": "string", "format": "date", "nullable": True},
        "parties": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "organization_id": {"type": "integer", "nullable": True},
                },
            },
        },
        "recorded_by": ORG_REF,
        "documents": {"type": "array", "items": DOCUMENT},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}


def _list_filters(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [*params, UPDATED_SINCE_PARAM, PAGE_PARAM]


@bp.route("/good-practices")
@public
@doc(
    "Published good practices, newest first.",
    tags=["network"],
    parameters=_list_filters(
        [
            query_param("q", "Full-text search."),
            query_param("theme", "Theme.", {"type": "string", "enum": list(THEMES)}),
            query_param("target", "Target group.", {"type": "string", "enum": list(TARGET_GROUPS)}),
            query_param("region", "Region name, e.g. Lazio."),
        ]
    ),
    responses=_page_response("GoodPracticePage"),
)
def practices() -> Any:
    # The filters were checked against the document (portal.openapi_checks).
    filters = PracticeFilters.from_args(request.args)
    filters.organisation_id = None
    filters.updated_since = updated_since()
    page = db.paginate(public_practices(filters), page_number(), PER_PAGE)
    return jsonify(paginated(page, [practice_json(p) for p in page.items]))


@bp.route("/good-practices/<int:practice_id>")
@public
@doc("One published good practice.", tags=["network"], responses=_one_response("GoodPractice"))
def practice(practice_id: int) -> Any:
    p = db.session.get(GoodPractice, practice_id)
    if p is None or not p.is_public():
        raise ApiError(404, "not_found", "No such good practice.")
    return jsonify(practice_json(p))


@bp.route("/events")
@public
@doc(
    "Published network events: upcoming by default (soonest first), or past, or all.",
    tags=["network"],
    parameters=_list_filters(
        [
            query_param(
                "when", "Which events.", {"type": "string", "enum": ["upcoming", "past", "all"]}
            ),
            query_param("kind", "Kind of event.", {"type": "string", "enum": list(EVENT_KINDS)}),
            query_param("region", "Region name."),
            id_param("organisation", "Id of the organising organisation."),
        ]
    ),
    responses=_page_response("EventPage"),
)
def events() -> Any:
    # The filters were checked against the document (portal.openapi_checks).
    filters = EventFilters.from_args(request.args)
    filters.updated_since = updated_since()
    page = db.paginate(public_events(filters, utcnow()), page_number(), PER_PAGE)
    counts = services.seat_counts([e.id for e in page.items])
    return jsonify(paginated(page, [event_json(e, counts[e.id]) for e in page.items]))


@bp.route("/events/<int:event_id>")
@public
@doc(
    "One published event, with its seats and waiting list.",
    tags=["network"],
    responses=_one_response("Event"),
)
def event(event_id: int) -> Any:
    e = db.session.get(Event, event_id)
    if e is None or not e.is_public():
        raise ApiError(404, "not_found", "No such event.")
    return jsonify(event_json(e, services.seat_counts([e.id])[e.id]))


@bp.route("/agreements")
@public
@doc(
    "Network agreements in force or ended (the public registry).",
    tags=["network"],
    parameters=_list_filters(
        [
            query_param("q", "Words in the title or a party's name."),
            query_param(
                "kind", "Type of agreement.", {"type": "string", "enum": list(AGREEMENT_KINDS)}
            ),
            id_param("organisation", "Id of a party organisation."),
        ]
    ),
    responses=_page_response("AgreementPage"),
)
def agreements() -> Any:
    # The filters were checked against the document (portal.openapi_checks).
    filters = AgreementFilters.from_args(request.args)
    filters.updated_since = updated_since()
    page = db.paginate(public_agreements(filters), page_number(), PER_PAGE)
    return jsonify(paginated(page, [agreement_json(a) for a in page.items]))


@bp.route("/agreements/<int:agreement_id>")
@public
@doc(
    "One network agreement of the public registry.",
    tags=["network"],
    responses=_one_response("Agreement"),
)
def agreement(agreement_id: int) -> Any:
    a = db.session.get(Agreement, agreement_id)
    if a is None or not a.is_public():
        raise ApiError(404, "not_found", "No such agreement.")
    return jsonify(agreement_json(a))


SCHEMAS = {
    "GoodPractice": PRACTICE_SCHEMA,
    "Event": EVENT_SCHEMA,
    "Agreement": AGREEMENT_SCHEMA,
}
