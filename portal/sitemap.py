"""Sitemaps (sitemaps.org protocol 0.9): ``/sitemap.xml`` is an index of one sitemap per kind
of public page (vacancies, products, producers, tenders, events, good practices), each split
into files of at most 50,000 addresses, every address with its ``lastmod``.

Domain packages register their kinds with ``register(app, name, query, url)``: ``query()``
is a SELECT of two columns, the id and the last change of every *public* record (the same
rule as their listings), ``url(id, extra)`` its page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from flask import Blueprint, Flask, abort, current_app, url_for
from sqlalchemy import Select, func, select

from portal import db
from portal.permissions import public

#: The protocol's limit of addresses per file.
PER_FILE = 50_000
NS = "http://www.sitemaps.org/schemas/sitemap/0.9"

bp = Blueprint("sitemap", __name__)


@dataclass(frozen=True)
class Kind:
    name: str
    query: Callable[[], Select[Any]]
    url: Callable[[Any], str]


def register(
    app: Flask, name: str, query: Callable[[], Select[Any]], url: Callable[[Any], str]
) -> None:
    """``query()`` selects ``(id, lastmod, ...)`` of the public records; ``url(row)`` gives a
    row's page (the row carries any extra column the URL needs, e.g. a slug)."""
    app.extensions.setdefault("ponte_sitemaps", {})[name] = Kind(name, query, url)


def kinds() -> dict[str, Kind]:
    return current_app.extensions.get("ponte_sitemaps", {})


def w3c(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml(body: str) -> Any:
    return current_app.response_class(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + body, mimetype="application/xml"
    )


@bp.route("/sitemap.xml")
@public
def index() -> Any:
    entries = []
    for kind in kinds().values():
        sub = kind.query().subquery()
        count, last = db.session.execute(select(func.count(), func.max(sub.c[1]))).one()
        for page in range(1, max(1, -(-count // PER_FILE)) + 1):
            loc = url_for("sitemap.part", name=kind.name, page=page, _external=True)
            lastmod = f"<lastmod>{w3c(last)}</lastmod>" if last else ""
            entries.append(f"<sitemap><loc>{escape(loc)}</loc>{lastmod}</sitemap>")
    return _xml(f'<sitemapindex xmlns="{NS}">' + "".join(entries) + "</sitemapindex>")


@bp.route("/sitemaps/<name>-<int:page>.xml")
@public
def part(name: str, page: int) -> Any:
    kind = kinds().get(name)
    if kind is None or page < 1:
        abort(404)
    stmt = kind.query()
    rows = db.session.execute(
        stmt.order_by(stmt.selected_columns[0]).offset((page - 1) * PER_FILE).limit(PER_FILE)
    ).all()
    if not rows and page > 1:
        abort(404)
    entries = [
        f"<url><loc>{escape(kind.url(row))}</loc>"
        + (f"<lastmod>{w3c(row[1])}</lastmod>" if row[1] else "")
        + "</url>"
        for row in rows
    ]
    return _xml(f'<urlset xmlns="{NS}">' + "".join(entries) + "</urlset>")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
