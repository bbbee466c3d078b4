"""The tenders blueprint (one for ``brokerage.tenders``: every tenders views module registers
its pages on ``bp``) and what those pages share: today's date in Rome, the language of
OCDS texts, pagination of ranked lists, errors next to their fields, checked uploads,
the tender, body or supplier organisation of the request, and the labels of the
eligibility criteria.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from brokerage.tenders import evidence, services
from brokerage.tenders.models import Tender
from brokerage.tenders.services import TenderError
from portal import db
from portal.db import Page, utcnow
from portal.models import Organisation
from portal.permissions import require
from portal.views import page_arg

bp = Blueprint("tenders", __name__, template_folder="templates")
ROME = ZoneInfo("Europe/Rome")


def today() -> date:
    return utcnow().date()


def lang() -> str:
    return "en" if str(get_locale() or "it").startswith("en") else "it"


def per_page() -> int:
    return int(current_app.config["PER_PAGE"])


def list_page(items: list[Any]) -> Page:
    """Paginate a list computed in Python (rankings, overdue periods)."""
    size = per_page()
    page = page_arg()
    return Page(
        items=items[(page - 1) * size : page * size], total=len(items), page=page, per_page=size
    )


def show_errors(form: Any, error: TenderError, default: str) -> None:
    aliases = {
        "comune": "comune",
        "supplier": "supplier",
        "contract": default,
        "status": default,
        "provinces": "provinces",
        "regions": "regions",
    }
    for name, message in error.fields.items():
        target = getattr(form, aliases.get(name, name), None) or getattr(form, default)
        target.errors = [*(target.errors or []), message]


def checked_upload(field: Any) -> tuple[bool, evidence.Upload | None]:
    """The PDF chosen in ``field`` (None: none chosen); False with the error next to the
    field when the file is refused."""
    try:
        return True, evidence.read_upload(field.data)
    except evidence.DocumentError as error:
        field.errors = [*(field.errors or []), str(error)]
        return False, None


def load_tender(tender_id: int) -> Tender:
    tender = db.session.get(Tender, tender_id)
    if tender is None or not services.can_see_tender(current_user, tender):
        abort(404)
    return tender


def owned_tender(tender_id: int) -> Tender:
    tender = db.session.get(Tender, tender_id)
    if tender is None:
        abort(404)
    require(services.can_edit(current_user, tender))
    return tender


def my_body() -> Organisation:
    bodies = services.officer_bodies(current_user)
    if not bodies:
        abort(403)
    return bodies[0]


def my_supplier() -> Organisation:
    orgs = services.supplier_orgs(current_user)
    if not orgs:
        abort(403)
    return orgs[0]


def criteria_labels() -> dict[str, str]:
    return {
        "kind": _("Type of organisation"),
        "register": _("Register enrolment"),
        "share": _("Disabled or disadvantaged workers"),
        "cpv": _("CPV capability"),
        "territory": _("Territory"),
        "record": _("Compliance record"),
    }
