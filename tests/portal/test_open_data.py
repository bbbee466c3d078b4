"""Open data: the DCAT-AP_IT catalogue, and the OpenAPI document describing every route."""

from __future__ import annotations

import json

from tests.factories import make_org
from tests.portal.test_network_support import make_agreement


def test_catalogue_page_lists_datasets_with_the_licence(client, db_session):
    page = client.get("/open-data")
    assert page.status_code == 200
    assert "CC BY 4.0" in page.text and 'rel="license"' in page.text
    assert "/api/v1/good-practices" in page.text and "/indicators.csv" in page.text


def test_catalogue_json_ld_follows_dcat_ap_it(client, db_session):
    response = client.get("/open-data/catalog.jsonld")
    assert response.mimetype == "application/ld+json"
    doc = json.loads(response.data)
    assert doc["@context"]["dcatapit"] == "http://dati.gov.it/onto/dcatapit#"
    graph = doc["@graph"]
    [catalog] = [n for n in graph if "dcatapit:Catalog" in n.get("@type", [])]
    datasets = [n for n in graph if "dcatapit:Dataset" in n.get("@type", [])]
    assert {d["@id"] for d in datasets} == {d["@id"] for d in catalog["dcat:dataset"]}
    identifiers = {d["dct:identifier"] for d in datasets}
    assert {
        "ponte:ponte-good-practices",
        "ponte:ponte-events",
        "ponte:ponte-organisations",
    } <= identifiers
    for dataset in datasets:
        assert dataset["dct:publisher"] and dataset["dcat:theme"]["@id"].startswith("http")
        for dist in dataset["dcat:distribution"]:
            assert dist["dct:license"]["@id"] == "https://creativecommons.org/licenses/by/4.0/"
            assert dist["dcat:accessURL"]["@id"].startswith("http")


def test_agreements_registry_is_public_except_drafts(client, db_session):
    org = make_org("public_body")
    shown = make_agreement(org, title="Protocollo pubblico")
    draft = make_agreement(org, title="Protocollo in bozza", status="draft")
    page = client.get("/agreements")
    assert "Protocollo pubblico" in page.text and "Protocollo in bozza" not in page.text
    assert client.get(f"/agreements/{draft.id}").status_code == 404
    data = client.get(f"/api/v1/agreements?organisation={org.id}").json
    assert [a["id"] for a in data["items"]] == [shown.id]
    assert data["items"][0]["parties"][0]["organization_id"] == org.id
    assert client.get(f"/api/v1/agreements/{draft.id}").status_code == 404


def test_openapi_documents_the_network_routes(client, db_session):
    spec = client.get("/api/v1/openapi.json").json
    for path in (
        "/api/v1/good-practices",
        "/api/v1/events",
        "/api/v1/agreements",
        "/api/v1/good-practices/{practice_id}",
        "/api/v1/events/{event_id}",
    ):
        assert "get" in spec["paths"][path], path
    names = {p["name"] for p in spec["paths"]["/api/v1/events"]["get"]["parameters"]}
    assert {"updated_since", "page"} <= names
    names = {p["name"] for p in spec["paths"]["/api/v1/organizations"]["get"]["parameters"]}
    assert "updated_since" in names
    for schema in ("GoodPractice", "Event", "Agreement", "EventPage"):
        assert schema in spec["components"]["schemas"]
