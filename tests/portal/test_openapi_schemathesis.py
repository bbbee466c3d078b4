"""Property-based run of the public JSON API against its own OpenAPI document (schemathesis).

Every GET operation, and every public POST calculator (no ``security``), is called with
generated parameters and bodies: no 5xx, and the status codes, content types and bodies
conform to what the document says. Runs on SQLite and PostgreSQL, on a small data set
(the demo's network life plus an organisation), within the test's rolled-back transaction.
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

    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        def run(case: Any) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            run()
        except Exception as error:
            db.session.rollback()
            failures.append(f"{operation.label}: {str(error)[:1500]}")
    assert not failures, "\n\n".join(failures)
