"""This node's index: its directory, its place in the outbox, drain and reindex.

Every application server keeps its own index and follows the shared outbox::

    <SEARCH_INDEX_DIR>/
        lock                 flock: one drain or reindex at a time on this node
        current -> builds/B  the live index; reindex swaps the symlink atomically
        builds/B/            Whoosh files and position.json, B's place in the outbox

The position lives next to the index it describes, so swapping ``current`` swaps both.
It is written only after the Whoosh commit: a crash in between re-applies some rows,
which is harmless because every row is applied as "index the object as it is now".

PostgreSQL hands out outbox ids when rows are inserted, not when they commit, so a
transaction holding id 41 may commit after 42 has been applied. Ids missing below the
highest id seen are kept as *gaps* for ``SEARCH_GAP_SECONDS`` and looked up again on
every drain; a gap that never fills belonged to a rolled-back transaction.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import shutil
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh.index import FileIndex

from portal import db
from portal.db import utcnow
from portal.search import outbox
from portal.search.codec import WritingCodec
from portal.search.models import SearchOutbox
from portal.search.schema import SCHEMA, SCHEMA_VERSION, to_fields, uid

logger = logging.getLogger(__name__)

LOCK_FILE = "lock"
CURRENT = "current"
BUILDS = "builds"
POSITION_FILE = "position.json"

#: How long a missing outbox id is waited for (config: SEARCH_GAP_SECONDS).
GAP_SECONDS = 600
#: At most this many gaps are remembered (the highest ids: in-flight rows are recent).
MAX_GAPS = 10_000
#: Outbox rows applied per Whoosh commit.
BATCH = 2_000
#: Rows loaded per SELECT … WHERE id IN (…).
CHUNK = 500
#: Memory of a rebuild's posting pool (config: SEARCH_REINDEX_LIMITMB). When the pool
#: fills, Whoosh spills sorted runs to disk and merges them in Python at commit: a
#: third slower. 1024 holds the 105,000 documents of the large demo (RSS ~0.8 GB).
REBUILD_LIMIT_MB = 1024
#: Large rebuilds analyse documents in this many processes (config: SEARCH_REINDEX_PROCS,
#: default: up to 2 of the machine's cores), each with its share of the memory above
#: and its own segment: 1.8x the documents/s of one process on an idle 2-core machine.
#: Small rebuilds (tests, small sites) stay in-process: forking costs more than it saves.
PARALLEL_REBUILD_MIN_ROWS = 20_000

_last_drain: dict[str, float] = {}


@dataclass
class Position:
    """How far this index has applied the outbox."""

    max_id: int = 0
    #: Missing ids below max_id → when they were first missed (epoch seconds).
    gaps: dict[int, float] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION

    @classmethod
    def load(cls, build: Path) -> Position:
        try:
            data = json.loads((build / POSITION_FILE).read_text())
        except FileNotFoundError:
            return cls()
        return cls(
            max_id=int(data["max_id"]),
            gaps={int(k): float(v) for k, v in data.get("gaps", {}).items()},
            schema=int(data.get("schema", 0)),
        )

    def save(self, build: Path) -> None:
        data = {"max_id": self.max_id, "gaps": self.gaps, "schema": self.schema}
        _write_atomically(build / POSITION_FILE, json.dumps(data, sort_keys=True))

    def without_expired(self, now: float, window: float) -> Position:
        gaps = {i: t for i, t in self.gaps.items() if now - t <= window}
        return Position(self.max_id, gaps, self.schema)

    def advanced(self, fresh: Sequence[int], filled: Iterable[int], now: float) -> Position:
        """After applying ``fresh`` (new ids, ascending) and ``filled`` (former gaps)."""
        gaps = dict(self.gaps)
        for i in filled:
            gaps.pop(i, None)
        max_id = self.max_id
        if fresh:
            for i in missing_ids(max_id, fresh[-1], set(fresh), MAX_GAPS):
                gaps.setdefault(i, now)
            max_id = fresh[-1]
        if len(gaps) > MAX_GAPS:
            gaps = dict(sorted(gaps.items())[-MAX_GAPS:])
        return Position(max_id, gaps, self.schema)


def missing_ids(low: int, high: int, present: set[int], limit: int) -> list[int]:
    """Ids in (low, high] not in ``present``, highest first, at most ``limit``."""
    missing: list[int] = []
    i = high
    while i > low and len(missing) < limit:
        if i not in present:
            missing.append(i)
        i -= 1
    return missing


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- Directory layout and locking -------------------------------------------------------


def index_dir() -> Path:
    """The index directory, read on every call (tests change it per test)."""
    return Path(current_app.config["SEARCH_INDEX_DIR"])


def gap_seconds() -> float:
    return float(current_app.config.get("SEARCH_GAP_SECONDS", GAP_SECONDS))


@contextmanager
def node_lock(directory: Path, *, timeout: float | None = None) -> Iterator[bool]:
    """Hold this node's lock; yields False if not acquired within ``timeout`` seconds.

    ``timeout=None`` waits as long as it takes (a reindex can take a minute).
    """
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        yield _acquire(fd, timeout)
    finally:
        os.close(fd)  # releases the lock


def _acquire(fd: int, timeout: float | None) -> bool:
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return True
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


def current_build(directory: Path) -> Path | None:
    try:
        target = os.readlink(directory / CURRENT)
    except (FileNotFoundError, OSError):
        return None
    return directory / target


def has_index(build: Path) -> bool:
    """Whether ``build`` holds a Whoosh index (without opening it, which unpickles)."""
    try:
        return any(n.startswith("_MAIN_") and n.endswith(".toc") for n in os.listdir(build))
    except OSError:
        return False


def open_build(build: Path) -> FileIndex:
    # Our schema, not the pickled copy: no unpickling cost, no stale analyzer classes.
    return whoosh_index.open_dir(str(build), schema=SCHEMA)


def _new_build_dir(directory: Path) -> Path:
    name = time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    build = directory / BUILDS / name
    build.mkdir(parents=True)
    return build


def _swap(directory: Path, build: Path) -> None:
    """Point ``current`` at ``build`` atomically and delete older builds."""
    previous = current_build(directory)
    tmp = directory / f".{CURRENT}.{os.getpid()}.{secrets.token_hex(4)}"
    os.symlink(os.path.relpath(build, directory), tmp)
    os.replace(tmp, directory / CURRENT)
    _fsync_dir(directory)
    # Keep the previous build: other processes may still be reading it right now.
    keep = {build.name} | ({previous.name} if previous else set())
    for old in (directory / BUILDS).iterdir():
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _ensure_index(directory: Path) -> Path:
    """The live build, creating an empty one if the node has none (lock held)."""
    build = current_build(directory)
    if build is not None and has_index(build):
        return build
    build = _new_build_dir(directory)
    whoosh_index.create_in(str(build), SCHEMA)
    Position().save(build)
    _swap(directory, build)
    logger.info("search: created an empty index in %s", build)
    return build


def ensure_index() -> Path:
    """The live build of this node, created empty if absent."""
    directory = index_dir()
    build = current_build(directory)
    if build is not None and has_index(build):
        return build
    with node_lock(directory):
        return _ensure_index(directory)


@contextmanager
def reader_session() -> Iterator[Session]:
    """A private session on the connection of ``db.session``.

    Same connection and transaction as the application's session (the test fixture's
    outer transaction included), but its own identity map: objects are loaded fresh
    from the database, and the caller's pending objects are neither seen nor flushed.
    """
    session = Session(bind=db.session.connection(), autoflush=False)
    try:
        yield session
    finally:
        session.close()


# --- Drain ------------------------------------------------------------------------------


def drain(*, timeout: float | None = None) -> int:
    """Apply committed outbox rows to this node's index; returns how many were applied.

    Does nothing while the application's session has outbox rows of its own that are
    not committed yet (they might still roll back), or when another process of this
    node keeps the lock longer than ``timeout`` seconds (None: wait).
    """
    if outbox.uncommitted(db.session()):
        return 0
    directory = index_dir()
    with node_lock(directory, timeout=timeout) as locked:
        if not locked:
            return 0
        build = _ensure_index(directory)
        with reader_session() as session:
            applied = _drain_build(session, build)
    mark_drained(directory)
    return applied


def mark_drained(directory: Path) -> None:
    _last_drain[str(directory)] = time.monotonic()


def seconds_since_drain(directory: Path) -> float:
    last = _last_drain.get(str(directory))
    return float("inf") if last is None else time.monotonic() - last


def _drain_build(session: Session, build: Path) -> int:
    now = time.time()
    start = Position.load(build)
    _warn_if_outdated(build, start)
    position = start.without_expired(now, gap_seconds())
    ix = open_build(build)
    applied = 0
    filled = _filled_gaps(session, sorted(position.gaps))
    while True:
        fresh = _rows(session, SearchOutbox.id > position.max_id, limit=BATCH)
        if not fresh and not filled:
            break
        _apply(session, ix, [*filled, *fresh])
        position = position.advanced([r[0] for r in fresh], [r[0] for r in filled], now)
        position.save(build)
        applied += len(fresh) + len(filled)
        filled = []
        if len(fresh) < BATCH:
            break
    if not applied and position.gaps != start.gaps:
        position.save(build)
    return applied


_warned: set[Path] = set()


def _warn_if_outdated(build: Path, position: Position) -> None:
    if position.schema != SCHEMA_VERSION and build not in _warned:
        _warned.add(build)
        logger.warning(
            "search: %s was built with schema %s, the code expects %s: run `flask search reindex`",
            build,
            position.schema,
            SCHEMA_VERSION,
        )


def _filled_gaps(session: Session, gaps: list[int]) -> list[Any]:
    """The outbox rows that have appeared since their ids were found missing."""
    found: list[Any] = []
    for start in range(0, len(gaps), CHUNK):
        found += _rows(session, SearchOutbox.id.in_(gaps[start : start + CHUNK]))
    return found


def _rows(session: Session, condition: Any, limit: int | None = None) -> list[Any]:
    stmt = (
        select(SearchOutbox.id, SearchOutbox.doc_type, SearchOutbox.doc_id)
        .where(condition)
        .order_by(SearchOutbox.id)
        .limit(limit)
    )
    return list(session.execute(stmt).all())


def _apply(session: Session, ix: FileIndex, rows: Iterable[Any]) -> None:
    """Index each row's object as it is now, or delete it from the index."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for _id, doc_type, doc_id in rows:
        wanted[doc_type].add(doc_id)
    documents: dict[str, dict[str, Any] | None] = {}
    for doc_type, ids in wanted.items():
        documents.update(_current_documents(session, doc_type, ids))
    if not documents:
        return
    writer = ix.writer(codec=WritingCodec())
    try:
        for key, fields in documents.items():
            if fields is None:
                writer.delete_by_term("uid", key)
            else:
                writer.update_document(**fields)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()


