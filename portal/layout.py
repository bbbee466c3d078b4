"""Layout helpers: navigation by role, footer data."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.models import ADMIN, ROLE_LABELS

#: (label, endpoint, roles that see it; empty = everybody)
CORE_NAV: list[tuple[Any, str, tuple[str, ...]]] = [
    (_l("Network directory"), "portal.directory", ()),
    (_l("Good practices"), "network.practice_list", ()),
    (_l("Events"), "network.event_list", ()),
    (_l("Agreements"), "network.agreement_list", ()),
    (_l("Network indicators"), "network.indicators_page", ()),
    (_l("Search"), "portal.search_page", ()),
    (_l("Administration"), "admin.dashboard", (ADMIN,)),
]


def navigation() -> list[tuple[str, str, bool]]:
    """Menu entries the current user may reach: (label, url, active)."""
    entries = CORE_NAV + current_app.extensions.get("ponte_nav", [])
    roles = current_user.roles if current_user.is_authenticated else set()
    items = []
    for label, endpoint, needed in entries:
        if needed and not roles.intersection(needed):
            continue
        if endpoint not in current_app.view_functions:
            continue
        url = url_for(endpoint)
        items.append((str(label), url, request.path.startswith(url) and url != "/"))
    return items


def add_nav(app: Flask, label: Any, endpoint: str, roles: tuple[str, ...] = ()) -> None:
    """Domain packages add their menu entries in ``init_app``."""
    app.extensions.setdefault("ponte_nav", []).append((label, endpoint, roles))


def init_app(app: Flask) -> None:
    @app.context_processor
    def layout_context() -> dict[str, Any]:
        from portal.notifications import unread_count

        return {
            "navigation": navigation,
            "role_labels": ROLE_LABELS,
            "has_endpoint": lambda name: name in current_app.view_functions,
            "unread_notifications": lambda: unread_count(current_user),
        }
