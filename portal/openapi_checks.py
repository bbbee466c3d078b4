"""Requests checked against the OpenAPI document before a view runs.

The document is the contract (INTERFACES.md): a request it forbids is refused with a 400
naming every offending field, so that what the document promises and what the API does
cannot drift apart. Query parameters are checked by the rules their schemas declare
(type, bounds, enum, pattern, format); JSON bodies by ``jsonschema`` against the
operation's request schema, with OpenAPI 3.0's ``nullable`` read as JSON Schema's
``null`` type. What the document cannot express (an ISTAT code that exists, a loan
within the lender's policy) stays with the views, which answer 422.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from jsonschema import Draft4Validator, FormatChecker

#: RFC 3339 date-time (what OpenAPI's ``format: date-time`` means), or a full date.
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_INTEGER = re.compile(r"-?\d{1,19}", re.ASCII)
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", re.ASCII)

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.fullmatch(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00").replace(" ", "T"))
    return True


@FORMATS.checks("date", raises=ValueError)
def is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE.fullmatch(value):
        return False
    date.fromisoformat(value)
    return True


def query_errors(parameters: Iterable[Mapping[str, Any]], args: Mapping[str, str]) -> dict:
    """``{name: problem}`` for each declared query parameter whose value breaks its schema."""
    errors: dict[str, str] = {}
    for parameter in parameters:
        if parameter.get("in") != "query" or parameter["name"] not in args:
            continue
        problem = value_problem(parameter.get("schema") or {}, args[parameter["name"]])
        if problem:
            errors[parameter["name"]] = problem
    return errors


def value_problem(schema: Mapping[str, Any], raw: str) -> str | None:
    """What is wrong with one query value, read by its schema; None when it conforms."""
    if "anyOf" in schema:
        problems = [value_problem(option, raw) for option in schema["anyOf"]]
        return None if None in problems else problems[0]
    kind = schema.get("type", "string")
    if kind == "integer":
        if not _INTEGER.fullmatch(raw):
            return "must be an integer"
        return _bounds_problem(schema, int(raw))
    if kind == "number":
        if len(raw) > 64 or not _NUMBER.fullmatch(raw) or not math.isfinite(float(raw)):
            return "must be a number"
        return _bounds_problem(schema, float(raw))
    if kind == "boolean":
        return None if raw in ("true", "false") else "must be true or false"
    if "enum" in schema and raw not in schema["enum"]:
        return "must be one of: " + ", ".join(map(str, schema["enum"]))
    if "maxLength" in schema and len(raw) > schema["maxLength"]:
        return f"at most {schema['maxLength']} characters"
    if "minLength" in schema and len(raw) < schema["minLength"]:
        return f"at least {schema['minLength']} characters"
    if "pattern" in schema and not re.search(schema["pattern"], raw):
        return "not in the expected form"
    checker = {"date-time": is_date_time, "date": is_date}.get(schema.get("format", ""))
    if checker is not None:
        try:
            valid = checker(raw)
        except ValueError:
            valid = False
        if not valid:
            return "must be an ISO 8601 " + schema["format"]
    return None


def _bounds_problem(schema: Mapping[str, Any], number: float) -> str | None:
    if "minimum" in schema and number < schema["minimum"]:
        return f"must be at least {schema['minimum']}"
    if "maximum" in schema and number > schema["maximum"]:
        return f"must be at most {schema['maximum']}"
    return None


def json_schema(openapi_schema: Any) -> Any:
    """An OpenAPI 3.0 schema object as plain JSON Schema (``nullable`` → a ``null`` type)."""
    if isinstance(openapi_schema, list):
        return [json_schema(item) for item in openapi_schema]
    if not isinstance(openapi_schema, dict):
        return openapi_schema
    converted = {
        key: json_schema(value)
        for key, value in openapi_schema.items()
        if key not in ("nullable", "example", "description")
    }
    if openapi_schema.get("nullable"):
        kind = converted.get("type")
        if isinstance(kind, str):
            converted["type"] = [kind, "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
        if "$ref" in converted or "allOf" in converted:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def body_validator(schema: Mapping[str, Any], components: Mapping[str, Any]) -> Draft4Validator:
    """A validator of one request body; ``#/components/...`` references resolve in
    ``components`` (the document's ``components`` object)."""
    # The references point into the document: the components ride along in the root
    # schema (Draft 4 ignores a keyword it does not know).
    root = {**json_schema(dict(schema)), "components": json_schema(dict(components))}
    return Draft4Validator(root, format_checker=FORMATS)


def body_errors(validator: Draft4Validator, data: Any) -> dict[str, str]:
    """``{path: problem}`` for each place where the body breaks its schema: ``principal``,
    ``loans.0.principal`` deep inside it, ``body`` for the body as a whole."""
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path]):
        error = _deepest(error)
        parts = [str(part) for part in error.absolute_path]
        missing = _REQUIRED.match(error.message) if error.validator == "required" else None
        if missing:
            parts.append(missing.group(1))
        errors.setdefault(".".join(parts) or "body", _message(error))
    return errors


def _deepest(error: Any) -> Any:
    """Of an anyOf/oneOf failure, the option's error deepest in the body: it names the
    field that is wrong (``excluded.apprentices``, not ``excluded``)."""
    while error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return error


_REQUIRED = re.compile(r"^'(.+)' is a required property$")


def _message(error: Any) -> str:
    messages = {
        "type": "has the wrong type",
        "required": "a required field is missing",
        "additionalProperties": "has a field the API does not know",
        "enum": "is not one of the allowed values",
        "format": "is not in the expected format",
        "pattern": "is not in the expected form",
    }
    if error.validator == "required":
        return "is required"
    return messages.get(error.validator, error.message)
