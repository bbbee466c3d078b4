"""Rules of social-clause tenders: supplier profiles and declarations, tenders, eligible
suppliers, awards, compliance reports. Free of HTTP: views and the API call these.

Legal basis, cited where applied: L. 381/1991 art. 4 (30% disadvantaged, per head, annual
average) and art. 5 (conventions below the EU threshold); D.Lgs. 36/2023 art. 61 (reserved
contracts, 30% disabled or disadvantaged), art. 57 (social clauses), art. 14 (EU
thresholds); Directive 2014/24/EU art. 20.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app, has_request_context, url_for
from flask_babel import format_percent, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, func, insert, or_, select

from brokerage.tenders import cpv
from brokerage.tenders.models import (
    ACCEPTED,
    ART4_CATEGORIES,
    AWARDED,
    BASES,
    CANCELLED,
    CATEGORIES,
    CLAUSE_TYPES,
    CONVENTION,
    COUNT,
    DEFAULT_THRESHOLD,
    DRAFT,
    FLAGGED,
    HOURS,
    MEASURES,
    NEW_HIRES,
    PREMIUM,
    PROVINCE,
    PUBLISHED,
    REGION,
    RESERVED,
    SHARE,
    SOCIAL_CLAUSE,
    SUBMITTED,
    ComplianceReport,
    Contract,
    SupplierCapability,
    SupplierProfile,
    SupplierTerritory,
    Tender,
    TenderCpv,
    TenderLot,
    TenderNotice,
    WorkforceDeclaration,
    cpv_prefix,
    percent,
    shown_percent,
)
from portal import audit, db, municipalities
from portal.db import utcnow
from portal.models import (
    COOPERATIVE,
    COOPERATIVE_B,
    PUBLIC_BODY,
    PUBLIC_OFFICER,
    SOCIAL_FARM,
    SOCIAL_FARM_KIND,
    Membership,
    Municipality,
    Organisation,
    User,
)

SUPPLIER_ROLES = (COOPERATIVE, SOCIAL_FARM)
SUPPLIER_KINDS = (COOPERATIVE_B, SOCIAL_FARM_KIND)
#: Days after the end of a reporting period before its report is overdue.
REPORT_GRACE_DAYS = 15
#: Reminders of overdue reports go out at most this often.
REMINDER_INTERVAL_DAYS = 7
MAX_AMOUNT = Decimal("999999999999.99")
PREMIUM_CODES = tuple(str(n) for n in range(1, 14))
RESERVED_CODES = ("res-ws", "res-pub-ser", "none")
CURRENCIES_NOTE = "ISO 4217"

#: EU thresholds (EUR, net of VAT), D.Lgs. 36/2023 art. 14 as updated by Reg. (EU)
#: 2023/2495 from 1 January 2024; configurable as TENDERS_EU_THRESHOLDS.
DEFAULT_EU_THRESHOLDS = {
    "works": "5538000",
    "supplies_services_central": "143000",
    "supplies_services_sub_central": "221000",
}


class TenderError(ValueError):
    """Bad data; ``fields`` maps field names to messages (shown all together)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def to_decimal(value: Any) -> Decimal | None:
    """A Decimal from a form or JSON value (never a float's binary noise)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = (
            Decimal(str(value).strip().replace(",", "."))
            if isinstance(value, str)
            else Decimal(str(value))
        )
    except InvalidOperation:
        raise ValueError(value) from None
    if not number.is_finite():
        raise ValueError(value)
    return number


def _amount_error(value: Decimal | None, *, allow_none: bool = True) -> str | None:
    if value is None:
        return None if allow_none else _("Give an amount.")
    if value < 0:
        return _("The amount cannot be negative.")
    if value > MAX_AMOUNT or value != value.quantize(Decimal("0.01")):
        return _("Give an amount with at most two decimals.")
    return None


def _currency_error(currency: str) -> str | None:
    if not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
        return _("Give a three-letter currency code such as EUR.")
    return None


# --- Who may do what -----------------------------------------------------------------------


def officer_bodies(user: Any) -> list[Organisation]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return [o for o in user.organisations(PUBLIC_OFFICER) if o.kind == PUBLIC_BODY]


def can_edit(user: Any, tender: Tender) -> bool:
    """An officer edits only their own body's tenders."""
    return any(o.id == tender.buyer_org_id for o in officer_bodies(user))


def supplier_orgs(user: Any) -> list[Organisation]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return [o for o in user.organisations(*SUPPLIER_ROLES) if o.kind in SUPPLIER_KINDS]


def holds_contract(user: Any, contract: Contract) -> bool:
    return any(o.id == contract.supplier_org_id for o in supplier_orgs(user))


def can_see_tender(user: Any, tender: Tender) -> bool:
    return tender.is_public() or can_edit(user, tender)


def link(endpoint: str, fallback: str, **values: Any) -> str:
    if has_request_context():
        return url_for(endpoint, **values)
    return fallback


# --- Supplier profile and workforce declarations -------------------------------------------


def profile_for(org: Organisation) -> SupplierProfile:
    profile = db.session.get(SupplierProfile, org.id)
    if profile is None:
        profile = SupplierProfile(organisation_id=org.id)
        profile.organisation = org
        db.session.add(profile)
        db.session.flush()
    return profile


def province_codes() -> set[str]:
    return set(db.session.execute(select(Municipality.province_code).distinct()).scalars())


@dataclass
class ProfileData:
    cpv_codes: list[str]
    provinces: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    register_enrolled_on: date | None = None
    register_valid_until: date | None = None
    register_evidence: str = ""
    max_contract_value: Decimal | None = None


def parse_code_list(text: str) -> list[str]:
    return [
        part
        for part in (p.strip() for p in text.replace(";", ",").replace("\n", ",").split(","))
        if part
    ]


