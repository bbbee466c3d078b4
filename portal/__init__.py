"""Ponte: the application core (app factory, accounts, search, layout, API)."""

from __future__ import annotations

import importlib
import uuid
from typing import Any

from flask import Flask, g, request
from werkzeug.routing import IntegerConverter as WerkzeugIntegerConverter

from portal import config as config_module
from portal.db import MAX_ID


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application; ``config`` overrides what the environment says."""
    config = dict(config or {})
    instance_path = config_module.instance_path(config)
    app = Flask(__name__, instance_path=str(instance_path))
    app.url_map.converters["int"] = IntegerConverter
    app.config.update(config_module.load(instance_path, config))

    from portal import (
        admin,
        api,
        auth,
        backup,
        cli,
        db,
        errors,
        gate,
        headers,
        health,
        i18n,
        jobs,
        metrics,
        notifications,
        production,
        ratelimit,
        search,
        sitemap,
        uploads,
        views,
    )
    from portal import logging as ponte_logging
    from portal.extensions import csrf, login_manager

    ponte_logging.init_app(app)
    production.check(app)  # PONTE_ENV=production: refuse unsafe configuration, exit 1
    production.init_app(app)
    metrics.init_app(app)  # first before_request hook: the latency covers the whole request
    uploads.init_app(app)  # inserted before every other hook: body size limits
    db.init_app(app)
    csrf.init_app(app)
    auth.init_login(app, login_manager)
    i18n.init_app(app)
    gate.init_app(app)  # every view's declared access (portal.permissions), before it runs
    ratelimit.init_app(app)
    search.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    cli.init_app(app)
    backup.init_app(app)
    jobs.init_app(app)

    app.register_blueprint(views.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(notifications.bp)
    sitemap.init_app(app)
    notifications.init_app(app)
    app.register_blueprint(api.bp)
    health.init_app(app)
    api.init_app(app)
    from portal import network

    network.init_app(app)  # good practices, events, agreements, indicators, open data
    from portal import spid

    spid.init_app(app)  # SPID/CIE sign-in, when configured
    for name in app.config["PONTE_MODULES"]:
        module = _optional_module(name)
        if module is not None:
            module.init_app(app)
    jobs.register_daily(app, "ratelimit prune")
    jobs.register_core_jobs(app)  # after the modules' jobs: reminders, digest, search

    @app.before_request
    def assign_request_id() -> None:
        g.request_id = uuid.uuid4().hex[:12]
        # gunicorn's access log (gunicorn.conf.py) prints it beside the request's line.
        request.environ["ponte.request_id"] = g.request_id

    from portal.layout import init_app as init_layout

    init_layout(app)
    from portal import memo, pagecache

    memo.init_app(app)
    pagecache.init_app(app)  # last: its lookup may answer before the view runs
    # Only now are all searchable types registered: apply what the outbox holds.
    search.startup_drain(app)
    return app


class IntegerConverter(WerkzeugIntegerConverter):
    """``<int:…>`` ids that fit the databases' INTEGER: a larger number does not match the
    route (404) instead of reaching PostgreSQL as an out-of-range value (a 500). Same class
    name as Werkzeug's, for code that looks converters up by name."""

    MAX = MAX_ID

    def __init__(
        self,
        map: Any,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, self.MAX if max is None else max, signed)


def _optional_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise
