"""The quota page, the public JSON calculator and the dashboard widget."""

from __future__ import annotations

import re

import pytest

from employers.models import CompanyProfile
from portal import db
from tests.conftest import login
from tests.factories import make_org, make_user

URL = "/api/v1/employers/quota"


def post(client, body):
    return client.post(URL, json=body)


# --- API ---------------------------------------------------------------------------------


def test_api_minimal(client):
    response = post(client, {"employees": 60})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["disabled_required"] == 4 and body["art18_required"] == 1  # 7% of 60 = 4.20
    assert body["base"] == 60 and body["disabled_exact"] == "4.20"
    assert body["disabled_gap"] == 4 and body["art18_gap"] == 1
    assert body["rule"] == "art3_c1_a" and body["art18_rule"] == "art18_c2_fixed"
    assert "4.20" in body["explanation"] or "4,20" in body["explanation"]
    assert body["currency"] == "EUR" and body["convention"]["coefficient"] == "30000.00"
    assert "positions_covered_by_order" not in body


def test_api_needs_no_token_and_no_csrf(app, client):
    assert app.view_functions["employers_api.quota"].access.public
    assert post(client, {"employees": 14}).json["rule"] == "art3_c1_below_15"


def test_api_full_figures_and_order(client):
    body = post(
        client,
        {
            "employees": 210,
            "part_time": [{"hours": 20, "full_time_hours": 40}, [26, 40]],
            "excluded": {"fixed_term_6m": 5, "apprentices": "3"},
            "disabled_employed": 10,
            "art18_employed": 0,
            "order_value": "1000000.00",
        },
    ).json
    # 210 - 2 part-time heads + round(0.5 + 0.65 = 1.15 → 1) - 8 excluded = 201
    assert body["base"] == 201 and body["part_time"] == {
        "workers": 2,
        "fte": "1.15",
        "units": 1,
        "added": False,
    }
    assert body["disabled_required"] == 14  # 14.07
    assert body["art18_required"] == 2 and body["art18_rule"] == "art18_c2_percent"  # 2.01
    assert body["disabled_gap"] == 4
    assert body["order_value"] == "1000000.00"
    assert body["positions_before_cap"] == 33
    assert body["positions_covered_by_order"] == 4  # floor(14 × 0.30)
    assert body["convention"]["cap"] == 4


def test_api_decimal_employees_and_numeric_excluded(client):
    body = post(client, {"employees": "50.51", "excluded": 0, "part_time_fte": 0}).json
    assert body["base"] == 51 and body["disabled_required"] == 4
    assert post(client, {"employees": 52.0, "excluded": "2"}).json["disabled_required"] == 2


def test_api_suspended(client):
    body = post(client, {"employees": 60, "suspended": True}).json
    assert (body["disabled_required"], body["art18_required"]) == (0, 0)
    assert body["rule"] == "art3_c5_suspended"
    assert body["required_without_suspension"] == {"disabled": 4, "art18": 1}
    assert body["notes"]


@pytest.mark.parametrize(
    "payload,field",
    [
        ({}, "employees"),
        ({"employees": None}, "employees"),
        ({"employees": -1}, "employees"),
        ({"employees": "abc"}, "employees"),
        ({"employees": "NaN"}, "employees"),
        ({"employees": "Infinity"}, "employees"),
        ({"employees": True}, "employees"),
        ({"employees": [60]}, "employees"),
        ({"employees": 10**400}, "employees"),
        ({"employees": 1_000_001}, "employees"),
        ({"employees": "1e-999999"}, "employees"),
        ({"employees": 1e-300}, "employees"),
        ({"employees": "sNaN"}, "employees"),
        ({"employees": 10, "part_time_fte": "NaN"}, "part_time_fte"),
        ({"employees": 10, "excluded": 11}, "excluded"),
        ({"employees": 10, "excluded": {"pirates": 1}}, "excluded.pirates"),
        ({"employees": 10, "excluded": {"apprentices": "x"}}, "excluded.apprentices"),
        ({"employees": 10, "excluded": [1]}, "excluded"),
        ({"employees": 10, "part_time_fte": "-1"}, "part_time_fte"),
        ({"employees": 10, "part_time_workers": 4, "part_time_fte": 11}, "part_time_fte"),
        ({"employees": 10, "part_time_workers": 1.5}, "part_time_workers"),
        ({"employees": 10, "part_time": "lots"}, "part_time"),
        ({"employees": 10, "part_time": [{"hours": 20}]}, "part_time"),
        ({"employees": 10, "part_time": [{"hours": 50, "full_time_hours": 40}]}, "part_time_hours"),
        ({"employees": 10, "disabled_employed": -3}, "disabled_employed"),
        ({"employees": 10, "art18_employed": "2"}, "art18_employed"),
        ({"employees": 10, "suspended": "yes"}, "suspended"),
        ({"employees": 60, "order_value": 1.5}, "order_value"),
        ({"employees": 60, "order_value": "-5.00"}, "order_value"),
        ({"employees": 60, "order_value": "10.001"}, "order_value"),
        ({"employees": 60, "order_value": "lots"}, "order_value"),
        ({"employees": 60, "order_value": {"eur": 5}}, "order_value"),
    ],
)
def test_api_bad_input_is_422_with_fields(client, payload, field):
    response = post(client, payload)
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] == "invalid" and error["message"]
    assert any(k == field or k.startswith(f"{field}.") for k in error["fields"]), error


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "employees=60", "content_type": "application/x-www-form-urlencoded"},
        {"data": "{not json", "content_type": "application/json"},
        {"data": "[60]", "content_type": "application/json"},
        {"data": "", "content_type": "application/json"},
    ],
)
def test_api_non_json_is_400(client, kwargs):
    response = client.post(URL, **kwargs)
    assert response.status_code == 400
    assert response.json["error"]["code"]


