"""The open data page and its DCAT-AP_IT catalogue in JSON-LD (datasets come from
portal.network.open_data)."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from portal.network import open_data
from portal.network.views.base import bp
from portal.permissions import public


@bp.route("/open-data")
@public
def open_data_page() -> Any:
    return render_template(
        "network/open_data.html", datasets=open_data.datasets(), catalogue=open_data.CATALOGUE
    )


@bp.route("/open-data/catalog.jsonld")
@public
def open_data_catalogue() -> Any:
    response = current_app.response_class(
        open_data.catalogue_json(), mimetype="application/ld+json"
    )
    return response
