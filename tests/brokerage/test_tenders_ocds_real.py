"""Real OCDS data from five public publishers (``ocds_real/``, see its README): every file
imports, the export gives back what was imported on the fields the standard defines, and
every export is valid against OCDS 1.1 merged with every extension it declares, checked by
an independent validator (jsonschema with schemas merged here with ``json_merge_patch``)."""

from __future__ import annotations

import copy
import io
import json
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import json_merge_patch
import ocdsmerge
import pytest
from jsonschema import Draft4Validator
from ocdskit.upgrade import upgrade_10_11
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from sqlalchemy import select

from brokerage.tenders import ocds
from brokerage.tenders.models import Tender, TenderRelease
from portal import db
from portal.accounts import issue_token
from tests.brokerage.test_tenders_factories import make_officer, make_tender, today
from tests.conftest import login

REAL = Path(__file__).resolve().parent / "ocds_real"
FILES = sorted(p.relative_to(REAL).as_posix() for p in REAL.rglob("*.json"))
SCHEMA = Path(ocds.SCHEMA_DIR)
#: The extension each declared URL names, vendored in the repository.
VENDORED = {
    **{
        url: SCHEMA / "extensions" / f"{name}.json"
        for name, url in ocds.OFFICIAL_EXTENSIONS.items()
    },
}


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def plain(value: Any) -> Any:
    """JSON equality, whatever the number types (Decimal, float, int)."""
    return json.loads(json.dumps(value, default=float))


@lru_cache(maxsize=8)
def validators(extensions: tuple[str, ...]) -> dict[str, Draft4Validator]:
    """The 1.1 release-, release-package and record-package schemas, the release schema
    merged with every declared extension (JSON Merge Patch, as OCDS applies them)."""
    release = load(SCHEMA / "release-schema.json")
    for url in extensions:
        if url.endswith("/ocds/extensions/social-clause/v1.0/extension.json"):
            patch = ocds.EXTENSION_DIR / "release-schema.json"
        else:
            assert url in VENDORED, f"{url}: not vendored"
            patch = VENDORED[url]
        release = json_merge_patch.merge(release, load(patch))
    schemas = [
        release,
        load(SCHEMA / "release-package-schema.json"),
        load(SCHEMA / "record-package-schema.json"),
    ]
    registry = Registry().with_resources(
        (s["id"], Resource.from_contents(s, default_specification=DRAFT4)) for s in schemas
    )
    return {
        name: Draft4Validator(s, registry=registry)
        for name, s in zip(("release", "release-package", "record-package"), schemas, strict=True)
    }


def assert_valid(package: dict[str, Any], kind: str) -> None:
    document = plain(package)
    checks = validators(tuple(document["extensions"]))
    found = [
        f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in checks[kind].iter_errors(document)
    ]
    assert found == [], found[:10]


def expected_processes(document: Any) -> dict[str, dict[str, Any]]:
    """What each process's compiled release should be, computed here with ocdskit and
    ocdsmerge from the file: ocid -> compiled release."""
    document = upgrade_10_11(copy.deepcopy(document), reorder=False)
    merger = ocdsmerge.Merger(schema=ocds.release_schema())
    if "records" in document:
        found = {}
        for record in document["records"]:
            embedded = [r for r in record.get("releases", []) if "url" not in r]
            found[record["ocid"]] = record.get("compiledRelease") or merger.create_compiled_release(
                embedded
            )
        return found
    releases = document.get("releases", [document])
    groups: dict[str, list[dict[str, Any]]] = {}
    for release in releases:
        groups.setdefault(release["ocid"], []).append(release)
    return {ocid: merger.create_compiled_release(group) for ocid, group in groups.items()}


def standard_fields(release: dict[str, Any]) -> dict[str, Any]:
    tender = release.get("tender") or {}

    def money(value: Any) -> Any:
        if not isinstance(value, dict):
            return None
        return {"amount": value.get("amount"), "currency": value.get("currency")}

    return plain(
        {
            "ocid": release.get("ocid"),
            "buyer": release.get("buyer"),
            "parties": sorted(
                (str(p.get("id")), sorted(p.get("roles") or []))
                for p in release.get("parties") or []
            ),
            "tender_value": money(tender.get("value")),
            "items": [
                {
                    "description": i.get("description"),
                    "classification": i.get("classification"),
                    "quantity": i.get("quantity"),
                }
                for i in tender.get("items") or []
            ],
            "awards": [
                {
                    "suppliers": sorted(str(s.get("id")) for s in a.get("suppliers") or []),
                    "value": money(a.get("value")),
                }
                for a in release.get("awards") or []
            ],
            "contracts": [
                {"value": money(c.get("value")), "status": c.get("status")}
                for c in release.get("contracts") or []
            ],
        }
    )


