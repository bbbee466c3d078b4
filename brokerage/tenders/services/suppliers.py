"""Supplier profiles (CPV capabilities, territories, enrolment in the register of social
cooperatives, largest contract) and the yearly workforce declarations of L. 381/1991
art. 4 (30% disadvantaged workers, per head, annual average).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from brokerage.tenders import cpv
from brokerage.tenders.models import (
    ART4_CATEGORIES,
    PROVINCE,
    REGION,
    SupplierCapability,
    SupplierProfile,
    SupplierTerritory,
    WorkforceDeclaration,
    cpv_prefix,
)
from brokerage.tenders.services.base import TenderError, amount_error, to_decimal
from portal import audit, db, municipalities
from portal.db import utcnow
from portal.models import Municipality, Organisation, User

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
    problem = amount_error(data.max_contract_value)
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
