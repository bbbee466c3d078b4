"""Full-text search over all public documents (placeholder until the search service lands)."""

from __future__ import annotations

from flask import Flask

from portal.search.models import SearchOutbox  # noqa: F401  (registers the table)


def init_app(app: Flask) -> None:
    pass