def check_cpv_codes(
    raw_codes: Iterable[str], name: str = "cpv_codes", required: bool = False
) -> tuple[list[str], dict[str, str]]:
    """Normalised, known CPV codes typed by a person; unknown ones are an error."""
    found: list[str] = []
    bad: list[str] = []
    for raw in raw_codes:
        text = str(raw).split("–")[0]  # "90910000 – Servizi di pulizia" from the picker
        code = cpv.normalise(text)
        if code is None or not cpv.is_known(code):
            bad.append(str(raw))
        elif code not in found:
            found.append(code)
    errors: dict[str, str] = {}
    if bad:
        errors[name] = _(
            "Unknown CPV code: %(codes)s. Choose codes from the CPV list.",
            codes=", ".join(bad[:10]),
        )
    elif required and not found:
        errors[name] = _("Give at least one CPV code.")
    return found, errors


def save_profile(org: Organisation, user: User, data: ProfileData) -> SupplierProfile:
    codes, errors = check_cpv_codes(data.cpv_codes, required=True)
    known_provinces = province_codes()
    provinces = sorted({p.strip().upper() for p in data.provinces if p.strip()})
    unknown = [p for p in provinces if p not in known_provinces]
    if unknown:
        errors["provinces"] = _("Unknown province: %(codes)s", codes=", ".join(unknown))
    known_regions = set(municipalities.regions())
    regions = sorted({r.strip() for r in data.regions if r.strip()})
    if any(r not in known_regions for r in regions):
        errors["regions"] = _("Choose regions from the list.")
    if (
        data.register_enrolled_on
        and data.register_valid_until
        and data.register_valid_until < data.register_enrolled_on
    ):
        errors["register_valid_until"] = _("The enrolment cannot end before it starts.")
    if data.register_enrolled_on and data.register_enrolled_on > utcnow().date():
        errors["register_enrolled_on"] = _("The enrolment date cannot be in the future.")
    problem = _amount_error(data.max_contract_value)
    if problem:
        errors["max_contract_value"] = problem
    if errors:
        raise TenderError(errors)
    profile = profile_for(org)
    profile.register_enrolled_on = data.register_enrolled_on
    profile.register_valid_until = data.register_valid_until
    profile.register_evidence = data.register_evidence.strip()[:300]
    profile.max_contract_value = data.max_contract_value
    profile.capabilities = [SupplierCapability(cpv_code=c, prefix=cpv_prefix(c)) for c in codes]
    profile.territories = [SupplierTerritory(scope=PROVINCE, value=p) for p in provinces] + [
        SupplierTerritory(scope=REGION, value=r) for r in regions
    ]
    audit.record("supplier_profile.update", org, actor=user)
    return profile


def annual_average(monthly: Iterable[Any]) -> Decimal:
    """L. 381/1991 art. 4: workers are counted per head as an annual average, i.e. the
    mean of the monthly head counts (12 months; fewer for a body founded in the year)."""
    values = [to_decimal(v) for v in monthly]
    if not values or len(values) > 12 or any(v is None or v < 0 for v in values):
        raise ValueError("monthly head counts: 1 to 12 numbers, none negative")
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"))  # type: ignore[arg-type]


DECLARATION_FIELDS = ("total_workers", *ART4_CATEGORIES, "other_disadvantaged")


@dataclass
class DeclarationData:
    year: int
    total_workers: Decimal | None
    disabled: Decimal | None = Decimal(0)
    psychiatric: Decimal | None = Decimal(0)
    addiction: Decimal | None = Decimal(0)
    minors: Decimal | None = Decimal(0)
    prisoners: Decimal | None = Decimal(0)
    other_disadvantaged: Decimal | None = Decimal(0)
    evidence: str = ""


def check_declaration(data: DeclarationData, today: date) -> None:
    errors: dict[str, str] = {}
    for name in DECLARATION_FIELDS:
        value = getattr(data, name)
        if value is not None and not isinstance(value, Decimal):
            setattr(data, name, to_decimal(value))
    if not 2000 <= data.year <= today.year:
        errors["year"] = _("Declare a year between 2000 and %(year)d.", year=today.year)
    for name in DECLARATION_FIELDS:
        value = getattr(data, name)
        if value is None:
            if name == "total_workers":
                errors[name] = _("Give the average number of workers.")
            continue
        if value < 0:
            errors[name] = _("The number cannot be negative.")
        elif value > 1_000_000 or value != value.quantize(Decimal("0.01")):
            errors[name] = _("Give a number with at most two decimals.")
    if not errors:
        total = data.total_workers or Decimal(0)
        if total <= 0:
            errors["total_workers"] = _("A declaration needs at least one worker.")
        counted = sum((getattr(data, n) or Decimal(0) for n in DECLARATION_FIELDS[1:]), Decimal(0))
        if counted > total:
            errors["other_disadvantaged"] = _(
                "Disadvantaged workers (%(counted)s) cannot be more than all workers "
                "(%(total)s): count each person once.",
                counted=counted,
                total=total,
            )
    if errors:
        raise TenderError(errors)


def save_declaration(
    org: Organisation, user: User, data: DeclarationData, today: date
) -> WorkforceDeclaration:
    """Create or replace the declaration of ``data.year``."""
    check_declaration(data, today)
    profile_for(org)
    declaration = db.session.execute(
        select(WorkforceDeclaration).where(
            WorkforceDeclaration.organisation_id == org.id, WorkforceDeclaration.year == data.year
        )
    ).scalar_one_or_none()
    if declaration is None:
        declaration = WorkforceDeclaration(organisation_id=org.id, year=data.year)
        db.session.add(declaration)
    for name in DECLARATION_FIELDS:
        setattr(declaration, name, getattr(data, name) or Decimal(0))
    declaration.evidence = data.evidence.strip()[:300]
    declaration.declared_by = user
    db.session.flush()
    audit.record("workforce_declaration.save", declaration, actor=user, year=data.year)
    return declaration


