"""Layout helpers: navigation by role, footer data."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

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
    roles = frozenset(current_user.roles) if current_user.is_authenticated else frozenset()
    home = role_home_url() if current_user.is_authenticated else None
    # The entries, labels and addresses are the same for everybody with these roles in a
    # language: built once per process; only which one is the current page is per request.
    key = ("navigation", str(get_locale()), request.script_root, roles, home)
    menu = _layout_cache().get(key)
    if menu is None:
        menu = _layout_cache()[key] = _menu(roles, home)
    path = request.path
    items: list[NavLink | NavGroup] = []
    for item in menu:
        if isinstance(item, NavGroup):
            links = [NavLink(link.label, link.url, _active(path, link.url)) for link in item.links]
            items.append(NavGroup(item.key, item.label, links))
        else:
            items.append(NavLink(item.label, item.url, _active(path, item.url)))
    return items


def _active(path: str, url: str) -> bool:
    return path.startswith(url) and url != "/"


def _menu(roles: frozenset[str], home: str | None) -> list[NavLink | NavGroup]:
    entries = current_app.extensions.get("ponte_nav", []) + CORE_NAV
    links: list[NavLink] = []
    groups: dict[str, NavGroup] = {
        key: NavGroup(key, str(label)) for key, label in GROUP_LABELS.items()
    }
    seen: set[str] = set()
    for label, endpoint, needed, group in entries:
        if needed and not roles.intersection(needed):
            continue
        if endpoint not in current_app.view_functions or endpoint in seen:
            continue  # one entry per area: the first that fits the user's roles
        seen.add(endpoint)
        link = NavLink(str(label), url_for(endpoint), False)
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


#: Stands for the record id in an address built once for a whole list (row_url).
_ID_SLOT = 2_147_483_000


def row_url(endpoint: str, name: str, **values: Any) -> Callable[[int], str]:
    """``row_url("employers.vacancy_detail", "vacancy_id")(42)`` is
    ``url_for("employers.vacancy_detail", vacancy_id=42)``, with the route built once for
    every row of a list rather than once a row."""
    head, _slot, tail = url_for(endpoint, **{name: _ID_SLOT}, **values).partition(str(_ID_SLOT))
    return lambda record_id: f"{head}{int(record_id)}{tail}"


#: Menus and fragments kept per process before starting afresh.
MAX_FRAGMENTS = 1000


def _layout_cache() -> dict[Hashable, Any]:
    return current_app.extensions.setdefault("ponte_layout_cache", {})


def fragment(name: str, *vary: Hashable, caller: Callable[[], Markup]) -> Markup:
    """``{% call fragment("footer") %}…{% endcall %}``: a part of the layout that is the
    same for every visitor in a language (its labels and links), rendered once per process
    and language instead of on every page. Only for markup that shows nothing of the
    request or the person; ``vary`` adds what else it depends on."""
    if current_app.debug:  # templates reload while developing
        return caller()
    key = ("fragment", name, str(get_locale()), request.script_root, *vary)
    cache = _layout_cache()
    html = cache.get(key)
    if html is None:
        if len(cache) > MAX_FRAGMENTS:  # ``vary`` may come from a query string
            cache.clear()
        html = cache[key] = caller()  # Markup: the template's own autoescaped output
    return html


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
            "fragment": fragment,
            "row_url": row_url,
            "home_actions": home_actions,
            "role_labels": ROLE_LABELS,
            "has_endpoint": lambda name: name in current_app.view_functions,
            "unread_notifications": lambda: unread_count(current_user),
        }
