"""Layout helpers: navigation by role, footer data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.landing import role_home
from portal.models import ADMIN, ROLE_LABELS
from portal.notifications import unread_count

#: Menu groups: public entries with no group stand alone; the network's own pages share
#: one drop-down; entries for some roles only go under "My area" unless given a group.
NETWORK = "network"
MY_AREA = "mine"
GROUP_LABELS: dict[str, Any] = {NETWORK: _l("The network"), MY_AREA: _l("My area")}

#: (label, endpoint, roles that see it (empty = everybody), group or None)
CORE_NAV: list[tuple[Any, str, tuple[str, ...], str | None]] = [
    (_l("Network directory"), "portal.directory", (), NETWORK),
    (_l("Good practices"), "network.practice_list", (), NETWORK),
    (_l("Events"), "network.event_list", (), NETWORK),
    (_l("Agreements"), "network.agreement_list", (), NETWORK),
    (_l("Network indicators"), "network.indicators_page", (), NETWORK),
    (_l("Administration"), "admin.dashboard", (ADMIN,), MY_AREA),
]


@dataclass
class HomeAction:
    """A next step shown on a role's own home: what the person came to do, with how many
    things wait for them when that helps (``count``)."""

    label: str
    url: str
    count: int | None = None
    description: str = ""


#: (roles that see them, provider(user) -> actions)
HomeActionProvider = Any


def add_home_actions(
    app: Flask, roles: tuple[str, ...], provider: HomeActionProvider, order: int = 50
) -> None:
    """Domain packages add the next steps of their roles' homes in ``init_app``; lower
    ``order`` first (what the role mainly comes for before what it may also do)."""
    entries = app.extensions.setdefault("ponte_home_actions", [])
    entries.append((order, roles, provider))
    entries.sort(key=lambda entry: entry[0])


def home_actions() -> list[HomeAction]:
    """The next steps of the signed-in user's roles, in the order modules registered them."""
    if not current_user.is_authenticated:
        return []
    roles = current_user.roles
    actions: list[HomeAction] = []
    seen: set[str] = set()
    for _order, needed, provider in current_app.extensions.get("ponte_home_actions", []):
        if not roles.intersection(needed):
            continue
        for action in provider(current_user) or []:
            if action.url not in seen:
                seen.add(action.url)
                actions.append(action)
    return actions


@dataclass
class NavLink:
    label: str
    url: str
    active: bool


@dataclass
class NavGroup:
    """A drop-down of the main menu."""

    key: str
    label: str
    links: list[NavLink] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return any(link.active for link in self.links)


def navigation() -> list[NavLink | NavGroup]:
    """The main menu the current user may reach: stand-alone links, then the drop-downs.

    Grouping keeps the bar on one line at desktop widths however many modules and roles
    add entries (a wrapped or clipped menu hides entries from sighted keyboard users).
    """
    entries = current_app.extensions.get("ponte_nav", []) + CORE_NAV
    roles = current_user.roles if current_user.is_authenticated else set()
    links: list[NavLink] = []
    groups: dict[str, NavGroup] = {
        key: NavGroup(key, str(label)) for key, label in GROUP_LABELS.items()
    }
    home = role_home_url() if current_user.is_authenticated else None
    seen: set[str] = set()
    for label, endpoint, needed, group in entries:
        if needed and not roles.intersection(needed):
            continue
        if endpoint not in current_app.view_functions or endpoint in seen:
            continue  # one entry per area: the first that fits the user's roles
        seen.add(endpoint)
        url = url_for(endpoint)
        link = NavLink(str(label), url, request.path.startswith(url) and url != "/")
        if group is None and needed:
            group = MY_AREA
        if group is None:
            links.append(link)
        else:
            groups.setdefault(group, NavGroup(group, group)).links.append(link)
    mine = groups.get(MY_AREA)
    if mine is not None and home is not None:
        # The user's own home comes first in "My area".
        mine.links.sort(key=lambda link: link.url != home)
    return [*links, *(g for g in groups.values() if g.links)]


def role_home_url() -> str:
    return role_home(current_user)


def add_nav(
    app: Flask,
    label: Any,
    endpoint: str,
    roles: tuple[str, ...] = (),
    group: str | None = None,
) -> None:
    """Domain packages add their menu entries in ``init_app``.

    Entries for everybody stand alone in the bar unless ``group`` is given (``NETWORK``);
    entries for some roles go under "My area".
    """
    app.extensions.setdefault("ponte_nav", []).append((label, endpoint, roles, group))


def init_app(app: Flask) -> None:
    @app.context_processor
    def layout_context() -> dict[str, Any]:
        return {
            "navigation": navigation,
            "home_actions": home_actions,
            "role_labels": ROLE_LABELS,
            "has_endpoint": lambda name: name in current_app.view_functions,
            "unread_notifications": lambda: unread_count(current_user),
        }
