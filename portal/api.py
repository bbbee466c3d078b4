"""The JSON API under /api/v1 (INTERFACES.md): Bearer tokens, JSON errors, OpenAPI."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, jsonify, request, url_for
from sqlalchemy import func, or_, select

from portal import db, municipalities, openapi_checks
from portal.extensions import csrf
from portal.json_errors import ApiError, json_error
from portal.models import ORG_KINDS, Municipality, Organisation
from portal.permissions import access_of, is_api_endpoint, public
from portal.taxonomy import suggest_occupations

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

API_VERSION = "1.0.0"


def doc(
    summary: str,
    *,
    parameters: list[dict[str, Any]] | None = None,
    request_body: dict[str, Any] | None = None,
    responses: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    security: list[dict[str, list[str]]] | None = None,
) -> Callable[[F], F]:
    """Describe an API view for the OpenAPI document (kept next to the code it describes).
    ``security`` names a scheme other than the Bearer token (e.g. a signed webhook)."""

    def decorator(view: F) -> F:
        view.openapi = {  # type: ignore[attr-defined]
            "summary": summary,
            "parameters": parameters or [],
            "requestBody": request_body,
            "responses": responses or {"200": {"description": "OK"}},
            "tags": tags or [],
            "security": security,
        }
        return view

    return decorator


def query_param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


MAX_ID = db.MAX_ID
#: Pages beyond this are refused: a harvester uses ``updated_since`` instead.
MAX_PAGE = 99_999

PAGE_PARAM = query_param(
    "page", "Page number, from 1.", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}
)
UPDATED_SINCE_PARAM = query_param(
    "updated_since",
    "Only objects changed at or after this instant (RFC 3339, e.g. 2026-01-31T08:00:00Z; "
    "a date alone means its midnight UTC). For incremental harvesting.",
    {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]},
)


def id_param(name: str, description: str) -> dict[str, Any]:
    """A query parameter holding a record's id."""
    return query_param(name, description, {"type": "integer", "minimum": 1, "maximum": MAX_ID})


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 JSON error."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return data


def page_number() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 0 < int(raw) <= MAX_PAGE:
        raise ApiError(400, "invalid", "page must be a positive integer.", {"page": "invalid"})
    return int(raw)


def updated_since() -> datetime | None:
    """The ``updated_since`` query parameter as an aware UTC datetime, or a 400 JSON error."""
    raw = request.args.get("updated_since")
    if raw is None:
        return None
    try:
        if openapi_checks.value_problem(UPDATED_SINCE_PARAM["schema"], raw):
            raise ValueError(raw)
        value = datetime.fromisoformat(raw.upper().replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise ApiError(
            400,
            "invalid",
            "updated_since must be an ISO 8601 date or date-time.",
            {"updated_since": "invalid"},
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def paginated(page: db.Page, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "items": items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }


def organisation_json(org: Organisation) -> dict[str, Any]:
    place = org.municipality
    return {
        "id": org.id,
        "url": url_for("portal.organisation_detail", org_id=org.id, slug=org.slug, _external=True),
        "name": org.name,
        "kind": org.kind,
        "service_type": org.service_type,
        "description": org.description,
        "comune": org.comune_code,
        "municipality": place.name if place else None,
        "province": place.province_code if place else None,
        "region": place.region if place else None,
        "website": org.website or None,
        "verified": org.is_verified,
        "updated_at": org.updated_at.isoformat(),
    }


@bp.route("/organizations")
@public
@doc(
    "Verified organisations of the network directory.",
    parameters=[
        query_param("q", "Words in the name or municipality."),
        query_param("kind", "Organisation kind.", {"type": "string", "enum": list(ORG_KINDS)}),
        UPDATED_SINCE_PARAM,
        PAGE_PARAM,
    ],
    responses={
        "200": {
            "description": "A page of organisations.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/OrganizationPage"}}
            },
        },
        "400": {"$ref": "#/components/responses/Error"},
    },
    tags=["directory"],
)
def organizations() -> Any:
    kind = request.args.get("kind", "")
    if kind and kind not in ORG_KINDS:
        raise ApiError(400, "invalid", "Unknown organisation kind.", {"kind": "invalid"})
    stmt = (
        select(Organisation)
        .outerjoin(Municipality)
        .where(Organisation.verified_at.is_not(None))
        .order_by(Organisation.id)
    )
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    since = updated_since()
    if since is not None:
        stmt = stmt.where(Organisation.updated_at >= since)
    q = (request.args.get("q") or "").strip().lower()
    if q:
        like = "%" + q.replace("%", "") + "%"
        stmt = stmt.where(
            or_(func.lower(Organisation.name).like(like), func.lower(Municipality.name).like(like))
        )
    page = db.paginate(stmt, page_number(), 20)
    return jsonify(paginated(page, [organisation_json(o) for o in page.items]))


