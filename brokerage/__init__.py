"""Brokerage: caseload, consent, explainable matching, proposals, placement pathway,
indicators; social-clause tenders (brokerage.tenders)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from brokerage import api, indicator_views, network_indicators, views  # noqa: F401

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    views.init_app(app)
    network_indicators.register(app)
    from brokerage.tenders import init_app as init_tenders

    init_tenders(app)
