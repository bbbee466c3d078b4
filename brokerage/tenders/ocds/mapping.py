"""From a compiled OCDS release to Ponte's columns: titles, dates, amounts, CPV codes,
place, the social clause and reserved participation of Ponte's extension and ANAC's codes
(D.Lgs. 36/2023 art. 57 and 61), checked as the portal's own form checks a tender, every
problem a warning pointed at its field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from flask_babel import gettext as _

from brokerage.tenders import cpv, services
from brokerage.tenders.models import (
    AWARDED,
    CANCELLED,
    CLOSED,
    DRAFT,
    NONE,
    PREMIUM,
    PUBLISHED,
    RESERVED,
    RESERVED_PARTICIPATION_OCDS,
    SOCIAL_CLAUSE,
)
from brokerage.tenders.ocds.schema import Problem, pointer
from brokerage.tenders.ocds.schema import jsonable as _jsonable
from brokerage.tenders.services import LotData, TenderData, TenderError
from portal import municipalities

OCDS_TO_ANAC = {v: k for k, v in RESERVED_PARTICIPATION_OCDS.items()}
SOCIAL_GOAL = "social.disadvantagedEmploymentOpportunities"

STATUS_FROM_OCDS = {
    "planning": DRAFT,
    "planned": DRAFT,
    "active": PUBLISHED,
    "complete": CLOSED,
    "cancelled": CANCELLED,
    "unsuccessful": CANCELLED,
    "withdrawn": CANCELLED,
}


# --- From a compiled release to Ponte's columns -------------------------------------------------


def clean_text(value: Any, limit: int | None = None) -> str:
    text = "" if value is None else str(value).replace("\x00", "").strip()
    return text[:limit] if limit else text


def ocds_datetime(value: Any, path: str, problems: list[Problem]) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        problems.append(Problem(path, _("Not a date-time such as 2026-03-01T12:00:00Z.")))
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def ocds_money(
    value: Any, path: str, problems: list[Problem], warnings: list[Problem]
) -> tuple[Decimal | None, str]:
    """An OCDS Value: the amount (exact, in cents) and its currency."""
    if not isinstance(value, dict):
        return None, "EUR"
    amount, currency = value.get("amount"), value.get("currency")
    if amount is None or amount == "":
        return None, str(currency or "EUR")
    if isinstance(amount, bool) or not isinstance(amount, int | float | Decimal):
        return None, str(currency or "EUR")  # the schema warning says it
    number = Decimal(str(amount))
    if not number.is_finite():
        return None, str(currency or "EUR")
    if number < 0:
        problems.append(Problem(path + "/amount", _("The amount cannot be negative.")))
        return None, "EUR"
    if not currency:
        problems.append(
            Problem(path + "/currency", _("An amount needs its currency (ISO 4217, e.g. EUR)."))
        )
        return None, "EUR"
    if number > services.MAX_AMOUNT:
        problems.append(Problem(path + "/amount", _("The amount is too large.")))
        return None, str(currency)
    cents = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    if cents != number:
        warnings.append(Problem(path + "/amount", _("Rounded to cents: %(amount)s.", amount=cents)))
    return cents, str(currency)


def _cpv_codes(
    tender: dict[str, Any], base: str, problems: list[Problem], warnings: list[Problem]
) -> list[str]:
    codes: list[str] = []
    for i, item in enumerate(tender.get("items") or []):
        entries = [("classification", None, item.get("classification"))] + [
            ("additionalClassifications", j, c)
            for j, c in enumerate(item.get("additionalClassifications") or [])
        ]
        for name, j, classification in entries:
            if not isinstance(classification, dict):
                continue
            path = (
                base + pointer("tender", "items", i, name) + (pointer(j) if j is not None else "")
            )
            scheme = clean_text(classification.get("scheme")).upper()
            if scheme != "CPV":
                continue  # UNSPSC, CUCOP, OKDP…: kept as published, not matched on
            raw = classification.get("id")
            code = cpv.normalise(raw)
            if code is None:
                problems.append(
                    Problem(
                        path + "/id",
                        _(
                            "%(raw)s is not a CPV code (8 digits, optionally with its "
                            "check digit).",
                            raw=json.dumps(raw, default=str),
                        ),
                    )
                )
                continue
            if str(raw) != code:
                warnings.append(
                    Problem(
                        path + "/id",
                        _(
                            "CPV id %(raw)s read as %(code)s.",
                            raw=json.dumps(raw, default=str),
                            code=code,
                        ),
                    )
                )
            if not cpv.is_known(code):
                warnings.append(
                    Problem(
                        path + "/id",
                        _(
                            "CPV code %(code)s is not in the CPV 2008 list: kept as published.",
                            code=code,
                        ),
                    )
                )
            if code not in codes:
                codes.append(code)
    return codes


def _clause(tender: dict[str, Any], base: str, warnings: list[Problem]) -> dict[str, Any]:
    """The Italian clause, from Ponte's socialClause or inferred from the extensions."""
    lots = [lot for lot in tender.get("lots") or [] if isinstance(lot, dict)]
    holders = [tender, *lots]
    participation: list[str] = []
    for holder in holders:
        for code in (holder.get("otherRequirements") or {}).get("reservedParticipation") or []:
            participation.append(str(code))
    execution = any(
        (h.get("contractTerms") or {}).get("reservedExecution") is True for h in holders
    )
    standards = " ".join(
        clean_text((h.get("contractTerms") or {}).get("socialStandards")) for h in holders
    ).strip()
    sustainability = _jsonable(
        [s for h in holders for s in h.get("sustainability") or [] if isinstance(s, dict)]
    )
    anac = [OCDS_TO_ANAC.get(c, c) for c in participation]
    for code in anac:
        if code not in services.RESERVED_CODES:
            warnings.append(
                Problem(
                    base + "/tender/otherRequirements/reservedParticipation",
                    _("Unknown reserved participation code %(code)s.", code=code),
                )
            )
    reserved_code = (
        "res-ws" if "res-ws" in anac else ("res-pub-ser" if "res-pub-ser" in anac else "none")
    )
    result: dict[str, Any] = {
        "reserved_participation": reserved_code,
        "reserved_execution": execution,
        "social_standards": standards,
        "sustainability": sustainability,
        "threshold": None,
        "clause_measure": None,
        "clause_target": None,
        "clause_base": None,
        "premium_measures": [],
    }
    explicit = tender.get("socialClause")
    if isinstance(explicit, dict):
        result["clause_type"] = explicit["type"]
        for key, name in (("threshold", "threshold"), ("target", "clause_target")):
            if explicit.get(key) is not None:
                result[name] = Decimal(str(explicit[key]))
        result["clause_measure"] = explicit.get("measure")
        result["clause_base"] = explicit.get("base")
        result["premium_measures"] = [str(p) for p in explicit.get("premiumMeasures") or []]
        return result
    social = [s for s in sustainability if str(s.get("goal", "")).startswith("social")]
    strategies = {str(x) for s in social for x in s.get("strategies") or []}
    if reserved_code == "res-ws" or execution:
        result["clause_type"] = RESERVED
    elif "contractPerformanceConditions" in strategies or standards:
        result["clause_type"] = SOCIAL_CLAUSE
    elif "awardCriteria" in strategies:
        result["clause_type"] = PREMIUM
    elif "reservedParticipation" in strategies:
        result["clause_type"] = RESERVED
    else:
        result["clause_type"] = NONE
    if result["clause_type"] == SOCIAL_CLAUSE:
        warnings.append(
            Problem(
                base + "/tender",
                _(
                    "The data does not say the clause's required share or number: set it in the "
                    "portal to compute compliance."
                ),
            )
        )
    return result


