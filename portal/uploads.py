"""Where uploaded files live: one folder per kind, under the instance folder by default."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

#: Every kind of uploaded file, with the setting that may move its folder elsewhere:
#: network documents, tender evidence, product photos, signed consent forms. Backups
#: (``flask backup``) copy and restore exactly these folders.
FOLDERS: dict[str, str | None] = {
    "network": "NETWORK_UPLOAD_DIR",
    "tenders": "TENDERS_UPLOAD_DIR",
    "products": "SHOP_UPLOAD_DIR",
    "consents": None,
}


def folder(kind: str, config_key: str | None = None) -> Path:
    """The folder for uploads of ``kind``, whether or not it exists yet."""
    key = config_key or FOLDERS.get(kind)
    configured = current_app.config.get(key) if key else None
    return Path(configured or Path(current_app.instance_path) / "uploads" / kind)


def upload_dir(kind: str, config_key: str | None = None) -> Path:
    """The folder for uploads of ``kind`` (``config_key`` may point elsewhere), created."""
    path = folder(kind, config_key)
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- Request size limits ---------------------------------------------------------------
# Every request body is limited before it is read: a route that takes files declares how
# large they may be (``accepts_upload``); every other route accepts ``MAX_FORM_BYTES``. A
# larger ``Content-Length`` gets the 413 page (or JSON error) at once, and a body sent
# without a length is cut off at the limit while it is read. ``MAX_CONTENT_LENGTH`` is the
# ceiling for every route (the reverse proxy's ``client_max_body_size`` should equal it).

MB = 1024 * 1024
#: Room for the multipart envelope and the other fields of an upload form.
ENVELOPE_BYTES = 256 * 1024

F = TypeVar("F", bound=Callable[..., Any])


def accepts_upload(max_file_bytes: int) -> Callable[[F], F]:
    """Declare that a view takes a file of at most ``max_file_bytes``."""

    def decorator(view: F) -> F:
        view.max_file_bytes = max_file_bytes  # type: ignore[attr-defined]
        view.max_body_bytes = max_file_bytes + ENVELOPE_BYTES  # type: ignore[attr-defined]
        return view

    return decorator


def body_limit() -> int:
    view = current_app.view_functions.get(request.endpoint or "")
    declared = getattr(view, "max_body_bytes", None)
    ceiling = current_app.config["MAX_CONTENT_LENGTH"]
    return min(declared or current_app.config["MAX_FORM_BYTES"], ceiling)


def file_limit() -> int:
    """What the page tells people: the file size a route declares, else its body limit."""
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "max_file_bytes", None) or body_limit()


def limit_request_body() -> None:
    """``before_request``, first of all hooks (CSRF reads the form): refuse or cap."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    limit = body_limit()
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()


def init_app(app: Flask) -> None:
    app.config.setdefault("MAX_CONTENT_LENGTH", 21 * MB)
    app.config.setdefault("MAX_FORM_BYTES", 1 * MB)
    app.before_request_funcs.setdefault(None, []).insert(0, limit_request_body)
