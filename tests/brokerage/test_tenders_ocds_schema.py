"""The OCDS schema imports are validated against: the official 1.1.5 files shipped in
``brokerage/tenders/schema/`` (checksums in its README), the official extension patches and
Ponte's ``socialClause``; references resolve locally, problems come with JSON pointers."""

from __future__ import annotations

import hashlib
import json
import re
import socket
from decimal import Decimal

import pytest

from brokerage.tenders import ocds
from tests.brokerage.test_tenders_factories import sample

BASE = "https://standard.open-contracting.org/schema/1__1__5/"


def load(name: str) -> dict:
    return json.loads((ocds.SCHEMA_DIR / name).read_text(encoding="utf-8"))


def release_package() -> dict:
    return json.loads(sample("release_package_extensions.json"), parse_float=Decimal)


def paths(document: dict, kind: str = "release-package") -> set[str]:
    return {p.path for p in ocds.schema_problems(document, kind)}


def test_the_shipped_files_are_the_official_ocds_1_1_5_schema():
    titles = {
        "release-schema.json": "Schema for an Open Contracting Release",
        "release-package-schema.json": "Schema for an Open Contracting Release Package",
        "record-package-schema.json": "Schema for an Open Contracting Record package",
        "versioned-release-validation-schema.json": (
            "Schema for a compiled, versioned Open Contracting Release."
        ),
    }
    for name, title in titles.items():
        schema = load(name)
        assert schema["id"] == BASE + name
        assert schema["title"] == title
        assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert load("release-package-schema.json")["properties"]["releases"]["items"] == {
        "$ref": BASE + "release-schema.json"
    }
    # Each file is the one whose SHA-256 the README records (nobody edited it by hand).
    readme = (ocds.SCHEMA_DIR / "README.md").read_text(encoding="utf-8")
    recorded = dict(
        (name, digest) for digest, name in re.findall(r"`([0-9a-f]{64})`\s*\|\s*`([^`]+)`", readme)
    )
    official = [p for p in ocds.SCHEMA_PATCHES if not p.startswith("ponte-")]
    files = [*ocds.SCHEMA_FILES, *(f"extensions/{p}.json" for p in official)]
    assert set(recorded) == set(files)
    for name in files:
        digest = hashlib.sha256((ocds.SCHEMA_DIR / name).read_bytes()).hexdigest()
        assert recorded[name] == digest, name
    licence = (ocds.SCHEMA_DIR / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0" in licence


def test_the_extensions_are_patched_into_the_release_schema(app):
    release = ocds.schema("release")
    tender = release["definitions"]["Tender"]["properties"]
    for field in ("lots", "otherRequirements", "contractTerms", "sustainability", "socialClause"):
        assert field in tender
    assert "reservedParticipation" in release["definitions"]["OtherRequirements"]["properties"]
    assert "reservedExecution" in release["definitions"]["ContractTerms"]["properties"]
    # The core file itself is left as published.
    assert "lots" not in load("release-schema.json")["definitions"]["Tender"]["properties"]


def test_validation_never_reaches_the_network(app, monkeypatch):
    ocds._validators.cache_clear()

    def refuse(*args, **kwargs):
        raise AssertionError("the schema tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    try:
        with app.test_request_context():
            for name in ("release_package_extensions.json", "release_package_plain.json"):
                document = json.loads(sample(name), parse_float=Decimal)
                assert ocds.schema_problems(document, "release-package") == []
            record = json.loads(sample("record_package.json"), parse_float=Decimal)
            assert ocds.schema_problems(record, "record-package") == []
    finally:
        ocds._validators.cache_clear()


def test_extension_fields_are_checked_with_json_pointers(app):
    package = release_package()
    tender = package["releases"][0]["tender"]
    tender["otherRequirements"] = {"reservedParticipation": "res-ws"}
    tender["contractTerms"] = {"reservedExecution": "yes"}
    tender["sustainability"] = [{"goal": "", "strategies": "reservedParticipation"}]
    tender["lots"][0]["value"] = {"amount": "1000", "currency": "EUR"}
    tender["socialClause"] = {"type": "reserved", "threshold": 130}
    with app.test_request_context():
        found = paths(package)
    assert {
        "/releases/0/tender/otherRequirements/reservedParticipation",
        "/releases/0/tender/contractTerms/reservedExecution",
        "/releases/0/tender/sustainability/0/goal",
        "/releases/0/tender/sustainability/0/strategies",
        "/releases/0/tender/lots/0/value/amount",
        "/releases/0/tender/socialClause/threshold",
    } <= found


def test_record_packages_are_checked_against_the_official_record_package_schema(app):
    record = json.loads(sample("record_package.json"), parse_float=Decimal)
    del record["publishedDate"]
    record["records"][0]["compiledRelease"]["tender"]["value"]["currency"] = "euro"
    record["records"][0]["releases"] = []
    with app.test_request_context():
        found = paths(record, "record-package")
    assert {
        "/publishedDate",
        "/records/0/compiledRelease/tender/value/currency",
        "/records/0/releases",
    } <= found


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda r: r.pop("initiationType"), "/releases/0/initiationType"),
        (lambda r: r.update(tag=["bid"]), "/releases/0/tag/0"),
        (lambda r: r["tender"].update(status="open"), "/releases/0/tender/status"),
        (lambda r: r["tender"]["items"][0].pop("id"), "/releases/0/tender/items/0/id"),
    ],
)
def test_core_fields_follow_the_official_codelists_and_requirements(app, change, where):
    package = release_package()
    change(package["releases"][0])
    with app.test_request_context():
        assert where in paths(package)


