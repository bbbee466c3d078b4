"""Structured (JSON) logging to stderr, one object per line."""

from __future__ import annotations

import logging

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.path = request.path
            record.method = request.method
            record.request_id = g.get("request_id", "")
        return True


def init_app(app: Flask) -> None:
    handler = logging.StreamHandler()
    if app.config.get("LOG_JSON"):
        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", timestamp=False)
        )
    handler.addFilter(RequestContextFilter())
    app.logger.handlers[:] = [handler]
    app.logger.setLevel(logging.DEBUG if app.debug else logging.INFO)
    app.logger.propagate = False
