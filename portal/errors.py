"""Error pages in both languages for people, JSON errors for the API (INTERFACES.md).

The handlers decide per request which of the two to answer (``wants_json``); the JSON
body itself is portal.json_errors (``json_error`` is importable from here too).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, current_app, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from portal import db
from portal.concurrency import STALE_MESSAGE
from portal.json_errors import json_error
from portal.permissions import is_api_endpoint
from portal.uploads import MB, file_limit


def wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or is_api_endpoint(request.endpoint)
        or (request.path == "/stripe/webhook")
    )


ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal_error",
}


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("You need to sign in to do this."),
        403: _("You do not have permission to see this page."),
        404: _("The page you asked for does not exist."),
        405: _("This method is not allowed here."),
        413: _("The file or request is too large."),
        429: _("Too many requests: please wait a moment."),
        500: _("Something went wrong on our side. We have been told and will fix it."),
    }


def _really_not_allowed(error: HTTPException) -> HTTPException:
    """Werkzeug answers 405 when a path's shape fits a rule of another method even if its
    value does not (``PATCH /api/v1/vacancies/99999999999``: the id is out of range for
    every rule). Such a path names nothing: 404."""
    if not isinstance(error, MethodNotAllowed) or not error.valid_methods:
        return error
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in error.valid_methods:
        try:
            adapter.match(method=method)
        except NotFound:
            continue
        except HTTPException:
            return error
        return error
    return NotFound()


def handle_http_error(error: HTTPException):
    error = _really_not_allowed(error)
    status = error.code or 500
    message = _messages().get(status, error.description or "")
    # What the exception says in headers stays: Retry-After on a 429, Allow on a 405.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    context: dict[str, Any] = {}
    if status == 413:
        limit = file_limit()
        context["limit_mb"] = format_decimal(round(limit / MB, 1))
        message = _(
            "The file or request is too large: at most %(mb)s MB here.", mb=context["limit_mb"]
        )
    if wants_json():
        response = json_error(status, ERROR_CODES.get(status, "error"), message)
        response.headers.extend(headers)
        return response
    template = f"errors/{status}.html" if status in (403, 404, 413, 500) else "errors/generic.html"
    return render_template(template, status=status, message=message, **context), status, headers


def handle_unexpected(error: Exception):
    db.session.rollback()
    current_app.logger.exception("unhandled error")
    if wants_json():
        return json_error(500, "internal_error", _messages()[500])
    return render_template("errors/500.html", status=500, message=_messages()[500]), 500


NUL = "\x00"


def streams_body(view: Any) -> Any:
    """Marks a view that reads its (possibly huge) JSON body as a stream and deals with NUL
    characters itself: ``reject_nul_bytes`` must not read the body into memory first."""
    view.streams_body = True
    return view


def _streams_body() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "streams_body", False))


def reject_nul_bytes() -> None:
    """A NUL character is never valid text, and PostgreSQL refuses it in text columns and
    parameters (a DataError, i.e. a 500): refuse it at the door with a 400, in the path,
    the query string, form fields or a JSON body (``\\u0000``)."""
    if NUL in request.path or any(NUL in k or NUL in v for k, v in request.args.items(multi=True)):
        abort(400)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if any(NUL in k or NUL in v for k, v in request.form.items(multi=True)):
                abort(400)
        elif request.is_json and not _streams_body():
            body = request.get_data(cache=True)
            if b"\\u0000" in body or b"\x00" in body:
                abort(400)


def handle_stale_data(error: StaleDataError):
    """Two saves of one record at the same instant: the later one is refused, not lost
    silently (portal.concurrency); the version check on the form catches the usual case."""
    db.session.rollback()
    if wants_json():
        return json_error(412, "precondition_failed", str(STALE_MESSAGE))
    return render_template("errors/generic.html", status=409, message=STALE_MESSAGE), 409


def init_app(app: Flask) -> None:
    app.before_request(reject_nul_bytes)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(StaleDataError, handle_stale_data)
    if not app.testing or app.config.get("HANDLE_ERRORS_IN_TESTS", True):
        app.register_error_handler(Exception, handle_unexpected)
