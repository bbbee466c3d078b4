"""What every page of network life shares: the ``network`` blueprint (one for the
whole package: endpoint names stay ``network.*``), page size, the acting user and the
choices of organisation and region that the edit forms offer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from flask_babel import gettext as _
from flask_login import current_user

from portal import municipalities
from portal.models import Organisation, User

bp = Blueprint("network", __name__)


def per_page() -> int:
    return current_app.config["PER_PAGE"]


def acting_user() -> User:
    return current_user._get_current_object()


def org_choices(form: Any, orgs: list[Organisation]) -> None:
    form.organisation_id.choices = [(o.id, o.name) for o in orgs]


def region_choices() -> list[tuple[str, str]]:
    return [("", _("Choose a region"))] + [(r, r) for r in municipalities.regions()]
