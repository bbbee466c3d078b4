"""The public schedule calculator of the JSON API (INTERFACES.md)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Blueprint, jsonify, request

from microcredit.money import CURRENCY, fmt
from microcredit.policy import policy
from microcredit.schedule import (
    AMORTIZATIONS,
    DAYS_IN_YEAR_CHOICES,
    FREQUENCIES,
    INTEREST_CALCULATIONS,
    INTEREST_METHODS,
    RATE_PERIODS,
    Schedule,
    TermsError,
    build_schedule,
    parse_terms,
)
from microcredit.services import local_today
from portal.api import ApiError, doc
from portal.extensions import csrf
from portal.permissions import public

bp = Blueprint("microcredit_api", __name__, url_prefix="/api/v1/microcredit")
csrf.exempt(bp)

MONEY = {"type": "string", "pattern": r"^\d+\.\d{2}$", "example": "1250.00"}

SCHEDULE_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["principal", "interest_rate", "repayments"],
    "properties": {
        "principal": {**MONEY, "description": "Amount lent, EUR, at most two decimals."},
        "interest_rate": {
            "type": "string",
            "example": "12.5",
            "description": "Nominal interest rate in percent.",
        },
        "interest_rate_period": {"type": "string", "enum": list(RATE_PERIODS), "default": "year"},
        "repayments": {"type": "integer", "minimum": 1},
        "frequency": {"type": "string", "enum": list(FREQUENCIES), "default": "monthly"},
        "interest_method": {
            "type": "string",
            "enum": list(INTEREST_METHODS),
            "default": "declining_balance",
        },
        "amortization": {
            "type": "string",
            "enum": list(AMORTIZATIONS),
            "default": "equal_installments",
        },
        "grace_on_principal": {
            "type": "integer",
            "minimum": 0,
            "default": 0,
            "description": "First repayments that pay interest only.",
        },
        "in_multiples_of": {**MONEY, "description": "Round each instalment to a multiple."},
        "disbursement_date": {"type": "string", "format": "date", "description": "Default: today."},
        "interest_calculation": {
            "type": "string",
            "enum": list(INTEREST_CALCULATIONS),
            "default": "same_as_repayment_period",
            "description": '"daily" prices each period by its days.',
        },
        "days_in_year": {"type": "integer", "enum": list(DAYS_IN_YEAR_CHOICES), "default": 364},
    },
}
SCHEDULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["currency", "installments", "total_interest"],
    "properties": {
        "currency": {"type": "string", "enum": [CURRENCY]},
        "principal": MONEY,
        "total_interest": MONEY,
        "total_repayment": MONEY,
        "maturity_date": {"type": "string", "format": "date"},
        "period_rate": {"type": "string", "description": "Rate of one period, a fraction."},
        "terms": {"type": "object"},
        "installments": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["number", "due_date", "principal", "interest", "total"],
                "properties": {
                    "number": {"type": "integer"},
                    "due_date": {"type": "string", "format": "date"},
                    "principal": MONEY,
                    "interest": MONEY,
                    "total": MONEY,
                    "balance": {**MONEY, "description": "Principal owed after the instalment."},
                },
            },
        },
    },
}


def schedule_json(schedule: Schedule) -> dict[str, Any]:
    terms = schedule.terms
    return {
        "currency": CURRENCY,
        "principal": fmt(terms.principal),
        "total_interest": fmt(schedule.total_interest),
        "total_repayment": fmt(schedule.total),
        "maturity_date": schedule.maturity_date.isoformat(),
        "period_rate": f"{terms.period_rate():.12f}",
        "terms": {
            "interest_rate": str(terms.interest_rate),
            "interest_rate_period": terms.interest_rate_period,
            "repayments": terms.repayments,
            "frequency": terms.frequency,
            "interest_method": terms.interest_method,
            "amortization": terms.amortization,
            "grace_on_principal": terms.grace_on_principal,
            "in_multiples_of": fmt(terms.in_multiples_of),
            "disbursement_date": terms.disbursement_date.isoformat(),
            "interest_calculation": terms.interest_calculation,
            "days_in_year": terms.days_in_year,
            "rounding": terms.rounding,
        },
        "installments": [
            {
                "number": i.number,
                "due_date": i.due_date.isoformat(),
                "principal": fmt(i.principal),
                "interest": fmt(i.interest),
                "total": fmt(i.total),
                "balance": fmt(i.balance),
            }
            for i in schedule.installments
        ],
    }


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def decimal_json_body() -> dict[str, Any]:
    """The JSON object of the request, numbers parsed as Decimal (never float)."""
    try:
        data = json.loads(
            request.get_data(cache=True) or b"",
            parse_float=Decimal,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", "The body must be a JSON object.") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return data


@bp.route("/schedule", methods=["POST"])
@public
@doc(
    "Preview a repayment schedule, computed as Apache Fineract does (public calculator).",
    tags=["microcredit"],
    request_body={
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/MicrocreditScheduleInput"}
            }
        },
    },
    responses={
        "200": {
            "description": "The instalments.",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/MicrocreditSchedule"}}
            },
        },
        "400": {"$ref": "#/components/responses/Error"},
        "422": {"$ref": "#/components/responses/Error"},
    },
)
def schedule() -> Any:
    data = decimal_json_body()
    rules = policy()
    try:
        terms = parse_terms(
            data,
            today=local_today(),
            max_principal=rules.max_principal,
            max_repayments=rules.max_repayments,
            max_annual_rate=rules.max_annual_rate,
            rounding=rules.rounding,
            days_in_year=rules.days_in_year,
        )
    except TermsError as error:
        raise ApiError(
            422, "invalid", "The schedule request is not valid.", error.fields
        ) from error
    return jsonify(schedule_json(build_schedule(terms)))
