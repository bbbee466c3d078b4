"""Reading OCDS data as a stream (``ijson``): release and record packages, lone releases
and records, JSON Lines or concatenated JSON, one release or record (``Unit``) at a time
so memory stays bounded; package-level schema warnings; the byte-order mark, the stream
position and where a malformed file goes wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson
from flask_babel import gettext as _

from brokerage.tenders.ocds.report import ImportReport
from brokerage.tenders.ocds.schema import ImportRejected, Problem, pointer, schema_problems

#: Deeper JSON is refused (nothing real nests so deep; hostile input does).
MAX_DEPTH = 64
#: Schema warnings kept per release.
MAX_RELEASE_PROBLEMS = 50
#: A file this small that fails to parse is parsed again to say where (line, column).
LOCATE_LIMIT = 20 * 1024 * 1024
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
            for prefix, event, value in ijson.parse(Unbom(raw), multiple_values=True):
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


def locate_malformed(raw: bytes) -> Problem:
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


class Unbom:
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


def stream_position(stream: IO[bytes]) -> int:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return 0
