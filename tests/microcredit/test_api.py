"""POST /api/v1/microcredit/schedule: the public calculator (INTERFACES.md)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

URL = "/api/v1/microcredit/schedule"
GOOD = {
    "principal": "1000.00",
    "interest_rate": "12",
    "interest_rate_period": "year",
    "repayments": 12,
    "frequency": "monthly",
    "interest_method": "declining_balance",
    "amortization": "equal_installments",
    "disbursement_date": "2026-01-31",
}


def test_answers_the_instalments_as_decimal_strings(client):
    response = client.post(URL, json=GOOD)
    assert response.status_code == 200
    data = response.json
    assert data["currency"] == "EUR"
    items = data["installments"]
    assert len(items) == 12
    first = items[0]
    assert first == {
        "number": 1,
        "due_date": "2026-02-28",
        "principal": "78.85",
        "interest": "10.00",
        "total": "88.85",
        "balance": "921.15",
        "moved_from": None,
    }
    assert data["total_interest"] == "66.19"
    assert sum(Decimal(i["interest"]) for i in items) == Decimal(data["total_interest"])
    assert sum(Decimal(i["principal"]) for i in items) == Decimal("1000.00")
    assert all(isinstance(i[k], str) for i in items for k in ("principal", "interest", "total"))
    assert items[-1]["due_date"] == "2027-01-31" and items[-1]["balance"] == "0.00"


def test_optional_fields_and_numbers_in_json(client):
    body = {
        "principal": 1000,
        "interest_rate": 10.5,
        "repayments": 10,
        "frequency": "weekly",
        "interest_method": "flat",
        "amortization": "equal_principal",
        "grace_on_principal": 2,
        "in_multiples_of": "1.00",
        "disbursement_date": "2026-03-02",
    }
    data = client.post(URL, json=body).json
    assert data["installments"][0]["principal"] == "0.00"
    assert data["installments"][0]["due_date"] == "2026-03-09"
    assert data["terms"]["in_multiples_of"] == "1.00"


@pytest.mark.parametrize(
    "change,field",
    [
        ({"principal": "1000.001"}, "principal"),
        ({"principal": 1000.001}, "principal"),
        ({"principal": "0"}, "principal"),
        ({"principal": -100}, "principal"),
        ({"principal": None}, "principal"),
        ({"repayments": 0}, "repayments"),
        ({"repayments": -1}, "repayments"),
        ({"repayments": 100000}, "repayments"),
        ({"repayments": "many"}, "repayments"),
        ({"repayments": 2.5}, "repayments"),
        ({"frequency": "hourly"}, "frequency"),
        ({"interest_method": "magic"}, "interest_method"),
        ({"amortization": ["equal_principal"]}, "amortization"),
        ({"interest_rate_period": "decade"}, "interest_rate_period"),
        ({"interest_rate": "12.1234567"}, "interest_rate"),
        ({"interest_rate": {"value": 3}}, "interest_rate"),
        ({"grace_on_principal": 12}, "grace_on_principal"),
        ({"disbursement_date": "yesterday"}, "disbursement_date"),
    ],
)
def test_bad_input_is_422_with_the_field(client, change, field):
    response = client.post(URL, json={**GOOD, **change})
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid" and field in error["fields"]


@pytest.mark.parametrize(
    "body,content_type",
    [
        (b"not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b"", "application/json"),
        (b'{"principal": NaN}', "application/json"),
        (b"principal=1000", "application/x-www-form-urlencoded"),
        (b"\xff\xfe", "application/json"),
    ],
)
def test_non_json_is_400(client, body, content_type):
    response = client.post(URL, data=body, content_type=content_type)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"


def test_public_and_documented(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/microcredit/schedule"]["post"]
    assert "security" not in operation
    assert "MicrocreditSchedule" in spec["components"]["schemas"]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.text(max_size=12)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)
fields = st.sampled_from(
    [
        "principal",
        "interest_rate",
        "interest_rate_period",
        "repayments",
        "frequency",
        "interest_method",
        "amortization",
        "grace_on_principal",
        "in_multiples_of",
        "disbursement_date",
        "days_in_year",
        "interest_calculation",
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(fields, json_values, max_size=6))
def test_never_a_500(client, changes):
    response = client.post(
        URL, data=json.dumps({**GOOD, **changes}), content_type="application/json"
    )
    assert response.status_code in (200, 400, 422), response.get_data(as_text=True)


def test_due_dates_can_move_off_non_working_days(client):
    body = {**GOOD, "disbursement_date": "2026-11-25", "move_non_working_days": True}
    items = client.post(URL, json=body).json["installments"]
    kept = client.post(URL, json={**body, "move_non_working_days": False}).json["installments"]
    assert (items[0]["due_date"], items[0]["moved_from"]) == ("2026-12-28", "2026-12-25")
    assert [(i["principal"], i["interest"]) for i in items] == [
        (i["principal"], i["interest"]) for i in kept
    ]
    bad = client.post(URL, json={**body, "move_non_working_days": "maybe"})
    assert bad.status_code == 422 and "move_non_working_days" in bad.json["error"]["fields"]
