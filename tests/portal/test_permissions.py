"""The permission matrix: every route, as anonymous and as every role.

Routes are read from ``app.url_map``, so a new route is covered the day it is
added: it must declare its access (``public``, ``login_required`` or
``roles_required``), and no role outside its declaration may get a 200.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import Rule

from portal.models import ROLES
from portal.permissions import access_of, is_api_endpoint
from tests.conftest import login
from tests.factories import make_user
from tests.spid_fixtures import spid_app, spid_assets

__all__ = ["spid_app", "spid_assets"]  # fixtures

SAMPLE_ARGS = {"integer": 1, "unicode": "x", "path": "x", "any": "x"}
DENIED = {301, 302, 303, 400, 401, 403, 404, 405}


def routes(app) -> list[Rule]:
    return [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint != "static" and not r.endpoint.endswith(".static")
    ]


def build_path(rule: Rule) -> str:
    args = {
        name: SAMPLE_ARGS.get(type(conv).__name__.replace("Converter", "").lower(), "x")
        for name, conv in rule._converters.items()
    }
    return rule.build(args)[1]


def methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def test_every_route_declares_its_access(app):
    missing = [r.endpoint for r in routes(app) if access_of(app.view_functions[r.endpoint]) is None]
    assert missing == [], f"routes without an access declaration: {missing}"


def call(client, method: str, path: str, api: bool, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "GET":
        return client.get(path, headers=headers)
    if api:
        return client.open(path, method=method, headers=headers, json={})
    return client.open(path, method=method, headers=headers, data={})


@pytest.mark.parametrize("role", [None, *ROLES])
def test_no_role_reaches_a_route_it_must_not(app, client, db_session, role):
    """Anonymous and each role: a route outside their access never answers 200."""
    assert_matrix(app, client, role, routes(app))


#: Routes that exist only when SPID/CIE sign-in is configured.
SPID_BLUEPRINTS = ("spid.", "cie.", "spid_account.")


def test_spid_routes_declare_their_access(spid_app):
    spid_routes = [r for r in routes(spid_app) if r.endpoint.startswith(SPID_BLUEPRINTS)]
    assert len(spid_routes) >= 10
    missing = [
        r.endpoint for r in spid_routes if access_of(spid_app.view_functions[r.endpoint]) is None
    ]
    assert missing == []


@pytest.mark.parametrize("role", [None, *ROLES])
def test_no_role_reaches_a_spid_route_it_must_not(spid_app, role):
    from portal import db as ponte_db
    from tests.conftest import PonteClient

    spid_app.test_client_class = PonteClient
    with spid_app.app_context():
        try:
            spid_routes = [r for r in routes(spid_app) if r.endpoint.startswith(SPID_BLUEPRINTS)]
            assert_matrix(spid_app, spid_app.test_client(), role, spid_routes)
        finally:
            ponte_db.session.rollback()
            ponte_db.session.remove()


def assert_matrix(app, client, role: str | None, rules: list[Rule]) -> None:
    user = make_user(role) if role else None
    token = None
    if user is not None:
        login(client, user)
        from portal.accounts import issue_token

        token = issue_token(user)
    problems = []
    for rule in rules:
        access = access_of(app.view_functions[rule.endpoint])
        if access.public:
            continue
        api = is_api_endpoint(rule.endpoint)
        allowed = user is not None and access.allows(user)
        for method in methods(rule):
            if user is not None:
                login(client, user)  # a previous call may have signed out
            response = call(client, method, build_path(rule), api, token if api else None)
            status = response.status_code
            if status >= 500:
                problems.append(f"{method} {rule.rule} as {role}: {status}")
            elif not allowed and status not in DENIED:
                problems.append(f"{method} {rule.rule} as {role}: {status}, expected a refusal")
            elif (
                allowed
                and rule.arguments == set()
                and (status in (401, 403) or "/login" in response.headers.get("Location", ""))
            ):
                problems.append(f"{method} {rule.rule} as {role}: refused ({status})")
    assert problems == [], "\n".join(problems)


def test_anonymous_html_is_sent_to_login_and_api_gets_401(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_bad_bearer_token_is_401_json(client):
    response = client.get("/api/v1/organizations", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_session_cookie_does_not_authenticate_the_api(app, client, db_session):
    """API calls need a Bearer token: a browser session alone is anonymous (no CSRF risk)."""
    from flask import g

    login(client, make_user("admin"))
    with app.test_request_context("/api/v1/organizations"):
        pass
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert g is not None
