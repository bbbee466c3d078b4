"""OCDS 1.1 import and export of tenders.

Import: a release package or a record package (each record's compiledRelease), validated
against the official OCDS 1.1.5 schema shipped in ``schema/`` (see its README), patched with
the lots, otherRequirements, contractTerms and sustainability extensions and Ponte's
``socialClause``, then checked for what a schema cannot say. Every problem is reported with
its JSON-pointer path and the whole package is rejected: nothing is half-imported. A valid
package is written in one transaction; re-importing an ``ocid`` updates its tender.

Export: one tender as a release package, with the lots, otherRequirements, contractTerms
and sustainability extensions and Ponte's ``socialClause``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from jsonschema import Draft4Validator, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy import func, select

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
    Contract,
    Tender,
)
from brokerage.tenders.services import LotData, TenderData, TenderError
from portal import audit, db, municipalities
from portal.db import utcnow
from portal.models import PUBLIC_BODY, Organisation, User

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
SCHEMA_FILES = (
    "release-schema.json",
    "release-package-schema.json",
    "record-package-schema.json",
    "versioned-release-validation-schema.json",
)
#: JSON Merge Patches (RFC 7386) applied to the release schema, in this order: the official
#: extensions Ponte reads and writes, then Ponte's own ``socialClause``.
SCHEMA_PATCHES = (
    "lots",
    "otherRequirements",
    "contractTerms",
    "sustainability",
    "ponte-socialClause",
)
#: Extensions the export uses (OCDS extension registry).
EXTENSIONS = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/"
    "master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_otherRequirements_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_contractTerms_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_sustainability_extension/master/extension.json",
]
SOCIAL_GOAL = "social.disadvantagedEmploymentOpportunities"
MAX_PROBLEMS = 200
#: Deeper JSON is refused before anything walks it recursively.
MAX_DEPTH = 64
OCDS_TO_ANAC = {v: k for k, v in RESERVED_PARTICIPATION_OCDS.items()}

STATUS_FROM_OCDS = {
    "planning": DRAFT,
    "planned": DRAFT,
    "active": PUBLISHED,
    "complete": CLOSED,
    "cancelled": CANCELLED,
    "unsuccessful": CANCELLED,
    "withdrawn": CANCELLED,
}
STATUS_TO_OCDS = {
    DRAFT: "planned",
    PUBLISHED: "active",
    AWARDED: "complete",
    CLOSED: "complete",
    CANCELLED: "cancelled",
}


# --- Problems -----------------------------------------------------------------------------


@dataclass
class Problem:
    path: str  # JSON pointer ("" is the whole document)
    message: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class ImportRejected(Exception):
    """The package is not imported; ``problems`` says where and why."""

    def __init__(self, code: str, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path or '/'}: {p.message}" for p in problems[:5]))
        self.code = code
        self.problems = problems

    def fields(self) -> dict[str, str]:
        found: dict[str, list[str]] = defaultdict(list)
        for problem in self.problems:
            found[problem.path].append(problem.message)
        return {path: " ".join(messages) for path, messages in found.items()}


def pointer(*parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass
class ImportReport:
    created: list[Tender] = field(default_factory=list)
    updated: list[Tender] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    contracts: int = 0
    notified: int = 0


# --- Parsing and schema validation ----------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes | str) -> Any:
    """JSON with exact decimals (amounts never pass through a float)."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportRejected(
                "invalid_json", [Problem("", _("The file is not UTF-8 text."))]
            ) from None
    if not raw.strip():
        raise ImportRejected("invalid_json", [Problem("", _("The file is empty."))])
    try:
        document = json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise ImportRejected(
            "invalid_json",
            [
                Problem(
                    "",
                    _(
                        "Malformed JSON at line %(line)d, column %(column)d: %(message)s.",
                        line=error.lineno,
                        column=error.colno,
                        message=error.msg,
                    ),
                )
            ],
        ) from None
    except (ValueError, RecursionError) as error:
        raise ImportRejected(
            "invalid_json", [Problem("", _("Malformed JSON: %(message)s.", message=str(error)))]
        ) from None
    if _depth(document) > MAX_DEPTH:
        raise ImportRejected(
            "invalid_json",
            [Problem("", _("The JSON is nested more than %(n)d levels deep.", n=MAX_DEPTH))],
        )
    return document


