"""OCDS import: release packages, record packages, single releases and records, OCDS 1.0
or 1.1, one document or a stream of them (JSON Lines, concatenated JSON), of any size.

The file is read as a stream (``ijson``): one release or record at a time, never the whole
file, so memory stays bounded however large the file is. Each release is upgraded from
OCDS 1.0 to 1.1 with ocdskit's ``upgrade`` (the reference implementation of the standard's
upgrade rules), checked against the 1.1 schema with the extensions Ponte declares (every
problem is a **warning** with its JSON pointer, as the Data Review Tool reports them), and
kept verbatim in the release history (``TenderRelease``). The releases of one ``ocid`` are
merged into its compiled release with ocdsmerge (the standard's merge routine), unless a
record gives its own compiled release; the compiled release is stored verbatim on the
tender (``Tender.source_release``) and Ponte's columns are derived from it. Only a file
with no usable contracting process (no ``ocid``, nothing to import) is refused.

Re-importing the same releases changes nothing; newer releases of an ocid update its
compiled release. Awards to suppliers of the portal become contracts followed by the
social-clause compliance monitoring, as contracts awarded in Ponte are.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import IO, Any

import ijson
import ocdsmerge
from flask import current_app
from flask_babel import gettext as _
from ocdskit.upgrade import upgrade_record_10_11, upgrade_release_10_11
from ocdskit.util import is_linked_release
from ocdsmerge.exceptions import OCDSMergeError
from sqlalchemy import func, select

from brokerage.tenders import cpv, services
from brokerage.tenders.models import (
    AWARDED,
    CANCELLED,
    CLOSED,
    COMPILED,
    DRAFT,
    EMBEDDED,
    LINKED,
    NONE,
    PREMIUM,
    PUBLISHED,
    RESERVED,
    RESERVED_PARTICIPATION_OCDS,
    SOCIAL_CLAUSE,
    TENDER_STATUSES,
    Contract,
    Tender,
    TenderRelease,
)
from brokerage.tenders.ocds.schema import (
    ImportRejected,
    Problem,
    pointer,
    release_schema,
    schema_problems,
)
from brokerage.tenders.ocds.schema import (
    jsonable as _jsonable,
)
from brokerage.tenders.services import LotData, TenderData, TenderError
from portal import audit, db, municipalities
from portal.db import utcnow
from portal.models import PUBLIC_BODY, Organisation, User

#: Deeper JSON is refused (nothing real nests so deep; hostile input does).
MAX_DEPTH = 64
#: Releases written per flush: bounds memory and the size of each query.
BATCH = 200
#: Warnings kept in the report (the rest are counted).
MAX_WARNINGS = 1000
#: Schema warnings kept per release.
MAX_RELEASE_PROBLEMS = 50
#: A file this small that fails to parse is parsed again to say where (line, column).
LOCATE_LIMIT = 20 * 1024 * 1024
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


@dataclass
class TenderRef:
    """A tender the import wrote (the objects themselves leave the session as it goes)."""

    id: int
    ocid: str
    status: str
    title: str = ""
    missing_cpv: bool = False

    @classmethod
    def of(cls, tender: Tender) -> TenderRef:
        return cls(tender.id, tender.ocid, tender.status, tender.title, not tender.cpv_rows)

    @property
    def status_label(self) -> str:
        return str(TENDER_STATUSES.get(self.status, self.status))


@dataclass
class ImportReport:
    created: list[TenderRef] = field(default_factory=list)
    updated: list[TenderRef] = field(default_factory=list)
    #: Processes whose releases were all imported before: nothing changed.
    unchanged: list[TenderRef] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    warnings_total: int = 0
    releases: int = 0
    records: int = 0
    contracts: int = 0
    notified: int = 0
    upgraded: int = 0

    def warn(self, path: str, message: str) -> None:
        self.warnings_total += 1
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(Problem(path, message))


# --- Reading: a stream of JSON values, one release or record at a time ---------------------------


@dataclass
class Unit:
    """A release or a record, where it sits in the file and the package it came in."""

    kind: str  # "release" or "record"
    data: Any
    path: str
    package: dict[str, Any]

    @property
    def version(self) -> str:
        """OCDS says: a package without ``version`` is 1.0; ocdskit reads a lone release
        with ``parties`` as 1.1 (parties came with 1.1)."""
        if "version" in self.package:
            return str(self.package["version"])
        if self.package.get("_package"):
            self.package["_read_as_1_0"] = True
            return "1.0"
        return "1.1" if self._has_parties() else "1.0"

    def _has_parties(self) -> bool:
        if not isinstance(self.data, dict):
            return False
        if self.kind == "record":
            return any(
                isinstance(r, dict) and "parties" in r for r in self.data.get("releases") or []
            ) or "parties" in (self.data.get("compiledRelease") or {})
        return "parties" in self.data

    @property
    def extensions(self) -> list[str]:
        found = self.package.get("extensions")
        return [str(e) for e in found if isinstance(e, str)] if isinstance(found, list) else []


_STARTS = ("start_map", "start_array")
_ENDS = ("end_map", "end_array")


def _too_deep() -> ImportRejected:
    return ImportRejected(
        "invalid_json",
        [Problem("", _("The JSON is nested more than %(n)d levels deep.", n=MAX_DEPTH))],
    )


def _build(events: Iterator[tuple[str, Any]], event: str, value: Any, depth: int) -> Any:
    """The JSON value that starts with ``event``, built from the events that follow."""
    if event not in _STARTS:
        return value
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    level = 1
    for event, value in events:
        if event in _STARTS:
            level += 1
            if depth + level > MAX_DEPTH:
                raise _too_deep()
        elif event in _ENDS:
            level -= 1
        builder.event(event, value)
        if level == 0:
            return builder.value
    return builder.value


class Reader:
    """Yields the releases and records of a file, streaming the ``releases`` and
    ``records`` arrays of packages; reports package-level problems as warnings."""

    def __init__(self, stream: IO[bytes], report: ImportReport) -> None:
        self.stream = stream
        self.report = report
        self.values = 0

    def __iter__(self) -> Iterator[Unit]:
        events = ijson.basic_parse(self.stream, multiple_values=True, use_float=False)
        for event, value in events:
            self.values += 1
            base = "" if self.values == 1 else f"[{self.values}]"
            if event == "start_map":
                yield from self._map(events, base)
            elif event == "start_array":
                for index, item in enumerate(_build(events, event, value, 0)):
                    yield from self._document(item, base + pointer(index), {})
            else:
                self.report.warn(base, _("Not an OCDS release, record or package: ignored."))

    def _map(self, events: Iterator[tuple[str, Any]], base: str) -> Iterator[Unit]:
        meta: dict[str, Any] = {}
        streamed = None
        for event, key in events:
            if event == "end_map":
                break
            event, value = next(events)
            if (
                key in ("releases", "records")
                and event == "start_array"
                and "ocid" not in meta  # a record's releases are the record's
            ):
                streamed = key
                meta["_package"] = True
                if "version" not in meta:
                    found = self._version_ahead()
                    if found is not None:
                        meta["version"] = found
                kind = "release" if key == "releases" else "record"
                for index, (event, value) in enumerate(events):
                    if event == "end_array":
                        break
                    item = _build(events, event, value, 2)
                    yield Unit(kind, item, base + pointer(key, index), meta)
                meta[key] = []
            else:
                meta[key] = _build(events, event, value, 1)
        if streamed is None:
            yield from self._document(meta, base, {})
        else:
            self._check_package(meta, streamed, base)

    def _version_ahead(self) -> Any:
        """The package's ``version`` when it comes after its releases in the file (as some
        publishers write it): the file is read ahead once, then the reading goes on where
        it was. None: the package has no version (OCDS 1.0) or the stream cannot seek."""
        raw = getattr(self.stream, "stream", self.stream)
        try:
            if not raw.seekable():
                return None
            position = raw.tell()
        except (AttributeError, OSError, ValueError):
            return None
        try:
            raw.seek(0)
            values = 0
            for prefix, event, value in ijson.parse(_Unbom(raw), multiple_values=True):
                if prefix == "" and event in ("start_map", "start_array", "string", "number"):
                    values += 1
                elif values == self.values and prefix == "version" and event == "string":
                    return value
                elif values > self.values:
                    break
            return None
        except ijson.JSONError:
            return None  # the main reading says where
        finally:
            raw.seek(position)

    def _document(self, doc: Any, base: str, package: dict[str, Any]) -> Iterator[Unit]:
        """A value read whole: a package, a record or a release."""
        if not isinstance(doc, dict):
            self.report.warn(base, _("Not an OCDS release, record or package: ignored."))
            return
        for key, kind in (("releases", "release"), ("records", "record")):
            if isinstance(doc.get(key), list) and "ocid" not in doc:
                meta = {k: v for k, v in doc.items() if k != key}
                meta["_package"] = True
                for index, item in enumerate(doc[key]):
                    yield Unit(kind, item, base + pointer(key, index), meta)
                self._check_package({**meta, key: []}, key, base)
                return
        if "ocid" in doc and isinstance(doc.get("releases"), list):
            yield Unit("record", doc, base, package)
        elif any(k in doc for k in ("ocid", "tender", "tag", "date")):
            yield Unit("release", doc, base, package)
        else:
            self.report.warn(
                base,
                _(
                    "Not an OCDS release, record or package: a package needs a releases or "
                    "a records array."
                ),
            )

    def _check_package(self, meta: dict[str, Any], key: str, base: str) -> None:
        """The package's own fields (uri, publisher, publishedDate…), without its items."""
        package = {k: v for k, v in meta.items() if not k.startswith("_")}
        if meta.get("_read_as_1_0") and "version" in package:
            self.report.warn(
                base + "/version",
                _(
                    "The version comes after the releases: they were read as OCDS 1.0, as a "
                    "package without version is. Put version before the releases."
                ),
            )
        if "version" not in package:
            package["version"] = "1.1"  # 1.0 packages are upgraded: the rest is checked
        kind = "release-package" if key == "releases" else "record-package"
        items = base + pointer(key)
        for problem in schema_problems(package, kind, base, limit=MAX_RELEASE_PROBLEMS):
            if problem.path != items and not problem.path.startswith(items + "/"):
                self.report.warn(problem.path, problem.message)


