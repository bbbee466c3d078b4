"""Serving in production: refuse unsafe configuration, trust the reverse proxy, HSTS,
static links that change with the file (so nginx may cache them for a year).

``check(app)`` runs in the app factory, so gunicorn, the command line and the scheduled
jobs all refuse to start with ``PONTE_ENV=production`` and an unsafe configuration,
printing one line that names every problem (``portal.config.production_problems``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import config as config_module


class UnsafeConfiguration(SystemExit):
    """Start-up refused: exit status 1, the message on standard error."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(config_module.refusal_line(problems))


def check(app: Flask) -> None:
    problems, warnings = config_module.production_problems(app.config)
    for warning in warnings:
        app.logger.warning("configuration: %s", warning)
    if problems:
        raise UnsafeConfiguration(problems)


def init_app(app: Flask) -> None:
    hops = int(app.config.get("PROXY_FIX") or 0)
    if hops > 0:
        # Each header is trusted for exactly the number of proxies the operator declared,
        # so a client cannot forge its address or the scheme by sending them itself.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    if app.config.get("PONTE_ENV") == config_module.PRODUCTION:
        app.after_request(strict_transport_security)
    app.url_defaults(_static_version)


def strict_transport_security(response: Response) -> Response:
    """HSTS (RFC 6797): browsers that saw Ponte over HTTPS never use plain HTTP again.
    Browsers ignore the header on plain HTTP responses, so it is sent on every one."""
    from flask import current_app

    value = f"max-age={int(current_app.config['HSTS_MAX_AGE'])}"
    if current_app.config.get("HSTS_INCLUDE_SUBDOMAINS"):
        value += "; includeSubDomains"
    response.headers.setdefault("Strict-Transport-Security", value)
    return response


_versions: dict[str, tuple[int, str]] = {}


def _static_version(endpoint: str, values: dict[str, Any]) -> None:
    """``url_for('static', filename=f)`` → ``/static/f?v=<first 10 hex of its SHA-256>``:
    a new version of a file gets a new address, so caches never serve an old one."""
    from flask import current_app

    if endpoint != "static" or "v" in values or not values.get("filename"):
        return
    folder = current_app.static_folder
    if folder is None:
        return
    path = Path(folder) / str(values["filename"])
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return
    key = str(path)
    cached = _versions.get(key)
    if cached is None or cached[0] != mtime:
        cached = (mtime, hashlib.sha256(path.read_bytes()).hexdigest()[:10])
        _versions[key] = cached
    values["v"] = cached[1]
