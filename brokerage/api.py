"""Brokerage in the JSON API."""

from __future__ import annotations

from flask import Blueprint

from portal.extensions import csrf

bp = Blueprint("brokerage_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
