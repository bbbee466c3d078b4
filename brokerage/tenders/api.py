"""Social-clause tenders in the JSON API (INTERFACES.md): the public listing, the OCDS import
and the eligible suppliers of a tender."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    request,
    stream_with_context,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from brokerage.tenders import cpv, ocds, services
from brokerage.tenders.models import CLAUSE_TYPES, PUBLIC_STATUSES, Tender, TenderCpv
from portal import db, search
from portal.api import (
    PAGE_PARAM,
    UPDATED_SINCE_PARAM,
    ApiError,
    doc,
    page_number,
    paginated,
    query_param,
    updated_since,
)
from portal.db import utcnow
from portal.errors import streams_body
from portal.extensions import csrf
from portal.models import ADMIN, PUBLIC_OFFICER, Organisation
from portal.permissions import public, roles_required
from portal.uploads import MB, accepts_upload

bp = Blueprint("tenders_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def money(amount: Decimal | None, currency: str) -> dict[str, Any] | None:
    """INTERFACES.md: money is a decimal string with its currency."""
    return None if amount is None else {"amount": f"{amount:.2f}", "currency": currency}


def tender_json(t: Tender) -> dict[str, Any]:
    place = t.municipality
    return {
        "id": t.id,
        "url": url_for("tenders.tender_detail", tender_id=t.id, _external=True),
        "ocid": t.ocid,
        "title": t.title,
        "description": t.description,
        "status": t.status,
        "buyer": {
            "id": t.buyer.id,
            "name": t.buyer.name,
            "url": url_for(
                "portal.organisation_detail", org_id=t.buyer.id, slug=t.buyer.slug, _external=True
            ),
            "transparency_url": url_for("tenders.transparency", org_id=t.buyer.id, _external=True),
        },
        "buyer_name": t.buyer_name,
        "main_category": t.main_category,
        "value": money(t.value_amount, t.value_currency),
        "cpv": [
            {
                "code": row.code,
                "label_it": cpv.label(row.code, "it"),
                "label_en": cpv.label(row.code, "en"),
                "known": row.known,
            }
            for row in t.cpv_rows
        ],
        "comune": t.comune_code,
        "municipality": place.name if place else None,
        "province": place.province_code if place else None,
        "region": place.region if place else None,
        "deadline": t.deadline.isoformat() if t.deadline else None,
        "contract_start": t.contract_start.isoformat() if t.contract_start else None,
        "contract_end": t.contract_end.isoformat() if t.contract_end else None,
        "clause": {
            "type": t.clause_type,
            "legal_basis": t.legal_basis,
            "threshold": f"{t.threshold:.2f}" if t.threshold is not None else None,
            "reserved_participation": t.reserved_participation,
            "reserved_execution": t.reserved_execution,
            "measure": t.clause_measure,
            "base": t.clause_base,
            "target": f"{t.clause_target:.2f}" if t.clause_target is not None else None,
            "premium_measures": list(t.premium_measures),
            "social_standards": t.social_standards,
        },
        "lots": [
            {
                "id": lot.lot_id,
                "title": lot.title,
                "value": money(lot.value_amount, lot.value_currency),
                "reserved_participation": lot.reserved_participation,
                "reserved_execution": lot.reserved_execution,
            }
            for lot in t.lots
        ],
        "warnings": services.tender_warnings(t),
        "source": t.source,
        "ocds_url": url_for("tenders_api.tender_ocds", tender_id=t.id, _external=True),
        "published_at": t.published_at.isoformat() if t.published_at else None,
        "updated_at": t.updated_at.isoformat(),
    }


@bp.route("/tenders")
@public
@doc(
    "Public tenders (open, awarded or closed) of verified bodies, newest first.",
    tags=["tenders"],
    parameters=[
        query_param("q", "Full-text search (Italian and English)."),
        query_param("clause", "Clause type.", {"type": "string", "enum": list(CLAUSE_TYPES)}),
        query_param(
            "cpv",
            "A CPV code (8 digits, optionally its check digit): tenders with this code or "
            "one below it.",
            {"type": "string", "pattern": "^[0-9]{8}(-[0-9])?$"},
        ),
        UPDATED_SINCE_PARAM,
        PAGE_PARAM,
    ],
    responses={
        "200": {
            "description": "A page of tenders.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/TenderPage"}}
            },
        },
        "400": {"$ref": "#/components/responses/Error"},
    },
)
def tenders() -> Any:
    fields: dict[str, str] = {}
    clause = request.args.get("clause") or None
    if clause and clause not in CLAUSE_TYPES:
        fields["clause"] = "unknown clause type"
    code = None
    if request.args.get("cpv"):
        code = cpv.normalise(request.args["cpv"])
        if code is None:
            fields["cpv"] = "not a CPV code"
    if fields:
        raise ApiError(400, "invalid", "Some parameters are not valid.", fields)
    since = updated_since()
    stmt = (
        select(Tender)
        .join(Organisation, Organisation.id == Tender.buyer_org_id)
        .where(Tender.status.in_(PUBLIC_STATUSES), Organisation.verified_at.is_not(None))
    )
    if clause:
        stmt = stmt.where(Tender.clause_type == clause)
    if since is not None:
        stmt = stmt.where(Tender.updated_at >= since)
    if code:
        from brokerage.tenders.models import cpv_prefix

        prefix = cpv_prefix(code)
        upper = str(int(prefix) + 1).zfill(len(prefix))
        stmt = stmt.where(
            Tender.id.in_(
                select(TenderCpv.tender_id).where(
                    TenderCpv.code >= prefix.ljust(8, "0"), TenderCpv.code < upper.ljust(8, "0")
                )
            )
        )
    q = (request.args.get("q") or "").strip()[:200]
    if q:
        ids = search.matching_ids(q, doc_types=["tender"], limit=1000)
        stmt = stmt.where(Tender.id.in_([int(i) for i in ids]))
    page = db.paginate(
        stmt.order_by(Tender.published_at.desc(), Tender.id.desc()), page_number(), 20
    )
    return jsonify(paginated(page, [tender_json(t) for t in page.items]))


def visible_tender(tender_id: int) -> Tender:
    tender = db.session.get(Tender, tender_id)
    if tender is None or not services.can_see_tender(g.get("api_user"), tender):
        raise ApiError(404, "not_found", "No such tender.")
    return tender


@bp.route("/tenders/<int:tender_id>")
@public
@doc(
    "One tender (drafts only for the buyer's officers).",
    tags=["tenders"],
    responses={
        "200": {
            "description": "The tender.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Tender"}}},
        },
        "404": {"$ref": "#/components/responses/Error"},
    },
)
def tender(tender_id: int) -> Any:
    return jsonify(tender_json(visible_tender(tender_id)))


@bp.route("/tenders/<int:tender_id>/ocds")
@public
@doc(
    "The tender as an OCDS 1.1 release package: an imported process's releases as "
    "published and Ponte's own; the official lots, otherRequirements, contractTerms, "
    "sustainability and location extensions and Ponte's social-clause extension.",
    tags=["tenders"],
    responses={
        "200": {"description": "An OCDS release package."},
        "404": {"$ref": "#/components/responses/Error"},
    },
)
def tender_ocds(tender_id: int) -> Any:
    found = visible_tender(tender_id)
    package = ocds.release_package(
        [found], url_for("tenders_api.tender_ocds", tender_id=found.id, _external=True)
    )
    return Response(ocds.dumps(package), mimetype="application/json")


@bp.route("/tenders/import", methods=["POST"])
@roles_required(PUBLIC_OFFICER)
@accepts_upload(20 * MB)
@doc(
    "Import OCDS data as tenders of the caller's body: release packages, record packages, "
    "single releases or records, OCDS 1.0 (upgraded to 1.1 with ocdskit) or 1.1, one "
    "document or JSON Lines, streamed (any size). Schema problems are warnings with their "
    "JSON pointers; only data with no usable contracting process (no ocid) is refused. "
    "Everything is kept: the releases as published and the compiled release. Re-importing "
    "the same releases changes nothing; newer releases of an ocid update it.",
    tags=["tenders"],
    request_body={
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "OCDS release or record package(s), release(s) or "
                    "record(s), 1.0 or 1.1, optionally as JSON Lines.",
                }
            }
        },
    },
    responses={
        "201": {
            "description": "Imported.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/TenderImportReport"}}
            },
        },
        "200": {"description": "Imported: only updates."},
        "400": {"$ref": "#/components/responses/Error"},
        "413": {"$ref": "#/components/responses/Error"},
        "422": {"$ref": "#/components/responses/Error"},
    },
)
@streams_body
def tender_import() -> Any:
    bodies = services.officer_bodies(g.api_user)
    if not bodies:
        raise ApiError(403, "forbidden", "You are not an officer of a public body.")
    limit = current_app.config.get("TENDERS_MAX_STREAM_BYTES", 2 * 1024**3)
    if (request.content_length or 0) > limit:
        raise ApiError(413, "payload_too_large", "The package is too large.")
    try:
        with _spooled(request.stream, limit) as body:
            report = ocds.import_stream(body, bodies[0], g.api_user, utcnow().date())
    except ocds.ImportRejected as rejected:
        db.session.rollback()
        status = {"invalid_json": 400, "too_large": 413}.get(rejected.code, 422)
        message = (
            "The body is not valid JSON: nothing was imported."
            if rejected.code == "invalid_json"
            else "The package was rejected: nothing was imported."
        )
        raise ApiError(status, rejected.code, message, rejected.fields()) from None
    db.session.commit()
    body = {
        "created": [_ref(t) for t in report.created],
        "updated": [_ref(t) for t in report.updated],
        "unchanged": [_ref(t) for t in report.unchanged],
        "releases": report.releases,
        "records": report.records,
        "upgraded_from_1_0": report.upgraded,
        "contracts_created": report.contracts,
        "notified_suppliers": report.notified,
        "warnings": [w.as_json() for w in report.warnings],
        "warnings_total": report.warnings_total,
    }
    response = jsonify(body)
    response.status_code = 201 if report.created else 200
    return response


def _spooled(stream: Any, limit: int) -> Any:
    """The request body in a temporary file (memory up to 1 MB, then disk): the import
    reads it as a stream and can point at a syntax error's line and column."""
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 (returned)
    copied = 0
    while chunk := stream.read(1024 * 1024):
        copied += len(chunk)
        if copied > limit:
            spool.close()
            raise ocds.ImportRejected("too_large", [ocds.Problem("", "The package is too large.")])
        spool.write(chunk)
    spool.seek(0)
    return spool


