"""Searchable models and the transactional outbox that records their changes.

Every flush that adds, changes or deletes an instance of a registered model inserts one
``search_outbox`` row per affected document, on the flush's own connection, so the row
commits or rolls back together with the change. Index nodes apply the rows later
(:func:`portal.search.node.drain`); nothing is lost if a process dies after the commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import Session, SessionTransaction

from portal.search.models import SearchOutbox

#: session.info key: this transaction wrote outbox rows that are not committed yet.
DIRTY = "search_dirty"
#: session.info key: a commit of this session made outbox rows visible (drain after it).
COMMITTED = "search_committed"

_types: dict[str, type[Any]] = {}
_class_types: dict[type[Any], str | None] = {}
_listening = False


def register(model_cls: type[Any]) -> None:
    """Make ``model_cls`` searchable (idempotent).

    The class needs ``__search_type__``, an integer ``id`` and ``search_document()``;
    an optional ``search_related()`` names other objects whose documents change with it.
    """
    doc_type = model_cls.__search_type__
    if not isinstance(doc_type, str) or not doc_type or ":" in doc_type:
        raise ValueError(f"bad __search_type__ on {model_cls!r}: {doc_type!r}")
    _types[doc_type] = model_cls
    _class_types.clear()
    install_listeners()


def registered() -> dict[str, type[Any]]:
    """Searchable models by document type."""
    return dict(_types)


def model_for(doc_type: str) -> type[Any] | None:
    return _types.get(doc_type)


def doc_type_of(obj: object) -> str | None:
    """The document type of ``obj``, also for subclasses of a registered model."""
    cls = type(obj)
    try:
        return _class_types[cls]
    except KeyError:
        pass
    found = next((t for t, model in _types.items() if issubclass(cls, model)), None)
    _class_types[cls] = found
    return found


def install_listeners() -> None:
    """Listen on every SQLAlchemy session, once per process."""
    global _listening
    if _listening:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_rollback)
    _listening = True


def _after_flush(session: Session, flush_context: Any) -> None:
    if not _types:
        return
    changed: set[tuple[str, str]] = set()
    for obj in (*session.new, *session.deleted):
        _collect(obj, changed)
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            _collect(obj, changed)
    if changed:
        rows = [{"doc_type": t, "doc_id": i} for t, i in sorted(changed)]
        session.connection().execute(insert(SearchOutbox), rows)
        session.info[DIRTY] = True


def _collect(obj: object, changed: set[tuple[str, str]]) -> None:
    _add(obj, changed)
    related = getattr(obj, "search_related", None)
    if callable(related):
        for other in related() or ():
            _add(other, changed)


def _add(obj: object, changed: set[tuple[str, str]]) -> None:
    doc_type = doc_type_of(obj)
    doc_id = getattr(obj, "id", None) if doc_type else None
    if doc_type and doc_id is not None:
        changed.add((doc_type, str(doc_id)))


def _after_commit(session: Session) -> None:
    if session.info.pop(DIRTY, False):
        session.info[COMMITTED] = True


def _after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # A rolled-back savepoint may leave earlier outbox rows of the transaction in place.
    if previous_transaction.parent is None:
        session.info.pop(DIRTY, None)


def uncommitted(session: Session) -> bool:
    """Whether ``session``'s open transaction wrote outbox rows not committed yet."""
    return bool(session.info.get(DIRTY))


def take_committed(session: Session) -> bool:
    """Whether ``session`` committed outbox rows since the last call (and reset it)."""
    return bool(session.info.pop(COMMITTED, False))
