"""Brokerage in the JSON API: ranked candidates for a vacancy."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify
from sqlalchemy import select

from brokerage import access, matching
from brokerage.models import Candidate
from employers.models import Vacancy
from portal import db
from portal.api import ApiError, doc
from portal.db import utcnow
from portal.extensions import csrf
from portal.models import BROKER
from portal.permissions import roles_required

bp = Blueprint("brokerage_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MATCHES_SCHEMA = {
    "type": "object",
    "required": ["vacancy_id", "items"],
    "properties": {
        "vacancy_id": {"type": "integer"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "pseudonym", "score", "factors"],
                "properties": {
                    "id": {"type": "integer"},
                    "pseudonym": {"type": "string"},
                    "score": {"type": "number"},
                    "distance_km": {"type": "number", "nullable": True},
                    "factors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "points": {"type": "number"},
                                "max_points": {"type": "number"},
                                "explanation": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
}


@bp.route("/vacancies/<int:vacancy_id>/matches")
@roles_required(BROKER)
@doc(
    "Candidates of the caller's own services ranked for a vacancy, each with its score "
    "and the per-factor explanation (never special-category data).",
    tags=["brokerage"],
    responses={
        "200": {
            "description": "Ranked candidates.",
            "content": {"application/json": {"schema": MATCHES_SCHEMA}},
        },
        "404": {"$ref": "#/components/responses/Error"},
    },
)
def vacancy_matches(vacancy_id: int) -> Any:
    vacancy = db.session.get(Vacancy, vacancy_id)
    today = utcnow().date()
    if vacancy is None or not vacancy.is_public(today):
        raise ApiError(404, "not_found", "No such open vacancy.")
    matches = matching.candidates_for_vacancy(vacancy, access.broker_service_ids(g.api_user), today)
    pseudonyms = dict(
        db.session.execute(
            select(Candidate.id, Candidate.pseudonym).where(
                Candidate.id.in_([m.candidate_id for m in matches])
            )
        ).all()
    )
    return jsonify(
        {
            "vacancy_id": vacancy.id,
            "items": [
                {
                    "id": m.candidate_id,
                    "pseudonym": pseudonyms[m.candidate_id],
                    "score": m.score,
                    "distance_km": m.distance_km,
                    "factors": [
                        {
                            "name": f.name,
                            "points": round(f.points, 2),
                            "max_points": f.max_points,
                            "explanation": f.explanation,
                        }
                        for f in m.factors
                    ],
                }
                for m in matches
            ],
        }
    )
