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
- responses that change the session (but for a new CSRF token), set a cookie, or are not
  a 200 HTML page.

A page with a form (a product's "add to cart") is stored with a placeholder for the CSRF
token, as for the CSP nonce, and each reader gets their own session's token in its place.
Each process keeps the bodies it served lately in memory; the version is still read from
the database on every request, so only the body's trip is saved.

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
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, current_app, g, request, session
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
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
    "tenders.tender_list",
)
#: Stands for the response's CSP nonce in a stored body (portal.headers.csp_nonce).
NONCE_PLACEHOLDER = b"\x00ponte-csp-nonce\x00"
#: Stands for the reader's own CSRF token in a stored body (a product's "add to cart").
CSRF_PLACEHOLDER = b"\x00ponte-csrf-token\x00"
#: Session keys an anonymous page does not depend on.
NEUTRAL_SESSION_KEYS = frozenset({"lang", "lang_chosen", "csrf_token", "_permanent"})
MAX_BODY = 512 * 1024
#: Bytes of bodies each process keeps in memory (checked against the version every time).
LOCAL_BYTES = 32 * 1024 * 1024
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


@dataclass(frozen=True)
class _Copy:
    """An entry as this process last read or wrote it."""

    version: str
    etag: str
    content_type: str
    body: bytes
    created_at: datetime


class _LocalCopies:
    """The entries this process served lately, so a hit costs the version query only:
    the version is still read from the database on every request, so a change committed
    on any node is seen at once; only the body's trip from the database is saved."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[str, _Copy] = OrderedDict()
        self.size = 0

    def get(self, key: str) -> _Copy | None:
        with self.lock:
            copy = self.entries.get(key)
            if copy is not None:
                self.entries.move_to_end(key)
            return copy

    def put(self, key: str, copy: _Copy) -> None:
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.size -= len(old.body)
            self.entries[key] = copy
            self.size += len(copy.body)
            while self.size > LOCAL_BYTES and len(self.entries) > 1:
                _key, dropped = self.entries.popitem(last=False)
                self.size -= len(dropped.body)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0


def _local() -> _LocalCopies:
    return current_app.extensions["ponte_page_cache"]


def _cacheable_request() -> bool:
    return request.method in ("GET", "HEAD") and request.endpoint in _endpoints()


def _lookup() -> Response | None:
    g.pop("page_cache", None)
    g.pop("page_cache_hit", None)
    if not _cacheable_request():
        return None
    # Public pages only read: on SQLite their transactions need not queue for the write
    # lock (portal.db.reads_only); storing an entry writes in a transaction of its own.
    db.reads_only()
    if not current_app.config.get("PAGE_CACHE", True) or not _anonymous():
        return None
    try:
        version = current_version()
        key = _key()
        copy = _local().get(key)
        if copy is None or copy.version != version:
            entry = db.session.get(PageCacheEntry, key)
            copy = None if entry is None else _copy_of(entry)
            if copy is not None and copy.version == version:
                _local().put(key, copy)
    except SQLAlchemyError as error:  # before ``flask db upgrade``: no table yet
        logger.warning("page cache: lookup skipped (%s)", type(error).__name__)
        db.session.rollback()
        return None
    g.page_cache = (key, version, _session_state())
    if copy is None or copy.version != version:
        return None
    age = utcnow() - copy.created_at
    if age > timedelta(seconds=current_app.config.get("PAGE_CACHE_SECONDS", 60)):
        return None
    g.page_cache_hit = True
    return _serve(copy)


def _copy_of(entry: PageCacheEntry) -> _Copy:
    return _Copy(entry.version, entry.etag, entry.content_type, entry.body, entry.created_at)


def _serve(copy: _Copy) -> Response:
    body = copy.body.replace(NONCE_PLACEHOLDER, csp_nonce().encode())
    etag = copy.etag
    if CSRF_PLACEHOLDER in body:
        # The reader's own token (a new session gets one, as on a rendered page); the
        # validator changes with it, so a browser never keeps a page with a stale token.
        token = generate_csrf()
        body = body.replace(CSRF_PLACEHOLDER, token.encode())
        etag = _with_token(etag, token)
    response = Response(body, 200, content_type=copy.content_type)
    response.headers["X-Page-Cache"] = "hit"
    _validators(response, etag, copy.created_at)
    return response.make_conditional(request)


def _session_state() -> list[tuple[str, str]]:
    """What of the session a page may change and still be stored: nothing but the CSRF
    token, which a stored body holds as a placeholder."""
    return sorted((k, repr(v)) for k, v in session.items() if k != "csrf_token")


def _endpoints() -> frozenset[str]:
    return frozenset(current_app.config.get("PAGE_CACHE_ENDPOINTS", DEFAULT_ENDPOINTS))


def _validators(response: Response, etag: str, modified: datetime) -> None:
    response.set_etag(etag, weak=True)
    response.last_modified = modified
    response.headers["Cache-Control"] = "no-cache"
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")


def _storable(response: Response, session_before: list[tuple[str, str]]) -> bool:
    return (
        response.status_code == 200
        and response.mimetype == "text/html"
        and not response.direct_passthrough
        # flashes shown, a language chosen, a cart changed: only a CSRF token may be new
        and _session_state() == session_before
        and _anonymous()
        and "Set-Cookie" not in response.headers
    )


def _store(response: Response) -> Response:
    state = g.pop("page_cache", None)
    if state is None or g.get("page_cache_hit"):
        return response
    key, version, session_before = state
    if not _storable(response, session_before):
        return response
    body = response.get_data()
    if len(body) > MAX_BODY:
        return response
    # The Content-Security-Policy nonce belongs to one response, a CSRF token to one
    # session: store placeholders, and give every reader their own.
    nonce = request.environ.get("ponte.csp_nonce")
    if nonce:
        body = body.replace(nonce.encode(), NONCE_PLACEHOLDER)
    token = g.get("csrf_token")
    if token:
        body = body.replace(token.encode(), CSRF_PLACEHOLDER)
    etag = hashlib.blake2b(body, digest_size=16).hexdigest()
    now = utcnow()
    content_type = response.content_type or "text/html"
    try:
        # The page's own transaction only read: end it, so the write below starts one of
        # its own (on SQLite, one that takes the write lock at its start).
        db.session.rollback()
        db.reads_only(False)
        _upsert(key, version, etag, content_type, body, now)
        if random.randrange(PRUNE_EVERY) == 0:
            ttl = timedelta(seconds=current_app.config.get("PAGE_CACHE_SECONDS", 60))
            db.session.execute(delete(PageCacheEntry).where(PageCacheEntry.created_at < now - ttl))
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        logger.warning("page cache: store skipped (%s)", type(error).__name__)
        return response
    _local().put(key, _Copy(version, etag, content_type, body, now))
    response.headers["X-Page-Cache"] = "miss"
    _validators(response, etag if not token else _with_token(etag, token), now)
    return response.make_conditional(request)


def _with_token(etag: str, token: str) -> str:
    return hashlib.blake2b(f"{etag}\0{token}".encode(), digest_size=16).hexdigest()


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
    _local().clear()
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
    app.extensions["ponte_page_cache"] = _LocalCopies()
    app.before_request(_lookup)
    app.after_request(_store)
