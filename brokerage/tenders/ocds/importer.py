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

The entry points live here; each step has its module: ``reading`` (the stream),
``preparing`` (upgrade, schema check, merge), ``mapping`` (compiled release to Ponte's
columns), ``writing`` (the ``Importer``: history, tenders, contracts) and ``report``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import IO, Any

import ijson
from flask import current_app
from flask_babel import gettext as _

from brokerage.tenders.ocds.reading import LOCATE_LIMIT, Unbom, locate_malformed
from brokerage.tenders.ocds.report import ImportReport
from brokerage.tenders.ocds.schema import ImportRejected, Problem
from brokerage.tenders.ocds.schema import jsonable as _jsonable
from brokerage.tenders.ocds.writing import Importer
from portal.models import Organisation, User

# --- Entry points -------------------------------------------------------------------------------


def import_steps(
    stream: IO[bytes], body: Organisation, user: User | None, today: date
) -> Iterator[int | ImportReport]:
    """The import as it goes: the stream position after each batch, then the report.

    Raises ImportRejected (malformed JSON, or no usable process); then nothing is written
    once the caller rolls back.
    """
    importer = Importer(body, user, today)
    try:
        yield from importer.steps(Unbom(stream))  # type: ignore[arg-type]
    except ijson.JSONError as error:
        located = None
        try:
            if stream.seekable() and stream.seek(0, 2) <= LOCATE_LIMIT:
                stream.seek(0)
                located = locate_malformed(stream.read())
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
