"""OCDS 1.1 export: releases, records, release and record packages, JSON Lines.

A process imported from another publisher is exported from what was imported: its
releases as published (after the 1.0 upgrade) and its compiled release, verbatim; Ponte
adds its own (the social clause, an officer's corrections, contracts awarded in Ponte) in
one more release of its own, ``ponte-…``, and in the compiled release. A process made in
Ponte is exported from its columns. Every field is covered by the core schema or a declared
extension: the official lots, otherRequirements, contractTerms, sustainability and location
extensions and Ponte's social-clause extension (``extension/``, served at a stable URL).

Values the schema rejects (a lower-case currency, an empty string for a number, a code
outside a closed codelist) were import warnings; the export repairs them the least way it
can (upper-cases a currency, leaves the invalid value out) so that what Ponte publishes is
valid; the stored copy keeps them as published.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app, url_for

from brokerage.tenders import cpv
from brokerage.tenders.models import (
    AWARDED,
    CANCELLED,
    CLOSED,
    COMPILED,
    DRAFT,
    EMBEDDED,
    LINKED,
    NONE,
    PUBLISHED,
    RESERVED_PARTICIPATION_OCDS,
    SOCIAL_CLAUSE,
    Tender,
)
from brokerage.tenders.ocds.mapping import extract
from brokerage.tenders.ocds.schema import EXTENSION_VERSION, OFFICIAL_EXTENSIONS, errors
from brokerage.tenders.ocds.schema import jsonable as _jsonable
from portal.db import utcnow
from portal.models import Organisation

STATUS_TO_OCDS = {
    DRAFT: "planned",
    PUBLISHED: "active",
    AWARDED: "complete",
    CLOSED: "complete",
    CANCELLED: "cancelled",
}
#: What Italian public bodies publish open data under by default (AgID guidelines).
DEFAULT_LICENSE = "https://creativecommons.org/licenses/by/4.0/"


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return (
        datetime(value.year, value.month, value.day, tzinfo=UTC).isoformat().replace("+00:00", "Z")
    )


def _value(amount: Decimal | None, currency: str) -> dict[str, Any] | None:
    if amount is None:
        return None
    return {"amount": _jsonable(amount), "currency": currency}


def _party_id(org: Organisation) -> str:
    return f"IT-PONTE-{org.id}"


def _org_party(org: Organisation, role: str, name: str | None = None) -> dict[str, Any]:
    party: dict[str, Any] = {"id": _party_id(org), "name": name or org.name, "roles": [role]}
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


# --- Extensions and package metadata ----------------------------------------------------------


def extension_url(name: str = "extension.json") -> str:
    return url_for(
        "tenders.ocds_extension_file", version=EXTENSION_VERSION, name=name, _external=True
    )


def extensions(tenders: Iterable[Tender] = ()) -> list[str]:
    """The official extensions, Ponte's, and those the imported packages declared."""
    found = [*OFFICIAL_EXTENSIONS.values(), extension_url()]
    for tender in tenders:
        if tender.source_release is None:
            continue
        for row in tender.releases:
            for url in row.extensions or []:
                if url not in found:
                    found.append(url)
    return found


def package_metadata(uri: str, tenders: Iterable[Tender] = ()) -> dict[str, Any]:
    config = current_app.config
    return {
        "uri": uri,
        "version": "1.1",
        "extensions": extensions(tenders),
        "publishedDate": _iso(utcnow()),
        "publisher": {
            "name": config.get("TENDERS_OCDS_PUBLISHER", "Ponte"),
            "uri": url_for("portal.home", _external=True),
        },
        "license": config.get("TENDERS_OCDS_LICENSE", DEFAULT_LICENSE),
        "publicationPolicy": config.get("TENDERS_OCDS_PUBLICATION_POLICY")
        or url_for("tenders.ocds_publication_policy", variant="md", _external=True),
    }


# --- Ponte's social clause ----------------------------------------------------------------------


def social_clause(tender: Tender) -> dict[str, Any]:
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
    return clause


# --- Repair: what Ponte publishes is valid ------------------------------------------------------


def repair(release: dict[str, Any]) -> dict[str, Any]:
    """``release`` made valid against the schema Ponte declares, changing as little as
    possible: a currency in lower case is upper-cased, an array item without its ``id``
    gets its position, any other invalid value is left out."""
    for _round in range(8):
        found = errors(release, "release")
        if not found:
            break
        # Deepest first, later items first: a removal never shifts a path still to handle.
        found.sort(key=lambda e: list(map(str, e.absolute_path)), reverse=True)
        found.sort(key=lambda e: len(e.absolute_path), reverse=True)
        done: set[tuple[Any, ...]] = set()
        for error in found:
            path = tuple(error.absolute_path)
            if any(path[: len(d)] == d for d in done):
                continue
            if _fix(release, error):
                done.add(path)
    return release


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    node = document
    for step in path[:-1]:
        node = node[step]
    return node