def _current_documents(
    session: Session, doc_type: str, ids: set[str]
) -> dict[str, dict[str, Any] | None]:
    """Index fields by uid; None means "not searchable (any more)"."""
    model = outbox.model_for(doc_type)
    if model is None:
        # A module that is not loaded in this process: leave its documents alone.
        logger.warning("search: skipped outbox rows of unregistered type %r", doc_type)
        return {}
    found: dict[str, dict[str, Any] | None] = {uid(doc_type, i): None for i in ids}
    keys = sorted(int(i) for i in ids if i.isdigit())
    for start in range(0, len(keys), CHUNK):
        stmt = select(model).where(model.id.in_(keys[start : start + CHUNK]))
        for obj in session.scalars(stmt):
            key = uid(doc_type, obj.id)
            try:
                doc = obj.search_document()
            except Exception:
                # Keep what the index has rather than block the outbox on one object.
                logger.exception("search: search_document() failed for %s", key)
                found.pop(key, None)
                continue
            found[key] = to_fields(doc_type, obj.id, doc) if doc is not None else None
    return found


# --- Reindex ----------------------------------------------------------------------------


def reindex() -> int:
    """Rebuild this node's index from the database; returns the number of documents.

    The new index is built beside the live one and swapped in atomically, so searches
    keep working meanwhile. Its position is the outbox as it was *before* the
    documents were read: whatever changes during the rebuild is applied again.
    """
    directory = index_dir()
    with node_lock(directory):
        with reader_session() as session:
            position = _position_before_rebuild(session)
            build = _new_build_dir(directory)
            try:
                count = _build(session, build)
                position.save(build)
            except BaseException:
                shutil.rmtree(build, ignore_errors=True)
                raise
        _swap(directory, build)
    return count