# --- Preparing a unit: upgrade, check, split into releases ------------------------------------


class _Collect(logging.Handler):
    """ocdskit says what its upgrade could not do through its logger."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@dataclass
class Prepared:
    ocid: str
    path: str
    #: (release id, date, kind, data) in the order given.
    releases: list[tuple[str, str, str, dict[str, Any]]]
    #: A record's own compiled release (used when the record gives all the releases).
    compiled: dict[str, Any] | None
    extensions: list[str]


def upgrade(unit: Unit, report: ImportReport) -> None:
    """OCDS 1.0 to 1.1 in place, with ocdskit (what it logs becomes a warning)."""
    if unit.version != "1.0" or not isinstance(unit.data, dict):
        return
    handler = _Collect()
    logger = logging.getLogger("ocdskit")
    logger.addHandler(handler)
    try:
        if unit.kind == "record":
            upgrade_record_10_11(unit.data, reorder=False)
        else:
            upgrade_release_10_11(unit.data, reorder=False)
    finally:
        logger.removeHandler(handler)
    report.upgraded += 1
    for message in handler.messages:
        report.warn(
            unit.path,
            _("Upgrade from OCDS 1.0: %(message)s", message=" ".join(message.split())[:300]),
        )


def _release_id(release: dict[str, Any], ocid: str) -> str:
    found = release.get("id")
    if found not in (None, ""):
        return str(found)[:300]
    return f"{ocid}-{release.get('date', '')}"[:300]


def prepare(unit: Unit, report: ImportReport) -> Prepared | None:
    upgrade(unit, report)
    data = unit.data
    if unit.kind == "release":
        report.releases += 1
        for problem in schema_problems(data, "release", unit.path, MAX_RELEASE_PROBLEMS):
            report.warn(problem.path, problem.message)
        ocid = _text(data.get("ocid"))
        if not ocid:
            report.warn(unit.path + "/ocid", _("A release without ocid cannot be imported."))
            return None
        release = (_release_id(data, ocid), _text(data.get("date")), EMBEDDED, data)
        return Prepared(ocid[:120], unit.path, [release], None, unit.extensions)
    report.records += 1
    if not isinstance(data, dict):
        report.warn(unit.path, _("A record is an object: ignored."))
        return None
    ocid = _text(data.get("ocid"))
    if not ocid:
        report.warn(unit.path + "/ocid", _("A record without ocid cannot be imported."))
        return None
    releases = []
    for index, release in enumerate(data.get("releases") or []):
        path = unit.path + pointer("releases", index)
        if not isinstance(release, dict):
            report.warn(path, _("A release is an object: ignored."))
            continue
        if is_linked_release(release):
            # Ponte never fetches: the link is kept and exported again.
            releases.append(
                (str(release.get("url"))[:300], _text(release.get("date")), LINKED, release)
            )
            continue
        for problem in schema_problems(release, "release", path, MAX_RELEASE_PROBLEMS):
            report.warn(problem.path, problem.message)
        if _text(release.get("ocid")) not in ("", ocid):
            report.warn(path + "/ocid", _("The release's ocid differs from the record's: ignored."))
            continue
        releases.append((_release_id(release, ocid), _text(release.get("date")), EMBEDDED, release))
    compiled = data.get("compiledRelease")
    if isinstance(compiled, dict):
        path = unit.path + "/compiledRelease"
        for problem in schema_problems(compiled, "release", path, MAX_RELEASE_PROBLEMS):
            report.warn(problem.path, problem.message)
        if _text(compiled.get("ocid")) not in ("", ocid):
            report.warn(path + "/ocid", _("The compiled release's ocid differs from the record's."))
            compiled = None
    else:
        compiled = None
    if compiled is None and not any(kind == EMBEDDED for _i, _d, kind, _r in releases):
        report.warn(
            unit.path + "/compiledRelease",
            _(
                "The record has neither a compiled release nor embedded releases: nothing "
                "to import (Ponte does not fetch linked releases)."
            ),
        )
        return None
    if compiled is not None and not any(kind == EMBEDDED for _i, _d, kind, _r in releases):
        releases.append(
            (_release_id(compiled, ocid), _text(compiled.get("date")), COMPILED, compiled)
        )
    return Prepared(ocid[:120], unit.path, releases, compiled, unit.extensions)


# --- Merging ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def merger() -> ocdsmerge.Merger:
    """ocdsmerge with the merge rules of the schema Ponte declares (core and extensions)."""
    return ocdsmerge.Merger(schema=release_schema())


def compile_release(
    rows: list[TenderRelease], given: dict[str, Any] | None, path: str, report: ImportReport
) -> dict[str, Any] | None:
    if given is not None:
        return given  # the record's own compiled release, as its publisher compiled it
    embedded = [r.data for r in rows if r.kind == EMBEDDED]
    if not embedded:
        compiled = [r.data for r in rows if r.kind == COMPILED]
        return compiled[-1] if compiled else None
    dated = [r if isinstance(r.get("date"), str) else {**r, "date": ""} for r in embedded]
    try:
        return merger().create_compiled_release(dated)
    except (OCDSMergeError, TypeError, ValueError) as error:
        report.warn(path, _("The releases could not be merged: %(error)s.", error=str(error)))
        return dated[-1]


# --- From a compiled release to Ponte's columns -------------------------------------------------


def _text(value: Any, limit: int | None = None) -> str:
    text = "" if value is None else str(value).replace("\x00", "").strip()
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
            scheme = _text(classification.get("scheme")).upper()
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
            text = " ".join(_text(holder.get(key)).split())
            if text:
                return text if len(text) <= 300 else text[:299] + "…"
    return _text(release.get("ocid"), 300)


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
    buyer_name = _text(buyer.get("name")) or _text((parties.get(buyer_id or "") or {}).get("name"))
    if not buyer_name:
        named = [p for p in parties.values() if "buyer" in (p.get("roles") or [])]
        buyer_name = _text(named[0].get("name")) if named else ""
        buyer_id = buyer_id or (str(named[0].get("id")) if named else None)
    value, currency = _money(tender.get("value"), base + "/tender/value", warnings, warnings)
    if services._currency_error(currency):
        value, currency = None, "EUR"
    codes = _cpv_codes(tender, base, warnings, warnings) if tender else []
    period = tender.get("tenderPeriod") if isinstance(tender.get("tenderPeriod"), dict) else {}
    start = _datetime(period.get("startDate"), base + "/tender/tenderPeriod/startDate", warnings)
    deadline = _datetime(period.get("endDate"), base + "/tender/tenderPeriod/endDate", warnings)
    if start and deadline and deadline < start:
        start = None
    cperiod = tender.get("contractPeriod") if isinstance(tender.get("contractPeriod"), dict) else {}
    c_start = _datetime(
        cperiod.get("startDate"), base + "/tender/contractPeriod/startDate", warnings
    )
    c_end = _datetime(cperiod.get("endDate"), base + "/tender/contractPeriod/endDate", warnings)
    if c_start and c_end and c_end < c_start:
        c_start = c_end = None
    lots = []
    seen_lots: set[str] = set()
    for i, lot in enumerate(tender.get("lots") or []):
        if not isinstance(lot, dict) or not _text(lot.get("id")):
            continue
        lot_id = _text(lot.get("id"), 60)
        if lot_id in seen_lots:
            continue
        seen_lots.add(lot_id)
        lot_value, lot_currency = _money(
            lot.get("value"), base + pointer("tender", "lots", i, "value"), warnings, warnings
        )
        lot_codes = [
            OCDS_TO_ANAC.get(str(c), str(c))
            for c in (lot.get("otherRequirements") or {}).get("reservedParticipation") or []
        ]
        lots.append(
            LotData(
                lot_id=lot_id,
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
        description=_text(tender.get("description")),
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


# --- Writing ----------------------------------------------------------------------------------


class Importer:
    """Reads a stream and writes its processes, ``BATCH`` releases at a time, inside one
    savepoint (the caller commits; nothing is written when the import is refused)."""

    def __init__(
        self,
        body: Organisation,
        user: User | None,
        today: date,
    ) -> None:
        self.body, self.user, self.today = body, user, today
        self.report = ImportReport()
        self._bodies: dict[str, int] = {}
        #: Each process is reported once, however many batches its releases span.
        self._reported: set[str] = set()

    def steps(self, stream: IO[bytes]) -> Iterator[int]:
        """Imports, yielding how far into the stream it is after each batch written."""
        reader = Reader(stream, self.report)
        with db.session.begin_nested():
            batch: list[Prepared] = []
            size = 0
            for unit in reader:
                prepared = prepare(unit, self.report)
                if prepared is None:
                    continue
                batch.append(prepared)
                size += len(prepared.releases)
                if size >= BATCH:
                    self._write(batch)
                    batch, size = [], 0
                    yield _position(stream)
            if batch:
                self._write(batch)
            yield _position(stream)
        report = self.report
        if reader.values == 0:
            raise ImportRejected("invalid_json", [Problem("", _("The file is empty."))])
        if not (report.created or report.updated or report.unchanged):
            raise ImportRejected(
                "invalid_ocds",
                [
                    Problem(
                        "",
                        _(
                            "No contracting process to import: the file needs releases or "
                            "records with an ocid."
                        ),
                    ),
                    *report.warnings[:MAX_WARNINGS],
                ],
            )

    def _other_body(self, name: str) -> int | None:
        """The id of the portal's public body named ``name``, if it is not the importer's."""
        key = name.lower()
        if key not in self._bodies:
            found = db.session.execute(
                select(Organisation.id).where(
                    Organisation.kind == PUBLIC_BODY, func.lower(Organisation.name) == key
                )
            ).scalar()
            self._bodies[key] = found
        found = self._bodies[key]
        return found if found is not None and found != self.body.id else None

    def _write(self, batch: list[Prepared]) -> None:
        report = self.report
        groups: dict[str, list[Prepared]] = {}
        for prepared in batch:
            groups.setdefault(prepared.ocid, []).append(prepared)
        existing = {
            t.ocid: t
            for t in db.session.execute(select(Tender).where(Tender.ocid.in_(list(groups))))
            .unique()
            .scalars()
        }
        problems: list[Problem] = []
        for ocid, items in groups.items():
            tender = existing.get(ocid)
            if tender is not None and tender.buyer_org_id != self.body.id:
                problems.append(
                    Problem(
                        items[0].path + "/ocid",
                        _(
                            "This process belongs to another body (%(body)s): only its "
                            "officers can update it.",
                            body=tender.buyer.name,
                        ),
                    )
                )
        if problems:
            raise ImportRejected("invalid_ocds", problems)
        written: list[tuple[Tender, Extracted, str, bool]] = []
        newly_published: list[Tender] = []
        with db.session.no_autoflush:
            for ocid, items in groups.items():
                tender = existing.get(ocid)
                created = tender is None
                rows = [] if created else list(tender.releases)
                changed = self._history(tender, rows, items)
                path = items[-1].path
                if not created and not changed:
                    if tender.ocid not in self._reported:
                        self._reported.add(tender.ocid)
                        report.unchanged.append(TenderRef.of(tender))
                    continue
                given = next((p.compiled for p in reversed(items) if p.compiled), None)
                if given is not None and any(
                    r.kind == EMBEDDED and r.release_id not in _ids(items) for r in rows
                ):
                    given = None  # other releases came before: merge them all
                compiled = compile_release(rows, given, path, report)
                if compiled is None:
                    continue
                local: list[Problem] = []
                if given is not None:
                    extracted = extract(compiled, path + "/compiledRelease", local)
                    members: list[tuple[str, dict[str, Any]]] = []
                else:
                    extracted = extract(compiled, "", local)
                    members = [
                        (p.path, data)
                        for p in items
                        for _id, _when, kind, data in p.releases
                        if kind == EMBEDDED
                    ]
                for problem in local:
                    where = (
                        problem.path
                        if given is not None
                        else _where_in(problem.path, members, path)
                    )
                    report.warn(where, problem.message)
                other = extracted.buyer_name and self._other_body(extracted.buyer_name)
                if other:
                    raise ImportRejected(
                        "invalid_ocds",
                        [
                            Problem(
                                path + "/buyer",
                                _(
                                    "The buyer is %(body)s, another body of the portal: its "
                                    "officers import its tenders.",
                                    body=extracted.buyer_name,
                                ),
                            )
                        ],
                    )
                if created:
                    tender = Tender(
                        ocid=ocid,
                        buyer=self.body,
                        status=DRAFT,
                        source="ocds",
                        created_by_id=self.user.id if self.user else None,
                    )
                    db.session.add(tender)
                    rows_to_add = rows
                else:
                    rows_to_add = [r for r in rows if r.id is None]
                was_public = tender.status != DRAFT
                data = extracted.data
                if not data.cpv_codes and tender.cpv_rows:
                    data.cpv_codes = list(tender.cpv_codes)  # the officer's codes stay
                services._apply(tender, data)
                tender.buyer_name = (extracted.buyer_name or self.body.name)[:300]
                tender.source, tender.imported_at = "ocds", utcnow()
                tender.source_release = _jsonable(compiled)
                for row in rows_to_add:
                    if row not in tender.releases:
                        tender.releases.append(row)
                status = extracted.status
                if not created and tender.contracts and status == PUBLISHED:
                    status = AWARDED
                tender.status = status
                if status != DRAFT and tender.published_at is None:
                    tender.published_at = utcnow()
                if status == PUBLISHED and not was_public:
                    newly_published.append(tender)
                written.append((tender, extracted, path, created))
        db.session.flush()
        for tender, extracted, path, _created in written:
            if extracted.awards:
                report.contracts += self._awards(tender, extracted, path)
            audit.record("tender.import", tender, actor=self.user, ocid=tender.ocid)
            for warning in services.tender_warnings(tender):
                report.warn(path + "/tender", str(warning))
        db.session.flush()
        if newly_published:
            index = services.SupplierIndex(self.today) if len(newly_published) > 1 else None
            report.notified += services.notify_many(newly_published, self.today, index)
        for tender, _extracted, _path, created in written:
            ref = TenderRef.of(tender)
            if ref.ocid in self._reported:
                continue
            self._reported.add(ref.ocid)
            (report.created if created else report.updated).append(ref)
        # The batch leaves the session: memory stays bounded however long the file is.
        for tender in {t for t, *_rest in written} | set(existing.values()):
            for release in tender.__dict__.get("releases", []):
                if release in db.session:
                    db.session.expunge(release)
            if tender in db.session:
                db.session.expunge(tender)

    def _history(
        self, tender: Tender | None, rows: list[TenderRelease], items: list[Prepared]
    ) -> bool:
        """Adds the new releases to ``rows`` (a release id seen before is replaced when
        its content differs); whether anything changed."""
        by_id = {row.release_id: row for row in rows}
        changed = False
        for prepared in items:
            for release_id, when, kind, data in prepared.releases:
                stored = _jsonable(data)
                row = by_id.get(release_id)
                if row is not None:
                    if row.data == stored and row.kind == kind:
                        continue
                    row.data, row.kind, row.date = stored, kind, when[:40]
                    row.extensions = prepared.extensions
                    changed = True
                    continue
                row = TenderRelease(
                    release_id=release_id,
                    date=when[:40],
                    kind=kind,
                    data=stored,
                    extensions=prepared.extensions,
                    imported_at=utcnow(),
                )
                rows.append(row)
                by_id[release_id] = row
                changed = True
        rows.sort(key=lambda r: (r.date, r.release_id))
        return changed

    def _awards(self, tender: Tender, item: Extracted, path: str) -> int:
        """Contracts (followed by compliance monitoring) for awards to suppliers of the
        portal; value and period from the award's OCDS contract when it has them."""
        made = 0
        social = tender.clause_type != NONE
        by_award: dict[str, dict[str, Any]] = {}
        for contract in item.contracts:
            if contract.get("awardID") is not None:
                by_award.setdefault(str(contract["awardID"]), contract)
        for index, award in enumerate(item.awards):
            if award.get("status") not in (None, "active"):
                continue
            award_path = path + pointer("awards", index)
            ocds_contract = by_award.get(str(award.get("id")), {})
            for supplier_ref in award.get("suppliers") or []:
                if not isinstance(supplier_ref, dict):
                    continue
                party = item.parties.get(str(supplier_ref.get("id")), {})
                org = _supplier_org(supplier_ref, party)
                name = _text(supplier_ref.get("name") or party.get("name"))
                if org is None:
                    if social:
                        self.report.warn(
                            award_path + "/suppliers",
                            _(
                                "%(name)s is not a verified supplier of the portal: its "
                                "contract is not followed here.",
                                name=name or "?",
                            ),
                        )
                    continue
                local: list[Problem] = []
                value, currency = _money(ocds_contract.get("value"), "", local, local)
                if value is None:
                    value, currency = _money(award.get("value"), "", local, local)
                if value is None:
                    value, currency = tender.value_amount, tender.value_currency
                period = ocds_contract.get("period") or award.get("contractPeriod") or {}
                start = _datetime(period.get("startDate"), "", local) or (
                    datetime.combine(item.contract_period[0], datetime.min.time())
                    if item.contract_period[0]
                    else None
                )
                end = _datetime(period.get("endDate"), "", local) or (
                    datetime.combine(item.contract_period[1], datetime.min.time())
                    if item.contract_period[1]
                    else None
                )
                if value is None or start is None or end is None or end < start:
                    self.report.warn(
                        award_path,
                        _(
                            "The award to %(name)s has no value or contract period: record it "
                            "in the portal.",
                            name=org.name,
                        ),
                    )
                    continue
                contract = next((c for c in tender.contracts if c.supplier_org_id == org.id), None)
                if contract is None:
                    contract = Contract(
                        tender=tender,
                        supplier=org,
                        awarded_by_id=self.user.id if self.user else None,
                    )
                    db.session.add(contract)
                    made += 1
                contract.value_amount, contract.value_currency = value, currency
                contract.start_date, contract.end_date = start.date(), end.date()
                contract.ocds_award_id = _text(award.get("id"), 120)
                if tender.status == PUBLISHED:
                    tender.status = AWARDED
        return made