def current_declaration_year(today: date) -> int:
    """Declarations older than last year's no longer count."""
    return today.year - 1


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
    problem = _amount_error(data.value_amount)
    if problem:
        errors["value_amount"] = problem
    problem = _currency_error(data.value_currency)
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
        if _amount_error(lot.value_amount) or _currency_error(lot.value_currency):
            errors["lots"] = _("Lot values must be amounts of at least zero with a currency.")
    if errors:
        raise TenderError(errors)


def _apply(tender: Tender, data: TenderData) -> None:
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
    _apply(tender, data)
    db.session.add(tender)
    db.session.flush()
    audit.record("tender.create", tender, actor=author)
    return tender


def update_tender(tender: Tender, author: User | None, data: TenderData) -> None:
    if tender.status in (CANCELLED,):
        raise TenderError({"status": _("A cancelled tender cannot be edited.")})
    check_tender(data, unknown_cpv_ok=tender.source == "ocds")
    _apply(tender, data)
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


# --- Eligible suppliers ------------------------------------------------------------------


@dataclass
class SupplierFacts:
    org_id: int
    name: str
    slug: str
    kind: str
    verified: bool
    register_reference: str
    register_valid_until: date | None
    comune_code: str | None
    province: str | None
    region: str | None
    capabilities: list[str] = field(default_factory=list)
    territories: set[tuple[str, str]] = field(default_factory=set)
    declaration_year: int | None = None
    l381_share: Decimal | None = None
    art61_share: Decimal | None = None
    accepted_reports: int = 0
    flagged_reports: int = 0


@dataclass
class TenderFacts:
    clause_type: str
    codes: list[str]
    required_share: Decimal | None
    comune_code: str | None
    province: str | None
    region: str | None

    @classmethod
    def of(cls, tender: Tender) -> TenderFacts:
        place = tender.municipality
        return cls(
            clause_type=tender.clause_type,
            codes=tender.cpv_codes,
            required_share=tender.required_share,
            comune_code=tender.comune_code,
            province=place.province_code if place else None,
            region=place.region if place else None,
        )


@dataclass
class Criterion:
    name: str
    passed: bool
    explanation: str


@dataclass
class Factor:
    name: str
    points: float
    max_points: float
    explanation: str


@dataclass
class Eligibility:
    supplier: SupplierFacts
    eligible: bool
    score: float
    criteria: list[Criterion]
    factors: list[Factor]


CRITERIA_NAMES = ("kind", "register", "share", "cpv", "territory")


def cpv_match(capabilities: list[str], code: str) -> tuple[float, str | None]:
    """How a supplier's capabilities meet one tender code: 1.0 when one covers it (the
    capability is the code or an ancestor: prefix hierarchy), 0.5 when the supplier
    covers only part of it (a capability below the code), else 0."""
    best, via = 0.0, None
    significant = cpv_prefix(code)
    for capability in capabilities:
        if code.startswith(cpv_prefix(capability)):
            return 1.0, capability
        if capability.startswith(significant):
            best, via = 0.5, capability
    return best, via


def is_eligible(tender: TenderFacts, supplier: SupplierFacts, today: date) -> bool:
    """The verdict of :func:`evaluate` without building anything (the hot path)."""
    if not supplier.verified or supplier.kind not in (
        (COOPERATIVE_B,) if tender.clause_type == CONVENTION else SUPPLIER_KINDS
    ):
        return False
    if not supplier.register_reference or (
        supplier.register_valid_until is not None and supplier.register_valid_until < today
    ):
        return False
    required = tender.required_share
    if required is not None:
        share = supplier.l381_share if tender.clause_type == CONVENTION else supplier.art61_share
        if supplier.declaration_year is None or share is None or share < required:
            return False
    if tender.comune_code and supplier.comune_code != tender.comune_code:
        territories = supplier.territories or (
            {(PROVINCE, supplier.province)} if supplier.province else set()
        )
        if not (
            (tender.province and (PROVINCE, tender.province) in territories)
            or (tender.region and (REGION, tender.region) in territories)
        ):
            return False
    return not tender.codes or any(cpv_match(supplier.capabilities, c)[0] for c in tender.codes)


