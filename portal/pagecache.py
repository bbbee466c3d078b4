"""A response cache for anonymous readers, shared by every worker and node.

Public list, search and detail pages look the same to every anonymous visitor in a
language, so the first visitor's render is stored in the database (``page_cache``) and
served to the next ones. An entry is keyed by the URL and the language, and carries the
*data version* it was rendered at: the position of the search outbox, which every
committed change to a searchable record (a vacancy published or closed, a product sold
out, an organisation verified) advances in the same transaction. A lookup serves an
entry only if the version is still current, so a change is visible on the next request
on every node; ``PAGE_CACHE_SECONDS`` bounds what time alone changes (a vacancy whose
closing date passes at midnight).

Never served from the cache, never stored:
- requests of signed-in people (a user id or a remember-me cookie), and any request whose
  session holds more than the language and a CSRF token (a cart, flash messages);
- responses that render a CSRF token (a POST form: the token belongs to one session),
  change the session, set a cookie, or are not a 200 HTML page.

Every stored or served page carries an ``ETag`` and ``Last-Modified``; a browser's
``If-None-Match`` gets a 304 without a body. ``Cache-Control: no-cache`` makes browsers
revalidate each time (the page may change with the next commit) and ``Vary: Cookie``
keeps shared proxies from handing an anonymous page to a signed-in person.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, current_app, g, request, session
from flask_babel import get_locale
from sqlalchemy import LargeBinary, String, delete
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from portal import db
from portal.db import Base, utcnow
from portal.headers import csp_nonce
from portal.memo import current_version

logger = logging.getLogger(__name__)

#: Pages whose content comes from searchable records (their changes reach the outbox).
DEFAULT_ENDPOINTS = (
    "portal.home",
    "portal.directory",
    "portal.organisation_detail",
    "portal.search_page",
    "employers.vacancy_list",
    "employers.vacancy_detail",
    "ethical_products.catalogue",
    "ethical_products.product_detail",
    "ethical_products.producer_shop",
)
#: Stands for the response's CSP nonce in a stored body (portal.headers.csp_nonce).
NONCE_PLACEHOLDER = b"\x00ponte-csp-nonce\x00"
#: Session keys an anonymous page does not depend on.
NEUTRAL_SESSION_KEYS = frozenset({"lang", "lang_chosen", "csrf_token", "_permanent"})
MAX_BODY = 512 * 1024
#: One store in this many also deletes expired entries.
PRUNE_EVERY = 200


class PageCacheEntry(Base):
    __tablename__ = "page_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(40))
    etag: Mapped[str] = mapped_column(String(80))
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def _anonymous() -> bool:
    if request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        return False
    return set(session.keys()) <= NEUTRAL_SESSION_KEYS


def _key() -> str:
    path = request.full_path if request.query_string else request.path
    raw = f"{get_locale()}\0{request.host}\0{path}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _lookup() -> Response | None:
    g.pop("page_cache", None)
    g.pop("page_cache_hit", None)
    if not current_app.config.get("PAGE_CACHE", True):
        return None
    if request.method not in ("GET", "HEAD") or request.endpoint not in _endpoints():
        return None
    if not _anonymous():
        return None
    try:
        version = current_version()
        key = _key()
        entry = db.session.get(PageCacheEntry, key)
    except SQLAlchemyError as error:  # before ``flask db upgrade``: no table yet
        logger.warning("page cache: lookup skipped (%s)", type(error).__name__)
        db.session.rollback()
        return None
    g.page_cache = (key, version)
    if entry is None or entry.version != version:
        return None
    age = utcnow() - entry.created_at
    if age > timedelta(seconds=current_app.config.get("PAGE_CACHE_SECONDS", 60)):
        return None
    g.page_cache_hit = True
    body = entry.body.replace(NONCE_PLACEHOLDER, csp_nonce().encode())
    response = Response(body, 200, content_type=entry.content_type)
    response.headers["X-Page-Cache"] = "hit"
    _validators(response, entry.etag, entry.created_at)
    return response.make_conditional(request)


def _endpoints() -> frozenset[str]:
    return frozenset(current_app.config.get("PAGE_CACHE_ENDPOINTS", DEFAULT_ENDPOINTS))


def _validators(response: Response, etag: str, modified: datetime) -> None:
    response.set_etag(etag, weak=True)
    response.last_modified = modified
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")


def _storable(response: Response) -> bool:
    return (
        response.status_code == 200
        and response.mimetype == "text/html"
        and not response.direct_passthrough
        and "csrf_token" not in g  # the page renders a session's CSRF token
        and not session.modified  # flashes shown, a language chosen, a cart changed
        and _anonymous()
        and "Set-Cookie" not in response.headers
    )


def _store(response: Response) -> Response:
    state = g.pop("page_cache", None)
    if state is None or g.get("page_cache_hit") or not _storable(response):
        return response
    body = response.get_data()
    if len(body) > MAX_BODY:
        return response
    key, version = state
    # The Content-Security-Policy nonce belongs to one response: store a placeholder and
    # give every reader of the entry its own response's nonce.
    nonce = request.environ.get("ponte.csp_nonce")
    if nonce:
        body = body.replace(nonce.encode(), NONCE_PLACEHOLDER)
    etag = hashlib.blake2b(body, digest_size=16).hexdigest()
    now = utcnow()
    try:
        _upsert(key, version, etag, response.content_type or "text/html", body, now)
        if random.randrange(PRUNE_EVERY) == 0:
            ttl = timedelta(seconds=current_app.config.get("PAGE_CACHE_SECONDS", 60))
            db.session.execute(delete(PageCacheEntry).where(PageCacheEntry.created_at < now - ttl))
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        logger.warning("page cache: store skipped (%s)", type(error).__name__)
        return response
    response.headers["X-Page-Cache"] = "miss"
    _validators(response, etag, now)
    return response.make_conditional(request)


def _upsert(key: str, version: str, etag: str, content_type: str, body: bytes, now: Any) -> None:
    values = {
        "key": key,
        "version": version,
        "etag": etag,
        "content_type": content_type,
        "body": body,
        "created_at": now,
    }
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(PageCacheEntry).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["key"], set_={k: v for k, v in values.items() if k != "key"}
    )
    db.session.execute(statement)


def clear() -> int:
    """Delete every entry (command line, tests)."""
    result = db.session.execute(delete(PageCacheEntry))
    db.session.commit()
    return result.rowcount  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    # PAGE_CACHE=0 in the environment switches it off (the benchmark's uncached runs);
    # tests switch it on themselves.
    app.config.setdefault(
        "PAGE_CACHE", os.environ.get("PAGE_CACHE", "1") != "0" and not app.testing
    )
    app.config.setdefault("PAGE_CACHE_SECONDS", 60)
    app.before_request(_lookup)
    app.after_request(_store)
