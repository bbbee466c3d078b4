"""The Whoosh schema and how a model's search document becomes index fields."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from portal.search.analysis import EnglishAnalyzer, ItalianAnalyzer

#: Bump when the schema or the analyzers change: older indexes need ``flask search reindex``.
#: 2: ``expires`` (documents past that date are left out of every query).
#: 3: bodies and snippets keep their parts apart (``SEPARATOR``); Italian bodies hold no
#:    English skill labels.
#: 4: ``doc_id`` is a column too: listings read the ids of a thousand matches without
#:    loading each one's stored fields.
SCHEMA_VERSION = 4

#: Stored facet fields, in the order the search page shows them.
FACETS = ("doc_type", "kind", "region", "province")

#: Keys of ``filters`` that query() accepts, each an exact-match field.
FILTER_FIELDS = ("kind", "region", "province", "comune", "tags")

#: Full-text fields searched by query(), with their boosts.
TEXT_FIELDS = {"title": 3.0, "body": 1.0, "title_en": 3.0, "body_en": 1.0}

SNIPPET_LENGTH = 240


def build_schema() -> Schema:
    italian = ItalianAnalyzer()
    english = EnglishAnalyzer()

    def facet() -> ID:
        return ID(stored=True, sortable=True)

    return Schema(
        uid=ID(unique=True, stored=True),
        doc_type=facet(),
        # uid is the indexed key; the column serves listings that need only the ids.
        doc_id=ID(stored=True, sortable=True),
        kind=facet(),
        comune=facet(),
        province=facet(),
        region=facet(),
        tags=KEYWORD(commas=True, lowercase=True, stored=True, scorable=False),
        title=TEXT(analyzer=italian, stored=True),
        body=TEXT(analyzer=italian),
        title_en=TEXT(analyzer=english, stored=True),
        body_en=TEXT(analyzer=english),
        snippet=STORED(),
        snippet_en=STORED(),
        url_endpoint=STORED(),
        published=DATETIME(stored=True, sortable=True),
        # Last day the document is valid, ISO "YYYY-MM-DD" (absent: no expiry). Queries
        # leave out documents past it, so nothing waits for a job to remove them.
        expires=ID(stored=True, sortable=True),
    )


SCHEMA = build_schema()


def uid(doc_type: str, doc_id: object) -> str:
    return f"{doc_type}:{doc_id}"


def snippet(text: str, length: int = SNIPPET_LENGTH) -> str:
    """The first ``length`` characters of ``text``, cut at a word, whitespace collapsed."""
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.-–") + "…"


#: Between the parts of a document's body (description, category, organisation, place…), so a
#: snippet never runs two fields together ("Magazziniere · Torino", not "MagazziniereTorino").
SEPARATOR = " · "


def body_text(value: Any) -> str:
    """A body given as its parts (a list: empty parts dropped) or as one text."""
    if isinstance(value, list | tuple):
        return SEPARATOR.join(" ".join(str(p).split()) for p in value if p and str(p).strip())
    return str(value or "")


def to_fields(doc_type: str, doc_id: object, doc: Mapping[str, Any]) -> dict[str, Any]:
    """Index fields for one ``search_document()`` dict; unknown keys are ignored."""
    body = body_text(doc.get("body"))
    fields: dict[str, Any] = {
        "uid": uid(doc_type, doc_id),
        "doc_type": doc_type,
        "doc_id": str(doc_id),
        "title": str(doc.get("title") or ""),
        "body": body,
        "snippet": snippet(body),
        "url_endpoint": _endpoint_json(doc.get("url_endpoint")),
    }
    for key in ("kind", "comune", "province", "region"):
        fields[key] = str(doc.get(key) or "")
    if doc.get("title_en"):
        fields["title_en"] = str(doc["title_en"])
    if doc.get("body_en"):
        fields["body_en"] = body_text(doc["body_en"])
        fields["snippet_en"] = snippet(fields["body_en"])
    tags = [str(t).replace(",", " ").strip() for t in doc.get("tags") or ()]
    if any(tags):
        fields["tags"] = ",".join(t for t in tags if t)
    expires = doc.get("expires")
    if isinstance(expires, date):
        fields["expires"] = expires.isoformat()[:10]
    published = doc.get("published")
    if isinstance(published, datetime):
        # Whoosh stores naive datetimes: keep them in UTC.
        if published.tzinfo is not None:
            published = published.astimezone(UTC).replace(tzinfo=None)
        fields["published"] = published
    return fields


def _endpoint_json(value: Any) -> str:
    """``(endpoint, args)`` as JSON, so the URL is built when the hit is shown."""
    if not value:
        return ""
    endpoint, args = (value, {}) if isinstance(value, str) else value
    return json.dumps([endpoint, dict(args or {})], default=str)


def endpoint_from_json(value: str) -> tuple[str, dict[str, Any]] | None:
    if not value:
        return None
    endpoint, args = json.loads(value)
    return str(endpoint), dict(args)