@bp.route("/organizations/<int:org_id>")
@public
@doc(
    "One verified organisation.",
    tags=["directory"],
    responses={
        "200": {
            "description": "The organisation.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Organization"}}
            },
        },
        "404": {"$ref": "#/components/responses/Error"},
    },
)
def organization(org_id: int) -> Any:
    org = db.session.get(Organisation, org_id)
    if org is None or not org.is_verified:
        raise ApiError(404, "not_found", "No such organisation.")
    return jsonify(organisation_json(org))


@bp.route("/municipalities")
@public
@doc(
    "Italian municipalities whose name starts with q (the picker's look-up).",
    parameters=[query_param("q", "At least two letters of the name.")],
    tags=["reference"],
)
def municipality_suggestions() -> Any:
    found = municipalities.suggest(request.args.get("q", ""))
    return jsonify({"items": [_municipality_json(m) for m in found]})


def _municipality_json(m: Municipality) -> dict[str, Any]:
    return {
        "id": m.istat_code,
        "istat_code": m.istat_code,
        "name": m.name,
        "province": m.province_code,
        "region": m.region,
        "label": m.label,
        "lat": m.lat,
        "lon": m.lon,
    }


@bp.route("/occupations")
@public
@doc(
    "ESCO occupations whose Italian or English label starts with (then contains) q, or "
    "whose ISCO-08 code starts with q: the occupation picker's look-up. ``label`` is in the "
    "reader's language (the session's, else Accept-Language).",
    parameters=[query_param("q", "At least two letters of the label, or digits of the code.")],
    responses={
        "200": {
            "description": "Up to 12 occupations, the closest first.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["items"],
                        "properties": {
                            "items": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["id", "uri", "isco_code", "label", "label_en"],
                                    "properties": {
                                        "id": {"type": "integer"},
                                        "uri": {"type": "string"},
                                        "isco_code": {"type": "string"},
                                        "label": {"type": "string"},
                                        "label_it": {"type": "string", "nullable": True},
                                        "label_en": {"type": "string"},
                                    },
                                },
                            }
                        },
                    }
                }
            },
        }
    },
    tags=["reference"],
)
def occupation_suggestions() -> Any:
    found = suggest_occupations(request.args.get("q", ""))
    return jsonify(
        {
            "items": [
                {
                    "id": o.id,
                    "uri": o.uri,
                    "isco_code": o.isco_code,
                    "label": o.label,
                    "label_it": o.label_it,
                    "label_en": o.label_en,
                }
                for o in found
            ]
        }
    )


@bp.route("/openapi.json")
@public
@doc("This document.", tags=["meta"])
def openapi() -> Any:
    return jsonify(build_openapi(current_app))


def _openapi_path(rule: str) -> str:
    import re

    return re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", rule)


def _path_schema(converter: Any) -> dict[str, Any]:
    from werkzeug.routing import IntegerConverter

    if isinstance(converter, IntegerConverter):
        schema: dict[str, Any] = {"type": "integer", "minimum": 0}
        if converter.max is not None:
            schema["maximum"] = converter.max
        return schema
    return {"type": "string"}


def build_openapi(app: Flask) -> dict[str, Any]:
    """Walk every API route; each documents itself with :func:`doc`."""
    paths: dict[str, Any] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        api_rule = is_api_endpoint(rule.endpoint) or rule.rule.startswith("/api/")
        if not api_rule and rule.rule != "/stripe/webhook":
            continue
        view = app.view_functions[rule.endpoint]
        spec = getattr(view, "openapi", None)
        if spec is None:
            continue
        path = _openapi_path(rule.rule)
        access = access_of(view)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation: dict[str, Any] = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": spec["summary"],
                "tags": spec["tags"],
                "parameters": [
                    {
                        "name": arg,
                        "in": "path",
                        "required": True,
                        "schema": _path_schema(rule._converters[arg]),
                    }
                    for arg in rule.arguments
                ]
                + spec["parameters"],
                # Any operation refuses unreadable input (e.g. a NUL character) with a 400.
                "responses": {"400": {"$ref": "#/components/responses/Error"}, **spec["responses"]},
            }
            if spec["requestBody"] and method in ("POST", "PUT", "PATCH"):
                operation["requestBody"] = spec["requestBody"]
                # A body the document refuses is a 422 naming the field (check_request...).
                operation["responses"].setdefault("422", {"$ref": "#/components/responses/Error"})
            if spec.get("security"):
                operation["security"] = spec["security"]
                operation["responses"] = {
                    **operation["responses"],
                    "401": {"$ref": "#/components/responses/Error"},
                }
            elif access is not None and not access.public:
                operation["security"] = [{"bearerAuth": []}]
                operation["responses"] = {
                    **operation["responses"],
                    "401": {"$ref": "#/components/responses/Error"},
                    "403": {"$ref": "#/components/responses/Error"},
                }
                if access.roles:
                    operation["x-roles"] = sorted(access.roles)
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Ponte API",
            "version": API_VERSION,
            "description": "Public and authenticated JSON API of the Ponte portal. Money is "
            'a decimal string with "currency": "EUR".',
            "license": {
                "name": "CC BY 4.0 (data)",
                "url": "https://creativecommons.org/licenses/by/4.0/",
            },
        },
        "servers": [{"url": request.host_url.rstrip("/")}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "stripeSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Stripe-Signature",
                    "description": "Stripe's signature of the event with the webhook secret.",
                },
            },
            "schemas": _schemas(app),
            "responses": {
                "Error": {
                    "description": "An error.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
        },
    }


