"""Errors the brokerage rules raise: ``CaseloadError`` for bad input (a message per form
field, nothing saved) and ``NotHeld``, the 404 of a candidate whose case the user's
services do not hold (existence is not revealed).
"""

from __future__ import annotations

from werkzeug.exceptions import NotFound


class CaseloadError(ValueError):
    """Bad input: ``fields`` maps a form field to its message. Nothing has been saved."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(str(v) for v in fields.values()))
        self.fields = fields


class NotHeld(NotFound):
    """The user's services do not hold the case: a 404 (existence is not revealed)."""
