"""Who may act: the microcredit officers of an organisation manage (and see) its
data and nobody else; the pages answer 404 first and the rules check again here.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from microcredit.rules import McError
from portal import db
from portal.models import MICROCREDIT_OFFICER, Organisation, User


def officer_organisations(user: Any) -> list[Organisation]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return user.organisations(MICROCREDIT_OFFICER)


def officer_org_ids(user: Any) -> set[int]:
    return {org.id for org in officer_organisations(user)}


def can_manage(user: Any, organisation_id: int) -> bool:
    """Only microcredit officers of the organisation manage (and see) its data."""
    return organisation_id in officer_org_ids(user)


def require_officer(actor: Any, organisation_id: int) -> None:
    """Every change to a loan is made by a microcredit officer of its organisation: the
    pages check it first (404), and the rules check it again here, so no other caller
    (the API, a script, a future page) can skip it."""
    if not can_manage(actor, organisation_id):
        raise McError(
            {"actor": _("Only a microcredit officer of the loan's organisation can do this.")}
        )


def org_officers(org_id: int) -> list[User]:
    from portal.models import Membership

    return list(
        db.session.execute(
            select(User)
            .join(Membership)
            .where(
                Membership.organisation_id == org_id,
                Membership.role == MICROCREDIT_OFFICER,
                User.active.is_(True),
            )
            .order_by(User.full_name, User.id)
        )
        .scalars()
        .unique()
    )