def _position_before_rebuild(session: Session) -> Position:
    """The outbox's highest id, with the recent ids below it that are not visible yet."""
    top = session.scalar(select(func.max(SearchOutbox.id))) or 0
    cutoff = utcnow() - timedelta(seconds=gap_seconds())
    settled = (
        session.scalar(select(func.max(SearchOutbox.id)).where(SearchOutbox.created_at < cutoff))
        or 0
    )
    present = set(
        session.scalars(
            select(SearchOutbox.id).where(SearchOutbox.id > settled, SearchOutbox.id <= top)
        )
    )
    now = time.time()
    return Position(top, {i: now for i in missing_ids(settled, top, present, MAX_GAPS)})


def _rebuild_procs(session: Session) -> int:
    configured = current_app.config.get("SEARCH_REINDEX_PROCS")
    if configured:
        return max(1, int(configured))
    rows = sum(
        session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in outbox.registered().values()
    )
    return min(2, os.cpu_count() or 1) if rows >= PARALLEL_REBUILD_MIN_ROWS else 1


def _build(session: Session, build: Path) -> int:
    ix = whoosh_index.create_in(str(build), SCHEMA)
    limitmb = int(current_app.config.get("SEARCH_REINDEX_LIMITMB", REBUILD_LIMIT_MB))
    procs = _rebuild_procs(session)
    if procs > 1:
        # One segment per process, not merged at commit (merging would undo the gain).
        writer = ix.writer(
            procs=procs, limitmb=max(64, limitmb // procs), multisegment=True, codec=WritingCodec()
        )
    else:
        writer = ix.writer(procs=1, limitmb=limitmb, codec=WritingCodec())
    count = 0
    try:
        for doc_type, model in outbox.registered().items():
            stmt = select(model).order_by(model.id).execution_options(yield_per=1000)
            for obj in session.scalars(stmt):
                doc = obj.search_document()
                if doc is not None:
                    writer.add_document(**to_fields(doc_type, obj.id, doc))
                    count += 1
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    return count


def healthy() -> bool:
    """Whether this node's index opens (an empty one is created if absent)."""
    try:
        open_build(ensure_index()).doc_count()
    except Exception:
        logger.exception("search: the index does not open")
        return False
    return True


def reset_process_state() -> None:
    _last_drain.clear()