def import_file(client, name: str):
    officer, body = make_officer()
    raw = (REAL / name).read_bytes()
    response = client.post(
        "/api/v1/tenders/import",
        data=raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {issue_token(officer)}"},
    )
    assert response.status_code in (200, 201), response.json
    return response.json, load(REAL / name)


@pytest.mark.parametrize("name", FILES)
def test_every_real_package_imports_and_round_trips(app, client, db_session, name):
    report, document = import_file(client, name)
    expected = expected_processes(document)
    assert {t["ocid"] for t in report["created"]} == set(expected)
    with app.test_request_context():
        for ocid, compiled in expected.items():
            tender = db.session.execute(select(Tender).where(Tender.ocid == ocid)).scalar_one()
            exported = ocds.record(tender)["compiledRelease"]
            # Ponte publishes valid data: values the schema rejects (import warnings) are
            # repaired the documented way; everything else comes back as published.
            want = ocds.repair(copy.deepcopy(plain(compiled)))
            assert standard_fields(exported) == standard_fields(want), ocid
            # Nothing the standard or a publisher defines is lost, modelled or not.
            missing = set(plain(want)) - set(plain(exported))
            assert not missing, (missing, [ocds.schema_problems(compiled, "release")[:5]])
            for package, kind in (
                (ocds.release_package([tender], "https://ponte.test/p.json"), "release-package"),
                (ocds.record_package([tender], "https://ponte.test/r.json"), "record-package"),
            ):
                assert_valid(package, kind)


def test_a_1_0_package_upgraded_by_ponte_equals_ocdskits_upgrade(app, client, db_session):
    upgraded = 0
    for name in FILES:
        document = load(REAL / name)
        if "version" in document or "records" in document:
            continue
        if "releases" not in document:
            continue
        db.session.rollback()
        import_file(client, name)
        reference = upgrade_10_11(copy.deepcopy(document), reorder=False)
        for release in reference["releases"]:
            stored = db.session.execute(
                select(TenderRelease)
                .join(Tender)
                .where(Tender.ocid == release["ocid"], TenderRelease.release_id == release["id"])
            ).scalar_one()
            assert plain(stored.data) == plain(release), name
            upgraded += 1
    assert upgraded >= 30


def test_reimport_is_idempotent_and_a_newer_release_updates_the_compiled_record(
    app, client, db_session
):
    name = next(n for n in FILES if n.startswith("ukraine/") and "/releases/" in n)
    report, document = import_file(client, name)
    ocid = report["created"][0]["ocid"]
    tender = db.session.execute(select(Tender).where(Tender.ocid == ocid)).scalar_one()
    body = tender.buyer
    raw = (REAL / name).read_bytes()
    again = ocds.import_stream(io.BytesIO(raw), body, None, today())
    assert (
        again.created == [] and again.updated == [] and [t.ocid for t in again.unchanged] == [ocid]
    )
    assert len(tender.releases) == 1
    newer = json.loads(raw)
    release = newer["releases"][0] if "releases" in newer else newer
    release = copy.deepcopy(release)
    release["id"] = release["id"] + "-update"
    release["date"] = "2030-01-01T00:00:00Z"
    release["tag"] = ["tenderUpdate"]
    release["tender"] = {"id": release["tender"]["id"], "title": "Titolo aggiornato dal publisher"}
    for key in ("awards", "contracts", "bids"):
        release.pop(key, None)
    update = ocds.import_stream(
        io.BytesIO(json.dumps({"version": "1.1", "releases": [release]}).encode()),
        body,
        None,
        today(),
    )
    assert [t.ocid for t in update.updated] == [ocid]
    tender = db.session.execute(select(Tender).where(Tender.ocid == ocid)).scalar_one()
    assert [r.release_id for r in tender.releases][-1] == release["id"]
    assert len(tender.releases) == 2
    assert tender.title == "Titolo aggiornato dal publisher"
    compiled = tender.source_release
    assert compiled["tender"]["title"] == "Titolo aggiornato dal publisher"
    assert compiled["date"] == "2030-01-01T00:00:00Z"
    # Merged by ocdsmerge: the earlier release's items are still there.
    first = upgrade_10_11(load(REAL / name), reorder=False)
    first = first["releases"][0] if "releases" in first else first
    assert len(compiled["tender"]["items"]) == len(first["tender"]["items"])


