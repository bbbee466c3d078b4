"""The JSON error answer of INTERFACES.md: ``4xx {"error": {"code", "message", "fields"}}``.

``json_error`` builds that response; ``ApiError`` is the exception an API view (or a rule it
calls, such as the ``If-Match`` check of portal.concurrency) raises to answer with it. Both
sit below everything that answers in JSON (portal.api, portal.errors, portal.concurrency,
portal.metrics), so that none of those needs another to say what an error looks like.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify


class ApiError(Exception):
    """Raised in API views; rendered as ``{"error": {code, message, fields}}``."""

    def __init__(
        self, status: int, code: str, message: str, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


def json_error(status: int, code: str, message: str, fields: dict[str, Any] | None = None):
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    return response