def evaluate(
    tender: TenderFacts, supplier: SupplierFacts, today: date, explain: bool = True
) -> Eligibility:
    """Eligibility with a reason for each criterion, and the fit (0–100) with its factors.

    ``explain=False`` skips the sentences (same verdicts and scores): used to rank and
    notify thousands of suppliers; only the shown ones are explained afterwards.
    """

    def say(message: Any) -> str:
        return message() if explain else ""

    criteria: list[Criterion] = []
    # 1. Who: type-B cooperatives (and, except for art. 5 conventions, social farms).
    kinds = (COOPERATIVE_B,) if tender.clause_type == CONVENTION else SUPPLIER_KINDS
    if not supplier.verified:
        criteria.append(
            Criterion("kind", False, say(lambda: _("Not yet verified by the network.")))
        )
    elif supplier.kind not in kinds:
        criteria.append(
            Criterion(
                "kind",
                False,
                say(lambda: _("L. 381/1991 art. 5 conventions are only with type-B cooperatives.")),
            )
        )
    else:
        criteria.append(
            Criterion(
                "kind",
                True,
                say(
                    lambda: (
                        _("Verified type-B cooperative.")
                        if supplier.kind == COOPERATIVE_B
                        else _("Verified social farm.")
                    )
                ),
            )
        )
    # 2. A current register enrolment.
    if not supplier.register_reference:
        criteria.append(
            Criterion("register", False, say(lambda: _("No register enrolment declared.")))
        )
    elif supplier.register_valid_until is not None and supplier.register_valid_until < today:
        criteria.append(
            Criterion(
                "register",
                False,
                say(
                    lambda: _(
                        "Register enrolment %(ref)s expired on %(date)s.",
                        ref=supplier.register_reference,
                        date=supplier.register_valid_until.isoformat(),
                    )
                ),
            )
        )  # type: ignore[union-attr]
    else:
        criteria.append(
            Criterion(
                "register",
                True,
                say(
                    lambda: _("Enrolled in the register: %(ref)s.", ref=supplier.register_reference)
                ),
            )
        )
    # 3. The declared share of disabled or disadvantaged workers (computed, per head):
    #    compared exactly with the threshold, so 29.9% never passes for 30%.
    required = tender.required_share
    share = supplier.l381_share if tender.clause_type == CONVENTION else supplier.art61_share
    basis = "L. 381/1991 art. 4" if tender.clause_type == CONVENTION else "D.Lgs. 36/2023 art. 61"
    if required is None:
        criteria.append(
            Criterion(
                "share",
                True,
                say(
                    lambda: _(
                        "No minimum share for this clause; declared: %(share)s.",
                        share=shown_percent(supplier.art61_share),
                    )
                ),
            )
        )
    elif supplier.declaration_year is None or share is None:
        criteria.append(
            Criterion(
                "share",
                False,
                say(
                    lambda: _(
                        "No workforce declaration for %(year)d or later.",
                        year=current_declaration_year(today),
                    )
                ),
            )
        )
    elif share >= required:
        criteria.append(
            Criterion(
                "share",
                True,
                say(
                    lambda: _(
                        "%(share)s disabled or disadvantaged workers in %(year)d, at least "
                        "%(required)s (%(basis)s).",
                        share=shown_percent(share),
                        year=supplier.declaration_year,
                        required=shown_percent(required),
                        basis=basis,
                    )
                ),
            )
        )
    else:
        criteria.append(
            Criterion(
                "share",
                False,
                say(
                    lambda: _(
                        "%(share)s disabled or disadvantaged workers in %(year)d, below "
                        "%(required)s (%(basis)s).",
                        share=shown_percent(share),
                        year=supplier.declaration_year,
                        required=shown_percent(required),
                        basis=basis,
                    )
                ),
            )
        )
    # 4. CPV capability, by prefix hierarchy.
    matches = [(code, *cpv_match(supplier.capabilities, code)) for code in tender.codes]
    covered = [m for m in matches if m[1] > 0]
    if not tender.codes:
        criteria.append(Criterion("cpv", True, say(lambda: _("The tender names no CPV code."))))
    elif covered:
        criteria.append(
            Criterion(
                "cpv",
                True,
                say(
                    lambda: ngettext(
                        "Declared capabilities cover %(num)d CPV code of %(total)d: %(codes)s.",
                        "Declared capabilities cover %(num)d CPV codes of %(total)d: %(codes)s.",
                        len(covered),
                        total=len(matches),
                        codes=", ".join(
                            f"{code} ({via})" if via != code else code for code, _s, via in covered
                        ),
                    )
                ),
            )
        )
    else:
        criteria.append(
            Criterion(
                "cpv", False, say(lambda: _("No declared capability in the tender's CPV codes."))
            )
        )
    # 5. Territory served.
    served, territory_points, territory_text = _territory(tender, supplier, say)
    criteria.append(Criterion("territory", served, territory_text))

    factors = _fit(supplier, matches, share, required, territory_points, say)
    eligible = all(c.passed for c in criteria)
    return Eligibility(
        supplier, eligible, round(sum(f.points for f in factors), 1), criteria, factors
    )


def _territory(tender: TenderFacts, supplier: SupplierFacts, say: Any) -> tuple[bool, float, str]:
    if not tender.comune_code:
        return True, 10.0, say(lambda: _("The tender names no place of execution."))
    if supplier.comune_code == tender.comune_code:
        return True, 20.0, say(lambda: _("Based in the municipality of execution."))
    territories = supplier.territories or (
        {(PROVINCE, supplier.province)} if supplier.province else set()
    )
    if tender.province and (PROVINCE, tender.province) in territories:
        near = supplier.province == tender.province
        return (
            True,
            15.0 if near else 12.0,
            say(lambda: _("Works in the province of %(province)s.", province=tender.province)),
        )
    if tender.region and (REGION, tender.region) in territories:
        return True, 10.0, say(lambda: _("Works in the region %(region)s.", region=tender.region))
    return (
        False,
        0.0,
        say(
            lambda: _(
                "Does not declare the territory of execution (%(province)s).",
                province=tender.province or tender.region or "",
            )
        ),
    )


def _fit(
    supplier: SupplierFacts,
    matches: list[tuple[str, float, Any]],
    share: Decimal | None,
    required: Decimal | None,
    territory_points: float,
    say: Any,
) -> list[Factor]:
    coverage = (sum(m[1] for m in matches) / len(matches)) if matches else 1.0
    factors = [
        Factor(
            "cpv",
            round(50 * coverage, 2),
            50,
            say(
                lambda: _(
                    "CPV coverage %(pct)s.",
                    pct=format_percent(round(coverage * 100) / 100),
                )
            ),
        )
    ]
    factors.append(
        Factor(
            "territory",
            territory_points,
            20,
            say(lambda: _("Distance from the place of execution.")),
        )
    )
    if share is None:
        factors.append(
            Factor("share", 0.0, 15, say(lambda: _("No current workforce declaration.")))
        )
    else:
        if required is None:
            margin = min(Decimal(1), share / Decimal(50))
        else:
            margin = min(Decimal(1), max(Decimal(0), (share - required) / Decimal(20)))
        factors.append(
            Factor(
                "share",
                round(15 * float(margin), 2),
                15,
                say(lambda: _("Share of disabled or disadvantaged workers above the requirement.")),
            )
        )
    reviewed = supplier.accepted_reports + supplier.flagged_reports
    record = 7.5 if reviewed == 0 else 15 * supplier.accepted_reports / reviewed
    factors.append(
        Factor(
            "record",
            round(record, 2),
            15,
            say(
                lambda: _(
                    "Compliance reports accepted: %(accepted)d, flagged: %(flagged)d.",
                    accepted=supplier.accepted_reports,
                    flagged=supplier.flagged_reports,
                )
            ),
        )
    )
    return factors