def test_json_lines_of_releases_import_as_one_stream(app, client, db_session):
    names = [n for n in FILES if n.startswith("uk-contracts-finder/") and "/releases/" in n][:6]
    lines = []
    for name in names:
        document = json.loads((REAL / name).read_text(encoding="utf-8"))
        for release in document.get("releases", [document]):
            lines.append(json.dumps(release))
    officer, body = make_officer()
    report = ocds.import_stream(io.BytesIO("\n".join(lines).encode()), body, None, today())
    assert report.releases == len(lines)
    assert len(report.created) == len({json.loads(line)["ocid"] for line in lines})


def test_items_without_cpv_import_and_are_marked(app, client, db_session):
    # Jalisco classifies items with its own scheme: kept as published, no CPV.
    name = "mexico/jalisco/sample/records/ocds-xs1qbl-SFIN-03-0001-00-2017.json"
    report, _document = import_file(client, name)
    assert any(
        "CPV" in w["message"] and w["path"].endswith("/tender") for w in report["warnings"]
    ), report["warnings"]
    tender = db.session.execute(
        select(Tender).where(Tender.ocid == report["created"][0]["ocid"])
    ).scalar_one()
    assert tender.missing_cpv and tender.cpv_codes == []
    assert tender.source_release["tender"]["items"][0]["classification"]["scheme"] == "FAM-GOB-JAL"
    login(client, make_officer(tender.buyer)[0])
    page = client.get(f"/tenders/{tender.id}").get_data(as_text=True)
    # The officer is told on the tender's page (Italian or English, the session's language).
    assert "pagina di modifica della gara" in page or "tender's edit page" in page


def test_ponte_exports_and_bulk_endpoints_are_valid(app, client, db_session):
    officer, body = make_officer()
    made = make_tender(body, officer, codes=("90911200",))
    imported = set()
    for name in (
        "mexico/jalisco/sample/records/ocds-xs1qbl-SFIN-03-0001-00-2017.json",  # linked
        next(n for n in FILES if n.startswith("ukraine/") and "/records/" in n),
        next(n for n in FILES if n.startswith("moldova/") and "/releases/" in n),  # invalid
    ):
        with app.test_request_context():
            found = ocds.import_stream(io.BytesIO((REAL / name).read_bytes()), body, None, today())
        imported |= {t.ocid for t in found.created if t.status != "draft"}
    db.session.commit()
    assert imported
    response = client.get("/api/v1/ocds/releases?per_page=10")
    assert response.status_code == 200
    package = json.loads(response.data)
    for key in ("uri", "publishedDate", "publisher", "license", "publicationPolicy"):
        assert package[key]
    assert {made.ocid, *imported} <= {r["ocid"] for r in package["releases"]}
    assert_valid(package, "release-package")
    records = json.loads(client.get("/api/v1/ocds/records").data)
    assert_valid(records, "record-package")
    assert {made.ocid, *imported} == {r["ocid"] for r in records["records"]}
    first = client.get("/api/v1/ocds/records?per_page=1")
    assert 'rel="next"' in first.headers["Link"]
    assert len(json.loads(first.data)["records"]) == 1
    assert records["records"][0]["compiledRelease"]["tender"]["socialClause"]["type"]
    lines = client.get("/api/v1/ocds/bulk.jsonl").get_data(as_text=True).splitlines()
    assert lines and all(json.loads(line)["ocid"] for line in lines)
    assert client.get("/api/v1/ocds/releases?per_page=0").status_code == 400
    # Ponte's extension is served where the packages say.
    url = package["extensions"][-1]
    extension = client.get(url.replace("http://ponte.test", ""))
    assert extension.status_code == 200
    meta = extension.json
    assert meta["schemas"] == ["release-schema.json"] and "1.1" in meta["compatibility"]
    for name in meta["codelists"]:
        assert (
            client.get(
                url.replace("extension.json", f"codelists/{name}").replace("http://ponte.test", "")
            ).status_code
            == 200
        )
    for doc in meta["documentationUrl"].values():
        assert client.get(doc.replace("http://ponte.test", "")).status_code == 200
    assert client.get("/ocds/extensions/social-clause/v1.0/../../secret").status_code == 404
    policy = client.get(package["publicationPolicy"].replace("http://ponte.test", ""))
    assert policy.status_code == 200 and b"publication policy" in policy.data
    italian = client.get("/ocds/publication-policy.it.md")
    assert b"politica di pubblicazione" in italian.data


