"""Bounds of what people type, from one place: a text's limit is its column's length (or a
domain rule for unbounded ``Text`` columns), and the same limits serve the form (a field
error, a character counter near the limit; the browser never cuts the text silently), the
service rules and the JSON API (422 with the field's name)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.validators import Length

#: Long texts (descriptions) stored in ``Text`` columns: the limit is a domain rule.
LONG_TEXT_MAX = 8000


def column_length(attribute: Any) -> int:
    """The length of a ``String(n)`` column: ``column_length(Vacancy.title)`` → 200."""
    length = attribute.property.columns[0].type.length
    if length is None:
        raise ValueError(f"{attribute} has no length: give its limit as a domain rule")
    return int(length)


def length(maximum: int, minimum: int = -1) -> Length:
    """The form validator for a text of at most ``maximum`` characters."""
    return Length(
        min=minimum,
        max=maximum,
        message=_l("Use at most %(max)d characters: this text has %(length)d."),
    )


def too_long(value: str | None, maximum: int) -> str | None:
    """The error for the services and the API (None when the text fits)."""
    if value is not None and len(value) > maximum:
        return _(
            "Use at most %(max)d characters: this text has %(length)d.",
            max=maximum,
            length=len(value),
        )
    return None
