"""Preparing one release or record before it is written: the upgrade from OCDS 1.0 to 1.1
(ocdskit), the check against the 1.1 schema with Ponte's extensions, the split of a record
into its releases, and the merge of an ocid's releases into its compiled release
(ocdsmerge, the standard's merge routine).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ocdsmerge
from flask_babel import gettext as _
from ocdskit.upgrade import upgrade_record_10_11, upgrade_release_10_11
from ocdskit.util import is_linked_release
from ocdsmerge.exceptions import OCDSMergeError

from brokerage.tenders.models import COMPILED, EMBEDDED, LINKED, TenderRelease
from brokerage.tenders.ocds.mapping import clean_text
from brokerage.tenders.ocds.reading import MAX_RELEASE_PROBLEMS, Unit
from brokerage.tenders.ocds.report import ImportReport
from brokerage.tenders.ocds.schema import pointer, release_schema, schema_problems

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
        ocid = clean_text(data.get("ocid"))
        if not ocid:
            report.warn(unit.path + "/ocid", _("A release without ocid cannot be imported."))
            return None
        release = (_release_id(data, ocid), clean_text(data.get("date")), EMBEDDED, data)
        return Prepared(ocid[:120], unit.path, [release], None, unit.extensions)
    report.records += 1
    if not isinstance(data, dict):
        report.warn(unit.path, _("A record is an object: ignored."))
        return None
    ocid = clean_text(data.get("ocid"))
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
                (str(release.get("url"))[:300], clean_text(release.get("date")), LINKED, release)
            )
            continue
        for problem in schema_problems(release, "release", path, MAX_RELEASE_PROBLEMS):
            report.warn(problem.path, problem.message)
        if clean_text(release.get("ocid")) not in ("", ocid):
            report.warn(path + "/ocid", _("The release's ocid differs from the record's: ignored."))
            continue
        releases.append(
            (_release_id(release, ocid), clean_text(release.get("date")), EMBEDDED, release)
        )
    compiled = data.get("compiledRelease")
    if isinstance(compiled, dict):
        path = unit.path + "/compiledRelease"
        for problem in schema_problems(compiled, "release", path, MAX_RELEASE_PROBLEMS):
            report.warn(problem.path, problem.message)
        if clean_text(compiled.get("ocid")) not in ("", ocid):
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
            (_release_id(compiled, ocid), clean_text(compiled.get("date")), COMPILED, compiled)
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
