"""Sign-in with SPID and CIE (SAML 2.0 under the AgID technical rules).

Registered by the app factory; the routes exist only when ``SPID_SP_ENTITY_ID`` is set
(``portal.spid.config``), otherwise the login page offers only the password form.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from portal.spid import cli, config


def init_app(app: Flask) -> None:
    settings = config.load(app.config)
    app.extensions["spid"] = settings
    cli.init_app(app)
    if settings is None:
        app.context_processor(lambda: {"spid": None})
        return
    from portal.spid import sp, views

    app.register_blueprint(views.make_blueprint("spid"))
    if settings.cie_enabled:
        app.register_blueprint(views.make_blueprint("cie"))
    app.register_blueprint(views.account_bp)

    def spid_context() -> dict[str, Any]:
        return {
            "spid": {
                "providers": sp.identity_providers(settings, "spid"),
                "cie": settings.cie_enabled and bool(sp.identity_providers(settings, "cie")),
            }
        }

    app.context_processor(spid_context)
