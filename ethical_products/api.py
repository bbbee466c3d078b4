"""Products in the JSON API, and the Stripe webhook (INTERFACES.md)."""

from __future__ import annotations

import json
from typing import Any

import stripe
from flask import Blueprint, current_app, jsonify, request, url_for
from sqlalchemy.exc import IntegrityError

from ethical_products import payments, services
from ethical_products.label import label_json
from ethical_products.models import ART2_ACTIVITIES, CATEGORIES, Product
from ethical_products.services import CatalogueFilters
from portal import db, metrics
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
from portal.errors import json_error
from portal.extensions import csrf
from portal.municipalities import get as get_municipality
from portal.permissions import public

bp = Blueprint("ethical_products_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

webhook_bp = Blueprint("ethical_products_stripe", __name__)
csrf.exempt(webhook_bp)


def money(value: Any) -> str:
    return f"{value:.2f}"


def product_json(p: Product) -> dict[str, Any]:
    place = p.municipality
    return {
        "id": p.id,
        "url": url_for("ethical_products.product_detail", product_id=p.id, _external=True),
        "name": p.name,
        "name_en": p.name_en or None,
        "description": p.description,
        "description_en": p.description_en or None,
        "category": p.category,
        "producer": {
            "id": p.producer.id,
            "name": p.producer.name,
            "kind": p.producer.kind,
            "url": url_for("ethical_products.producer_shop", org_id=p.producer.id, _external=True),
        },
        "comune": p.comune_code,
        "municipality": place.name if place else None,
        "province": place.province_code if place else None,
        "region": place.region if place else None,
        "season": None
        if p.season_from is None
        else {"from_month": p.season_from, "to_month": p.season_to},
        "organic": p.organic,
        "label": label_json(p),
        "variants": [
            {
                "id": v.id,
                "label": v.label,
                "unit": v.unit,
                "weight_grams": v.weight_grams,
                "price": money(v.price),
                "vat_rate": money(v.vat_rate),
                "currency": "EUR",
                "vat_included": True,
                "on_demand": v.stock is None,
                "available": v.stock is None or v.stock > 0,
            }
            for v in p.active_variants
        ],
        "photos": [
            url_for("ethical_products.photo", name=ph.filename, _external=True) for ph in p.photos
        ],
        "updated_at": p.updated_at.isoformat(),
    }


@bp.route("/products")
@public
@doc(
    "Ethical products on sale: full-text search and facets.",
    tags=["products"],
    parameters=[
        query_param("q", "Full-text search (Italian and English)."),
        query_param("category", "Category.", {"type": "string", "enum": list(CATEGORIES)}),
        query_param(
            "comune",
            "ISTAT code of the origin municipality.",
            {"type": "string", "pattern": "^[0-9]{6}$"},
        ),
        query_param(
            "radius_km",
            "With comune: distance in km.",
            {"type": "number", "minimum": 0, "maximum": 300},
        ),
        query_param(
            "activity",
            "L. 141/2015 art. 2 activity the producer declares.",
            {"type": "string", "enum": list(ART2_ACTIVITIES)},
        ),
        query_param(
            "organic", "1: certified organic only.", {"type": "string", "enum": ["0", "1"]}
        ),
        id_param("producer", "Producer (organisation) id."),
        UPDATED_SINCE_PARAM,
        PAGE_PARAM,
    ],
    responses={
        "200": {
            "description": "A page of products.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ProductPage"}}
            },
        },
        "400": {"$ref": "#/components/responses/Error"},
        "422": {"$ref": "#/components/responses/Error"},
    },
)
def products() -> Any:
    fields: dict[str, str] = {}
    args = request.args
    category = args.get("category") or None
    if category and category not in CATEGORIES:
        fields["category"] = "unknown category"
    comune = args.get("comune") or None
    if comune and get_municipality(comune) is None:
        # Well formed (the document's pattern) but no such municipality.
        raise ApiError(422, "invalid", "No such municipality.", {"comune": "unknown ISTAT code"})
    radius = None
    if args.get("radius_km"):
        try:
            radius = float(args["radius_km"])
            if not 0 <= radius <= 300:
                raise ValueError
        except ValueError:
            fields["radius_km"] = "a number from 0 to 300"
    activities = args.getlist("activity")
    if any(a not in ART2_ACTIVITIES for a in activities):
        fields["activity"] = "one of " + ", ".join(ART2_ACTIVITIES)
    producer = args.get("producer") or None  # an id, checked against the document
    if args.get("organic", "0") not in ("0", "1"):
        fields["organic"] = "0 or 1"
    if fields:
        raise ApiError(400, "invalid", "Some parameters are not valid.", fields)
    since = updated_since()
    filters = CatalogueFilters(
        q=(args.get("q") or "").strip()[:200],
        category=category,
        comune=comune,
        radius_km=radius,
        activities=activities,
        organic=args.get("organic") == "1",
        producer_id=int(producer) if producer else None,
    )
    stmt = services.catalogue(filters)
    if since is not None:
        stmt = stmt.where(Product.updated_at >= since)
    page = db.paginate(stmt, page_number(), 20)
    return jsonify(paginated(page, [product_json(p) for p in page.items]))