def test_api_is_documented(client):
    spec = client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/employers/quota"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["employees"] and "order_value" in schema["properties"]
    result = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"disabled_required", "art18_required"} <= set(result["required"])
    assert "security" not in operation and "422" in operation["responses"]


# --- The page ------------------------------------------------------------------------------


def employer_with_profile(employees=None):
    user = make_user("employer")
    org = user.memberships[0].organisation
    if employees is not None:
        db.session.add(
            CompanyProfile(organisation_id=org.id, legal_name=org.name, employees=employees)
        )
        db.session.flush()
    return user, org


def page(client, url: str) -> str:
    """The page in English (the default language is Italian), as text."""
    response = client.get(url + ("&" if "?" in url else "?") + "lang=en")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def field_error(html: str, name: str) -> str:
    match = re.search(rf'id="{name}-error"[^>]*>([^<]*)<', html)
    return match.group(1) if match else ""


def test_anonymous_is_sent_to_login(client):
    response = client.get("/employer/quota")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["broker", "buyer", "public_officer"])
def test_other_roles_are_refused(client, role):
    login(client, make_user(role))
    assert client.get("/employer/quota").status_code == 403


@pytest.mark.parametrize("role", ["employer", "cooperative", "social_farm"])
def test_the_form_renders_for_every_employer_role(client, role):
    login(client, make_user(role))
    response = client.get("/employer/quota")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="employees"' in html and "<fieldset" in html and "<legend" in html
    assert 'for="employees"' in html and 'id="quota-result-title"' not in html


def test_the_profile_head_count_prefills_and_estimates(client):
    user, _org = employer_with_profile(60)
    login(client, user)
    html = page(client, "/employer/quota")
    assert 'value="60"' in html
    assert 'id="quota-result-title"' in html and "4.20" in html


def test_results_gap_and_nearby_cooperatives(client):
    user, org = employer_with_profile()
    near = make_org("cooperative_b", name="Coop Vicina", comune_code="093036")  # Roveredo
    here = make_org("cooperative_b", name="Coop Qui", comune_code="093033")  # Pordenone
    make_org("cooperative_b", name="Coop Lontana", comune_code="058091")  # Roma
    make_org("cooperative_b", name="Coop Non Verificata", comune_code="093033", verified=False)
    login(client, user)
    response = client.get("/employer/quota?employees=60&disabled_employed=1&excluded_l68_hires=1")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # The rules in words with their article, not the internal codes.
    assert "art. 3, comma 1, lett. a): 7% dei lavoratori computabili oltre 50" in html
    assert "art. 18, comma 2: un lavoratore da 51 a 150 lavoratori computabili" in html
    assert "art3_c1_a" not in html and "art18_c2" not in html
    # 59 computable: 7% = 4.13 → 4, one employed: three to hire.
    rows = re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", html, re.S)
    assert re.findall(r"<td>(?:<strong>)?(\d+)", rows[0]) == ["4", "1", "3"]
    assert "Coop Qui" in html and "Coop Vicina" in html
    assert html.index("Coop Qui") < html.index("Coop Vicina")  # nearest first
    assert "Coop Lontana" not in html and "Coop Non Verificata" not in html
    assert f"/organisations/{near.id}" in html or near.slug in html
    assert here.name in html
    assert "counts_toward_quota=1" in html
    assert 'name="order_value"' in html and 'type="hidden" name="employees" value="60"' in html


