"""Where a person lands after signing in: their role's own area, or a safe ``next``.

Password sign-in (portal.auth), SPID/CIE sign-in (portal.spid.views) and the navigation
bar's "My area" (portal.layout) all send a signed-in person to the same place: the first
enabled endpoint of their role (``ROLE_HOMES``), or the local path they were going to.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, url_for

from portal.models import (
    ADMIN,
    BROKER,
    BUYER,
    COOPERATIVE,
    EMPLOYER,
    MICROCREDIT_OFFICER,
    PUBLIC_OFFICER,
    SOCIAL_FARM,
    User,
)

#: Where each role lands after signing in without a ``next``: the first endpoint that
#: exists (modules may be disabled), roles in this order for people with several.
ROLE_HOMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (ADMIN, ("admin.dashboard",)),
    (BROKER, ("brokerage.caseload",)),
    (PUBLIC_OFFICER, ("tenders.officer_dashboard",)),
    (MICROCREDIT_OFFICER, ("microcredit.dashboard",)),
    (EMPLOYER, ("employers.dashboard",)),
    # A cooperative comes for tenders with social clauses first, a social farm for its shop;
    # both may also post vacancies.
    (COOPERATIVE, ("tenders.supplier_dashboard", "ethical_products.manage", "employers.dashboard")),
    (SOCIAL_FARM, ("ethical_products.manage", "tenders.supplier_dashboard", "employers.dashboard")),
    (BUYER, ("ethical_products.my_orders", "ethical_products.catalogue")),
)


def role_home(user: User) -> str:
    """The URL of ``user``'s own area, or the home page."""
    roles = user.roles
    for role, endpoints in ROLE_HOMES:
        if role in roles:
            for endpoint in endpoints:
                if endpoint in current_app.view_functions:
                    return url_for(endpoint)
    return url_for("portal.home")


def safe_next(target: str | None, user: User | None = None) -> str:
    """``target`` when it is a path on this site (never an open redirect elsewhere), else
    the user's own area (the home page for nobody)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return role_home(user) if user is not None else url_for("portal.home")