def _resolves(document: Any, path: str) -> bool:
    node = document
    for raw in path.split("/")[1:]:
        step = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return False
    return True


def _where_in(relative: str, members: list[tuple[str, dict[str, Any]]], fallback: str) -> str:
    """A problem found in a compiled release, pointed at the last release of the file that
    has the field (the compiled release is not in the file)."""
    for base, data in reversed(members):
        if relative and _resolves(data, relative):
            return base + relative
    return fallback + relative


def _ids(items: list[Prepared]) -> set[str]:
    return {release_id for p in items for release_id, *_rest in p.releases}


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


# --- Entry points -------------------------------------------------------------------------------


def _where(raw: bytes) -> Problem:
    """Where a file that ijson could not parse goes wrong, as json would say it."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Problem("", _("The file is not UTF-8 text."))
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    position = 0
    try:
        while True:
            while position < len(text) and text[position].isspace():
                position += 1
            if position >= len(text):
                break
            _value, position = decoder.raw_decode(text, position)
    except json.JSONDecodeError as error:
        return Problem(
            "",
            _(
                "Malformed JSON at line %(line)d, column %(column)d: %(message)s.",
                line=error.lineno,
                column=error.colno,
                message=error.msg,
            ),
        )
    except ValueError as error:
        return Problem("", _("Malformed JSON: %(message)s.", message=str(error)))
    return Problem("", _("Malformed JSON."))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class _Unbom:
    """The stream without a UTF-8 byte-order mark (Windows tools write one)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.first = True

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        if self.first:
            self.first = False
            if chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
        return chunk

    def tell(self) -> int:
        return self.stream.tell()

    def seekable(self) -> bool:
        return self.stream.seekable()


