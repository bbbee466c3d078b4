"""Where uploaded files live: one folder per kind, under the instance folder by default."""

from __future__ import annotations

from pathlib import Path

from flask import current_app


def upload_dir(kind: str, config_key: str | None = None) -> Path:
    """The folder for uploads of ``kind`` (``config_key`` may point elsewhere), created."""
    configured = current_app.config.get(config_key) if config_key else None
    path = Path(configured or Path(current_app.instance_path) / "uploads" / kind)
    path.mkdir(parents=True, exist_ok=True)
    return path
