"""The support services a loan comes with (DM 176/2014, art. 3 and 5):
which kinds count for the loan, how many are needed before approval, and recording one.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from microcredit.models import (
    BUSINESS_SERVICES,
    CLOSED_OBLIGATIONS_MET,
    CLOSED_RESCHEDULED,
    CLOSED_WRITTEN_OFF,
    REJECTED,
    SERVICES,
    SOCIAL_SERVICES,
    WITHDRAWN,
    Loan,
    LoanService,
)
from microcredit.policy import BUSINESS, policy
from microcredit.rules import McError, local_today, record
from portal import db
from portal.models import User


def required_services(loan: Loan) -> tuple[dict[str, Any], int]:
    """The kinds of ancillary service that count for the loan, and how many are needed."""
    kinds = BUSINESS_SERVICES if loan.kind == BUSINESS else SOCIAL_SERVICES
    return kinds, policy().limits(loan.kind).min_services


def add_service(
    loan: Loan,
    kind: str,
    provider: str,
    planned_on: date | None,
    delivered_on: date | None,
    notes: str,
    actor: User,
) -> LoanService:
    errors: dict[str, str] = {}
    if kind not in SERVICES:
        errors["kind"] = _("Choose a service.")
    if delivered_on is not None and delivered_on > local_today():
        errors["delivered_on"] = _("The date cannot be in the future.")
    if loan.status in (REJECTED, WITHDRAWN) or loan.status in (
        CLOSED_OBLIGATIONS_MET,
        CLOSED_WRITTEN_OFF,
        CLOSED_RESCHEDULED,
    ):
        errors["kind"] = _("The loan is closed.")
    if errors:
        raise McError(errors)
    service = LoanService(
        loan_id=loan.id,
        kind=kind,
        provider=(provider or "")[:200],
        planned_on=planned_on,
        delivered_on=delivered_on,
        notes=(notes or "")[:500],
    )
    db.session.add(service)
    db.session.flush()
    db.session.expire(loan, ["services"])
    record("loan.service", loan, actor, kind=kind, delivered_on=delivered_on)
    return service