def explain(tender: Tender, results: list[Eligibility], today: date) -> list[Eligibility]:
    """The same results with their sentences (for the ones shown)."""
    facts = TenderFacts.of(tender)
    return [evaluate(facts, r.supplier, today) for r in results]


class SupplierIndex:
    """Every supplier's facts, loaded once, with CPV prefix maps: many tenders (an import)
    are checked against thousands of suppliers without a query per tender."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.suppliers = {s.org_id: s for s in load_suppliers(today)}
        self.covering: dict[str, set[int]] = defaultdict(set)  # capability prefix -> orgs
        self.below: dict[str, set[int]] = defaultdict(set)  # any code prefix -> orgs
        for supplier in self.suppliers.values():
            for code in supplier.capabilities:
                self.covering[cpv_prefix(code)].add(supplier.org_id)
                for n in range(2, 9):
                    self.below[code[:n]].add(supplier.org_id)

    def candidates(self, codes: list[str]) -> list[SupplierFacts]:
        if not codes:
            return list(self.suppliers.values())
        found: set[int] = set()
        for code in codes:
            for n in range(2, 9):
                found |= self.covering.get(code[:n], set())
            found |= self.below.get(cpv_prefix(code), set())
        return [self.suppliers[i] for i in found]

    def eligible(self, tender: Tender) -> list[int]:
        facts = TenderFacts.of(tender)
        return [s.org_id for s in self.candidates(facts.codes) if is_eligible(facts, s, self.today)]


def _candidate_filter(codes: list[str]) -> Any:
    """SQL condition on SupplierCapability: related to any of ``codes`` by prefix."""
    conditions = []
    prefixes = {code[:n] for code in codes for n in range(2, 9)}
    if prefixes:
        conditions.append(SupplierCapability.prefix.in_(sorted(prefixes)))
    for code in codes:
        significant = cpv_prefix(code)
        upper = str(int(significant) + 1).zfill(len(significant))
        conditions.append(
            and_(
                SupplierCapability.cpv_code >= significant.ljust(8, "0"),
                SupplierCapability.cpv_code < upper.ljust(8, "0"),
            )
        )
    return or_(*conditions)


def load_suppliers(today: date, org_ids: Any = None) -> list[SupplierFacts]:
    """Facts of every supplier (or of ``org_ids``: a list or a subquery) in five queries."""
    stmt = (
        select(
            Organisation.id,
            Organisation.name,
            Organisation.slug,
            Organisation.kind,
            Organisation.verified_at,
            Organisation.register_number,
            Organisation.regional_register,
            Organisation.comune_code,
            Municipality.province_code,
            Municipality.region,
            SupplierProfile.register_valid_until,
        )
        .join(SupplierProfile, SupplierProfile.organisation_id == Organisation.id)
        .outerjoin(Municipality, Municipality.istat_code == Organisation.comune_code)
        .where(Organisation.kind.in_(SUPPLIER_KINDS))
    )
    if org_ids is not None:
        stmt = stmt.where(Organisation.id.in_(org_ids))
    facts: dict[int, SupplierFacts] = {}
    for row in db.session.execute(stmt):
        facts[row.id] = SupplierFacts(
            org_id=row.id,
            name=row.name,
            slug=row.slug,
            kind=row.kind,
            verified=row.verified_at is not None,
            register_reference=row.register_number or row.regional_register or "",
            register_valid_until=row.register_valid_until,
            comune_code=row.comune_code,
            province=row.province_code,
            region=row.region,
        )
    if not facts:
        return []
    scope = org_ids if org_ids is not None else list(facts)

    def restrict(column: Any) -> Any:
        return column.in_(scope)

    for org_id, code in db.session.execute(
        select(SupplierCapability.organisation_id, SupplierCapability.cpv_code).where(
            restrict(SupplierCapability.organisation_id)
        )
    ):
        if org_id in facts:
            facts[org_id].capabilities.append(code)
    for org_id, scope_name, value in db.session.execute(
        select(
            SupplierTerritory.organisation_id, SupplierTerritory.scope, SupplierTerritory.value
        ).where(restrict(SupplierTerritory.organisation_id))
    ):
        if org_id in facts:
            facts[org_id].territories.add((scope_name, value))
    d = WorkforceDeclaration
    declarations = db.session.execute(
        select(
            d.organisation_id,
            d.year,
            d.total_workers,
            d.disabled,
            d.psychiatric,
            d.addiction,
            d.minors,
            d.prisoners,
            d.other_disadvantaged,
        )
        .where(
            restrict(d.organisation_id),
            d.year >= current_declaration_year(today),
            d.year <= today.year,
        )
        .order_by(d.year)
    )
    for org_id, year, total, *counts, other in declarations:  # the latest year wins
        supplier = facts.get(org_id)
        if supplier is not None:
            art4 = sum((c or Decimal(0) for c in counts), Decimal(0))
            supplier.declaration_year = year
            supplier.l381_share = percent(art4, total)
            supplier.art61_share = percent(art4 + (other or Decimal(0)), total)
    for org_id, status, count in db.session.execute(
        select(Contract.supplier_org_id, ComplianceReport.status, func.count())
        .join(ComplianceReport, ComplianceReport.contract_id == Contract.id)
        .where(restrict(Contract.supplier_org_id), ComplianceReport.status.in_((ACCEPTED, FLAGGED)))
        .group_by(Contract.supplier_org_id, ComplianceReport.status)
    ):
        if org_id in facts:
            if status == ACCEPTED:
                facts[org_id].accepted_reports = count
            else:
                facts[org_id].flagged_reports = count
    return list(facts.values())


def rank(
    tender: Tender, today: date, *, include_ineligible: bool = False, explain: bool = False
) -> list[Eligibility]:
    """Suppliers for ``tender``, eligible first, by fit.

    Only suppliers with a CPV capability related to the tender's codes are considered.
    Without ``include_ineligible`` the database first narrows them to those that may be
    eligible (kind, share, territory), then every criterion is checked exactly here.
    Without ``explain`` the reasons are left empty: see :func:`explain`.
    """
    facts = TenderFacts.of(tender)
    if include_ineligible:
        org_ids = (
            None
            if not facts.codes
            else list(
                db.session.execute(
                    select(SupplierCapability.organisation_id)
                    .where(_candidate_filter(facts.codes))
                    .distinct()
                ).scalars()
            )
        )
    else:
        org_ids = list(db.session.execute(_prefilter(facts, today)).scalars())
    suppliers = load_suppliers(today, org_ids)
    if not include_ineligible:
        suppliers = [s for s in suppliers if is_eligible(facts, s, today)]
    results = [evaluate(facts, supplier, today, explain) for supplier in suppliers]
    results.sort(key=lambda r: (not r.eligible, -r.score, r.supplier.name))
    return results


def _prefilter(facts: TenderFacts, today: date) -> Any:
    """Ids of the suppliers that may be eligible: a superset, checked exactly afterwards
    (amounts are compared with a small tolerance, as SQLite keeps NUMERIC as REAL)."""
    from sqlalchemy import exists, literal

    kinds = (COOPERATIVE_B,) if facts.clause_type == CONVENTION else SUPPLIER_KINDS
    stmt = (
        select(Organisation.id)
        .join(SupplierProfile, SupplierProfile.organisation_id == Organisation.id)
        .where(Organisation.kind.in_(kinds), Organisation.verified_at.is_not(None))
    )
    if facts.codes:
        stmt = stmt.where(
            Organisation.id.in_(
                select(SupplierCapability.organisation_id).where(_candidate_filter(facts.codes))
            )
        )
    if facts.required_share is not None:
        d = WorkforceDeclaration
        counted = d.disabled + d.psychiatric + d.addiction + d.minors + d.prisoners
        if facts.clause_type != CONVENTION:
            counted = counted + d.other_disadvantaged
        stmt = stmt.where(
            exists().where(
                d.organisation_id == Organisation.id,
                d.year >= current_declaration_year(today),
                d.year <= today.year,
                counted * 100 >= d.total_workers * literal(float(facts.required_share)) - 0.001,
            )
        )
    if facts.comune_code:
        t = SupplierTerritory
        declared = exists().where(t.organisation_id == Organisation.id)
        matching = exists().where(
            t.organisation_id == Organisation.id,
            or_(
                and_(t.scope == PROVINCE, t.value == (facts.province or "")),
                and_(t.scope == REGION, t.value == (facts.region or "")),
            ),
        )
        own_province = Organisation.comune_code.in_(
            select(Municipality.istat_code).where(
                Municipality.province_code == (facts.province or "")
            )
        )
        stmt = stmt.where(
            or_(
                Organisation.comune_code == facts.comune_code,
                matching,
                and_(~declared, own_province),
            )
        )
    return stmt


def open_tenders_stmt(now: datetime) -> Any:
    return (
        select(Tender)
        .join(Organisation, Organisation.id == Tender.buyer_org_id)
        .where(
            Tender.status == PUBLISHED,
            Organisation.verified_at.is_not(None),
            or_(Tender.deadline.is_(None), Tender.deadline >= now),
        )
    )


def eligible_tenders_for(org: Organisation, today: date) -> list[tuple[Tender, Eligibility]]:
    """Open tenders ``org`` is eligible for, best fit first."""
    suppliers = load_suppliers(today, [org.id])
    if not suppliers:
        return []
    supplier = suppliers[0]
    related = []
    for capability in supplier.capabilities:
        significant = cpv_prefix(capability)
        upper = str(int(significant) + 1).zfill(len(significant))
        related.append(
            and_(TenderCpv.code >= significant.ljust(8, "0"), TenderCpv.code < upper.ljust(8, "0"))
        )
        related.append(TenderCpv.code.in_([capability[:n].ljust(8, "0") for n in range(2, 8)]))
    has_codes = select(TenderCpv.tender_id)
    candidates = open_tenders_stmt(utcnow()).where(
        or_(
            Tender.id.in_(select(TenderCpv.tender_id).where(or_(*related))) if related else false(),
            ~Tender.id.in_(has_codes.distinct()),
        )
    )
    found = []
    for tender in db.session.execute(candidates).scalars().unique():
        result = evaluate(TenderFacts.of(tender), supplier, today)
        if result.eligible:
            found.append((tender, result))
    found.sort(
        key=lambda pair: (
            -pair[1].score,
            pair[0].deadline.timestamp() if pair[0].deadline else float("inf"),
            pair[0].id,
        )
    )
    return found


def notify_eligible(tender: Tender, today: date, index: SupplierIndex | None = None) -> int:
    """Tell each eligible supplier's people about a newly published tender, once."""
    return notify_many([tender], today, index)


