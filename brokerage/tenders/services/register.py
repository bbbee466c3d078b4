"""The tender register: tenders and their lots, created in the portal or imported, their
checks (EU thresholds, social clauses of D.Lgs. 36/2023 art. 57 and reserved contracts of
art. 61) and warnings, default sustainability entries, OCIDs, and publication.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from brokerage.tenders import cpv
from brokerage.tenders.models import (
    BASES,
    CANCELLED,
    CATEGORIES,
    CLAUSE_TYPES,
    CONVENTION,
    COUNT,
    DEFAULT_THRESHOLD,
    DRAFT,
    MEASURES,
    PREMIUM,
    PUBLISHED,
    RESERVED,
    SHARE,
    SOCIAL_CLAUSE,
    Tender,
    TenderCpv,
    TenderLot,
)
from brokerage.tenders.services.base import (
    DEFAULT_EU_THRESHOLDS,
    PREMIUM_CODES,
    RESERVED_CODES,
    TenderError,
    amount_error,
    currency_error,
)
from brokerage.tenders.services.matching import notify_eligible
from portal import audit, db, municipalities
from portal.db import utcnow
from portal.models import Organisation, User

# --- Tenders ---------------------------------------------------------------------------------


@dataclass
class LotData:
    lot_id: str
    title: str = ""
    description: str = ""
    value_amount: Decimal | None = None
    value_currency: str = "EUR"
    reserved_participation: str = "none"
    reserved_execution: bool = False


@dataclass
class TenderData:
    title: str
    description: str = ""
    main_category: str = "services"
    value_amount: Decimal | None = None
    value_currency: str = "EUR"
    comune_code: str | None = None
    tender_start: datetime | None = None
    deadline: datetime | None = None
    contract_start: date | None = None
    contract_end: date | None = None
    clause_type: str = "none"
    threshold: Decimal | None = None
    reserved_participation: str = "none"
    reserved_execution: bool = False
    social_standards: str = ""
    clause_measure: str | None = None
    clause_target: Decimal | None = None
    clause_base: str | None = None
    premium_measures: list[str] = field(default_factory=list)
    cpv_codes: list[str] = field(default_factory=list)
    lots: list[LotData] = field(default_factory=list)
    sustainability: list[dict[str, Any]] = field(default_factory=list)


def eu_thresholds() -> dict[str, Decimal]:
    configured = current_app.config.get("TENDERS_EU_THRESHOLDS") or DEFAULT_EU_THRESHOLDS
    return {k: Decimal(str(v)) for k, v in configured.items()}


def eu_threshold(main_category: str, central: bool = False) -> Decimal:
    """D.Lgs. 36/2023 art. 14: the EU threshold for the category of the contract."""
    limits = eu_thresholds()
    if main_category == "works":
        return limits["works"]
    return limits["supplies_services_central" if central else "supplies_services_sub_central"]


NO_CPV_WARNING = _l(
    "No CPV code: eligible-supplier matching is unavailable until an officer adds one on the "
    "tender's edit page."
)


def tender_warnings(data: TenderData | Tender) -> list[str]:
    """What is allowed but deserves a second look (shown, never blocking)."""
    warnings: list[str] = []
    if not data.cpv_codes:  # imported data outside the EU classifies otherwise, or not at all
        warnings.append(NO_CPV_WARNING)
    if data.clause_type == CONVENTION:
        if data.main_category == "works":
            warnings.append(
                _("L. 381/1991 art. 5 conventions are for supplies and services, not works.")
            )
        if data.value_amount is not None:
            limit = eu_threshold(data.main_category)
            if data.value_currency != "EUR":
                warnings.append(
                    _(
                        "The value is in %(currency)s: it cannot be compared with "
                        "the EU threshold in euros.",
                        currency=data.value_currency,
                    )
                )
            elif data.value_amount >= limit:
                warnings.append(
                    _(
                        "The estimated value (%(value)s EUR) is not below the EU threshold for "
                        "this category (%(limit)s EUR): an art. 5 convention is allowed only "
                        "below it (L. 381/1991 art. 5, D.Lgs. 36/2023 art. 14).",
                        value=f"{data.value_amount:,.2f}",
                        limit=f"{limit:,.0f}",
                    )
                )
    if data.clause_type == RESERVED and data.reserved_participation == "res-pub-ser":
        warnings.append(
            _(
                "Participation reserved to public-service-mission organisations is "
                "not the art. 61 reservation for work inclusion."
            )
        )
    return warnings


def check_tender(data: TenderData, *, unknown_cpv_ok: bool = False) -> None:
    """Every rule at once. ``unknown_cpv_ok``: imports keep codes missing from the list."""
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = _("Give the tender a title.")
    elif len(data.title) > 300:
        errors["title"] = _("Use at most 300 characters.")
    if data.main_category not in CATEGORIES:
        errors["main_category"] = _("Choose supplies, services or works.")
    problem = amount_error(data.value_amount)
    if problem:
        errors["value_amount"] = problem
    problem = currency_error(data.value_currency)
    if problem:
        errors["value_currency"] = problem
    if data.comune_code and municipalities.get(data.comune_code) is None:
        errors["comune"] = _("Choose a municipality from the list.")
    if data.tender_start and data.deadline and data.deadline < data.tender_start:
        errors["deadline"] = _("The deadline cannot be before the tender opens.")
    if data.contract_start and data.contract_end and data.contract_end < data.contract_start:
        errors["contract_end"] = _("The contract cannot end before it starts.")
    if data.clause_type not in CLAUSE_TYPES:
        errors["clause_type"] = _("Choose a clause type.")
    if data.threshold is not None and not Decimal(0) <= data.threshold <= Decimal(100):
        errors["threshold"] = _("The threshold is a percentage between 0 and 100.")
    if (
        data.clause_type == RESERVED
        and data.threshold is not None
        and "threshold" not in errors
        and data.threshold < DEFAULT_THRESHOLD
    ):
        errors["threshold"] = _(
            "A reserved contract needs at least 30% disabled or "
            "disadvantaged workers (D.Lgs. 36/2023 art. 61)."
        )
    if data.reserved_participation not in RESERVED_CODES:
        errors["reserved_participation"] = _("Unknown reserved participation code.")
    if data.clause_type == SOCIAL_CLAUSE:
        if data.clause_measure not in MEASURES:
            errors["clause_measure"] = _("Say whether the clause requires a share or a number.")
        if data.clause_base not in BASES:
            errors["clause_base"] = _("Say what the requirement is measured on.")
        if data.clause_target is None:
            errors["clause_target"] = _("Give the required share or number.")
        elif data.clause_target < 0:
            errors["clause_target"] = _("The requirement cannot be negative.")
        elif data.clause_measure == SHARE and data.clause_target > 100:
            errors["clause_target"] = _("A share is a percentage between 0 and 100.")
        elif (
            data.clause_measure == COUNT
            and data.clause_target != data.clause_target.to_integral_value()
        ):
            errors["clause_target"] = _("A number of people is a whole number.")
    bad_premium = [p for p in data.premium_measures if p not in PREMIUM_CODES]
    if bad_premium:
        errors["premium_measures"] = _("Premium measures are codes 1 to 13.")
    elif data.clause_type == PREMIUM and not data.premium_measures:
        errors["premium_measures"] = _("Choose at least one premium measure.")
    codes = []
    for raw in data.cpv_codes:
        code = cpv.normalise(raw)
        if code is None or (not unknown_cpv_ok and not cpv.is_known(code)):
            errors["cpv_codes"] = _(
                "Unknown CPV code: %(code)s. Choose codes from the CPV list.", code=raw
            )
            break
        codes.append(code)
    if not errors and not codes:
        errors["cpv_codes"] = _("Give at least one CPV code.")
    seen: set[str] = set()
    for lot in data.lots:
        if not lot.lot_id or lot.lot_id in seen:
            errors["lots"] = _("Each lot needs its own identifier.")
        seen.add(lot.lot_id)
        if amount_error(lot.value_amount) or currency_error(lot.value_currency):
            errors["lots"] = _("Lot values must be amounts of at least zero with a currency.")
    if errors:
        raise TenderError(errors)


def apply_data(tender: Tender, data: TenderData) -> None:
    for name in (
        "title",
        "description",
        "main_category",
        "value_amount",
        "value_currency",
        "comune_code",
        "tender_start",
        "deadline",
        "contract_start",
        "contract_end",
        "clause_type",
        "reserved_participation",
        "reserved_execution",
        "social_standards",
    ):
        setattr(tender, name, getattr(data, name))
    tender.title = tender.title.strip()
    tender.comune_code = data.comune_code or None
    if data.clause_type in (RESERVED, CONVENTION):
        tender.threshold = data.threshold if data.threshold is not None else DEFAULT_THRESHOLD
    else:
        tender.threshold = data.threshold
    if (
        data.clause_type == RESERVED
        and data.reserved_participation == "none"
        and not data.reserved_execution
    ):
        tender.reserved_participation = "res-ws"
    social = data.clause_type == SOCIAL_CLAUSE
    tender.clause_measure = data.clause_measure if social else None
    tender.clause_target = data.clause_target if social else None
    tender.clause_base = data.clause_base if social else None
    tender.premium_measures = sorted(set(data.premium_measures), key=int)
    tender.sustainability = data.sustainability or default_sustainability(data)
    codes = list(dict.fromkeys(c for c in (cpv.normalise(r) for r in data.cpv_codes) if c))
    existing = {row.code: row for row in tender.cpv_rows}
    tender.cpv_rows = [existing.get(code) or TenderCpv(code=code) for code in codes]
    for position, row in enumerate(tender.cpv_rows):
        row.position, row.known = position, cpv.is_known(row.code)
    by_id = {lot.lot_id: lot for lot in tender.lots}
    lots = []
    for position, lot_data in enumerate(data.lots):
        lot = by_id.get(lot_data.lot_id) or TenderLot(lot_id=lot_data.lot_id)
        for name in (
            "title",
            "description",
            "value_amount",
            "value_currency",
            "reserved_participation",
            "reserved_execution",
        ):
            setattr(lot, name, getattr(lot_data, name))
        lot.position = position
        lots.append(lot)
    tender.lots = lots


def default_sustainability(data: TenderData | Tender) -> list[dict[str, Any]]:
    """The OCDS sustainability objects that describe the clause."""
    strategies = {
        RESERVED: ["reservedParticipation"]
        if data.reserved_participation != "none" or not data.reserved_execution
        else ["reservedExecution"],
        CONVENTION: ["reservedParticipation"],
        SOCIAL_CLAUSE: ["contractPerformanceConditions"],
        PREMIUM: ["awardCriteria"],
    }.get(data.clause_type)
    if not strategies:
        return []
    return [{"goal": "social.disadvantagedEmploymentOpportunities", "strategies": strategies}]


def new_ocid() -> str:
    import uuid

    prefix = current_app.config.get("TENDERS_OCID_PREFIX", "ocds-ponte")
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_tender(body: Organisation, author: User | None, data: TenderData) -> Tender:
    check_tender(data)
    tender = Tender(
        buyer=body,
        buyer_name=body.name,
        ocid=new_ocid(),
        status=DRAFT,
        created_by_id=author.id if author else None,
        source="portal",
    )
    apply_data(tender, data)
    db.session.add(tender)
    db.session.flush()
    audit.record("tender.create", tender, actor=author)
    return tender


def update_tender(tender: Tender, author: User | None, data: TenderData) -> None:
    if tender.status in (CANCELLED,):
        raise TenderError({"status": _("A cancelled tender cannot be edited.")})
    check_tender(data, unknown_cpv_ok=tender.source == "ocds")
    apply_data(tender, data)
    audit.record("tender.update", tender, actor=author)


def publish(tender: Tender, author: User | None, today: date) -> int:
    """Publish a draft and tell the eligible suppliers; returns how many were told."""
    if tender.status != DRAFT:
        raise TenderError({"status": _("Only a draft can be published.")})
    if not tender.buyer.is_verified:
        raise TenderError(
            {
                "status": _(
                    "Your body must be verified by an administrator "
                    "before its tenders can be published."
                )
            }
        )
    tender.status = PUBLISHED
    tender.published_at = utcnow()
    audit.record("tender.publish", tender, actor=author)
    db.session.flush()
    return notify_eligible(tender, today)
