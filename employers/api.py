"""Vacancies in the JSON API (INTERFACES.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, g, jsonify, request, url_for

from employers import services
from employers.models import CONTRACT_TYPES, PAY_PERIODS, SHIFT_PATTERNS, Vacancy
from employers.services import VACANCY_ROLES, VacancyData, VacancyError, VacancyFilters
from portal import concurrency, db
from portal.api import (
    PAGE_PARAM,
    UPDATED_SINCE_PARAM,
    ApiError,
    doc,
    json_body,
    page_number,
    paginated,
    query_param,
    updated_since,
)
from portal.db import utcnow
from portal.extensions import csrf
from portal.forms import bounded_decimal
from portal.municipalities import get as get_municipality
from portal.permissions import public, roles_required
from portal.taxonomy import ADJUSTMENTS, Occupation, Skill

bp = Blueprint("employers_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def vacancy_json(v: Vacancy) -> dict[str, Any]:
    place = v.municipality
    occupation = v.occupation
    return {
        "id": v.id,
        "url": url_for("employers.vacancy_detail", vacancy_id=v.id, _external=True),
        "title": v.title,
        "description": v.description,
        "status": v.status,
        "close_reason": v.close_reason,
        "organization": {
            "id": v.organisation.id,
            "name": v.organisation.name,
            "url": url_for(
                "portal.organisation_detail",
                org_id=v.organisation.id,
                slug=v.organisation.slug,
                _external=True,
            ),
        },
        "comune": v.comune_code,
        "municipality": place.name if place else None,
        "province": place.province_code if place else None,
        "region": place.region if place else None,
        "occupation": None
        if occupation is None
        else {
            "id": occupation.id,
            "uri": occupation.uri,
            "isco_code": occupation.isco_code,
            "label_it": occupation.label_it,
            "label_en": occupation.label_en,
        },
        "skills": [
            {
                "id": s.skill.id,
                "uri": s.skill.uri,
                "label_en": s.skill.label_en,
                "label_it": s.skill.label_it,
                "required": s.required,
            }
            for s in v.skills
        ],
        "contract_type": v.contract_type,
        "hours_per_week": v.hours_per_week,
        "shift_pattern": v.shift_pattern,
        "positions": v.positions,
        "pay": {
            "min": money(v.pay_min),
            "max": money(v.pay_max),
            "period": v.pay_period,
            "currency": "EUR",
        },
        "adjustments": v.adjustments,
        "onsite_tutor": v.onsite_tutor,
        "inclusion_open": v.inclusion_open,
        "counts_toward_quota": v.counts_toward_quota,
        "published_at": v.published_at.isoformat() if v.published_at else None,
        "expires_on": v.expires_on.isoformat() if v.expires_on else None,
        "updated_at": v.updated_at.isoformat(),
        "version": v.version,
    }


@bp.route("/vacancies")
@public
@doc(
    "Public vacancies: published, not expired, of verified organisations.",
    tags=["vacancies"],
    parameters=[
        query_param("q", "Full-text search (Italian and English)."),
        query_param(
            "comune",
            "ISTAT code of the municipality (6 digits).",
            {"type": "string", "pattern": "^[0-9]{6}$"},
        ),
        query_param(
            "radius_km",
            "With comune: distance in km.",
            {"type": "number", "minimum": 0, "maximum": 300},
        ),
        query_param("contract", "Contract type.", {"type": "string", "enum": list(CONTRACT_TYPES)}),
        UPDATED_SINCE_PARAM,
        PAGE_PARAM,
    ],
    responses={
        "200": {
            "description": "A page of vacancies.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/VacancyPage"}}
            },
        },
        "400": {"$ref": "#/components/responses/Error"},
        "422": {"$ref": "#/components/responses/Error"},
    },
)
def vacancies() -> Any:
    fields: dict[str, str] = {}
    comune = request.args.get("comune") or None
    if comune and get_municipality(comune) is None:
        # Well formed (the document's pattern) but no such municipality.
        raise ApiError(422, "invalid", "No such municipality.", {"comune": "unknown ISTAT code"})
    radius: float | None = None
    if request.args.get("radius_km"):
        try:
            radius = float(request.args["radius_km"])
            if not 0 <= radius <= 300:
                raise ValueError
        except ValueError:
            fields["radius_km"] = "a number from 0 to 300"
    contract = request.args.get("contract") or None
    if contract and contract not in CONTRACT_TYPES:
        fields["contract"] = "unknown contract type"
    if fields:
        raise ApiError(400, "invalid", "Some parameters are not valid.", fields)
    since = updated_since()
    filters = VacancyFilters(
        q=(request.args.get("q") or "").strip()[:200],
        comune=comune,
        radius_km=radius,
        contract_type=contract,
    )
    ranked = services.ranked_vacancy_ids(filters.q)
    stmt = services.public_vacancies(filters, utcnow().date(), ranked)
    if since is not None:
        stmt = stmt.where(Vacancy.updated_at >= since)
    page = db.paginate(stmt, page_number(), 20)
    return jsonify(paginated(page, [vacancy_json(v) for v in page.items]))


@bp.route("/vacancies/<int:vacancy_id>")
@public
@doc(
    "One public vacancy.",
    tags=["vacancies"],
    responses={
        "200": {
            "description": "The vacancy.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Vacancy"}}},
        },
        "404": {"$ref": "#/components/responses/Error"},
    },
)
def vacancy(vacancy_id: int) -> Any:
    v = db.session.get(Vacancy, vacancy_id)
    user = g.get("api_user")
    if v is None or not (v.is_public(utcnow().date()) or services.can_manage(user, v)):
        raise ApiError(404, "not_found", "No such vacancy.")
    response = jsonify(vacancy_json(v))
    response.headers["ETag"] = concurrency.etag(v)
    return response


def _int(
    data: dict[str, Any], name: str, fields: dict[str, str], default: int | None = None
) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        fields[name] = "must be an integer"
        return 0
    return value


def _decimal(data: dict[str, Any], name: str, fields: dict[str, str]) -> Decimal | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        if isinstance(value, float | bool) or not isinstance(value, int | str):
            raise InvalidOperation
        number = Decimal(str(value).strip())
        if not bounded_decimal(number):  # NaN, infinities, 1e30 would break arithmetic
            raise InvalidOperation
        return number
    except InvalidOperation:
        fields[name] = 'must be a decimal string such as "1250.00"'
        return None


def parse_vacancy(data: dict[str, Any]) -> VacancyData:
    fields: dict[str, str] = {}
    for name in ("title", "description", "comune", "contract_type"):
        if name in data and not isinstance(data[name], str):
            fields[name] = "must be a string"
    for name in ("title", "comune", "contract_type", "hours_per_week"):
        if name not in data:
            fields[name] = "is required"
    hours = _int(data, "hours_per_week", fields, 0) if "hours_per_week" in data else 0
    positions = _int(data, "positions", fields, 1)
    expires = None
    if data.get("expires_on") is not None:
        try:
            expires = date.fromisoformat(str(data["expires_on"]))
        except ValueError:
            fields["expires_on"] = "must be a date YYYY-MM-DD"
    occupation_id = None
    if data.get("occupation"):
        occupation = (
            db.session.query(Occupation)
            .filter(Occupation.uri == str(data["occupation"]))
            .one_or_none()
        )
        if occupation is None:
            fields["occupation"] = "unknown ESCO occupation URI"
        else:
            occupation_id = occupation.id
    skill_ids: dict[str, list[int]] = {"required": [], "preferred": []}
    for kind in skill_ids:
        uris = data.get(f"{kind}_skills") or []
        if not isinstance(uris, list):
            fields[f"{kind}_skills"] = "must be a list of ESCO skill URIs"
            continue
        found = (
            dict(
                db.session.query(Skill.uri, Skill.id)
                .filter(Skill.uri.in_([str(u) for u in uris]))
                .all()
            )
            if uris
            else {}
        )
        if len(found) != len(set(uris)):
            fields[f"{kind}_skills"] = "unknown ESCO skill URI"
        skill_ids[kind] = list(found.values())
    adjustments = data.get("adjustments") or []
    if not isinstance(adjustments, list):
        fields["adjustments"] = "must be a list"
        adjustments = []
    for name, allowed in (("shift_pattern", SHIFT_PATTERNS), ("pay_period", PAY_PERIODS)):
        if name in data and data[name] not in allowed:
            fields[name] = "must be one of " + ", ".join(allowed)
    pay_min, pay_max = _decimal(data, "pay_min", fields), _decimal(data, "pay_max", fields)
    if fields:
        raise ApiError(422, "invalid", "The vacancy is not valid.", fields)
    return VacancyData(
        title=data["title"],
        description=data.get("description") or "",
        comune_code=data["comune"],
        contract_type=data["contract_type"],
        hours_per_week=hours,
        positions=positions,
        shift_pattern=data.get("shift_pattern", "day"),
        occupation_id=occupation_id,
        pay_min=pay_min,
        pay_max=pay_max,
        pay_period=data.get("pay_period", "month"),
        expires_on=expires,
        onsite_tutor=bool(data.get("onsite_tutor", False)),
        inclusion_open=bool(data.get("inclusion_open", True)),
        counts_toward_quota=bool(data.get("counts_toward_quota", False)),
        adjustments=[str(a) for a in adjustments],
        required_skill_ids=skill_ids["required"],
        preferred_skill_ids=[s for s in skill_ids["preferred"] if s not in skill_ids["required"]],
    )


@bp.route("/vacancies", methods=["POST"])
@roles_required(*VACANCY_ROLES)
@doc(
    "Create a vacancy for the caller's organisation (draft or published).",
    tags=["vacancies"],
    request_body={
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/VacancyInput"}}},
    },
    responses={
        "201": {
            "description": "Created.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Vacancy"}}},
        },
        "400": {"$ref": "#/components/responses/Error"},
        "422": {"$ref": "#/components/responses/Error"},
    },
)
def create_vacancy() -> Any:
    user = g.api_user
    data = json_body()
    status = data.get("status", "draft")
    if status not in ("draft", "published"):
        raise ApiError(
            422, "invalid", "The vacancy is not valid.", {"status": "must be draft or published"}
        )
    orgs = services.owner_organisations(user)
    org_id = data.get("organization_id")
    org = next((o for o in orgs if org_id is None or o.id == org_id), None)
    if org is None:
        raise ApiError(403, "forbidden", "You do not belong to that organisation.")
    parsed = parse_vacancy(data)
    today = utcnow().date()
    try:
        vacancy = services.create_vacancy(org, user, parsed, today)
        if status == "published":
            services.publish(vacancy, user, today)
    except VacancyError as error:
        db.session.rollback()
        raise ApiError(422, "invalid", "The vacancy is not valid.", error.fields) from error
    db.session.commit()
    response = jsonify(vacancy_json(vacancy))
    response.status_code = 201
    response.headers["Location"] = url_for("employers_api.vacancy", vacancy_id=vacancy.id)
    return response


def vacancy_input(v: Vacancy) -> dict[str, Any]:
    """The vacancy as the API takes it (VacancyInput): what a partial update starts from."""
    return {
        "title": v.title,
        "description": v.description,
        "comune": v.comune_code,
        "contract_type": v.contract_type,
        "hours_per_week": v.hours_per_week,
        "positions": v.positions,
        "shift_pattern": v.shift_pattern,
        "occupation": v.occupation.uri if v.occupation else None,
        "pay_min": money(v.pay_min),
        "pay_max": money(v.pay_max),
        "pay_period": v.pay_period,
        "expires_on": v.expires_on.isoformat() if v.expires_on else None,
        "onsite_tutor": v.onsite_tutor,
        "inclusion_open": v.inclusion_open,
        "counts_toward_quota": v.counts_toward_quota,
        "adjustments": list(v.adjustments),
        "required_skills": [s.skill.uri for s in v.skills if s.required],
        "preferred_skills": [s.skill.uri for s in v.skills if not s.required],
    }


@bp.route("/vacancies/<int:vacancy_id>", methods=["PATCH"])
@roles_required(*VACANCY_ROLES)
@doc(
    "Change some fields of one of the caller's vacancies. Send If-Match with the ETag of the "
    "version read: an update based on an older version is refused with 412, one without "
    "If-Match with 428 (no lost updates).",
    tags=["vacancies"],
    parameters=[
        {"name": "If-Match", "in": "header", **concurrency.PRECONDITION_HEADERS["If-Match"]}
    ],
    request_body={
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/VacancyPatch"}}},
    },
    responses={
        "200": {
            "description": "Updated.",
            "headers": {"ETag": {"schema": {"type": "string"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Vacancy"}}},
        },
        "400": {"$ref": "#/components/responses/Error"},
        "404": {"$ref": "#/components/responses/Error"},
        "412": {"$ref": "#/components/responses/Error"},
        "422": {"$ref": "#/components/responses/Error"},
        "428": {"$ref": "#/components/responses/Error"},
    },
)
def update_vacancy(vacancy_id: int) -> Any:
    user = g.api_user
    vacancy = db.session.get(Vacancy, vacancy_id)
    if vacancy is None or not services.can_manage(user, vacancy):
        raise ApiError(404, "not_found", "No such vacancy.")
    data = json_body()
    concurrency.check_if_match(vacancy)
    unknown = sorted(set(data) - set(vacancy_input(vacancy)))
    if unknown:
        raise ApiError(
            422, "invalid", "The vacancy is not valid.", {k: "unknown field" for k in unknown}
        )
    parsed = parse_vacancy({**vacancy_input(vacancy), **data})
    try:
        services.update_vacancy(vacancy, user, parsed, utcnow().date())
    except VacancyError as error:
        db.session.rollback()
        raise ApiError(422, "invalid", "The vacancy is not valid.", error.fields) from error
    db.session.commit()
    response = jsonify(vacancy_json(vacancy))
    response.headers["ETag"] = concurrency.etag(vacancy)
    return response


VACANCY_SCHEMA = {
    "type": "object",
    "required": ["id", "url", "title", "status"],
    "properties": {
        "id": {"type": "integer"},
        "url": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "status": {"type": "string", "enum": ["draft", "published", "closed"]},
        "close_reason": {"type": "string", "nullable": True},
        "organization": {"type": "object"},
        "comune": {"type": "string"},
        "municipality": {"type": "string", "nullable": True},
        "province": {"type": "string", "nullable": True},
        "region": {"type": "string", "nullable": True},
        "occupation": {"type": "object", "nullable": True},
        "skills": {"type": "array", "items": {"type": "object"}},
        "contract_type": {"type": "string", "enum": list(CONTRACT_TYPES)},
        "hours_per_week": {"type": "integer"},
        "shift_pattern": {"type": "string"},
        "positions": {"type": "integer"},
        "pay": {
            "type": "object",
            "properties": {
                "min": {"type": "string", "nullable": True},
                "max": {"type": "string", "nullable": True},
                "period": {"type": "string"},
                "currency": {"type": "string"},
            },
        },
        "adjustments": {"type": "array", "items": {"type": "string", "enum": list(ADJUSTMENTS)}},
        "onsite_tutor": {"type": "boolean"},
        "inclusion_open": {"type": "boolean"},
        "counts_toward_quota": {"type": "boolean"},
        "published_at": {"type": "string", "format": "date-time", "nullable": True},
        "expires_on": {"type": "string", "format": "date", "nullable": True},
        "updated_at": {"type": "string", "format": "date-time"},
        "version": {"type": "integer", "description": "Changes with every saved edit."},
    },
}
VACANCY_INPUT_SCHEMA = {
    "type": "object",
    "required": ["title", "comune", "contract_type", "hours_per_week"],
    "properties": {
        "title": {"type": "string", "maxLength": 200},
        "description": {"type": "string"},
        "comune": {"type": "string", "pattern": "^[0-9]{6}$"},
        "contract_type": {"type": "string", "enum": list(CONTRACT_TYPES)},
        "hours_per_week": {"type": "integer", "minimum": 1, "maximum": 48},
        "status": {"type": "string", "enum": ["draft", "published"]},
        "shift_pattern": {"type": "string", "enum": list(SHIFT_PATTERNS)},
        "positions": {"type": "integer", "minimum": 1},
        "occupation": {"type": "string", "description": "ESCO occupation URI"},
        "required_skills": {"type": "array", "items": {"type": "string"}},
        "preferred_skills": {"type": "array", "items": {"type": "string"}},
        "pay_min": {"type": "string"},
        "pay_max": {"type": "string"},
        "pay_period": {"type": "string", "enum": list(PAY_PERIODS)},
        "expires_on": {"type": "string", "format": "date"},
        "adjustments": {"type": "array", "items": {"type": "string", "enum": list(ADJUSTMENTS)}},
        "onsite_tutor": {"type": "boolean"},
        "inclusion_open": {"type": "boolean"},
        "counts_toward_quota": {"type": "boolean"},
        "organization_id": {"type": "integer"},
    },
}

#: A partial update: any VacancyInput field but the organisation and the status (which
#: change through publish/close), none required.
VACANCY_PATCH_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        name: schema
        for name, schema in VACANCY_INPUT_SCHEMA["properties"].items()
        if name not in ("status", "organization_id")
    },
}