def notify_many(tenders: list[Tender], today: date, index: SupplierIndex | None = None) -> int:
    """Tell the eligible suppliers of newly published tenders, once per tender and
    supplier; a fixed number of queries however many tenders (an import)."""
    from portal.notifications import notify

    now = utcnow()
    eligible: dict[int, list[int]] = {}
    for tender in tenders:
        if tender.is_public() and tender.is_open(now):
            found = (
                index.eligible(tender)
                if index is not None
                else [r.supplier.org_id for r in rank(tender, today)]
            )
            if found:
                eligible[tender.id] = found
    if not eligible:
        return 0
    told = {
        (tid, oid)
        for tid, oid in db.session.execute(
            select(TenderNotice.tender_id, TenderNotice.organisation_id).where(
                TenderNotice.tender_id.in_(list(eligible))
            )
        )
    }
    new = {tid: [o for o in orgs if (tid, o) not in told] for tid, orgs in eligible.items()}
    rows = [{"tender_id": tid, "organisation_id": o} for tid, orgs in new.items() for o in orgs]
    if not rows:
        return 0
    db.session.execute(insert(TenderNotice), rows)
    people: dict[int, list[User]] = defaultdict(list)
    for org_id, user in db.session.execute(
        select(Membership.organisation_id, User)
        .join(User, Membership.user_id == User.id)
        .where(
            Membership.organisation_id.in_({r["organisation_id"] for r in rows}),
            Membership.role.in_(SUPPLIER_ROLES),
            User.active.is_(True),
        )
    ):
        people[org_id].append(user)
    by_id = {t.id: t for t in tenders}
    for tender_id, orgs in new.items():
        tender = by_id[tender_id]
        target = link("tenders.tender_detail", f"/tenders/{tender.id}", tender_id=tender.id)
        for user in {u for o in orgs for u in people.get(o, [])}:
            notify(
                user,
                _(
                    "A new tender you are eligible for: %(title)s (%(buyer)s)",
                    title=tender.title,
                    buyer=tender.buyer.name,
                ),
                target,
            )
    return len(rows)


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
    problem = _amount_error(data.value_amount, allow_none=False)
    if problem:
        errors["value_amount"] = problem
    problem = _currency_error(data.value_currency)
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


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def periods(contract: Contract, until: date | None = None) -> list[tuple[date, date]]:
    """Reporting periods: every ``report_every_months`` from the start, the last one
    cut at the contract's end; only those started by ``until``."""
    found = []
    start, n = contract.start_date, 0
    while start <= contract.end_date and (until is None or start <= until):
        n += 1
        next_start = add_months(contract.start_date, n * contract.report_every_months)
        found.append((start, min(contract.end_date, next_start - timedelta(days=1))))
        start = next_start
    return found