def import_steps(
    stream: IO[bytes], body: Organisation, user: User | None, today: date
) -> Iterator[int | ImportReport]:
    """The import as it goes: the stream position after each batch, then the report.

    Raises ImportRejected (malformed JSON, or no usable process); then nothing is written
    once the caller rolls back.
    """
    importer = Importer(body, user, today)
    try:
        yield from importer.steps(_Unbom(stream))  # type: ignore[arg-type]
    except ijson.JSONError as error:
        located = None
        try:
            if stream.seekable() and stream.seek(0, 2) <= LOCATE_LIMIT:
                stream.seek(0)
                located = _where(stream.read())
        except (OSError, ValueError):
            pass
        raise ImportRejected(
            "invalid_json",
            [located or Problem("", _("Malformed JSON: %(message)s.", message=str(error)[:200]))],
        ) from None
    except UnicodeDecodeError:
        raise ImportRejected(
            "invalid_json", [Problem("", _("The file is not UTF-8 text."))]
        ) from None
    yield importer.report


def import_stream(
    stream: IO[bytes],
    body: Organisation,
    user: User | None,
    today: date,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import every process of a binary stream; the caller commits. ``progress`` is told
    the stream position after each batch.

    Raises ImportRejected (malformed JSON, or no usable process); then nothing is written.
    """
    for step in import_steps(stream, body, user, today):
        if isinstance(step, ImportReport):
            return step
        if progress is not None:
            progress(step)
    raise AssertionError("the import ends with its report")


def _position(stream: IO[bytes]) -> int:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return 0


def import_bytes(
    raw: bytes | str, body: Organisation, user: User | None, today: date
) -> ImportReport:
    import io

    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    limit = current_app.config.get("TENDERS_MAX_IMPORT_BYTES", 20 * 1024 * 1024)
    if len(raw) > limit:
        raise ImportRejected(
            "too_large",
            [Problem("", _("The file is larger than %(mb)d MB.", mb=limit // (1024 * 1024)))],
        )
    return import_stream(io.BytesIO(raw), body, user, today)


def import_document(
    document: Any, body: Organisation, user: User | None, today: date
) -> ImportReport:
    """A document already parsed (tests, benchmarks)."""
    import io

    raw = json.dumps(_jsonable(document), ensure_ascii=False).encode("utf-8")
    return import_stream(io.BytesIO(raw), body, user, today)
