"""What every microcredit page shares: the one ``microcredit`` blueprint, the officer's
organisation and objects (another organisation's answer 404), the rule's errors shown on
the form, and the two page shapes that repeat across the area: committing one rule's
change (:func:`commit`) and the create-or-edit form page (:func:`edit_page`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
)
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from microcredit.access import can_manage, officer_organisations, org_officers
from microcredit.models import (
    ATTENDANCE,
    FREQUENCY_LABELS,
    GROUP_STATES,
    LOAN_STATES,
    SAVINGS_KINDS,
    TRANSACTION_KINDS,
    Centre,
)
from microcredit.rules import McError, local_today
from portal import concurrency, db
from portal.db import Page
from portal.models import MICROCREDIT_OFFICER, Organisation
from portal.permissions import roles_required
from portal.views import page_arg

bp = Blueprint(
    "microcredit",
    "microcredit",  # the package: its templates/ and static/ folders
    url_prefix="/microcredit",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

officer_only = roles_required(MICROCREDIT_OFFICER)


def today() -> date:
    return local_today()


def per_page() -> int:
    return current_app.config["PER_PAGE"]


def current_org() -> Organisation:
    """The officer's organisation (``?org=`` chooses among several); 404 if none."""
    orgs = officer_organisations(current_user)
    chosen = request.args.get("org", type=int)
    for org in orgs:
        if chosen is None or org.id == chosen:
            return org
    abort(404)


def org_of(obj: Any) -> Organisation:
    """The organisation of an object being edited, or the officer's for a new one."""
    return db.session.get(Organisation, obj.organisation_id) if obj else current_org()


def owned(model: Any, object_id: int) -> Any:
    """The object if it belongs to one of the officer's organisations; 404 otherwise."""
    obj = db.session.get(model, object_id)
    if obj is None or not can_manage(current_user, obj.organisation_id):
        abort(404)
    return obj


def apply_errors(form: Any, error: McError, mapping: dict[str, str] | None = None) -> list[str]:
    """Show each message next to its field; return those that belong to no field."""
    leftovers = []
    for name, message in error.fields.items():
        target = (mapping or {}).get(name, name)
        f = getattr(form, target, None) if form is not None else None
        if f is not None and hasattr(f, "errors") and target != "submit":
            f.errors = [*f.errors, message]
        else:
            leftovers.append(message)
    return leftovers


def flash_problems(change: Change) -> None:
    """The problems of a change made from a button (no form to show them next to)."""
    for message in change.problems:
        flash(message, "danger")


def date_arg(name: str = "as_of") -> date:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return today()


def list_page(items: list[Any]) -> Page:
    size = 50
    page = page_arg()
    return Page(
        items=items[(page - 1) * size : page * size], total=len(items), page=page, per_page=size
    )


@bp.app_template_filter("mc_percent")
def percent_filter(value: Any) -> str:
    return "—" if value is None else f"{format_decimal(value, '#,##0.00')} %"


@bp.context_processor
def microcredit_context() -> dict[str, Any]:
    return {
        "loan_states": LOAN_STATES,
        "group_states": GROUP_STATES,
        "transaction_kinds": TRANSACTION_KINDS,
        "savings_kinds": SAVINGS_KINDS,
        "attendance_labels": ATTENDANCE,
        "frequency_labels": FREQUENCY_LABELS,
    }


def officer_choices(org_id: int) -> list[tuple[int, str]]:
    return [(0, "—")] + [(u.id, u.display_name) for u in org_officers(org_id)]


def centre_choices(org_id: int) -> list[tuple[int, str]]:
    centres = db.session.execute(
        select(Centre.id, Centre.name)
        .where(Centre.organisation_id == org_id, Centre.active.is_(True))
        .order_by(Centre.name)
    ).all()
    return [(0, _("— no centre yet —")), *((c.id, c.name) for c in centres)]


def form_key(form: Any) -> str | None:
    """The idempotency key of a form sent once (its nonce): a second send is refused."""
    return f"form:{form.nonce.data}" if form.nonce.data else None


@dataclass
class Change:
    """What :func:`commit` did: ``done`` with the rule's ``result``, or the ``problems``
    that belong to no field of the form (the others are shown next to their field)."""

    done: bool
    result: Any = None
    problems: list[str] = field(default_factory=list)


def commit(
    change: Callable[[], Any],
    form: Any = None,
    *,
    fields: dict[str, str] | None = None,
    duplicate: str | None = None,
) -> Change:
    """Run one rule's change and commit it. On :class:`McError` roll back and put each
    message next to its field of ``form`` (``fields`` maps a rule's names to the form's);
    with ``duplicate``, a unique-key conflict (the same entry sent twice) rolls back and
    says so; without it such a conflict is not expected here and is not caught."""
    try:
        result = change()
        db.session.commit()
    except McError as error:
        db.session.rollback()
        return Change(False, problems=apply_errors(form, error, fields))
    except IntegrityError:
        if duplicate is None:
            raise
        db.session.rollback()
        return Change(False, problems=[duplicate])
    return Change(True, result)


def edit_page(
    obj: Any,
    build: Callable[..., Any],
    save: Callable[[Any], Any],
    *,
    template: str,
    done: str,
    then: Callable[[Any], str],
    fields: dict[str, str] | None = None,
    duplicate: str | None = None,
    **context: Any,
) -> Any:
    """The page that creates (``obj`` None) or edits one object of the officer: the form
    ``build`` makes, with the stale-edit check of :mod:`portal.concurrency` on an edit;
    ``save(form)`` runs the rule, and on success ``done`` is flashed and the officer goes
    to ``then(saved)``."""
    form = concurrency.edit_form(build, obj) if obj else build()
    problems: list[str] = []
    if form.validate_on_submit() and concurrency.current_or_new(form, build, obj):
        change = commit(lambda: save(form), form, fields=fields, duplicate=duplicate)
        if change.done:
            flash(done, "success")
            return redirect(then(change.result))
        problems = change.problems
    return render_template(template, form=form, problems=problems, **context), concurrency.status()
