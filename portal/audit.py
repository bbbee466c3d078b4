"""The audit log: who read or changed what, when and why (GDPR art. 5(2), art. 30)."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from portal import db
from portal.models import AuditLog, User


def record(
    action: str,
    obj: Any = None,
    *,
    actor: User | None = None,
    reason: str = "",
    subject: Any = None,
    **details: Any,
) -> AuditLog:
    """Append an entry in the current transaction.

    ``obj`` is what was read or changed, ``subject`` the person it is about
    (so the log can be shown to them). The entry commits with the change it
    describes, so a rolled-back change leaves no false trail.
    """
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    entry = AuditLog(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=_type_name(obj),
        object_id=_id_of(obj),
        subject_type=_type_name(subject),
        subject_id=_id_of(subject),
        reason=reason,
        ip=(request.remote_addr or "") if has_request_context() else "",
        details=details,
    )
    db.session.add(entry)
    return entry


def _type_name(obj: Any) -> str:
    if obj is None:
        return ""
    if isinstance(obj, tuple):
        return str(obj[0])
    return type(obj).__tablename__ if hasattr(type(obj), "__tablename__") else type(obj).__name__


def _id_of(obj: Any) -> str:
    if obj is None:
        return ""
    if isinstance(obj, tuple):
        return str(obj[1])
    return str(getattr(obj, "id", "") or "")