def test_an_officers_additions_are_exported_in_ponte_release_and_stay_valid(
    app, client, db_session
):
    """Officer adds a CPV code and a social clause to an imported process: the export keeps
    the publisher's data and adds Ponte's in one release of its own."""
    from brokerage.tenders import services
    from brokerage.tenders.models import SOCIAL_CLAUSE

    # A release package (embedded releases) whose items have no CPV code.
    name = "mexico/jalisco/sample/releases/" + (
        "ocds-xs1qbl-SFIN-03-0001-00-2017-20180118T043951992Z-tender.json"
    )
    report, document = import_file(client, name)
    ocid = report["created"][0]["ocid"]
    tender = db.session.execute(select(Tender).where(Tender.ocid == ocid)).scalar_one()
    before = copy.deepcopy(tender.source_release)
    with app.test_request_context():
        data = ocds.extract(tender.source_release, "", []).data
        data.cpv_codes = ["90911200"]
        data.clause_type, data.clause_measure = SOCIAL_CLAUSE, "share"
        data.clause_target, data.clause_base = Decimal(30), "contract_workforce"
        services.update_tender(tender, None, data)
        db.session.commit()
        assert not tender.missing_cpv
        record = ocds.record(tender)
        compiled = record["compiledRelease"]
        items = compiled["tender"]["items"]
        assert items[-1]["classification"] == {
            "scheme": "CPV",
            "id": "90911200",
            "description": items[-1]["classification"]["description"],
        }
        assert len(items) == len(before["tender"]["items"]) + 1
        assert compiled["tender"]["socialClause"]["type"] == SOCIAL_CLAUSE
        ponte = record["releases"][-1]
        assert ponte["id"].startswith("ponte-") and ponte["tag"] == ["tenderUpdate"]
        # The publisher's own releases and fields are untouched.
        assert [plain(r) for r in record["releases"][:-1]] == [
            plain(ocds.repair(copy.deepcopy(r.data))) for r in tender.releases
        ]
        want = ocds.repair(copy.deepcopy(plain(before)))
        assert standard_fields(
            {**compiled, "tender": {**compiled["tender"], "items": items[:-1]}}
        ) == (standard_fields(want))
        assert tender.source_release == before  # the imported copy is not rewritten
        assert_valid(ocds.record_package([tender], "https://ponte.test/r.json"), "record-package")
        assert_valid(ocds.release_package([tender], "https://ponte.test/p.json"), "release-package")


def test_the_command_line_imports_json_lines_with_progress(app, db_session, tmp_path):
    """``flask tenders import FILE --body NAME``: one release per line, 1.0 and 1.1 mixed."""
    officer, body = make_officer()
    db.session.commit()
    lines = []
    for name in [n for n in FILES if n.startswith("ukraine/") and "/releases/" in n][:3]:
        release = json.loads((REAL / name).read_text(encoding="utf-8"))
        lines.append(json.dumps(release))  # single 1.0 releases (no parties)
    path = tmp_path / "bulk.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(
        args=["tenders", "import", str(path), "--body", body.name]
    )
    assert result.exit_code == 0, result.output
    assert "3 releases and 0 records read (3 upgraded from OCDS 1.0): 3 created" in result.output
    again = app.test_cli_runner().invoke(
        args=["tenders", "import", str(path), "--body", body.name, "--quiet"]
    )
    assert "0 created, 0 updated, 3 unchanged" in again.output
    path.write_text('{"releases": [{"tag": ["tender"]}]}', encoding="utf-8")
    refused = app.test_cli_runner().invoke(
        args=["tenders", "import", str(path), "--body", body.name, "--quiet"]
    )
    assert refused.exit_code == 1 and "/releases/0/ocid" in refused.output