def overdue_periods(contract: Contract, today: date) -> list[tuple[date, date]]:
    filed = {r.period_start for r in contract.reports}
    return [
        (s, e)
        for s, e in periods(contract, today)
        if s not in filed and e + timedelta(days=REPORT_GRACE_DAYS) < today
    ]


def open_periods(contract: Contract, today: date) -> list[tuple[date, date]]:
    """Periods the supplier can report on now: started, without a report (or flagged)."""
    taken = {r.period_start for r in contract.reports if r.status != FLAGGED}
    return [(s, e) for s, e in periods(contract, today) if s not in taken]


@dataclass
class ReportData:
    period_start: date | None
    workers_total: int | None
    workers_disadvantaged: int = 0
    workers_disabled: int = 0
    hours_total: Decimal | None = Decimal(0)
    hours_disadvantaged: Decimal | None = Decimal(0)
    new_hires_total: int = 0
    new_hires_disadvantaged: int = 0
    new_hires_from_caseload: int = 0
    evidence: str = ""


def compute_compliance(
    tender: Tender, report: ComplianceReport | ReportData
) -> tuple[Decimal | None, bool | None]:
    """The measured value and whether the clause is kept (None: no computable target).

    Reserved contracts and conventions: disabled and disadvantaged people among those
    employed on the contract, per head, at least the threshold (art. 61; L. 381 art. 4).
    Social execution clause (art. 57): the share of the chosen base, or the number of
    disabled/disadvantaged people hired for the contract.
    """
    inclusive = Decimal((report.workers_disadvantaged or 0) + (report.workers_disabled or 0))
    if tender.clause_type in (RESERVED, CONVENTION):
        share = percent(inclusive, Decimal(report.workers_total or 0))
        required = tender.required_share or DEFAULT_THRESHOLD
        return share, (share is not None and share >= required)
    if tender.clause_type == SOCIAL_CLAUSE and tender.clause_target is not None:
        if tender.clause_measure == COUNT:
            hired = Decimal(report.new_hires_disadvantaged or 0)
            return hired, hired >= tender.clause_target
        if tender.clause_base == HOURS:
            share = percent(
                report.hours_disadvantaged or Decimal(0), report.hours_total or Decimal(0)
            )
        elif tender.clause_base == NEW_HIRES:
            share = percent(
                Decimal(report.new_hires_disadvantaged or 0), Decimal(report.new_hires_total or 0)
            )
        else:
            share = percent(inclusive, Decimal(report.workers_total or 0))
        return share, (share is not None and share >= tender.clause_target)
    return None, None


def check_report(data: ReportData) -> dict[str, str]:
    errors: dict[str, str] = {}
    ints = (
        "workers_total",
        "workers_disadvantaged",
        "workers_disabled",
        "new_hires_total",
        "new_hires_disadvantaged",
        "new_hires_from_caseload",
    )
    for name in ints:
        value = getattr(data, name)
        if value is None and name == "workers_total":
            errors[name] = _("Give the number of people employed on the contract.")
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            errors[name] = _("Give a whole number.")
        elif value is not None and not 0 <= value <= 100_000:
            errors[name] = _("The number cannot be negative.")
    for name in ("hours_total", "hours_disadvantaged"):
        value = getattr(data, name)
        if value is not None and (
            value < 0 or value > 10_000_000 or value != value.quantize(Decimal("0.01"))
        ):
            errors[name] = _("Give hours of at least zero with at most two decimals.")
    if errors:
        return errors
    if data.workers_disadvantaged + data.workers_disabled > (data.workers_total or 0):
        errors["workers_disadvantaged"] = _(
            "Disadvantaged and disabled people cannot be more than all people employed on "
            "the contract: count each person once."
        )
    if (data.hours_disadvantaged or 0) > (data.hours_total or 0):
        errors["hours_disadvantaged"] = _("Cannot be more than all hours worked.")
    if data.new_hires_disadvantaged > data.new_hires_total:
        errors["new_hires_disadvantaged"] = _("Cannot be more than all new hires.")
    if data.new_hires_from_caseload > data.new_hires_total:
        errors["new_hires_from_caseload"] = _("Cannot be more than all new hires.")
    if data.new_hires_total > (data.workers_total or 0):
        errors["new_hires_total"] = _("New hires are among the people employed on the contract.")
    return errors


