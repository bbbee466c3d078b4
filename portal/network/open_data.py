"""The open data catalogue in the style of DCAT-AP_IT (the Italian profile of DCAT-AP,
AgID): the catalogue, its datasets and their distributions, licence CC BY 4.0 by default.

Datasets are listed by the endpoints that serve them, so a dataset whose package is not
installed is simply left out; domain packages may add theirs with :func:`register_dataset`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.db import utcnow

EXTENSION = "ponte_open_datasets"
LICENCE_URI = "https://creativecommons.org/licenses/by/4.0/"
LICENCE_NAME = "Creative Commons Attribuzione 4.0 Internazionale (CC BY 4.0)"
#: EU data themes (Publications Office authority table "data-theme").
THEME_BASE = "http://publications.europa.eu/resource/authority/data-theme/"
FREQUENCY_BASE = "http://publications.europa.eu/resource/authority/frequency/"
FORMAT_BASE = "http://publications.europa.eu/resource/authority/file-type/"


@dataclass
class Distribution:
    title: Any
    endpoint: str
    media_type: str
    format: str  # EU file-type code: JSON, CSV, XLSX, PDF, ICS, …
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Dataset:
    identifier: str
    title: Any
    description: Any
    theme: str  # EU data theme code: SOCI, ECON, GOVE, AGRI, …
    keywords: list[str]
    distributions: list[Distribution]
    frequency: str = "CONT"  # continuously updated
    conforms_to: str = ""


CATALOGUE = {
    "title": _l("Ponte open data"),
    "description": _l(
        "Public data of the work inclusion network: organisations, vacancies, ethical "
        "products, tenders with social clauses (OCDS), good practices, events, agreements and "
        "aggregated indicators."
    ),
}

CORE_DATASETS = [
    Dataset(
        "ponte-organisations",
        _l("Network directory"),
        _l(
            "Verified organisations of the network: companies, type-B social cooperatives, "
            "social farms, services and public bodies."
        ),
        "SOCI",
        ["organizzazioni", "cooperative sociali", "fattorie sociali", "servizi"],
        [Distribution(_l("JSON API"), "api.organizations", "application/json", "JSON")],
    ),
    Dataset(
        "ponte-vacancies",
        _l("Vacancies"),
        _l(
            "Public vacancies of the network's companies and social enterprises, also as "
            "schema.org JobPosting on each page."
        ),
        "ECON",
        ["offerte di lavoro", "inclusione lavorativa"],
        [Distribution(_l("JSON API"), "employers_api.vacancies", "application/json", "JSON")],
    ),
    Dataset(
        "ponte-products",
        _l("Ethical products"),
        _l("Products of social farms and type-B cooperatives with their ethical label."),
        "AGRI",
        ["agricoltura sociale", "prodotti etici"],
        [Distribution(_l("JSON API"), "ethical_products_api.products", "application/json", "JSON")],
    ),
    Dataset(
        "ponte-tenders",
        _l("Tenders with social clauses"),
        _l(
            "Public tenders with reserved participation or social clauses, with their "
            "awards, in the Open Contracting Data Standard (OCDS 1.1) as well."
        ),
        "GOVE",
        ["appalti", "clausole sociali", "OCDS"],
        [Distribution(_l("JSON API"), "tenders_api.tenders", "application/json", "JSON")],
        conforms_to="https://standard.open-contracting.org/1.1/",
    ),
    Dataset(
        "ponte-good-practices",
        _l("Good practices"),
        _l("Good practices of work inclusion shared by the members of the network."),
        "SOCI",
        ["buone pratiche", "inclusione lavorativa"],
        [Distribution(_l("JSON API"), "network_api.practices", "application/json", "JSON")],
    ),
    Dataset(
        "ponte-events",
        _l("Network events"),
        _l("Meetings with enterprises, trainings for operators and network tables."),
        "SOCI",
        ["eventi", "formazione", "tavoli di rete"],
        [
            Distribution(_l("JSON API"), "network_api.events", "application/json", "JSON"),
            Distribution(_l("iCalendar feed"), "network.network_feed", "text/calendar", "ICS"),
        ],
    ),
    Dataset(
        "ponte-agreements",
        _l("Network agreements"),
        _l(
            "Protocols, conventions (L. 381/1991 art. 5, D.Lgs. 276/2003 art. 14) and "
            "partnership agreements of the network."
        ),
        "GOVE",
        ["accordi", "convenzioni", "protocolli"],
        [Distribution(_l("JSON API"), "network_api.agreements", "application/json", "JSON")],
    ),
    Dataset(
        "ponte-network-indicators",
        _l("Network indicators"),
        _l(
            "Aggregated result indicators of the network by year; cells resting on fewer "
            "than 5 people are suppressed."
        ),
        "SOCI",
        ["indicatori", "rendicontazione"],
        [
            Distribution(_l("CSV"), "network.indicators_csv", "text/csv", "CSV"),
            Distribution(
                _l("Spreadsheet"),
                "network.indicators_xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "XLSX",
            ),
        ],
        frequency="ANNUAL",
    ),
]


def register_dataset(app: Flask, dataset: Dataset) -> None:
    app.extensions.setdefault(EXTENSION, []).append(dataset)


def datasets() -> list[Dataset]:
    """Datasets whose distributions the running application serves."""
    views = current_app.view_functions
    found = []
    for dataset in [*CORE_DATASETS, *current_app.extensions.get(EXTENSION, [])]:
        served = [d for d in dataset.distributions if d.endpoint in views]
        if served:
            found.append(Dataset(**{**dataset.__dict__, "distributions": served}))
    return found


def distribution_url(dist: Distribution) -> str:
    return url_for(dist.endpoint, _external=True, **dist.args)


def catalogue_json() -> str:
    """The catalogue as JSON-LD with the DCAT-AP_IT vocabulary."""
    base = url_for("network.open_data_page", _external=True)
    publisher = {
        "@id": base + "#publisher",
        "@type": ["dcatapit:Agent", "foaf:Agent"],
        "foaf:name": "Ponte",
        "dct:identifier": "ponte",
    }
    licence = {
        "@id": LICENCE_URI,
        "@type": ["dcatapit:LicenseDocument", "dct:LicenseDocument"],
        "foaf:name": LICENCE_NAME,
    }
    today = utcnow().date().isoformat()
    items = []
    for ds in datasets():
        items.append(
            {
                "@id": f"{base}#{ds.identifier}",
                "@type": ["dcatapit:Dataset", "dcat:Dataset"],
                "dct:identifier": f"ponte:{ds.identifier}",
                "dct:title": str(ds.title),
                "dct:description": str(ds.description),
                "dct:modified": {"@value": today, "@type": "xsd:date"},
                "dct:publisher": {"@id": publisher["@id"]},
                "dct:rightsHolder": {"@id": publisher["@id"]},
                "dcat:theme": {"@id": THEME_BASE + ds.theme},
                "dct:accrualPeriodicity": {"@id": FREQUENCY_BASE + ds.frequency},
                "dcat:keyword": ds.keywords,
                "dct:language": {
                    "@id": "http://publications.europa.eu/resource/authority/language/ITA"
                },
                **({"dct:conformsTo": {"@id": ds.conforms_to}} if ds.conforms_to else {}),
                "dcat:distribution": [
                    {
                        "@type": ["dcatapit:Distribution", "dcat:Distribution"],
                        "dct:title": str(dist.title),
                        "dcat:accessURL": {"@id": distribution_url(dist)},
                        "dcat:mediaType": dist.media_type,
                        "dct:format": {"@id": FORMAT_BASE + dist.format},
                        "dct:license": {"@id": LICENCE_URI},
                    }
                    for dist in ds.distributions
                ],
            }
        )
    doc = {
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "dcatapit": "http://dati.gov.it/onto/dcatapit#",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@graph": [
            {
                "@id": base,
                "@type": ["dcatapit:Catalog", "dcat:Catalog"],
                "dct:title": str(CATALOGUE["title"]),
                "dct:description": str(CATALOGUE["description"]),
                "dct:publisher": {"@id": publisher["@id"]},
                "dct:modified": {"@value": today, "@type": "xsd:date"},
                "dct:language": {
                    "@id": "http://publications.europa.eu/resource/authority/language/ITA"
                },
                "foaf:homepage": {"@id": url_for("portal.home", _external=True)},
                "dcat:dataset": [{"@id": d["@id"]} for d in items],
            },
            publisher,
            licence,
            *items,
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2)


def licence_name() -> str:
    return _("Creative Commons Attribution 4.0 (CC BY 4.0)")
