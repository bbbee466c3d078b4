"""Property-based run of the public JSON API against its own OpenAPI document (schemathesis).

Every GET operation, and every public POST calculator (no ``security``), is called with
generated parameters and bodies: no 5xx, and the status codes, content types and bodies
conform to what the document says. Then every operation that needs a token is called
again with the Bearer token of a user holding one of its roles (``x-roles``: employer,
broker, public officer), so the authenticated writes and reads are fuzzed too. Runs on
SQLite and PostgreSQL, on a small data set (the demo's network life plus an
organisation), within the test's rolled-back transaction.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from portal import db
from tests.factories import make_org
from tests.portal.test_network_support import make_agreement, make_event, make_practice

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 10


def public_operations(schema: Any) -> list[Any]:
    """GET operations, and POSTs that need no token (public calculators)."""
    chosen = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == "GET" or (
            operation.method.upper() == "POST" and not operation.definition.raw.get("security")
        ):
            if operation.path == "/stripe/webhook":
                continue  # signed by Stripe: tested by the ethical_products suite
            chosen.append(operation)
    return chosen


def runner(operation: Any, headers: dict[str, str] | None, examples: int) -> Any:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    def run(case: Any) -> None:
        case.call_and_validate(checks=CHECKS, headers=headers)

    return run


def fuzz(operations: list[Any], headers_for: Any = None, examples: int = MAX_EXAMPLES) -> list[str]:
    """Run each operation's strategy; the failures, one line per operation."""
    failures: list[str] = []
    for operation in operations:
        headers = headers_for(operation) if headers_for else None
        try:
            runner(operation, headers, examples)()
        except Exception as error:
            db.session.rollback()
            failures.append(f"{operation.label}: {str(error)[:1500]}")
    return failures


@pytest.mark.slow
def test_public_api_conforms_to_its_openapi_document(app, client, db_session):
    org = make_org("service")
    make_practice(org)
    event = make_event(org)
    make_agreement(org)
    db.session.commit()
    assert event.id

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = public_operations(schema)
    labels = {op.label for op in operations}
    for expected in (
        "GET /api/v1/good-practices",
        "GET /api/v1/events",
        "GET /api/v1/organizations",
    ):
        assert expected in labels

    failures = fuzz(operations)
    assert not failures, "\n\n".join(failures)


AUTHENTICATED_ROLES = ("employer", "broker", "public_officer")


@pytest.mark.slow
def test_authenticated_api_operations_conform_to_the_document(app, client, db_session):
    """The operations with ``security``, with a token of a role they accept: no 5xx and
    no schema violation (a 403 for a role they refuse is not what is tested here)."""
    from portal.accounts import issue_token
    from tests.brokerage.factories import make_candidate
    from tests.employers.factories import make_vacancy
    from tests.factories import make_user

    users = {role: make_user(role) for role in AUTHENTICATED_ROLES}
    make_vacancy(users["employer"])
    make_candidate(users["broker"].organisations("broker")[0], users["broker"])
    tokens = {role: issue_token(user) for role, user in users.items()}
    db.session.commit()

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = []
    for result in schema.get_all_operations():
        operation = result.ok()
        raw = operation.definition.raw
        if raw.get("security") and set(raw.get("x-roles", [])) & set(AUTHENTICATED_ROLES):
            operations.append(operation)
    labels = {op.label for op in operations}
    for expected in (
        "POST /api/v1/vacancies",
        "GET /api/v1/vacancies/{vacancy_id}/matches",
        "POST /api/v1/tenders/import",
    ):
        assert expected in labels

    def headers_for(operation: Any) -> dict[str, str]:
        roles = operation.definition.raw["x-roles"]
        role = next(r for r in AUTHENTICATED_ROLES if r in roles)
        return {"Authorization": f"Bearer {tokens[role]}"}

    failures = fuzz(operations, headers_for, examples=MAX_EXAMPLES * 3)
    assert not failures, "\n\n".join(failures)
