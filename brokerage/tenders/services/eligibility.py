"""Whether one supplier may take one tender, and why: the facts of both, the five criteria
(kind, register, share of disadvantaged workers, CPV, territory) and the factors of fit,
each with the sentence shown to people (D.Lgs. 36/2023 art. 61; L. 381/1991 art. 5).
Pure rules: no query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import format_percent, ngettext
from flask_babel import gettext as _

from brokerage.tenders.models import CONVENTION, PROVINCE, REGION, Tender, cpv_prefix, shown_percent
from brokerage.tenders.services.base import SUPPLIER_KINDS
from brokerage.tenders.services.suppliers import current_declaration_year
from portal.models import COOPERATIVE_B

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
