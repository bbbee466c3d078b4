"""Who may reach a view: the declarations every route carries.

Every view declares who may reach it with one of the decorators below (``public``,
``login_required``, ``roles_required``); portal.gate enforces the declaration in a
``before_request`` hook before the view runs, so a denied request never touches data. A
route that declares nothing is refused (secure by default) and the permission-matrix test
fails on it. Object-level checks inside a view use ``require`` and ``is_admin``. This module
imports nothing that answers a request, so every layer (errors, health, metrics, the API
base, the domain packages) may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import abort

from portal.models import ADMIN

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Access:
    """Who may call a view: everybody, any signed-in user, or holders of ``roles``."""

    public: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)

    def allows(self, user: Any) -> bool:
        if self.public:
            return True
        if user is None or not user.is_authenticated:
            return False
        return not self.roles or user.has_role(*self.roles)


def _mark(access: Access) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        view.access = access  # type: ignore[attr-defined]
        return view

    return decorator


public = _mark(Access(public=True))
login_required = _mark(Access())


def roles_required(*roles: str) -> Callable[[F], F]:
    return _mark(Access(roles=frozenset(roles)))


def access_of(view: Callable[..., Any]) -> Access | None:
    return getattr(view, "access", None)


def is_api_endpoint(endpoint: str | None) -> bool:
    return bool(endpoint) and (
        endpoint.startswith("api.") or endpoint.split(".")[0].endswith("_api")
    )


def require(condition: bool) -> None:
    """Object-level check inside a view: 403 when the condition fails."""
    if not condition:
        abort(403)


def is_admin(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.has_role(ADMIN))