def _place(
    release: dict[str, Any], tender: dict[str, Any], parties: dict[str, Any], buyer_id: str | None
) -> str | None:
    localities = [
        ((item.get("deliveryAddress") or {}).get("locality"))
        for item in tender.get("items") or []
        if isinstance(item, dict)
    ]
    if buyer_id and buyer_id in parties:
        localities.append((parties[buyer_id].get("address") or {}).get("locality"))
    for locality in localities:
        if locality:
            code = _resolve(str(locality))
            if code is not None:
                return code
    return None


def _resolve(locality: str) -> str | None:
    """ISTAT code of a locality, remembered for the request (packages repeat places)."""
    from flask import g

    cache = g.setdefault("ocds_localities", {})
    if locality not in cache:
        found = municipalities.resolve_municipality(locality)
        cache[locality] = found.istat_code if found is not None else None
    return cache[locality]


@dataclass
class Extracted:
    data: TenderData
    status: str
    buyer_name: str
    awards: list[dict[str, Any]]
    contracts: list[dict[str, Any]]
    parties: dict[str, dict[str, Any]]
    contract_period: tuple[date | None, date | None]


def _title(release: dict[str, Any], tender: dict[str, Any]) -> str:
    """The tender's title, or what else names the process (historic data often has only
    contracts or awards)."""
    for holder in (
        tender,
        *(c for c in release.get("contracts") or [] if isinstance(c, dict)),
        *(a for a in release.get("awards") or [] if isinstance(a, dict)),
    ):
        for key in ("title", "description"):
            text = " ".join(clean_text(holder.get(key)).split())
            if text:
                return text if len(text) <= 300 else text[:299] + "…"
    return clean_text(release.get("ocid"), 300)


