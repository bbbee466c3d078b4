"""Server-side access control for every route.

Every view declares who may reach it with one of the decorators below; a
``before_request`` hook enforces the declaration before the view runs, so a
denied request never touches data. A route that declares nothing is refused
(secure by default) and the permission-matrix test fails on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests

from portal.models import ADMIN, BROKER, PUBLIC_OFFICER, User

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


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_actor() -> User | None:
    """The user behind this request: the Bearer token for API routes (never the session
    cookie, so the API needs no CSRF token), the session otherwise."""
    if is_api_endpoint(request.endpoint):
        if "api_user" not in g:
            from portal import ratelimit
            from portal.accounts import user_for_token
            from portal.models import hash_token

            token = bearer_token()
            address = ratelimit.client_address()
            if token:
                retry_after = ratelimit.blocked("api_bad_token", address)
                if retry_after:
                    raise TooManyRequests(retry_after=retry_after)
            g.api_user = user_for_token(token) if token else None
            if token and g.api_user is None:
                ratelimit.count_failure("api_bad_token", address)
                abort(401)
            if token:
                ratelimit.enforce("api_token", hash_token(token))
        return g.api_user
    return current_user if current_user.is_authenticated else None


def roles_requiring_2fa() -> set[str]:
    from portal.settings import get_setting

    return set(get_setting("require_2fa_roles", []))


def needs_2fa_setup(user: User) -> bool:
    return not user.totp_enabled and bool(user.roles & roles_requiring_2fa())


#: Roles for which the administrator may require two-factor authentication.
TWO_FACTOR_ROLES = (BROKER, PUBLIC_OFFICER, ADMIN)

_TWO_FACTOR_EXEMPT = {"auth.logout", "auth.two_factor_setup", "portal.set_language"}


def enforce() -> Any:
    """``before_request`` hook: apply the view's declared access."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # 404/405 follow
    if endpoint == "static" or endpoint.endswith(".static"):
        return None
    view = current_app.view_functions[endpoint]
    access = access_of(view)
    if access is None:
        current_app.logger.error("route %s declares no access policy", endpoint)
        abort(403)
    api = is_api_endpoint(endpoint)
    user = current_actor()
    if (
        not api
        and user is not None
        and endpoint not in _TWO_FACTOR_EXEMPT
        and not access.public
        and needs_2fa_setup(user)
    ):
        return redirect(url_for("auth.two_factor_setup"))
    if access.allows(user):
        return None
    if user is None:
        if api:
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(403)


def init_app(app: Flask) -> None:
    app.before_request(enforce)


def require(condition: bool) -> None:
    """Object-level check inside a view: 403 when the condition fails."""
    if not condition:
        abort(403)


def is_admin(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.has_role(ADMIN))