def test_the_officer_adds_a_cpv_code_on_the_edit_page(app, client, db_session):
    name = "mexico/jalisco/sample/records/ocds-xs1qbl-SFIN-03-0001-00-2017.json"
    officer, body = make_officer()
    raw = (REAL / name).read_bytes()
    with app.test_request_context():
        report = ocds.import_stream(io.BytesIO(raw), body, officer, today())
    db.session.commit()
    tender = db.session.get(Tender, report.created[0].id)
    assert tender.missing_cpv
    login(client, officer)
    form = client.get(f"/tenders/{tender.id}/edit")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert 'name="cpv_codes"' in page
    data = {
        "title": tender.title,
        "description": tender.description,
        "cpv_codes": "90911200",
        "main_category": tender.main_category,
        "value_amount": f"{tender.value_amount:.2f}" if tender.value_amount is not None else "",
        "value_currency": tender.value_currency,
        "comune": "",
        "clause_type": "none",
        "threshold": "",
        "reserved_participation": "none",
        "clause_measure": "",
        "clause_base": "",
    }
    response = client.post(f"/tenders/{tender.id}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    tender = db.session.get(Tender, tender.id)
    assert tender.cpv_codes == ["90911200"] and not tender.missing_cpv
    # The publisher's items are untouched; the export adds Ponte's CPV item.
    with app.test_request_context():
        items = ocds.record(tender)["compiledRelease"]["tender"]["items"]
    assert items[-1]["id"] == "ponte-cpv-90911200"
    assert [i["id"] for i in items[:-1]] == [
        i["id"] for i in tender.source_release["tender"]["items"]
    ]


def test_the_import_page_streams_its_progress_for_the_pages_script(app, client, db_session):
    """The import page's script asks for JSON lines: the position after each batch, then
    the page with the report (the same page a plain form post gets)."""
    officer, _body = make_officer()
    login(client, officer)
    lines = []
    for name in [n for n in FILES if n.startswith("uk-contracts-finder/") and "/releases/" in n]:
        document = json.loads((REAL / name).read_text(encoding="utf-8"))
        lines.extend(json.dumps(r) for r in document.get("releases", [document]))
    raw = ("\n".join(lines * 12) + "\n").encode()  # > 200 releases: several batches
    response = client.post(
        "/tenders/import",
        data={"package": (io.BytesIO(raw), "bulk.jsonl")},
        content_type="multipart/form-data",
        headers={"Accept": "application/x-ndjson"},
    )
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    steps = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    progress = [s for s in steps if "done" in s]
    assert len(progress) >= 2 and all(s["total"] == len(raw) for s in progress)
    assert [s["done"] for s in progress] == sorted(s["done"] for s in progress)
    assert progress[-1]["done"] == len(raw)
    page = steps[-1]["html"]
    assert 'id="report-title"' in page and 'id="problems-title"' not in page
    tenders = db.session.execute(select(Tender)).scalars().all()
    assert tenders and all(f"/tenders/{t.id}" in page for t in tenders)


def test_releases_of_one_process_far_apart_in_a_stream_merge_into_one(app, db_session):
    officer, body = make_officer()

    def release(ocid: str, rid: str, date: str, **extra: Any) -> str:
        return json.dumps(
            {
                "ocid": ocid,
                "id": rid,
                "date": date,
                "tag": ["tender"],
                "initiationType": "tender",
                "parties": [],
                **extra,
            }
        )

    lines = [
        release("ocds-far-0", "a", "2026-01-01T00:00:00Z", tender={"id": "T", "title": "Primo"})
    ]
    lines += [release(f"ocds-far-{n}", "x", "2026-01-01T00:00:00Z") for n in range(1, 260)]
    lines.append(
        release(
            "ocds-far-0",
            "b",
            "2026-02-01T00:00:00Z",
            tender={"id": "T", "title": "Secondo", "value": {"amount": 10, "currency": "EUR"}},
        )
    )
    with app.test_request_context():
        report = ocds.import_stream(io.BytesIO("\n".join(lines).encode()), body, None, today())
    assert len(report.created) == 260 and report.updated == []
    tender = db.session.execute(select(Tender).where(Tender.ocid == "ocds-far-0")).scalar_one()
    assert [r.release_id for r in tender.releases] == ["a", "b"]
    assert tender.title == "Secondo" and tender.value_amount == Decimal(10)
    assert tender.source_release["tender"]["value"] == {"amount": 10, "currency": "EUR"}