def file_report(contract: Contract, user: User, data: ReportData, today: date) -> ComplianceReport:
    """A supplier files the report of one period; a flagged report may be filed again."""
    if not holds_contract(user, contract):
        raise TenderError({"contract": _("Your organisation does not hold this contract.")})
    errors = check_report(data)
    allowed = {s: e for s, e in open_periods(contract, today)}
    if data.period_start is None or data.period_start not in allowed:
        errors["period_start"] = _(
            "Choose a reporting period of this contract that has started and has no report yet."
        )
    if errors:
        raise TenderError(errors)
    report = next((r for r in contract.reports if r.period_start == data.period_start), None)
    if report is None:
        report = ComplianceReport(
            contract=contract, period_start=data.period_start, period_end=allowed[data.period_start]
        )  # type: ignore[index]
        db.session.add(report)
    for name in (
        "workers_total",
        "workers_disadvantaged",
        "workers_disabled",
        "new_hires_total",
        "new_hires_disadvantaged",
        "new_hires_from_caseload",
    ):
        setattr(report, name, getattr(data, name) or 0)
    report.hours_total = data.hours_total or Decimal(0)
    report.hours_disadvantaged = data.hours_disadvantaged or Decimal(0)
    report.evidence = data.evidence.strip()[:300]
    measured, compliant = compute_compliance(contract.tender, report)
    report.measured = measured.quantize(Decimal("0.01")) if measured is not None else None
    report.compliant = compliant
    report.status, report.review_comment = SUBMITTED, ""
    report.reviewed_at, report.reviewed_by_id = None, None
    report.filed_by_id, report.filed_at = user.id, utcnow()
    db.session.flush()
    audit.record("compliance_report.file", report, actor=user, contract=contract.id)
    return report


def review(report: ComplianceReport, user: User, decision: str, comment: str) -> None:
    if not can_edit(user, report.contract.tender):
        raise TenderError({"decision": _("Only the buyer's officers review its reports.")})
    comment = (comment or "").strip()
    if decision not in (ACCEPTED, FLAGGED):
        raise TenderError({"decision": _("Accept or flag the report.")})
    if decision == FLAGGED and not comment:
        raise TenderError({"comment": _("Say why the report is flagged.")})
    if len(comment) > 2000:
        raise TenderError({"comment": _("Use at most 2000 characters.")})
    report.status, report.review_comment = decision, comment
    report.reviewed_by_id, report.reviewed_at = user.id, utcnow()
    audit.record(f"compliance_report.{decision}", report, actor=user)


@dataclass
class Overdue:
    contract: Contract
    period_start: date
    period_end: date

    @property
    def due_on(self) -> date:
        return self.period_end + timedelta(days=REPORT_GRACE_DAYS)


def overdue_reports(
    today: date, *, buyer_ids: list[int] | None = None, supplier_ids: list[int] | None = None
) -> list[Overdue]:
    """Every period whose report is overdue, oldest first (contracts and their reports are
    loaded in two queries)."""
    stmt = (
        select(Contract)
        .join(Tender, Tender.id == Contract.tender_id)
        .where(Contract.start_date <= today - timedelta(days=REPORT_GRACE_DAYS))
    )
    if buyer_ids is not None:
        stmt = stmt.where(Tender.buyer_org_id.in_(buyer_ids))
    if supplier_ids is not None:
        stmt = stmt.where(Contract.supplier_org_id.in_(supplier_ids))
    found = []
    for contract in db.session.execute(stmt).scalars().unique():
        found += [Overdue(contract, s, e) for s, e in overdue_periods(contract, today)]
    found.sort(key=lambda o: (o.period_end, o.contract.id))
    return found


def send_reminders(today: date) -> int:
    """Remind the supplier's people of overdue reports, at most once a week per contract."""
    from portal.notifications import notify

    now = utcnow()
    by_contract: dict[int, list[Overdue]] = defaultdict(list)
    for item in overdue_reports(today):
        by_contract[item.contract.id].append(item)
    sent = 0
    for items in by_contract.values():
        contract = items[0].contract
        if contract.reminded_at and now - contract.reminded_at < timedelta(
            days=REMINDER_INTERVAL_DAYS
        ):
            continue
        users = (
            db.session.execute(
                select(User)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.organisation_id == contract.supplier_org_id,
                    Membership.role.in_(SUPPLIER_ROLES),
                )
            )
            .scalars()
            .unique()
            .all()
        )
        for user in users:
            notify(
                user,
                _(
                    '%(n)d compliance report(s) overdue for "%(title)s".',
                    n=len(items),
                    title=contract.tender.title,
                ),
                link(
                    "tenders.contract_detail",
                    f"/tenders/contracts/{contract.id}",
                    contract_id=contract.id,
                ),
            )
        contract.reminded_at = now
        sent += 1
    return sent


@dataclass
class ContractSummary:
    contract: Contract
    accepted: int
    flagged: int
    awaiting: int
    overdue: int

    @property
    def status(self) -> str:
        if self.flagged:
            return FLAGGED
        if self.overdue:
            return "overdue"
        if self.awaiting:
            return SUBMITTED
        return ACCEPTED if self.accepted else "none"


def summarise(contract: Contract, today: date) -> ContractSummary:
    statuses = [r.status for r in contract.reports]
    return ContractSummary(
        contract,
        statuses.count(ACCEPTED),
        statuses.count(FLAGGED),
        statuses.count(SUBMITTED),
        len(overdue_periods(contract, today)),
    )


def transparency(org: Organisation, today: date) -> list[tuple[Tender, list[ContractSummary]]]:
    """Public: the body's tenders with social clauses and their contracts' compliance
    (aggregate statuses only: no person, no comment)."""
    tenders = (
        db.session.execute(
            select(Tender)
            .where(
                Tender.buyer_org_id == org.id,
                Tender.status.in_((PUBLISHED, AWARDED, "closed")),
                Tender.clause_type != "none",
            )
            .order_by(Tender.published_at.desc(), Tender.id.desc())
        )
        .scalars()
        .all()
    )
    return [(t, [summarise(c, today) for c in t.contracts]) for t in tenders]