def extract(release: dict[str, Any], base: str, warnings: list[Problem]) -> Extracted:
    """Ponte's columns from a compiled release; what does not fit is a warning (the
    release itself is kept whole)."""
    tender = release.get("tender") if isinstance(release.get("tender"), dict) else {}
    parties = {
        str(p.get("id")): p
        for p in release.get("parties") or []
        if isinstance(p, dict) and p.get("id") is not None
    }
    buyer = release.get("buyer") if isinstance(release.get("buyer"), dict) else {}
    buyer_id = str(buyer["id"]) if buyer.get("id") is not None else None
    buyer_name = clean_text(buyer.get("name")) or clean_text(
        (parties.get(buyer_id or "") or {}).get("name")
    )
    if not buyer_name:
        named = [p for p in parties.values() if "buyer" in (p.get("roles") or [])]
        buyer_name = clean_text(named[0].get("name")) if named else ""
        buyer_id = buyer_id or (str(named[0].get("id")) if named else None)
    value, currency = ocds_money(tender.get("value"), base + "/tender/value", warnings, warnings)
    if services.currency_error(currency):
        value, currency = None, "EUR"
    codes = _cpv_codes(tender, base, warnings, warnings) if tender else []
    period = tender.get("tenderPeriod") if isinstance(tender.get("tenderPeriod"), dict) else {}
    start = ocds_datetime(
        period.get("startDate"), base + "/tender/tenderPeriod/startDate", warnings
    )
    deadline = ocds_datetime(period.get("endDate"), base + "/tender/tenderPeriod/endDate", warnings)
    if start and deadline and deadline < start:
        start = None
    cperiod = tender.get("contractPeriod") if isinstance(tender.get("contractPeriod"), dict) else {}
    c_start = ocds_datetime(
        cperiod.get("startDate"), base + "/tender/contractPeriod/startDate", warnings
    )
    c_end = ocds_datetime(cperiod.get("endDate"), base + "/tender/contractPeriod/endDate", warnings)
    if c_start and c_end and c_end < c_start:
        c_start = c_end = None
    lots = []
    seen_lots: set[str] = set()
    for i, lot in enumerate(tender.get("lots") or []):
        if not isinstance(lot, dict) or not clean_text(lot.get("id")):
            continue
        lot_id = clean_text(lot.get("id"), 60)
        if lot_id in seen_lots:
            continue
        seen_lots.add(lot_id)
        lot_value, lot_currency = ocds_money(
            lot.get("value"), base + pointer("tender", "lots", i, "value"), warnings, warnings
        )
        lot_codes = [
            OCDS_TO_ANAC.get(str(c), str(c))
            for c in (lot.get("otherRequirements") or {}).get("reservedParticipation") or []
        ]
        lots.append(
            LotData(
                lot_id=lot_id,
                title=clean_text(lot.get("title"), 300),
                description=clean_text(lot.get("description")),
                value_amount=lot_value,
                value_currency=lot_currency,
                reserved_participation="res-ws"
                if "res-ws" in lot_codes
                else ("res-pub-ser" if "res-pub-ser" in lot_codes else "none"),
                reserved_execution=(lot.get("contractTerms") or {}).get("reservedExecution")
                is True,
            )
        )
    clause = _clause(tender, base, warnings)
    awards = [a for a in release.get("awards") or [] if isinstance(a, dict)]
    contracts = [c for c in release.get("contracts") or [] if isinstance(c, dict)]
    status = STATUS_FROM_OCDS.get(
        str(tender.get("status")),
        PUBLISHED
        if "tender" in (release.get("tag") or []) or tender.get("status") is None
        else DRAFT,
    )
    if status == PUBLISHED and (
        any(a.get("status") in (None, "active") and a.get("suppliers") for a in awards) or contracts
    ):
        status = AWARDED
    category = tender.get("mainProcurementCategory")
    data = TenderData(
        title=_title(release, tender) or "-",
        description=clean_text(tender.get("description")),
        main_category=category if category in ("goods", "services", "works") else "services",
        value_amount=value,
        value_currency=currency,
        comune_code=_place(release, tender, parties, buyer_id),
        tender_start=start,
        deadline=deadline,
        contract_start=c_start.date() if c_start else None,
        contract_end=c_end.date() if c_end else None,
        cpv_codes=codes,
        lots=lots,
        clause_type=clause["clause_type"],
        threshold=clause["threshold"],
        reserved_participation=clause["reserved_participation"],
        reserved_execution=clause["reserved_execution"],
        social_standards=clause["social_standards"],
        clause_measure=clause["clause_measure"],
        clause_target=clause["clause_target"],
        clause_base=clause["clause_base"],
        premium_measures=clause["premium_measures"],
        sustainability=clause["sustainability"],
    )
    _check(data, release, base, warnings)
    return Extracted(
        data,
        status,
        buyer_name,
        awards,
        contracts,
        parties,
        (c_start.date() if c_start else None, c_end.date() if c_end else None),
    )