def _ref(t: Tender) -> dict[str, Any]:
    return {
        "id": t.id,
        "ocid": t.ocid,
        "status": t.status,
        "url": url_for("tenders.tender_detail", tender_id=t.id, _external=True),
    }


# --- OCDS bulk publication ------------------------------------------------------------------

OCDS_PER_PAGE = 100


def _public_tenders() -> Any:
    """Public tenders of verified bodies, oldest change first (stable paging)."""
    return (
        select(Tender)
        .options(selectinload(Tender.releases))
        .join(Organisation, Organisation.id == Tender.buyer_org_id)
        .where(Tender.status.in_(PUBLIC_STATUSES), Organisation.verified_at.is_not(None))
        .order_by(Tender.updated_at, Tender.id)
    )


def _ocds_page() -> tuple[list[Tender], int, int, int]:
    page = page_number()
    raw = request.args.get("per_page", str(OCDS_PER_PAGE))
    if not raw.isdigit() or not 0 < int(raw) <= 1000:
        raise ApiError(400, "invalid", "per_page is 1 to 1000.", {"per_page": "invalid"})
    per_page = int(raw)
    stmt = _public_tenders()
    since = updated_since()
    if since is not None:
        stmt = stmt.where(Tender.updated_at >= since)
    found = db.paginate(stmt, page, per_page)
    return found.items, page, per_page, found.pages