def test_order_value_shows_positions(client):
    user, _org = employer_with_profile()
    login(client, user)
    html = page(client, "/employer/quota?employees=200&order_value=60000")
    # 7% of 200 = 14; 60,000 / 30,000 = 2 positions, cap floor(4.2) = 4.
    assert re.search(r'role="status">[^<]*cover 2 positions', html), html
    bad = client.get("/employer/quota?employees=200&order_value=-5").get_data(as_text=True)
    assert field_error(bad, "order_value")
    cents = client.get("/employer/quota?employees=200&order_value=5.555").get_data(as_text=True)
    assert field_error(cents, "order_value")
    for value in ("snan", "inf", "abc", "1e20"):
        odd = client.get(f"/employer/quota?employees=200&order_value={value}")
        assert odd.status_code == 200 and field_error(odd.get_data(as_text=True), "order_value")


@pytest.mark.parametrize(
    "query,field",
    [
        ("employees=-5", "employees"),
        ("employees=abc", "employees"),
        ("employees=", "employees"),
        ("employees=2000000", "employees"),
        ("employees=10&part_time_workers=5&part_time_fte=20", "part_time_fte"),
        ("employees=10&part_time_workers=5&part_time_fte=6", "part_time_fte"),
        ("employees=10&part_time_fte=2", "part_time_workers"),
        ("employees=10&part_time_workers=20&part_time_fte=2", "part_time_workers"),
        ("employees=10&part_time_hours=lots", "part_time_hours"),
        ("employees=10&part_time_hours=50/40", "part_time_hours"),
        ("employees=10&excluded_apprentices=11", "excluded_apprentices"),
        ("employees=10&excluded_apprentices=6&excluded_executives=6", "excluded_apprentices"),
        ("employees=10&excluded_executives=-1", "excluded_executives"),
        ("employees=10&disabled_employed=11", "disabled_employed"),
        ("employees=10&art18_employed=-1", "art18_employed"),
        ("employees=10&part_time_workers=2&part_time_fte=snan", "part_time_fte"),
        ("employees=10&part_time_workers=2&part_time_fte=nan", "part_time_fte"),
        ("employees=10&part_time_workers=2&part_time_fte=-Infinity", "part_time_fte"),
        ("employees=10&part_time_workers=2&part_time_fte=1.123456", "part_time_fte"),
        ("employees=10&part_time_hours=20/40%0A20/40&part_time_workers=3", "part_time_workers"),
    ],
)
def test_bad_figures_show_errors_next_to_the_fields(client, query, field):
    user, _org = employer_with_profile()
    login(client, user)
    response = client.get(f"/employer/quota?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field_error(html, field), f"no error for {field}"
    assert f'aria-describedby="{field}-' in html or f"{field}-error" in html
    assert 'id="quota-result-title"' not in html


def test_part_time_hours_in_the_form(client):
    user, _org = employer_with_profile()
    login(client, user)
    html = page(
        client, "/employer/quota?employees=16&part_time_hours=26/40%0A26/40%0A26/40%3B26,0/40"
    )
    # 12 full-time + round(4 × 0.65 = 2.60 → 3) = 15 → one worker.
    assert "art. 3, paragraph 1, letter c): one worker from 15 to 35 computable workers" in html
    assert "art. 18, paragraph 2: no obligation up to 50 computable workers" in html
    assert "art3_c1_c" not in html and "add up to 2.6 full-time equivalents, counted as 3" in html


def test_suspension_in_the_form(client):
    user, _org = employer_with_profile()
    login(client, user)
    html = client.get("/employer/quota?employees=60&suspended=y").get_data(as_text=True)
    assert "art. 3, comma 5: obblighi sospesi durante" in html and "Coop" not in html
    assert "art3_c5_suspended" not in html


# --- The dashboard widget ------------------------------------------------------------------


def test_widget_asks_to_complete_the_check(client):
    user, _org = employer_with_profile()
    login(client, user)
    html = page(client, "/employer")
    assert 'id="quota-widget-title"' in html and "Complete the quota check" in html
    assert "/employer/quota" in html


def test_widget_shows_the_estimate(client):
    user, _org = employer_with_profile(60)
    login(client, user)
    html = page(client, "/employer")
    assert re.search(
        r"With 60 employees the quota is: disabled workers \(art\. 3\): 4; "
        r"art\. 18 categories: 1\.",
        html,
    )


def test_widget_is_registered_once(app):
    from employers.quota_views import quota_widget

    assert app.extensions["ponte_employer_widgets"].count(quota_widget) == 1
