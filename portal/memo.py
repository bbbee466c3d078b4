"""Values derived from the shared data, remembered by each process while the data holds.

A listing's total, a catalogue's facet counts or the home page's figures cost a scan of
thousands of rows, and they are the same for every reader until a searchable record
changes. :func:`remember` keeps such a value in this process's memory together with the
*data version* it was computed at, the position of the search outbox that every commit
touching a searchable record advances in the same transaction (see
:mod:`portal.pagecache`). A value is reused only while the version is still the current
one, so a change committed on any node is seen on the next request of every worker;
nothing another process needs lives only here: a cold process just computes again.

``MEMO_SECONDS`` (default: ``PAGE_CACHE_SECONDS``) bounds what time alone changes, and
keys should carry the day when the value depends on it (closing dates).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_app_context, has_request_context
from sqlalchemy import text

from portal import db
from portal.search import outbox

T = TypeVar("T")

#: The version looks at the newest outbox ids: on PostgreSQL a transaction holding a
#: lower id may commit after a higher one, which changes the count but not the maximum.
VERSION_WINDOW = 1000
#: Entries kept per process (least recently used go first).
MAX_ENTRIES = 4096

_lock = threading.Lock()


#: Plain SQL, the same on SQLite and PostgreSQL: it runs on every cached request, where
#: building and compiling the statement would cost five times the query.
_VERSION_SQL = text(
    "SELECT max(id), count(*) FROM search_outbox"
    " WHERE id > (SELECT coalesce(max(id), 0) FROM search_outbox) - :window"
).bindparams(window=VERSION_WINDOW)


def data_version() -> str:
    """The outbox position: changes with every commit that touched a searchable record."""
    top, recent = db.session.execute(_VERSION_SQL).one()
    return f"{top or 0}.{recent}"


def current_version() -> str:
    """The data version as this request first read it (one query a request).

    Read before the data it guards, so a remembered value is never older than its version.
    """
    if not has_request_context():
        return data_version()
    version = g.get("data_version")
    if version is None:
        version = g.data_version = data_version()
    return version


def _entries() -> OrderedDict[Hashable, tuple[str, float, Any]]:
    return current_app.extensions["ponte_memo"]


def remember(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or the value this process computed for ``key`` at the current data
    version less than ``MEMO_SECONDS`` ago."""
    if not has_app_context() or not current_app.config.get("MEMO", True):
        return compute()
    # A transaction that wrote searchable records sees a version nobody else sees yet,
    # and that a rollback would hand to the next writer's different data.
    if outbox.uncommitted(db.session()):
        return compute()
    version = current_version()
    now = time.monotonic()
    entries = _entries()
    with _lock:
        entry = entries.get(key)
        if entry is not None and entry[0] == version and now - entry[1] < _seconds():
            entries.move_to_end(key)
            return entry[2]
    value = compute()
    with _lock:
        entries[key] = (version, now, value)
        entries.move_to_end(key)
        while len(entries) > MAX_ENTRIES:
            entries.popitem(last=False)
    return value


def _seconds() -> float:
    config = current_app.config
    return config.get("MEMO_SECONDS", config.get("PAGE_CACHE_SECONDS", 60))


def clear() -> None:
    """Forget every remembered value (tests, a restore of the database)."""
    with _lock:
        _entries().clear()


def init_app(app: Flask) -> None:
    app.config.setdefault("MEMO", True)
    app.extensions["ponte_memo"] = OrderedDict()

    @app.teardown_request
    def _forget_version(_exc: BaseException | None) -> None:
        # The next request reads the version again (tests reuse one app context).
        g.pop("data_version", None)