def _ocds_response(package: dict[str, Any], endpoint: str, page: int, pages: int) -> Any:
    response = Response(ocds.dumps(package), mimetype="application/json")
    links = []
    args = {k: v for k, v in request.args.items() if k != "page"}
    if page < pages:
        links.append(f'<{url_for(endpoint, page=page + 1, _external=True, **args)}>; rel="next"')
    if page > 1:
        links.append(f'<{url_for(endpoint, page=page - 1, _external=True, **args)}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)
    response.headers["X-Total-Pages"] = str(pages)
    return response


OCDS_PARAMS = [
    UPDATED_SINCE_PARAM,
    PAGE_PARAM,
    query_param(
        "per_page",
        "Processes per page (1–1000, default 100).",
        {"type": "integer", "minimum": 1, "maximum": 1000},
    ),
]


@bp.route("/ocds/releases")
@public
@doc(
    "Every public tender as OCDS 1.1 releases, one release package per page (the "
    "releases as published and Ponte's own), with the package metadata (uri, "
    "publishedDate, publisher, license, publicationPolicy) and the declared extensions. "
    "The next page is in the Link header.",
    tags=["tenders"],
    parameters=OCDS_PARAMS,
    responses={
        "200": {"description": "An OCDS release package."},
        "400": {"$ref": "#/components/responses/Error"},
    },
)
def ocds_releases() -> Any:
    tenders, page, _per_page, pages = _ocds_page()
    uri = request.url
    return _ocds_response(
        ocds.release_package(tenders, uri), "tenders_api.ocds_releases", page, pages
    )


@bp.route("/ocds/records")
@public
@doc(
    "Every public tender as an OCDS 1.1 record (its releases and its compiled release), "
    "one record package per page; the next page is in the Link header.",
    tags=["tenders"],
    parameters=OCDS_PARAMS,
    responses={
        "200": {"description": "An OCDS record package."},
        "400": {"$ref": "#/components/responses/Error"},
    },
)
def ocds_records() -> Any:
    tenders, page, _per_page, pages = _ocds_page()
    return _ocds_response(
        ocds.record_package(tenders, request.url), "tenders_api.ocds_records", page, pages
    )


@bp.route("/ocds/bulk.jsonl")
@public
@doc(
    "Bulk download: every public tender as JSON Lines, one OCDS release per line "
    "(kind=records: one record per line), streamed.",
    tags=["tenders"],
    parameters=[
        query_param(
            "kind",
            "releases (default) or records.",
            {"type": "string", "enum": ["releases", "records"]},
        ),
        UPDATED_SINCE_PARAM,
    ],
    responses={"200": {"description": "JSON Lines (application/x-ndjson)."}},
)
def ocds_bulk() -> Any:
    kind = request.args.get("kind", "releases")
    if kind not in ("releases", "records"):
        raise ApiError(400, "invalid", "kind is releases or records.", {"kind": "invalid"})
    stmt = _public_tenders()
    since = updated_since()
    if since is not None:
        stmt = stmt.where(Tender.updated_at >= since)
    ids = list(db.session.execute(stmt.with_only_columns(Tender.id)).scalars())

    def generate() -> Any:
        for start in range(0, len(ids), OCDS_PER_PAGE):
            chunk = ids[start : start + OCDS_PER_PAGE]
            tenders = (
                db.session.execute(
                    select(Tender)
                    .options(selectinload(Tender.releases))
                    .where(Tender.id.in_(chunk))
                    .order_by(Tender.id)
                )
                .unique()
                .scalars()
                .all()
            )
            yield from ocds.json_lines(tenders, kind)
            db.session.expunge_all()

    return Response(
        stream_with_context(generate()),
        mimetype="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="ponte-ocds-{kind}.jsonl"'},
    )


@bp.route("/tenders/<int:tender_id>/eligible-suppliers")
@roles_required(PUBLIC_OFFICER, ADMIN)
@doc(
    "Verified type-B cooperatives and social farms ranked for a tender: eligibility with "
    "a reason per criterion (register enrolment, declared share of disabled or "
    "disadvantaged workers against the threshold, CPV capability by prefix, territory) and "
    "the fit (0–100) with its factors.",
    tags=["tenders"],
    parameters=[
        query_param(
            "all",
            "1: include ineligible suppliers, with their reasons.",
            {"type": "string", "enum": ["0", "1"]},
        ),
        query_param(
            "limit",
            "At most this many (1–200, default 50).",
            {"type": "integer", "minimum": 1, "maximum": 200},
        ),
    ],
    responses={
        "200": {
            "description": "Ranked suppliers.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/EligibleSuppliers"}}
            },
        },
        "400": {"$ref": "#/components/responses/Error"},
        "404": {"$ref": "#/components/responses/Error"},
    },
)
def eligible_suppliers(tender_id: int) -> Any:
    found = visible_tender(tender_id)
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise ApiError(
            400, "invalid", "limit must be an integer from 1 to 200.", {"limit": "invalid"}
        )
    ranked = services.rank(
        found, utcnow().date(), include_ineligible=request.args.get("all") == "1"
    )
    eligible = sum(1 for r in ranked if r.eligible)
    return jsonify(
        {
            "tender_id": found.id,
            "required_share": f"{found.required_share:.2f}"
            if found.required_share is not None
            else None,
            "total": len(ranked),
            "eligible": eligible,
            "items": [
                supplier_json(r)
                for r in services.explain(found, ranked[: int(raw)], utcnow().date())
            ],
        }
    )