@bp.route("/products/<int:product_id>")
@public
@doc(
    "One product on sale.",
    tags=["products"],
    responses={
        "200": {
            "description": "The product.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Product"}}},
        },
        "404": {"$ref": "#/components/responses/Error"},
    },
)
def product(product_id: int) -> Any:
    p = db.session.get(Product, product_id)
    if p is None or not p.is_public():
        raise ApiError(404, "not_found", "No such product.")
    return jsonify(product_json(p))


@webhook_bp.route("/stripe/webhook", methods=["POST"])
@public
@doc(
    "Stripe events (signed with the webhook secret): checkout sessions completed, "
    "expired or failed, charges refunded. Each event id is applied once.",
    tags=["payments"],
    request_body={
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "required": ["id", "type", "data"]}}
        },
    },
    security=[{"stripeSignature": []}],
    responses={
        "200": {
            "description": "Received (also for duplicates and unknown "
            "orders, which change nothing)."
        },
        "400": {"$ref": "#/components/responses/Error"},
    },
)
def stripe_webhook() -> Any:
    outcome, response = _stripe_webhook()
    metrics.stripe_webhook(outcome)
    return response


def _stripe_webhook() -> tuple[str, Any]:
    """(the outcome counted in /metrics, the response)."""
    if not payments.webhook_secret():
        return "not_configured", json_error(
            400, "not_configured", "Stripe webhooks are not configured."
        )
    payload = request.get_data()
    signature = request.headers.get("Stripe-Signature", "")
    try:
        payments.construct_event(payload, signature)
        event = json.loads(payload)
    except ValueError:
        return "invalid", json_error(400, "invalid", "The event must be a JSON object.")
    except stripe.SignatureVerificationError:
        # Not Stripe (or not this endpoint's secret): unauthenticated, like a missing token.
        response = json_error(401, "bad_signature", "The signature does not verify.")
        response.headers["WWW-Authenticate"] = 'Signature realm="stripe"'
        return "bad_signature", response
    if not isinstance(event, dict):
        return "invalid", json_error(400, "invalid", "The event must be a JSON object.")
    try:
        outcome = services.handle_event(event)
        db.session.commit()
    except IntegrityError:
        # The same event delivered twice at once: the other delivery applied it.
        db.session.rollback()
        outcome = "duplicate"
    except services.ShopError as error:
        db.session.rollback()
        return "invalid", json_error(400, "invalid", "The event cannot be applied.", error.fields)
    except payments.PaymentError:
        # Stripe retries the event later: nothing of it was kept.
        db.session.rollback()
        current_app.logger.warning("stripe webhook %s: Stripe call failed", event.get("id"))
        return "unavailable", json_error(503, "unavailable", "Try again later.")
    current_app.logger.info("stripe webhook %s %s: %s", event.get("id"), event.get("type"), outcome)
    return str(outcome), jsonify({"received": True, "outcome": outcome})


PRODUCT_SCHEMA = {
    "type": "object",
    "required": ["id", "url", "name", "producer", "label", "variants"],
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string", "format": "uri"},
        "name": {"type": "string"},
        "name_en": {"type": "string", "nullable": True},
        "description": {"type": "string"},
        "description_en": {"type": "string", "nullable": True},
        "category": {"type": "string", "enum": list(CATEGORIES)},
        "producer": {"type": "object"},
        "comune": {"type": "string"},
        "municipality": {"type": "string", "nullable": True},
        "province": {"type": "string", "nullable": True},
        "region": {"type": "string", "nullable": True},
        "season": {"type": "object", "nullable": True},
        "organic": {"type": "boolean"},
        "label": {
            "type": "array",
            "description": "The ethical label: declared facts only.",
            "items": {
                "type": "object",
                "required": ["code", "text"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": [
                            "register",
                            "art2_activities",
                            "inclusion_hours_share",
                            "organic",
                            "origin",
                        ],
                    },
                    "text": {"type": "string"},
                    "data": {"type": "object"},
                },
            },
        },
        "variants": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "label": {"type": "string"},
                    "unit": {"type": "string"},
                    "weight_grams": {"type": "integer", "nullable": True},
                    "price": {"type": "string", "example": "4.50"},
                    "vat_rate": {"type": "string", "example": "4.00"},
                    "currency": {"type": "string", "enum": ["EUR"]},
                    "vat_included": {"type": "boolean"},
                    "on_demand": {"type": "boolean"},
                    "available": {"type": "boolean"},
                },
            },
        },
        "photos": {"type": "array", "items": {"type": "string", "format": "uri"}},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