def _depth(document: Any) -> int:
    """How deeply ``document`` nests (iteratively: no recursion on hostile input)."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, level)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, level + 1) for child in children)
    return deepest


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch, as OCDS applies extensions to its schema."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _canonical(value: Any) -> Any:
    """A hashable form of a JSON value with JSON Schema's equality: 1, 1.0 and
    Decimal("1.00") are equal (Python hashes equal numbers alike), true is not 1."""
    if isinstance(value, dict):
        return ("object", frozenset((k, _canonical(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    if isinstance(value, bool):
        return ("boolean", value)
    return ("value", value)


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Any:
    """``uniqueItems`` in linear time. jsonschema compares unsortable items (objects) pair
    by pair: 1,000 releases took 1.9 s, 4,000 took 26 s, and a 20 MB package would tie a
    worker up for minutes."""
    if not unique or not validator.is_type(instance, "array"):
        return
    if all(type(item) is str for item in instance) and len(set(instance)) == len(instance):
        return  # the common case (tags, roles, codes)
    seen: dict[Any, int] = {}
    for index, item in enumerate(instance):
        first = seen.setdefault(_canonical(item), index)
        if first != index:
            yield ValidationError(f"items {first} and {index} are the same")
            return


#: Draft 4 with a linear-time ``uniqueItems`` (same meaning).
OcdsValidator = validators.extend(Draft4Validator, {"uniqueItems": _unique_items})


def _load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validators() -> dict[str, Any]:
    """Draft 4 validators (as OCDS uses); every ``$ref`` resolves to a file shipped in
    ``schema/``, never to the network: the registry holds them under their ``id``s and has
    no retrieval function, so an unknown reference fails instead of being fetched."""
    schemas = {name: _load(name) for name in SCHEMA_FILES}
    release = schemas["release-schema.json"]
    for patch in SCHEMA_PATCHES:
        release = merge_patch(release, _load(f"extensions/{patch}.json"))
    schemas["release-schema.json"] = release
    # Every file says "$schema": draft-04, which would make jsonschema switch to its own
    # Draft4Validator at each $ref (losing the linear uniqueItems): Draft 4 is set here.
    schemas = {
        name: {k: v for k, v in schema.items() if k != "$schema"}
        for name, schema in schemas.items()
    }
    registry: Registry = Registry().with_resources(
        (schema["id"], Resource.from_contents(schema, default_specification=DRAFT4))
        for schema in schemas.values()
    )
    return {
        name.removesuffix("-schema.json"): OcdsValidator(schema, registry=registry)
        for name, schema in schemas.items()
    }


def schema(name: str = "release") -> dict[str, Any]:
    return _validators()[name].schema


def schema_problems(document: Any, kind: str) -> list[Problem]:
    """Every schema violation, each at the JSON pointer of the offending value."""
    problems = []
    for error in _validators()[kind].iter_errors(document):
        path = list(error.absolute_path)
        message = error.message
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [
                p for p in error.validator_value if p not in error.instance and repr(p) in message
            ]
            if missing:
                path.append(missing[0])
                message = _("This field is required.")
        else:
            # jsonschema's own wording (English, naming the keyword) after a translated lead.
            message = _("Not valid: %(detail)s.", detail=_short(error.message))
        problems.append(Problem(pointer(*path), message))
        if len(problems) >= MAX_PROBLEMS:
            break
    return sorted(problems, key=lambda p: p.path)


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."


# --- Releases: collecting and merging ---------------------------------------------------------


def _merge(target: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """OCDS merge rules, simplified: objects merge, arrays of objects with ids merge by id,
    anything else is replaced; null removes a field."""
    for key, value in source.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            previous = target.get(key)
            target[key] = _merge(dict(previous) if isinstance(previous, dict) else {}, value)
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) and "id" in v for v in value)
        ):
            merged = {
                str(v.get("id")): v
                for v in target.get(key) or []
                if isinstance(v, dict) and "id" in v
            }
            for item in value:
                merged[str(item["id"])] = _merge(dict(merged.get(str(item["id"]), {})), item)
            target[key] = list(merged.values())
        else:
            target[key] = value
    return target


@dataclass
class Compiled:
    ocid: str
    release: dict[str, Any]
    base: str  # JSON pointer of the (last) release it comes from
    #: The individual releases merged into it, with their JSON pointers.
    members: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def compile_releases(document: dict[str, Any]) -> tuple[str, list[Compiled], list[Problem]]:
    """The processes of a package, one compiled release each."""
    problems: list[Problem] = []
    if isinstance(document.get("releases"), list):
        groups: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for index, release in enumerate(document["releases"]):
            groups[str(release.get("ocid"))].append((index, release))
        compiled = []
        for ocid, members in groups.items():
            members.sort(key=lambda pair: str(pair[1].get("date") or ""))
            merged: dict[str, Any] = {}
            for _index, release in members:
                _merge(merged, _copy(release))
            merged["id"] = f"{ocid}-{merged.get('date', '')}"
            merged["tag"] = ["compiled"]
            compiled.append(
                Compiled(
                    ocid,
                    merged,
                    pointer("releases", members[-1][0]),
                    [(pointer("releases", i), r) for i, r in members],
                )
            )
        return "release_package", compiled, problems
    compiled = []
    for index, record in enumerate(document.get("records") or []):
        release = record.get("compiledRelease")
        if not isinstance(release, dict):
            problems.append(
                Problem(
                    pointer("records", index, "compiledRelease"),
                    _("Ponte imports records through their compiled release: add compiledRelease."),
                )
            )
            continue
        if release.get("ocid") != record.get("ocid"):
            problems.append(
                Problem(
                    pointer("records", index, "compiledRelease", "ocid"),
                    _("The compiled release's ocid differs from the record's."),
                )
            )
            continue
        compiled.append(
            Compiled(
                str(record["ocid"]), _copy(release), pointer("records", index, "compiledRelease")
            )
        )
    seen: set[str] = set()
    for item in compiled:
        if item.ocid in seen:
            problems.append(Problem(item.base + "/ocid", _("Two records have this ocid.")))
        seen.add(item.ocid)
    return "record_package", compiled, problems


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# --- From a compiled release to tender fields ------------------------------------------------


@dataclass
class Extracted:
    ocid: str
    base: str
    data: TenderData
    status: str
    buyer_name: str
    awards: list[dict[str, Any]]
    parties: dict[str, dict[str, Any]]
    contract_period: tuple[date | None, date | None]
    release: dict[str, Any]


def _text(value: Any, limit: int | None = None) -> str:
    text = "" if value is None else str(value).strip()
    return text[:limit] if limit else text


def _datetime(value: Any, path: str, problems: list[Problem]) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        problems.append(Problem(path, _("Not a date-time such as 2026-03-01T12:00:00Z.")))
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _money(
    value: Any, path: str, problems: list[Problem], warnings: list[Problem]
) -> tuple[Decimal | None, str]:
    """An OCDS Value: the amount (exact, in cents) and its currency."""
    if not isinstance(value, dict):
        return None, "EUR"
    amount, currency = value.get("amount"), value.get("currency")
    if amount is None:
        return None, str(currency or "EUR")
    number = Decimal(str(amount))
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
            scheme = _text(classification.get("scheme")).upper()
            if scheme != "CPV":
                if scheme not in ("CPVS", ""):
                    warnings.append(
                        Problem(
                            path + "/scheme",
                            _(
                                "Classification scheme %(scheme)s is not read: only CPV.",
                                scheme=scheme,
                            ),
                        )
                    )
                continue
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
        _text((h.get("contractTerms") or {}).get("socialStandards")) for h in holders
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


def extract(
    item: Compiled, problems: list[Problem], warnings: list[Problem], partial: bool = False
) -> Extracted:
    """Tender fields of a (compiled) release. ``partial``: one of several releases of a
    process, which may leave out what another release gives (title, items)."""
    release, base = item.release, item.base
    tender = release.get("tender")
    if not isinstance(tender, dict):
        if not partial:
            problems.append(
                Problem(
                    base + "/tender", _("A release without tender cannot be imported as a tender.")
                )
            )
        tender = {}
    title = _text(tender.get("title"), 300)
    if tender and not title and not partial:
        problems.append(Problem(base + "/tender/title", _("A tender needs a title.")))
    parties = {
        str(p.get("id")): p
        for p in release.get("parties") or []
        if isinstance(p, dict) and p.get("id") is not None
    }
    buyer = release.get("buyer") if isinstance(release.get("buyer"), dict) else {}
    buyer_id = str(buyer["id"]) if buyer.get("id") is not None else None
    buyer_name = _text(buyer.get("name")) or _text((parties.get(buyer_id or "") or {}).get("name"))
    if not buyer_name:
        named = [p for p in parties.values() if "buyer" in (p.get("roles") or [])]
        buyer_name = _text(named[0].get("name")) if named else ""
        buyer_id = buyer_id or (str(named[0].get("id")) if named else None)
    value, currency = _money(tender.get("value"), base + "/tender/value", problems, warnings)
    codes = _cpv_codes(tender, base, problems, warnings) if tender else []
    if (
        tender
        and not codes
        and not partial
        and not any(p.path.startswith(base + "/tender/items") for p in problems)
    ):
        problems.append(
            Problem(
                base + "/tender/items",
                _("No item has a CPV classification: Ponte matches suppliers by CPV."),
            )
        )
    period = tender.get("tenderPeriod") or {}
    start = _datetime(period.get("startDate"), base + "/tender/tenderPeriod/startDate", problems)
    deadline = _datetime(period.get("endDate"), base + "/tender/tenderPeriod/endDate", problems)
    contract_period = tender.get("contractPeriod") or {}
    c_start = _datetime(
        contract_period.get("startDate"), base + "/tender/contractPeriod/startDate", problems
    )
    c_end = _datetime(
        contract_period.get("endDate"), base + "/tender/contractPeriod/endDate", problems
    )
    lots = []
    for i, lot in enumerate(tender.get("lots") or []):
        lot_value, lot_currency = _money(
            lot.get("value"), base + pointer("tender", "lots", i, "value"), problems, warnings
        )
        lot_codes = [
            OCDS_TO_ANAC.get(str(c), str(c))
            for c in (lot.get("otherRequirements") or {}).get("reservedParticipation") or []
        ]
        lots.append(
            LotData(
                lot_id=_text(lot.get("id"), 60),
                title=_text(lot.get("title"), 300),
                description=_text(lot.get("description")),
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
    status = STATUS_FROM_OCDS.get(
        str(tender.get("status")),
        PUBLISHED
        if "tender" in (release.get("tag") or []) or tender.get("status") is None
        else DRAFT,
    )
    awards = [a for a in release.get("awards") or [] if isinstance(a, dict)]
    if status == PUBLISHED and any(
        a.get("status") in (None, "active") and a.get("suppliers") for a in awards
    ):
        status = AWARDED
    category = tender.get("mainProcurementCategory") or "services"
    data = TenderData(
        title=title or "-",
        description=_text(tender.get("description")),
        main_category=category,
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
    return Extracted(
        item.ocid,
        base,
        data,
        status,
        buyer_name,
        awards,
        parties,
        (c_start.date() if c_start else None, c_end.date() if c_end else None),
        release,
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


def _check(extracted: Extracted, problems: list[Problem]) -> None:
    data = extracted.data
    lenient = data.clause_type in (SOCIAL_CLAUSE, PREMIUM) and not isinstance(
        (extracted.release.get("tender") or {}).get("socialClause"), dict
    )
    try:
        services.check_tender(data, unknown_cpv_ok=True)
    except TenderError as error:
        for name, message in error.fields.items():
            if lenient and name in (
                "clause_measure",
                "clause_base",
                "clause_target",
                "premium_measures",
            ):
                continue
            problems.append(Problem(extracted.base + FIELD_PATHS.get(name, "/tender"), message))


# --- The import ------------------------------------------------------------------------------


def detect_kind(document: Any) -> str:
    if isinstance(document, dict) and "releases" in document:
        return "release-package"
    if isinstance(document, dict) and "records" in document:
        return "record-package"
    raise ImportRejected(
        "invalid_ocds",
        [
            Problem(
                "",
                _(
                    "Not an OCDS release package or record package: the document needs "
                    "a releases or a records array."
                ),
            )
        ],
    )


def validate(document: Any) -> tuple[list[Extracted], list[Problem]]:
    """Everything that can be checked without writing; raises ImportRejected."""
    kind = detect_kind(document)
    problems = schema_problems(document, kind)
    if problems:
        raise ImportRejected("invalid_ocds", problems)
    _kind, compiled, problems = compile_releases(document)
    warnings: list[Problem] = []
    extracted = []
    for item in compiled:
        if len(item.members) > 1:
            # Field problems and warnings point into the release that has the field.
            before = len(problems)
            for base, member in item.members:
                extract(Compiled(item.ocid, member, base), problems, warnings, partial=True)
            merged_problems: list[Problem] = []
            found = extract(item, merged_problems, [])
            if len(problems) == before:
                problems.extend(merged_problems)
        else:
            found = extract(item, problems, warnings)
        if not any(p.path.startswith(item.base) for p in problems):
            _check(found, problems)
        extracted.append(found)
    if problems:
        raise ImportRejected("invalid_ocds", problems)
    return extracted, warnings


def _ownership(
    extracted: list[Extracted], body: Organisation, problems: list[Problem]
) -> dict[str, Tender]:
    existing = {
        t.ocid: t
        for t in db.session.execute(
            select(Tender).where(Tender.ocid.in_([e.ocid for e in extracted]))
        ).scalars()
    }
    names = {e.buyer_name.lower() for e in extracted if e.buyer_name}
    bodies = {}
    if names:
        bodies = {
            o.name.lower(): o
            for o in db.session.execute(
                select(Organisation).where(
                    Organisation.kind == PUBLIC_BODY, func.lower(Organisation.name).in_(names)
                )
            ).scalars()
        }
    for item in extracted:
        tender = existing.get(item.ocid)
        if tender is not None and tender.buyer_org_id != body.id:
            problems.append(
                Problem(
                    item.base + "/ocid",
                    _(
                        "This process belongs to another body (%(body)s): only its officers can "
                        "update it.",
                        body=tender.buyer.name,
                    ),
                )
            )
        other = bodies.get(item.buyer_name.lower())
        if other is not None and other.id != body.id:
            problems.append(
                Problem(
                    item.base + "/buyer",
                    _(
                        "The buyer is %(body)s, another body of the portal: its officers import "
                        "its tenders.",
                        body=other.name,
                    ),
                )
            )
    return existing


def import_document(
    document: Any, body: Organisation, user: User | None, today: date
) -> ImportReport:
    """Validate, then write every process in one savepoint; the caller commits.

    Raises ImportRejected with every problem; then nothing has been written.
    """
    extracted, warnings = validate(document)
    problems: list[Problem] = []
    existing = _ownership(extracted, body, problems)
    if problems:
        raise ImportRejected("invalid_ocds", problems)
    report = ImportReport(warnings=warnings)
    newly_published: list[Tender] = []
    written: list[tuple[Tender, Extracted]] = []
    with db.session.begin_nested():
        with db.session.no_autoflush:  # one flush for the whole package
            for item in extracted:
                tender = existing.get(item.ocid)
                if tender is None:
                    tender = Tender(
                        ocid=item.ocid,
                        buyer=body,
                        status=DRAFT,
                        source="ocds",
                        created_by_id=user.id if user else None,
                    )
                    db.session.add(tender)
                    report.created.append(tender)
                else:
                    report.updated.append(tender)
                was_public = tender.status != DRAFT
                services._apply(tender, item.data)
                tender.buyer_name = item.buyer_name or body.name
                tender.source, tender.imported_at = "ocds", utcnow()
                tender.source_release = _jsonable(item.release)
                status = item.status
                if tender in existing.values() and tender.contracts and status == PUBLISHED:
                    status = AWARDED
                tender.status = status
                if status != DRAFT and tender.published_at is None:
                    tender.published_at = utcnow()
                if status == PUBLISHED and not was_public:
                    newly_published.append(tender)
                written.append((tender, item))
        db.session.flush()
        for tender, item in written:
            if item.awards:
                report.contracts += _awards(tender, item, body, user, report.warnings)
            audit.record("tender.import", tender, actor=user, ocid=item.ocid)
        db.session.flush()
        index = services.SupplierIndex(today) if len(newly_published) > 1 else None
        report.notified = services.notify_many(newly_published, today, index)
    for tender in report.created + report.updated:
        for warning in services.tender_warnings(tender):
            report.warnings.append(Problem(pointer("tender", tender.ocid), warning))
    return report


def import_bytes(
    raw: bytes | str, body: Organisation, user: User | None, today: date
) -> ImportReport:
    limit = current_app.config.get("TENDERS_MAX_IMPORT_BYTES", 20 * 1024 * 1024)
    if len(raw) > limit:
        raise ImportRejected(
            "too_large",
            [Problem("", _("The file is larger than %(mb)d MB.", mb=limit // (1024 * 1024)))],
        )
    return import_document(parse_json(raw), body, user, today)


def _awards(
    tender: Tender, item: Extracted, body: Organisation, user: User | None, warnings: list[Problem]
) -> int:
    """Contracts for awards whose supplier is a supplier of the portal."""
    made = 0
    for index, award in enumerate(item.awards):
        if award.get("status") not in (None, "active"):
            continue
        path = item.base + pointer("awards", index)
        for supplier_ref in award.get("suppliers") or []:
            party = item.parties.get(str(supplier_ref.get("id")), {})
            org = _supplier_org(supplier_ref, party)
            name = _text(supplier_ref.get("name") or party.get("name"))
            if org is None:
                warnings.append(
                    Problem(
                        path + "/suppliers",
                        _(
                            "%(name)s is not a verified supplier of the portal: its contract "
                            "is not followed here.",
                            name=name or "?",
                        ),
                    )
                )
                continue
            value, currency = _money(award.get("value"), path + "/value", [], warnings)
            if value is None:
                value, currency = tender.value_amount, tender.value_currency
            period = award.get("contractPeriod") or {}
            start = _datetime(period.get("startDate"), "", []) or (
                datetime.combine(item.contract_period[0], datetime.min.time())
                if item.contract_period[0]
                else None
            )
            end = _datetime(period.get("endDate"), "", []) or (
                datetime.combine(item.contract_period[1], datetime.min.time())
                if item.contract_period[1]
                else None
            )
            if value is None or start is None or end is None or end < start:
                warnings.append(
                    Problem(
                        path,
                        _(
                            "The award to %(name)s has no value or contract period: record it in "
                            "the portal.",
                            name=org.name,
                        ),
                    )
                )
                continue
            contract = next((c for c in tender.contracts if c.supplier_org_id == org.id), None)
            if contract is None:
                contract = Contract(
                    tender=tender, supplier=org, awarded_by_id=user.id if user else None
                )
                db.session.add(contract)
                made += 1
            contract.value_amount, contract.value_currency = value, currency
            contract.start_date, contract.end_date = start.date(), end.date()
            contract.ocds_award_id = _text(award.get("id"), 120)
            if tender.status == PUBLISHED:
                tender.status = AWARDED
    return made


def _supplier_org(ref: dict[str, Any], party: dict[str, Any]) -> Organisation | None:
    identifier = party.get("identifier") or {}
    fiscal = _text(identifier.get("id"))
    stmt = select(Organisation).where(
        Organisation.kind.in_(services.SUPPLIER_KINDS), Organisation.verified_at.is_not(None)
    )
    if fiscal:
        found = db.session.execute(stmt.where(Organisation.fiscal_code == fiscal)).scalars().first()
        if found is not None:
            return found
    name = _text(ref.get("name") or party.get("name"))
    if not name:
        return None
    return (
        db.session.execute(stmt.where(func.lower(Organisation.name) == name.lower()))
        .scalars()
        .first()
    )


def _jsonable(value: Any) -> Any:
    """For JSON columns: exact decimals as numbers (ints when whole)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# --- Export ------------------------------------------------------------------------------


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return (
        datetime(value.year, value.month, value.day, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    )


def _value(amount: Decimal | None, currency: str) -> dict[str, Any] | None:
    if amount is None:
        return None
    return {"amount": _jsonable(amount), "currency": currency}


def _org_party(org: Organisation, role: str, name: str | None = None) -> dict[str, Any]:
    party: dict[str, Any] = {"id": f"IT-PONTE-{org.id}", "name": name or org.name, "roles": [role]}
    if org.fiscal_code:
        party["identifier"] = {"scheme": "IT-CF", "id": org.fiscal_code, "legalName": org.name}
    place = org.municipality
    if place is not None:
        party["address"] = {
            "locality": place.label,
            "region": place.region,
            "countryName": "Italia",
        }
    return party


def release(tender: Tender, lang: str = "it") -> dict[str, Any]:
    """The tender as one OCDS 1.1 compiled release, with the extensions."""
    body = tender.buyer
    parties = [_org_party(body, "buyer", tender.buyer_name or body.name)]
    for contract in tender.contracts:
        parties.append(_org_party(contract.supplier, "supplier"))
    place = tender.municipality
    items = []
    for position, code in enumerate(tender.cpv_codes, start=1):
        entry: dict[str, Any] = {
            "id": str(position),
            "classification": {"scheme": "CPV", "id": code, "description": cpv.label(code, lang)},
        }
        if place is not None:
            entry["deliveryAddress"] = {
                "locality": place.label,
                "region": place.region,
                "countryName": "Italia",
            }
        items.append(entry)
    participation = RESERVED_PARTICIPATION_OCDS.get(tender.reserved_participation)
    clause: dict[str, Any] = {"type": tender.clause_type, "legalBasis": tender.legal_basis}
    if tender.threshold is not None:
        clause["threshold"] = _jsonable(tender.threshold)
    if tender.clause_type == SOCIAL_CLAUSE:
        clause.update(
            measure=tender.clause_measure,
            base=tender.clause_base,
            target=_jsonable(tender.clause_target) if tender.clause_target is not None else None,
        )
    if tender.premium_measures:
        clause["premiumMeasures"] = list(tender.premium_measures)
    data: dict[str, Any] = {
        "id": str(tender.id),
        "title": tender.title,
        "description": tender.description or None,
        "status": STATUS_TO_OCDS.get(tender.status, "active"),
        "mainProcurementCategory": tender.main_category,
        "value": _value(tender.value_amount, tender.value_currency),
        "items": items,
        "tenderPeriod": {
            k: v
            for k, v in (
                ("startDate", _iso(tender.tender_start)),
                ("endDate", _iso(tender.deadline)),
            )
            if v
        }
        or None,
        "contractPeriod": {
            k: v
            for k, v in (
                ("startDate", _iso(tender.contract_start)),
                ("endDate", _iso(tender.contract_end)),
            )
            if v
        }
        or None,
        "lots": [
            {
                k: v
                for k, v in {
                    "id": lot.lot_id,
                    "title": lot.title or None,
                    "description": lot.description or None,
                    "value": _value(lot.value_amount, lot.value_currency),
                    "otherRequirements": {
                        "reservedParticipation": [
                            RESERVED_PARTICIPATION_OCDS[lot.reserved_participation]
                        ]
                    }
                    if lot.reserved_participation in RESERVED_PARTICIPATION_OCDS
                    else None,
                    "contractTerms": {"reservedExecution": True}
                    if lot.reserved_execution
                    else None,
                }.items()
                if v is not None
            }
            for lot in tender.lots
        ]
        or None,
        "otherRequirements": {"reservedParticipation": [participation]} if participation else None,
        "contractTerms": {
            k: v
            for k, v in (
                ("reservedExecution", tender.reserved_execution or None),
                ("socialStandards", tender.social_standards or None),
            )
            if v
        }
        or None,
        "sustainability": tender.sustainability or None,
        "socialClause": clause,
    }
    awards = [
        {
            "id": contract.ocds_award_id or f"{tender.ocid}-award-{contract.id}",
            "status": "active",
            "date": _iso(contract.awarded_at),
            "value": _value(contract.value_amount, contract.value_currency),
            "suppliers": [
                {"id": f"IT-PONTE-{contract.supplier.id}", "name": contract.supplier.name}
            ],
            "contractPeriod": {
                "startDate": _iso(contract.start_date),
                "endDate": _iso(contract.end_date),
            },
        }
        for contract in tender.contracts
    ]
    updated = tender.updated_at or utcnow()
    result: dict[str, Any] = {
        "ocid": tender.ocid,
        "id": f"{tender.ocid}-{_iso(updated)}",
        "date": _iso(updated),
        "tag": ["compiled"],
        "initiationType": "tender",
        "language": lang,
        "parties": parties,
        "buyer": {"id": parties[0]["id"], "name": parties[0]["name"]},
        "tender": {k: v for k, v in data.items() if v is not None},
    }
    if awards:
        result["awards"] = awards
    return result


def release_package(tenders: list[Tender], uri: str, lang: str = "it") -> dict[str, Any]:
    return {
        "uri": uri,
        "version": "1.1",
        "extensions": EXTENSIONS,
        "publishedDate": _iso(utcnow()),
        "publisher": {"name": "Ponte"},
        "releases": [release(t, lang) for t in tenders],
    }


def dumps(document: Any) -> str:
    return json.dumps(_jsonable(document), ensure_ascii=False, indent=2)


_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def filename(tender: Tender) -> str:
    return _SAFE_FILENAME.sub("_", tender.ocid) + ".json"