def _fix(release: dict[str, Any], error: Any) -> bool:
    path = tuple(error.absolute_path)
    instance = error.instance
    if error.validator == "enum" and isinstance(instance, str):
        allowed = error.validator_value or []
        if instance.upper() in allowed and path:
            _parent(release, path)[path[-1]] = instance.upper()
            return True
    if error.validator == "required" and isinstance(instance, dict):
        missing = [p for p in error.validator_value if p not in instance]
        if missing == ["id"] and path and isinstance(path[-1], int):
            instance["id"] = str(path[-1])
            return True
    if not path:
        return False
    parent = _parent(release, path)
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    elif isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
        del parent[path[-1]]
    return True


# --- Releases -----------------------------------------------------------------------------------


def _ponte_release(tender: Tender, lang: str) -> dict[str, Any]:
    """A process made in Ponte, from its columns."""
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
        if place is not None:  # Location extension
            entry["deliveryAddress"] = {
                "locality": place.label,
                "region": place.region,
                "countryName": "Italia",
            }
        items.append(entry)
    participation = RESERVED_PARTICIPATION_OCDS.get(tender.reserved_participation)
    data: dict[str, Any] = {
        "id": str(tender.id),
        "title": tender.title,
        "description": tender.description or None,
        "status": STATUS_TO_OCDS.get(tender.status, "active"),
        "mainProcurementCategory": tender.main_category,
        "value": _value(tender.value_amount, tender.value_currency),
        "items": items or None,
        "tenderPeriod": _period(tender.tender_start, tender.deadline),
        "contractPeriod": _period(tender.contract_start, tender.contract_end),
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
        "socialClause": social_clause(tender),
    }
    updated = tender.updated_at or utcnow()
    result: dict[str, Any] = {
        "ocid": tender.ocid,
        "id": f"{tender.ocid}-{_iso(updated)}",
        "date": _iso(updated),
        "tag": ["award"] if tender.contracts else ["tender"],
        "initiationType": "tender",
        "language": lang,
        "parties": parties,
        "buyer": {"id": parties[0]["id"], "name": parties[0]["name"]},
        "tender": {k: v for k, v in data.items() if v is not None},
    }
    awards, contracts = _ponte_contracts(tender, set())
    if awards:
        result["awards"], result["contracts"] = awards, contracts
    return result


def _period(start: datetime | date | None, end: datetime | date | None) -> dict | None:
    found = {k: v for k, v in (("startDate", _iso(start)), ("endDate", _iso(end))) if v}
    return found or None


