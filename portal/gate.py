"""The door of every request: who is behind it, and whether the view lets them in.

``enforce`` runs before every view (``before_request``): it finds the actor (the Bearer
token on API routes, rate-limited when wrong; the session cookie elsewhere), sends a
signed-in person whose role needs two-factor authentication to set it up first, and
applies the access the view declared with portal.permissions (401/redirect to sign-in for
nobody, 403 for the wrong role, 403 for a route that declares nothing).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests

from portal import ratelimit
from portal.accounts import user_for_token
from portal.models import ADMIN, BROKER, PUBLIC_OFFICER, User, hash_token
from portal.permissions import access_of, is_api_endpoint
from portal.settings import get_setting


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def current_actor() -> User | None:
    """The user behind this request: the Bearer token for API routes (never the session
    cookie, so the API needs no CSRF token), the session otherwise."""
    if is_api_endpoint(request.endpoint):
        if "api_user" not in g:
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
