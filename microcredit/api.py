"""The microcredit JSON API (INTERFACES.md): the public schedule calculator, and group
loan applications for microcredit officers."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Blueprint, g, jsonify, request, url_for

from microcredit.access import can_manage
from microcredit.lending.group_loans import GroupLoanRow, submit_group_loans
from microcredit.lending.waves import PlanLine, group_plan
from microcredit.models import Group, LoanProduct
from microcredit.money import AMOUNT_ERRORS, CURRENCY, AmountError, fmt, parse_amount
from microcredit.policy import policy
from microcredit.rules import McError, local_today
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
from portal import db
from portal.api import ApiError, doc
from portal.extensions import csrf
from portal.models import MICROCREDIT_OFFICER
from portal.permissions import public, roles_required

bp = Blueprint("microcredit_api", __name__, url_prefix="/api/v1/microcredit")
csrf.exempt(bp)

MONEY = {"type": "string", "pattern": r"^\d+\.\d{2}$", "example": "1250.00"}
#: What a request may send for an amount or a rate: a decimal string (preferred: exact), or
#: a JSON number, read as a decimal (never a float).
DECIMAL_INPUT = {
    "oneOf": [
        {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"},
        {"type": "number"},
    ],
}

SCHEDULE_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["principal", "interest_rate", "repayments"],
    "properties": {
        "principal": {
            **DECIMAL_INPUT,
            "example": "1250.00",
            "description": "Amount lent, EUR, at most two decimals.",
        },
        "interest_rate": {
            **DECIMAL_INPUT,
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
        "in_multiples_of": {
            **DECIMAL_INPUT,
            "example": "1.00",
            "description": "Round each instalment to a multiple.",
        },
        "disbursement_date": {"type": "string", "format": "date", "description": "Default: today."},
        "interest_calculation": {
            "type": "string",
            "enum": list(INTEREST_CALCULATIONS),
            "default": "same_as_repayment_period",
            "description": '"daily" prices each period by its days.',
        },
        "days_in_year": {"type": "integer", "enum": list(DAYS_IN_YEAR_CHOICES), "default": 364},
        "move_non_working_days": {
            "type": "boolean",
            "default": False,
            "description": "Move a due date on a Sunday or an Italian public holiday to the "
            "next working day; the amounts stay the same.",
        },
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
                    "moved_from": {
                        "type": "string",
                        "format": "date",
                        "nullable": True,
                        "description": "The unmoved due date, a non-working day.",
                    },
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
            "move_non_working_days": terms.move_non_working_days,
        },
        "installments": [
            {
                "number": i.number,
                "due_date": i.due_date.isoformat(),
                "principal": fmt(i.principal),
                "interest": fmt(i.interest),
                "total": fmt(i.total),
                "balance": fmt(i.balance),
                "moved_from": i.moved_from.isoformat() if i.moved_from else None,
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


GROUP_LOANS_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["product_id", "loans"],
    "properties": {
        "product_id": {"type": "integer", "description": "A group product of the organisation."},
        "expected_disbursement_on": {
            "type": "string",
            "format": "date",
            "description": "Expected disbursement of the first tranche (default: today); "
            "later tranches are expected the policy's gap later, at a centre meeting.",
        },
        "officer_id": {"type": "integer", "nullable": True},
        "services": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Support services planned for every loan (DM 176/2014).",
        },
        "loans": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["member_id", "principal", "repayments"],
                "properties": {
                    "member_id": {"type": "integer"},
                    "principal": MONEY,
                    "repayments": {"type": "integer", "minimum": 1},
                    "purpose": {"type": "string", "maxLength": 300},
                    "tranche": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "Tranche of the staggered first disbursement (2-2-1); "
                        "default: the one suggested.",
                    },
                },
            },
        },
    },
}
GROUP_LOANS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["group_id", "loans"],
    "properties": {
        "group_id": {"type": "integer"},
        "loans": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "member_id", "status", "principal", "repayments"],
                "properties": {
                    "id": {"type": "integer"},
                    "url": {"type": "string", "format": "uri"},
                    "member_id": {"type": "integer"},
                    "status": {"type": "string"},
                    "principal": MONEY,
                    "currency": {"type": "string", "enum": [CURRENCY]},
                    "repayments": {"type": "integer"},
                    "cycle": {"type": "integer"},
                    "tranche": {"type": "integer", "nullable": True},
                    "expected_disbursement_on": {"type": "string", "format": "date"},
                },
            },
        },
    },
}


def _group_rows(
    data: dict[str, Any], plan: dict[int, PlanLine]
) -> tuple[list[GroupLoanRow], dict[str, str]]:
    items = data.get("loans")
    if not isinstance(items, list) or not items:
        raise ApiError(422, "invalid", "Give the loans.", {"loans": "is required"})
    rows, errors = [], {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("member_id"), int):
            raise ApiError(422, "invalid", "Each loan needs a member_id.", {"loans": "invalid"})
        mid = item["member_id"]
        principal = None
        try:
            principal = parse_amount(item.get("principal"))
        except AmountError as error:
            errors[f"principal-{mid}"] = AMOUNT_ERRORS[error.code]
        repayments = item.get("repayments")
        if isinstance(repayments, bool) or not isinstance(repayments, int):
            errors[f"repayments-{mid}"] = "must be a whole number"
            repayments = None
        tranche = item.get("tranche")
        if tranche is None and mid in plan:
            tranche = plan[mid].tranche
        if isinstance(tranche, bool) or not isinstance(tranche, int | None):
            errors[f"tranche-{mid}"] = "must be a whole number"
            tranche = None
        purpose = item.get("purpose") or ""
        rows.append(
            GroupLoanRow(
                mid,
                principal,
                repayments,
                str(purpose)[:300],
                tranche,  # type: ignore[arg-type]
            )
        )
    return rows, errors


@bp.route("/groups/<int:group_id>/loans", methods=["POST"])
@roles_required(MICROCREDIT_OFFICER)
@doc(
    "Apply for loans for several members of a solidarity group at once (all or nothing). "
    "Each loan is checked as a single application (product terms, consent, training, the "
    "art. 111 TUB / DM 176/2014 limits per borrower) and first loans of a staggered product "
    "get their tranche (2-2-1, the leader last). Problems come in error.fields keyed "
    "<field>-<member_id> (principal, repayments, member, tranche) or by field name.",
    tags=["microcredit"],
    request_body={
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/MicrocreditGroupLoansInput"}
            }
        },
    },
    responses={
        "201": {
            "description": "The applications, submitted.",
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/MicrocreditGroupLoans"}
                }
            },
        },
        "400": {"$ref": "#/components/responses/Error"},
        "404": {"$ref": "#/components/responses/Error"},
        "422": {"$ref": "#/components/responses/Error"},
    },
)
def group_loans(group_id: int) -> Any:
    user = g.api_user
    group = db.session.get(Group, group_id)
    if group is None or not can_manage(user, group.organisation_id):
        raise ApiError(404, "not_found", "No such group.")
    data = decimal_json_body()
    product = (
        db.session.get(LoanProduct, data["product_id"])
        if isinstance(data.get("product_id"), int) and not isinstance(data["product_id"], bool)
        else None
    )
    if product is None or product.organisation_id != group.organisation_id:
        raise ApiError(422, "invalid", "Choose a product.", {"product_id": "invalid"})
    start = local_today()
    if data.get("expected_disbursement_on") not in (None, ""):
        try:
            start = date.fromisoformat(str(data["expected_disbursement_on"]))
        except ValueError as exc:
            raise ApiError(
                422, "invalid", "Give a date.", {"expected_disbursement_on": "invalid"}
            ) from exc
    kinds = data.get("services") or []
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise ApiError(422, "invalid", "Give a list of services.", {"services": "invalid"})
    officer_id = data.get("officer_id")
    if officer_id is not None and (isinstance(officer_id, bool) or not isinstance(officer_id, int)):
        raise ApiError(422, "invalid", "Give an officer id.", {"officer_id": "invalid"})
    plan = {line.member.id: line for line in group_plan(group, product)}
    rows, errors = _group_rows(data, plan)
    try:
        loans = submit_group_loans(
            group, product, rows, start, officer_id, kinds, user, local_today()
        )
        if errors:
            raise McError(errors)
    except McError as error:
        db.session.rollback()
        raise ApiError(
            422,
            "invalid",
            "The applications are not valid: none was saved.",
            {**error.fields, **errors},
        ) from error
    db.session.commit()
    body = {
        "group_id": group.id,
        "loans": [
            {
                "id": loan.id,
                "url": url_for("microcredit.loan_detail", loan_id=loan.id, _external=True),
                "member_id": loan.member_id,
                "status": loan.status,
                "principal": fmt(loan.principal),
                "currency": loan.currency,
                "repayments": loan.repayments,
                "cycle": loan.cycle,
                "tranche": loan.tranche,
                "expected_disbursement_on": loan.expected_disbursement_on.isoformat(),
            }
            for loan in loans
        ],
    }
    return jsonify(body), 201
