"""The ground every microcredit rule stands on: :class:`McError` (all problems at
once, by field), today's date where the portal is, the audit record of a change and the
common date and name checks.

Every change is made by an officer of the organisation, dated, and written to the audit
log in the same transaction; a rule that raises :class:`McError` leaves the session
unchanged. The modules of the rules (centres, members, groups, savings, products and
:mod:`microcredit.lending`) import from here, never from each other's internals.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal import audit, db
from portal.models import Organisation, User


class McError(ValueError):
    """Bad microcredit input or a forbidden transition; ``fields`` maps names to messages."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def local_today() -> date:
    """Today in the portal's time zone (Europe/Rome): the date people mean."""
    zone = zoneinfo.ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Rome"))
    return datetime.now(zone).date()


def _j(value: Any) -> Any:
    """A value for the audit log's JSON details."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def record(
    action: str, obj: Any, actor: User | None, reason: str = "", subject: Any = None, **details: Any
) -> None:
    audit.record(
        f"microcredit.{action}",
        obj,
        actor=actor,
        reason=reason,
        subject=subject,
        **{k: _j(v) for k, v in details.items()},
    )


def check_date(
    on_date: date | None,
    name: str,
    errors: dict[str, str],
    *,
    not_before: date | None = None,
    before_label: str = "",
) -> None:
    if on_date is None:
        errors[name] = _("Give the date.")
    elif on_date > local_today():
        errors[name] = _("The date cannot be in the future.")
    elif not_before is not None and on_date < not_before:
        errors[name] = _(
            "The date cannot be before %(what)s (%(date)s).",
            what=before_label,
            date=format_date(not_before),
        )


def name_taken(model: Any, org: Organisation, name: str, current: Any | None) -> bool:
    """Whether another row of ``model`` in ``org`` has ``name`` (case-insensitive)."""
    return (
        db.session.execute(
            select(model.id).where(
                model.organisation_id == org.id,
                func.lower(model.name) == name.lower(),
                model.id != (current.id if current is not None else -1),
            )
        ).first()
        is not None
    )


def group_date_errors(group: Any, on_date: date | None, name: str = "on_date") -> dict[str, str]:
    """The date of something a group does (training, savings, a change of state): given,
    not in the future and not before the group was formed."""
    errors: dict[str, str] = {}
    check_date(
        on_date, name, errors, not_before=group.formed_on, before_label=_("the group was formed")
    )
    return errors
