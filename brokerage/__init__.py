"""Brokerage: caseload, consent, explainable matching, proposals, placement pathway,
indicators; social-clause tenders (brokerage.tenders)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from brokerage import (  # noqa: F401  (each views module registers its pages on bp)
        api,
        caseload_views,
        indicator_views,
        network_indicators,
        pathway_views,
        referral_views,
        rights_views,
        views,
    )
    from brokerage.blueprint import bp

    app.register_blueprint(bp)
    app.register_blueprint(api.bp)
    views.init_app(app)
    network_indicators.register(app)
    from brokerage.tenders import init_app as init_tenders

    init_tenders(app)