def test_unique_items_keeps_json_schema_equality():
    def unique(items):
        return not list(ocds._unique_items(ocds.OcdsValidator({}), True, items, {}))

    assert not unique([1, 1.0]) and not unique([Decimal("2.50"), Decimal("2.5")])
    assert unique([True, 1]) and unique([False, 0]) and unique([None, False])
    assert not unique([{"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": Decimal("1.0")}])
    assert unique([[1, 2], [2, 1]]) and unique(["1", 1])


def test_duplicate_releases_are_found_without_the_quadratic_comparison(app, monkeypatch):
    import jsonschema._keywords
    import jsonschema._utils

    def refuse(container):
        raise AssertionError("jsonschema's pairwise uniqueItems ran")

    monkeypatch.setattr(jsonschema._utils, "uniq", refuse)
    monkeypatch.setattr(jsonschema._keywords, "uniq", refuse, raising=False)
    package = release_package()
    package["releases"].append(json.loads(json.dumps(package["releases"][0], default=str)))
    package["releases"][-1] = package["releases"][0]
    with app.test_request_context():
        problems = ocds.schema_problems(package, "release-package")
    assert [p.path for p in problems] == ["/releases"]
    assert "0" in problems[0].message and str(len(package["releases"]) - 1) in problems[0].message


def test_ponte_social_clause_extension_is_a_complete_ocds_extension():
    """extension.json names every file; each closed codelist's codes are the field's enum;
    the documentation exists in English and Italian."""
    import csv

    folder = ocds.EXTENSION_DIR
    meta = json.loads((folder / "extension.json").read_text(encoding="utf-8"))
    assert set(meta["name"]) == set(meta["description"]) == {"en", "it"}
    assert meta["compatibility"] == ["1.1"] and meta["schemas"] == ["release-schema.json"]
    for doc in meta["documentationUrl"].values():
        assert (folder / doc).read_text(encoding="utf-8").startswith("# ")
    fields = json.loads((folder / "release-schema.json").read_text(encoding="utf-8"))[
        "definitions"
    ]["SocialClause"]["properties"]
    by_codelist = {f["codelist"]: f for f in fields.values() if "codelist" in f}
    assert sorted(by_codelist) == sorted(meta["codelists"])
    for name, spec in by_codelist.items():
        with (folder / "codelists" / name).open(encoding="utf-8") as fh:
            codes = [row["Code"] for row in csv.DictReader(fh)]
        enum = spec.get("enum") or spec["items"]["enum"]
        assert codes == [c for c in enum if c is not None], name
        assert spec["openCodelist"] is False
    # Ponte's tender fields are what the extension allows.
    from brokerage.tenders.models import BASES, CLAUSE_TYPES, MEASURES
    from brokerage.tenders.services import PREMIUM_CODES

    assert set(fields["type"]["enum"]) == set(CLAUSE_TYPES)
    assert set(fields["measure"]["enum"]) - {None} == set(MEASURES)
    assert set(fields["base"]["enum"]) - {None} == set(BASES)
    assert fields["premiumMeasures"]["items"]["enum"] == list(PREMIUM_CODES)