def supplier_json(result: services.Eligibility) -> dict[str, Any]:
    s = result.supplier
    return {
        "id": s.org_id,
        "url": url_for("portal.organisation_detail", org_id=s.org_id, slug=s.slug, _external=True),
        "name": s.name,
        "kind": s.kind,
        "eligible": result.eligible,
        "score": result.score,
        "declared_share": f"{s.art61_share:.2f}" if s.art61_share is not None else None,
        "declaration_year": s.declaration_year,
        "criteria": [
            {"name": c.name, "passed": c.passed, "explanation": c.explanation}
            for c in result.criteria
        ],
        "factors": [
            {
                "name": f.name,
                "points": f.points,
                "max_points": f.max_points,
                "explanation": f.explanation,
            }
            for f in result.factors
        ],
    }


@bp.route("/cpv")
@public
@doc(
    "CPV 2008 codes whose number starts with q or whose label contains it (the picker's look-up).",
    parameters=[
        query_param("q", "At least two characters."),
        query_param("lang", "it or en.", {"type": "string", "enum": ["it", "en"]}),
    ],
    tags=["reference"],
)
def cpv_suggestions() -> Any:
    lang = "en" if request.args.get("lang") == "en" else "it"
    return jsonify(
        {
            "items": [
                {"id": code, "code": code, "label": label}
                for code, label in cpv.suggest(request.args.get("q", ""), lang)
            ]
        }
    )