def _ponte_contracts(
    tender: Tender, known_awards: set[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Awards and contracts made in Ponte that the published data does not have."""
    awards, contracts = [], []
    for contract in tender.contracts:
        award_id = contract.ocds_award_id or f"ponte-award-{contract.id}"
        if award_id in known_awards:
            continue
        supplier = {"id": _party_id(contract.supplier), "name": contract.supplier.name}
        value = _value(contract.value_amount, contract.value_currency)
        period = _period(contract.start_date, contract.end_date)
        award = {
            "id": award_id,
            "status": "active",
            "date": _iso(contract.awarded_at),
            "value": value,
            "suppliers": [supplier],
            "contractPeriod": period,
        }
        awards.append({k: v for k, v in award.items() if v is not None})
        entry = {
            "id": f"ponte-contract-{contract.id}",
            "awardID": award_id,
            "status": "active",
            "value": value,
            "period": period,
        }
        contracts.append({k: v for k, v in entry.items() if v is not None})
    return awards, contracts


def _additions(tender: Tender, compiled: dict[str, Any], lang: str) -> dict[str, Any]:
    """What Ponte adds to an imported process: the officer's corrections of modelled
    fields, contracts awarded in Ponte, the social clause. Empty: nothing to add."""
    baseline = extract(compiled, "", []).data
    tender_part: dict[str, Any] = {}
    if tender.title != baseline.title:
        tender_part["title"] = tender.title
    if (tender.description or "") != (baseline.description or ""):
        tender_part["description"] = tender.description
    if (tender.value_amount, tender.value_currency) != (
        baseline.value_amount,
        baseline.value_currency,
    ) and tender.value_amount is not None:
        tender_part["value"] = _value(tender.value_amount, tender.value_currency)
    if (tender.tender_start, tender.deadline) != (baseline.tender_start, baseline.deadline):
        period = _period(tender.tender_start, tender.deadline)
        if period:
            tender_part["tenderPeriod"] = period
    if (tender.contract_start, tender.contract_end) != (
        baseline.contract_start,
        baseline.contract_end,
    ):
        period = _period(tender.contract_start, tender.contract_end)
        if period:
            tender_part["contractPeriod"] = period
    added = [c for c in tender.cpv_codes if c not in baseline.cpv_codes]
    if added:
        items = list((compiled.get("tender") or {}).get("items") or [])
        for code in added:
            items.append(
                {
                    "id": f"ponte-cpv-{code}",
                    "classification": {
                        "scheme": "CPV",
                        "id": code,
                        "description": cpv.label(code, lang),
                    },
                }
            )
        tender_part["items"] = items
    explicit = isinstance((compiled.get("tender") or {}).get("socialClause"), dict)
    if tender.clause_type != NONE or explicit:
        tender_part["socialClause"] = social_clause(tender)
    known = {str(a.get("id")) for a in compiled.get("awards") or [] if isinstance(a, dict)}
    awards, contracts = _ponte_contracts(tender, known)
    result: dict[str, Any] = {}
    if tender_part:
        result["tender"] = tender_part
    if awards:
        result["awards"] = [*(compiled.get("awards") or []), *awards]
        result["contracts"] = [*(compiled.get("contracts") or []), *contracts]
        parties = list(compiled.get("parties") or [])
        ids = {str(p.get("id")) for p in parties if isinstance(p, dict)}
        for contract in tender.contracts:
            if _party_id(contract.supplier) not in ids:
                parties.append(_org_party(contract.supplier, "supplier"))
                ids.add(_party_id(contract.supplier))
        result["parties"] = parties
    return result


def _merge_in(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge_in(target[key], value)
        else:
            target[key] = value
    return target


def compiled_release(tender: Tender, lang: str = "it") -> dict[str, Any]:
    """The process as one compiled release."""
    if tender.source_release is None:
        result = _ponte_release(tender, lang)
        result["id"] = f"{tender.ocid}-compiled"
        result["tag"] = ["compiled"]
        return result
    compiled = copy.deepcopy(tender.source_release)
    additions = _additions(tender, compiled, lang)
    if additions:
        _merge_in(compiled, copy.deepcopy(additions))
        compiled["date"] = max(str(compiled.get("date") or ""), _iso(tender.updated_at) or "")
    return repair(compiled)


def releases(tender: Tender, lang: str = "it", linked: bool = False) -> list[dict[str, Any]]:
    """The releases of the process: as published, then Ponte's own when it adds something.
    ``linked``: keep the releases a record named only by URL (records do; release packages
    cannot hold them)."""
    if tender.source_release is None:
        return [_ponte_release(tender, lang)]
    found = [
        repair(copy.deepcopy(row.data))
        for row in tender.releases
        if row.kind in (EMBEDDED, COMPILED) or linked
    ]
    additions = _additions(tender, tender.source_release, lang)
    if additions:
        updated = _iso(tender.updated_at or utcnow())
        ponte = {
            "ocid": tender.ocid,
            "id": f"ponte-{updated}",
            "date": updated,
            "tag": ["tenderUpdate"],
            "initiationType": tender.source_release.get("initiationType", "tender"),
        }
        ponte.update(copy.deepcopy(additions))
        found.append(repair(ponte))
    return found


def release(tender: Tender, lang: str = "it") -> dict[str, Any]:
    """The process as one release (its compiled release)."""
    return compiled_release(tender, lang)


def record(tender: Tender, lang: str = "it") -> dict[str, Any]:
    """The releases and the compiled release. A record's releases are all linked or all
    embedded: a publisher that linked its releases keeps its links (Ponte's additions are
    in the compiled release)."""
    if tender.source_release is not None and any(r.kind == LINKED for r in tender.releases):
        found = [copy.deepcopy(r.data) for r in tender.releases if r.kind == LINKED]
    else:
        found = releases(tender, lang)
    return {
        "ocid": tender.ocid,
        "releases": found,
        "compiledRelease": compiled_release(tender, lang),
    }


def release_package(tenders: list[Tender], uri: str, lang: str = "it") -> dict[str, Any]:
    package = package_metadata(uri, tenders)
    package["releases"] = [r for t in tenders for r in releases(t, lang)]
    return package


def record_package(tenders: list[Tender], uri: str, lang: str = "it") -> dict[str, Any]:
    package = package_metadata(uri, tenders)
    package["records"] = [record(t, lang) for t in tenders]
    return package


def dumps(document: Any, indent: int | None = 2) -> str:
    return json.dumps(_jsonable(document), ensure_ascii=False, indent=indent)


def json_lines(
    tenders: Iterable[Tender], kind: str = "releases", lang: str = "it"
) -> Iterator[str]:
    """One release (or record) per line, the common OCDS bulk form."""
    for tender in tenders:
        if kind == "records":
            yield dumps(record(tender, lang), indent=None) + "\n"
        else:
            for found in releases(tender, lang):
                yield dumps(found, indent=None) + "\n"


_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def filename(tender: Tender) -> str:
    return _SAFE_FILENAME.sub("_", tender.ocid) + ".json"
