"""Awarding a published tender: the contract with a verified type-B cooperative or social
farm, its value, dates and reporting cadence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _

from brokerage.tenders.models import AWARDED, PUBLISHED, Contract, Tender
from brokerage.tenders.services.base import (
    SUPPLIER_KINDS,
    TenderError,
    amount_error,
    currency_error,
)
from portal import audit, db
from portal.models import Organisation, User

# --- Awards and compliance ------------------------------------------------------------------


@dataclass
class AwardData:
    supplier_org_id: int | None
    value_amount: Decimal | None
    value_currency: str = "EUR"
    start_date: date | None = None
    end_date: date | None = None
    report_every_months: int = 3
    ocds_award_id: str = ""


def award(tender: Tender, author: User | None, data: AwardData, today: date) -> Contract:
    errors: dict[str, str] = {}
    supplier = db.session.get(Organisation, data.supplier_org_id) if data.supplier_org_id else None
    if supplier is None or supplier.kind not in SUPPLIER_KINDS or not supplier.is_verified:
        errors["supplier"] = _("Choose a verified type-B cooperative or social farm.")
    elif any(c.supplier_org_id == supplier.id for c in tender.contracts):
        errors["supplier"] = _("This supplier already holds a contract for this tender.")
    problem = amount_error(data.value_amount, allow_none=False)
    if problem:
        errors["value_amount"] = problem
    problem = currency_error(data.value_currency)
    if problem:
        errors["value_currency"] = problem
    if data.start_date is None:
        errors["start_date"] = _("Give the start date.")
    if data.end_date is None:
        errors["end_date"] = _("Give the end date.")
    elif data.start_date and data.end_date < data.start_date:
        errors["end_date"] = _("The contract cannot end before it starts.")
    if not 1 <= data.report_every_months <= 12:
        errors["report_every_months"] = _("Reports are due every 1 to 12 months.")
    if tender.status not in (PUBLISHED, AWARDED):
        errors["status"] = _("Only a published tender can be awarded.")
    if errors:
        raise TenderError(errors)
    contract = Contract(
        tender=tender,
        supplier=supplier,
        value_amount=data.value_amount,
        value_currency=data.value_currency,
        start_date=data.start_date,
        end_date=data.end_date,
        report_every_months=data.report_every_months,
        awarded_by_id=author.id if author else None,
        ocds_award_id=data.ocds_award_id,
    )
    db.session.add(contract)
    tender.status = AWARDED
    db.session.flush()
    audit.record("tender.award", contract, actor=author, tender=tender.id, supplier=supplier.id)  # type: ignore[union-attr]
    return contract