TENDER_SCHEMA = {
    "type": "object",
    "required": ["id", "url", "ocid", "title", "status", "clause"],
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string", "format": "uri"},
        "ocid": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["draft", "published", "awarded", "closed", "cancelled"],
        },
        "buyer": {"type": "object"},
        "buyer_name": {"type": "string"},
        "main_category": {"type": "string", "enum": ["goods", "services", "works"]},
        "value": {
            "type": "object",
            "nullable": True,
            "properties": {"amount": {"type": "string"}, "currency": {"type": "string"}},
        },
        "cpv": {"type": "array", "items": {"type": "object"}},
        "comune": {"type": "string", "nullable": True},
        "deadline": {"type": "string", "format": "date-time", "nullable": True},
        "clause": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": list(CLAUSE_TYPES)},
                "threshold": {"type": "string", "nullable": True},
            },
        },
        "lots": {"type": "array", "items": {"type": "object"}},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "ocds_url": {"type": "string", "format": "uri"},
    },
}
IMPORT_REPORT_SCHEMA = {
    "type": "object",
    "required": ["created", "updated", "warnings"],
    "properties": {
        "created": {"type": "array", "items": {"type": "object"}},
        "updated": {"type": "array", "items": {"type": "object"}},
        "unchanged": {"type": "array", "items": {"type": "object"}},
        "releases": {"type": "integer"},
        "records": {"type": "integer"},
        "upgraded_from_1_0": {"type": "integer"},
        "warnings_total": {"type": "integer"},
        "contracts_created": {"type": "integer"},
        "notified_suppliers": {"type": "integer"},
        "warnings": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "JSON pointer"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
ELIGIBLE_SCHEMA = {
    "type": "object",
    "required": ["tender_id", "items"],
    "properties": {
        "tender_id": {"type": "integer"},
        "total": {"type": "integer"},
        "eligible": {"type": "integer"},
        "required_share": {"type": "string", "nullable": True},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "name", "eligible", "score", "criteria"],
                "properties": {
                    "id": {"type": "integer"},
                    "url": {"type": "string"},
                    "name": {"type": "string"},
                    "kind": {"type": "string"},
                    "eligible": {"type": "boolean"},
                    "score": {"type": "number"},
                    "declared_share": {"type": "string", "nullable": True},
                    "criteria": {"type": "array", "items": {"type": "object"}},
                    "factors": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
}
