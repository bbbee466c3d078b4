"""The OCDS 1.1 schema Ponte reads and writes, and the problems it finds.

The official OCDS 1.1.5 files are vendored in ``brokerage/tenders/schema/`` (see its
README) with the official extensions Ponte uses (lots, otherRequirements, contractTerms,
sustainability, location) as JSON Merge Patches; Ponte's own social-clause extension is in
``extension/`` beside this module, as an OCDS extension is published (``extension.json``,
``release-schema.json``, codelists, documentation). Validation is jsonschema's Draft 4, as
OCDS uses, and never touches the network.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from jsonschema import Draft4Validator, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
#: Ponte's social-clause extension, as published at ``/ocds/extensions/social-clause/…``.
EXTENSION_DIR = Path(__file__).resolve().parent / "extension"
EXTENSION_VERSION = "v1.0"
SCHEMA_FILES = (
    "release-schema.json",
    "release-package-schema.json",
    "record-package-schema.json",
    "versioned-release-validation-schema.json",
)
#: Official extensions (vendored patches in ``schema/extensions``) and the URL of their
#: ``extension.json`` in the OCDS extension registry, as packages list them.
OFFICIAL_EXTENSIONS = {
    "lots": "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_lots_extension/master/extension.json",
    "otherRequirements": "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_otherRequirements_extension/master/extension.json",
    "contractTerms": "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_contractTerms_extension/master/extension.json",
    "sustainability": "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_sustainability_extension/master/extension.json",
    "location": "https://raw.githubusercontent.com/open-contracting-extensions/"
    "ocds_location_extension/master/extension.json",
}
#: Patches applied to the release schema, in this order (``ponte-socialClause`` is the
#: ``release-schema.json`` of Ponte's extension).
SCHEMA_PATCHES = (*OFFICIAL_EXTENSIONS, "ponte-socialClause")
MAX_PROBLEMS = 200


# --- Problems -----------------------------------------------------------------------------


@dataclass
class Problem:
    path: str  # JSON pointer ("" is the whole document)
    message: str

    def as_json(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class ImportRejected(Exception):
    """The package is not imported; ``problems`` says where and why."""

    def __init__(self, code: str, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path or '/'}: {p.message}" for p in problems[:5]))
        self.code = code
        self.problems = problems

    def fields(self) -> dict[str, str]:
        found: dict[str, list[str]] = defaultdict(list)
        for problem in self.problems:
            found[problem.path].append(problem.message)
        return {path: " ".join(messages) for path, messages in found.items()}


def pointer(*parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def jsonable(value: Any) -> Any:
    """For JSON columns and JSON text: exact decimals as numbers (ints when whole)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# --- Schemas ----------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch, as OCDS applies extensions to its schema."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _canonical(value: Any) -> Any:
    """A hashable form of a JSON value with JSON Schema's equality: 1, 1.0 and
    Decimal("1.00") are equal (Python hashes equal numbers alike), true is not 1."""
    if isinstance(value, dict):
        return ("object", frozenset((k, _canonical(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    if isinstance(value, bool):
        return ("boolean", value)
    return ("value", value)


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Any:
    """``uniqueItems`` in linear time. jsonschema compares unsortable items (objects) pair
    by pair: 1,000 releases took 1.9 s, 4,000 took 26 s."""
    if not unique or not validator.is_type(instance, "array"):
        return
    if all(type(item) is str for item in instance) and len(set(instance)) == len(instance):
        return  # the common case (tags, roles, codes)
    seen: dict[Any, int] = {}
    for index, item in enumerate(instance):
        first = seen.setdefault(_canonical(item), index)
        if first != index:
            yield ValidationError(f"items {first} and {index} are the same")
            return


#: Draft 4 with a linear-time ``uniqueItems`` (same meaning).
OcdsValidator = validators.extend(Draft4Validator, {"uniqueItems": _unique_items})


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def patch_file(name: str) -> Path:
    if name == "ponte-socialClause":
        return EXTENSION_DIR / "release-schema.json"
    return SCHEMA_DIR / "extensions" / f"{name}.json"


@lru_cache(maxsize=1)
def release_schema() -> dict[str, Any]:
    """The 1.1.5 release schema with every extension Ponte declares."""
    release = _load(SCHEMA_DIR / "release-schema.json")
    for name in SCHEMA_PATCHES:
        release = merge_patch(release, _load(patch_file(name)))
    return release


@lru_cache(maxsize=1)
def _validators() -> dict[str, Any]:
    """Draft 4 validators; every ``$ref`` resolves to a file shipped in ``schema/``: the
    registry holds them under their ``id``s and has no retrieval function, so an unknown
    reference fails instead of being fetched."""
    schemas = {name: _load(SCHEMA_DIR / name) for name in SCHEMA_FILES}
    schemas["release-schema.json"] = release_schema()
    # Every file says "$schema": draft-04, which would make jsonschema switch to its own
    # Draft4Validator at each $ref (losing the linear uniqueItems): Draft 4 is set here.
    schemas = {
        name: {k: v for k, v in schema.items() if k != "$schema"}
        for name, schema in schemas.items()
    }
    registry: Registry = Registry().with_resources(
        (schema["id"], Resource.from_contents(schema, default_specification=DRAFT4))
        for schema in schemas.values()
    )
    return {
        name.removesuffix("-schema.json"): OcdsValidator(schema, registry=registry)
        for name, schema in schemas.items()
    }


def schema(name: str = "release") -> dict[str, Any]:
    return _validators()[name].schema


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."


def schema_problems(
    document: Any, kind: str, base: str = "", limit: int = MAX_PROBLEMS
) -> list[Problem]:
    """Every schema violation, each at the JSON pointer of the offending value (``base``
    is put in front: where ``document`` sits in the file). Closed-codelist violations name
    the offending value, as the Data Review Tool does."""
    problems = []
    for error in _validators()[kind].iter_errors(document):
        path = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [
                p
                for p in error.validator_value
                if p not in error.instance and repr(p) in error.message
            ]
            if missing:
                path.append(missing[0])
            message = _("This field is required.")
        elif error.validator == "enum":
            message = _(
                "%(value)s is not in the closed codelist.",
                value=_short(json.dumps(error.instance, default=str, ensure_ascii=False)),
            )
        else:
            # jsonschema's own wording (English, naming the keyword) after a translated lead.
            message = _("Not valid: %(detail)s.", detail=_short(error.message))
        problems.append(Problem(base + pointer(*path), message))
        if len(problems) >= limit:
            break
    return sorted(problems, key=lambda p: p.path)


def errors(document: Any, kind: str) -> list[ValidationError]:
    return list(_validators()[kind].iter_errors(document))
