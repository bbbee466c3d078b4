"""The brokerage blueprint (one for the package: every brokerage views module registers its
pages on ``bp``) and what those pages share: today's date, the acting user, the
``no-store`` header of pages with personal data, reaching a held candidate, what a page
says of a missing consent, and a change of the caseload in its own transaction with its
errors shown next to the fields.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, make_response
from flask_login import current_user

from brokerage import access, consents
from brokerage.errors import CaseloadError
from brokerage.models import Candidate
from portal import db
from portal.db import utcnow

bp = Blueprint("brokerage", __name__, template_folder="templates")


def today() -> date:
    return utcnow().date()


def no_store(view: Callable[..., Any]) -> Callable[..., Any]:
    """Personal data must not stay in shared caches or the browser's history cache."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store, private"
        response.headers["Pragma"] = "no-cache"
        return response

    return wrapper


def held(candidate_id: int, purpose: str = "view") -> Candidate:
    return access.candidate_for(current_user, candidate_id, purpose)


def held_row(model: Any, row_id: int, purpose: str) -> tuple[Any, Candidate]:
    """A row of a candidate's file (a consent, a pathway stage) and its candidate, when the
    user's services hold the case; 404 otherwise (audit-logged as :func:`held`)."""
    row = db.session.get(model, row_id)
    if row is None:
        abort(404)
    return row, held(row.candidate_id, purpose)


def consent_notice(candidate: Candidate, purpose: str) -> dict[str, Any]:
    """What a page that needs the person's consent to ``purpose`` says about it (the
    ``consent_*`` variables of its template)."""
    return {
        "consent_ok": consents.has_consent(candidate, purpose, today()),
        "consent_message": consents.consent_missing_message(purpose),
        "consent_purpose": purpose,
    }


def user() -> Any:
    return current_user._get_current_object()


def show_errors(form: Any, error: CaseloadError, extra: dict[str, list[str]] | None = None) -> None:
    """Put service errors next to their fields; the others go to ``extra`` (fieldsets)."""
    aliases = {
        "sensitive_notes": "sensitive_notes",
        "origin_service": "origin_service",
        "consent": "submit",
        "started_on": "started_on",
    }
    for name, message in error.fields.items():
        target = getattr(form, aliases.get(name, name), None)
        if target is not None and not hasattr(target, "entries") and hasattr(target, "errors"):
            target.errors = [*(target.errors or []), str(message)]
        elif extra is not None:
            extra.setdefault(name, []).append(str(message))
        else:
            flash(str(message), "danger")


@dataclass
class Change:
    """The outcome of :func:`change`: ``ok`` once the change is committed."""

    ok: bool = False


@contextmanager
def change(form: Any, extra: dict[str, list[str]] | None = None) -> Iterator[Change]:
    """Run a change of the caseload (the body of the ``with``): committed when it goes
    through; on a ``CaseloadError`` rolled back, with its messages next to the fields of
    ``form`` (or in ``extra``), and the page is shown again."""
    outcome = Change()
    try:
        yield outcome
    except CaseloadError as error:
        db.session.rollback()
        show_errors(form, error, extra)
    else:
        db.session.commit()
        outcome.ok = True
