"""Brokerage pages."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("brokerage", __name__, template_folder="templates")


def init_app(app: Flask) -> None:
    pass