FIELD_PATHS = {
    "title": "/tender/title",
    "value_amount": "/tender/value/amount",
    "value_currency": "/tender/value/currency",
    "deadline": "/tender/tenderPeriod/endDate",
    "contract_end": "/tender/contractPeriod/endDate",
    "cpv_codes": "/tender/items",
    "lots": "/tender/lots",
    "threshold": "/tender/socialClause/threshold",
    "clause_target": "/tender/socialClause/target",
    "clause_measure": "/tender/socialClause/measure",
    "clause_base": "/tender/socialClause/base",
    "premium_measures": "/tender/socialClause/premiumMeasures",
    "main_category": "/tender/mainProcurementCategory",
}


def _check(data: TenderData, release: dict[str, Any], base: str, warnings: list[Problem]) -> None:
    """Ponte's own rules, as warnings: the officer completes what the data leaves open."""
    explicit = isinstance((release.get("tender") or {}).get("socialClause"), dict)
    try:
        services.check_tender(data, unknown_cpv_ok=True)
    except TenderError as error:
        for name, message in error.fields.items():
            if name == "cpv_codes" and not data.cpv_codes:
                continue  # said once, above
            if not explicit and name in (
                "clause_measure",
                "clause_base",
                "clause_target",
                "premium_measures",
            ):
                continue
            warnings.append(Problem(base + FIELD_PATHS.get(name, "/tender"), message))
    if data.threshold is not None and not Decimal(0) <= data.threshold <= Decimal(100):
        data.threshold = None
    if data.clause_target is not None and data.clause_target < 0:
        data.clause_target = None
    data.premium_measures = [p for p in data.premium_measures if p in services.PREMIUM_CODES]