def _schemas(app: Flask) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "fields": {"type": "object"},
                    },
                }
            },
        },
        "Organization": {
            "type": "object",
            "required": ["id", "url", "name", "kind"],
            "properties": {
                "id": {"type": "integer"},
                "url": {"type": "string", "format": "uri"},
                "name": {"type": "string"},
                "kind": {"type": "string", "enum": list(ORG_KINDS)},
                "service_type": {"type": "string", "nullable": True},
                "description": {"type": "string"},
                "comune": {"type": "string", "nullable": True},
                "municipality": {"type": "string", "nullable": True},
                "province": {"type": "string", "nullable": True},
                "region": {"type": "string", "nullable": True},
                "website": {"type": "string", "nullable": True},
                "verified": {"type": "boolean"},
                "updated_at": {"type": "string", "format": "date-time"},
            },
        },
    }
    schemas["OrganizationPage"] = page_schema("Organization")
    schemas.update(app.extensions.get("ponte_openapi_schemas", {}))
    return schemas


def page_schema(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "page", "total"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
            "pages": {"type": "integer"},
        },
    }


@bp.errorhandler(ApiError)
def handle_api_error(error: ApiError) -> Any:
    return json_error(error.status, error.code, error.message, error.fields)


#: Bodies larger than this are not checked here: the views that take them (an OCDS
#: import) read them as a stream, and declare no more than "a JSON object".
MAX_CHECKED_BODY = 1024 * 1024


def check_request_against_document() -> None:
    """Refuse an API request that the OpenAPI document forbids, naming each field: query
    parameters with a 400, a JSON body with a 422 (see :mod:`portal.openapi_checks`)."""
    view = current_app.view_functions.get(request.endpoint or "")
    spec = getattr(view, "openapi", None)
    if spec is None:
        return
    fields = openapi_checks.query_errors(spec["parameters"], request.args)
    if fields:
        raise ApiError(400, "invalid", "Some parameters are not valid.", fields)
    body = (spec["requestBody"] or {}).get("content", {}).get("application/json")
    if (
        body
        and request.method in ("POST", "PUT", "PATCH")
        and request.is_json
        and set(body["schema"]) - {"type", "description"}  # more than "an object"
        and (request.content_length or 0) <= MAX_CHECKED_BODY
    ):
        try:
            data = json.loads(
                request.get_data(cache=True) or b"",
                parse_float=Decimal,
                parse_constant=_not_json,  # NaN, Infinity: Python reads them, JSON has none
            )
        except (ValueError, RecursionError):
            return  # not JSON at all: the view says so in its own words (400)
        if not isinstance(data, dict):
            return  # not a JSON object: the same
        validator = _body_validator(request.endpoint or "", body["schema"])
        fields = openapi_checks.body_errors(validator, data)
        if fields:
            # Like the domain rules the views check: the field's path, with a 422.
            raise ApiError(422, "invalid", "The request body is not valid.", fields)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _body_validator(endpoint: str, schema: dict[str, Any]) -> Any:
    """The endpoint's body validator, built on its first request (a view's schema and the
    components are fixed while the app runs, so each process may keep it)."""
    cache = current_app.extensions.setdefault("ponte_openapi_validators", {})
    if endpoint not in cache:
        cache[endpoint] = openapi_checks.body_validator(schema, {"schemas": _schemas(current_app)})
    return cache[endpoint]


def init_app(app: Flask) -> None:
    """Let domain API blueprints raise ApiError too, and check every API request against
    the document before its view runs."""
    app.register_error_handler(ApiError, handle_api_error)
    app.before_request(check_request_against_document)
