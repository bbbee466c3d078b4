"""Rebuild ``brokerage/tenders/schema/`` from the official OCDS 1.1.5 schema files that two
Open Contracting Partnership packages ship on PyPI (in their source distributions' test
fixtures), so the project validates imports against the genuine schema without any network
access at run time.

    .venv/bin/python scripts/vendor_ocds_schema.py            # downloads the two sdists with pip
    .venv/bin/python scripts/vendor_ocds_schema.py --from DIR  # DIR holds the two .tar.gz files

What is taken from where (the sdists are pinned by version and SHA-256):

- ``ocdsextensionregistry-0.7.0.tar.gz``: ``tests/fixtures/release-schema.json`` and
  ``tests/fixtures/versioned-release-validation-schema.json`` (OCDS 1.1.5), copied byte for
  byte;
- ``ocdskit-1.7.0.tar.gz``: ``tests/fixtures/release-package-schema.json`` (1.1.5), copied
  byte for byte; ``tests/fixtures/b/record-package-schema-dereferenced.json`` (1.1.5), from
  which ``record-package-schema.json`` is rebuilt by replacing each inlined schema that has
  an ``id`` with a ``$ref`` to that id (the form the standard publishes);
  ``tests/fixtures/b/release-schema.json``, the 1.1.5 release schema that ocdskit patched
  with many registered extensions and where every added field names its extension in an
  ``extension`` key: the fields of the four extensions Ponte uses are extracted from it as
  JSON Merge Patches (``extensions/*.json``).

The schema is © Open Contracting Partnership, Apache License 2.0 (``LICENSE`` beside it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "brokerage" / "tenders" / "schema"

SDISTS = {
    "ocdsextensionregistry": (
        "0.7.0",
        "aae3b247712509f158e16f44747039cfd0a9ee847590aba4794933d6fa79341a",
    ),
    "ocdskit": ("1.7.0", "02a7d6182bbd7672cfd26cdbcae9726fbacdb917203d2bd5a726caa30040ff76"),
}
COPIES = {
    "release-schema.json": ("ocdsextensionregistry", "tests/fixtures/release-schema.json"),
    "versioned-release-validation-schema.json": (
        "ocdsextensionregistry",
        "tests/fixtures/versioned-release-validation-schema.json",
    ),
    "release-package-schema.json": ("ocdskit", "tests/fixtures/release-package-schema.json"),
}
RECORD_PACKAGE = ("ocdskit", "tests/fixtures/b/record-package-schema-dereferenced.json")
PATCHED_RELEASE = ("ocdskit", "tests/fixtures/b/release-schema.json")
#: Extension file name -> the repository names its fields are tagged with.
EXTENSIONS = {
    "lots": ("/ocds_lots_extension/",),
    "otherRequirements": ("/ocds_otherRequirements_extension/",),
    "contractTerms": ("/ocds_contractTerms_extension/",),
    "sustainability": ("/ocds_sustainability_extension/",),
    "location": ("/ocds_location_extension/",),
}
OFFICIAL_OWNERS = ("/open-contracting/", "/open-contracting-extensions/")
SCHEMA_BASE = "https://standard.open-contracting.org/schema/1__1__5/"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def download(folder: Path) -> None:
    for name, (version, _digest) in SDISTS.items():
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        subprocess.run(
            [*pip, "--no-binary", ":all:", f"{name}=={version}", "-d", str(folder)], check=True
        )


def member(folder: Path, package: str, path: str) -> bytes:
    version, digest = SDISTS[package]
    archive = folder / f"{package}-{version}.tar.gz"
    if sha256(archive) != digest:
        raise SystemExit(f"{archive.name}: SHA-256 differs from the pinned one")
    with tarfile.open(archive) as tar:
        handle = tar.extractfile(f"{package}-{version}/{path}")
        assert handle is not None
        return handle.read()


def official(url: Any, names: tuple[str, ...]) -> bool:
    return (
        isinstance(url, str)
        and any(owner in url for owner in OFFICIAL_OWNERS)
        and any(name in url for name in names)
    )


def prune(node: Any, names: tuple[str, ...]) -> Any:
    """``node`` with only the fields the extension added, without ``extension`` keys."""
    if isinstance(node, list):
        return [prune(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, value in node.items():
        if key == "extension":
            continue
        if key == "properties" and isinstance(value, dict):
            # A field no extension claims (``optionDetails`` on ``Lot``) is a third party's.
            value = {
                name: prune(prop, names)
                for name, prop in value.items()
                if isinstance(prop, dict) and official(prop.get("extension"), names)
            }
        else:
            value = prune(value, names)
        result[key] = value
    if isinstance(result.get("required"), list) and isinstance(result.get("properties"), dict):
        result["required"] = [r for r in result["required"] if r in result["properties"]]
    return result


def extract(node: dict, names: tuple[str, ...], path: tuple[str, ...], patch: dict) -> None:
    """Put every field the extension added (``extension`` names it) into ``patch`` at its path."""
    for container in ("definitions", "properties"):
        children = node.get(container)
        if not isinstance(children, dict):
            continue
        for key, child in children.items():
            if not isinstance(child, dict):
                continue
            where = (*path, container, key)
            if official(child.get("extension"), names):
                target = patch
                for step in where[:-1]:
                    target = target.setdefault(step, {})
                target[where[-1]] = prune(child, names)
            else:
                extract(child, names, where, patch)


def refs(node: Any) -> set[str]:
    found = set()
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            found.add(node["$ref"])
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def rebuild_record_package(dereferenced: dict[str, Any]) -> dict[str, Any]:
    def restore(node: Any, top: bool = False) -> Any:
        if isinstance(node, dict):
            if not top and isinstance(node.get("id"), str) and node["id"].startswith(SCHEMA_BASE):
                return {"$ref": node["id"]}
            return {key: restore(value) for key, value in node.items()}
        if isinstance(node, list):
            return [restore(value) for value in node]
        return node

    return restore(dereferenced, top=True)


def dump(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", type=Path, help="folder with the two sdists")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.source or Path(scratch)
        if args.source is None:
            download(folder)
        written: dict[str, str] = {}
        for name, (package, path) in COPIES.items():
            (TARGET / name).write_bytes(member(folder, package, path))
            written[name] = f"{package} {SDISTS[package][0]}: {path} (verbatim)"
        record = rebuild_record_package(json.loads(member(folder, *RECORD_PACKAGE)))
        (TARGET / "record-package-schema.json").write_text(dump(record), encoding="utf-8")
        written["record-package-schema.json"] = (
            f"ocdskit {SDISTS['ocdskit'][0]}: {RECORD_PACKAGE[1]} (inlined schemas back to $ref)"
        )
        core = json.loads((TARGET / "release-schema.json").read_text(encoding="utf-8"))
        patched = json.loads(member(folder, *PATCHED_RELEASE))
        (TARGET / "extensions").mkdir(exist_ok=True)
        schema = core
        for extension, names in EXTENSIONS.items():
            patch: dict[str, Any] = {}
            extract(patched, names, (), patch)
            schema = merge_patch(schema, patch)
            file = f"extensions/{extension}.json"
            (TARGET / file).write_text(dump(patch), encoding="utf-8")
            written[file] = f"ocdskit {SDISTS['ocdskit'][0]}: {PATCHED_RELEASE[1]} (extracted)"
        missing = {ref for ref in refs(schema) if ref.startswith("#/definitions/")} - {
            f"#/definitions/{name}" for name in schema["definitions"]
        }
        if missing:
            raise SystemExit(f"unresolved references after patching: {sorted(missing)}")
    for name, source in written.items():
        print(f"{sha256(TARGET / name)}  {name}  <- {source}")


if __name__ == "__main__":
    main()
