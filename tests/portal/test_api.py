from __future__ import annotations

from portal.accounts import issue_token
from tests.factories import make_org, make_user


def test_organizations_lists_only_verified_with_ids_and_urls(client, db_session):
    visible = make_org("cooperative_b", name="Coop Visibile")
    make_org("cooperative_b", name="Coop Nascosta", verified=False)
    data = client.get("/api/v1/organizations?kind=cooperative_b&q=coop").json
    names = [o["name"] for o in data["items"]]
    assert "Coop Visibile" in names and "Coop Nascosta" not in names
    item = next(o for o in data["items"] if o["id"] == visible.id)
    assert item["url"].startswith("http") and f"/directory/{visible.id}" in item["url"]
    assert item["province"] == "PN" and item["region"] == "Friuli-Venezia Giulia"


def test_organization_detail_and_404(client, db_session):
    org = make_org("social_farm")
    assert client.get(f"/api/v1/organizations/{org.id}").json["id"] == org.id
    hidden = make_org("company", verified=False)
    response = client.get(f"/api/v1/organizations/{hidden.id}")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_bad_parameters_give_json_errors(client, db_session):
    response = client.get("/api/v1/organizations?kind=spaceship")
    assert response.status_code == 400
    assert list(response.json["error"]["fields"]) == ["kind"]
    assert "company" in response.json["error"]["fields"]["kind"]  # what it may be
    assert client.get("/api/v1/organizations?page=-3").status_code == 400
    # Empty, out-of-range or malformed values the document forbids: a 400 naming them.
    for query, field in [
        ("updated_since=", "updated_since"),
        ("updated_since=2026-01-31T08", "updated_since"),
        ("page=100000", "page"),
        ("page=", "page"),
    ]:
        bad = client.get(f"/api/v1/organizations?{query}")
        assert bad.status_code == 400 and field in bad.json["error"]["fields"], query
    assert client.get("/api/v1/nothing-here").json["error"]["code"] == "not_found"


def test_pagination(client, db_session):
    for n in range(25):
        make_org("company", name=f"Impresa Paginata {n:02d}")
    first = client.get("/api/v1/organizations?q=paginata").json
    second = client.get("/api/v1/organizations?q=paginata&page=2").json
    assert first["total"] == 25 and len(first["items"]) == 20 and len(second["items"]) == 5


def test_municipality_suggestions(client, db_session):
    items = client.get("/api/v1/municipalities?q=porden").json["items"]
    assert items[0]["label"] == "Pordenone (PN)" and items[0]["istat_code"] == "093033"


def test_openapi_describes_every_api_route(app, client, db_session):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {rule.rule} undocumented"


def test_token_authenticates_api_calls(client, db_session):
    user = make_user("broker")
    token = issue_token(user)
    response = client.get("/api/v1/organizations", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_a_nul_character_is_bad_input_not_a_server_error(client, db_session):
    """PostgreSQL refuses NUL in text (a DataError): it is a 400 everywhere, on both
    databases, in the query string, a JSON body and a form."""
    api = client.get("/api/v1/municipalities?q=Pord%00")
    assert api.status_code == 400 and api.json["error"]["code"] == "bad_request"
    assert client.get("/api/v1/vacancies?comune=%00").status_code == 400
    assert client.get("/directory?q=%00").status_code == 400
    body = client.post(
        "/api/v1/employers/quota",
        data='{"employees": 20, "note": "a\\u0000b"}',
        content_type="application/json",
    )
    assert body.status_code == 400 and body.json["error"]["code"] == "bad_request"
    assert client.post("/login", data={"email": "a\x00@b.it", "password": "x"}).status_code == 400
    assert client.get("/api/v1/municipalities?q=Pord").status_code == 200
