"""Where uploaded files live: one folder per kind, under the instance folder by default."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

#: Every kind of uploaded file, with the setting that may move its folder elsewhere:
#: network documents, tender evidence, product photos, signed consent forms. Backups
#: (``flask backup``) copy and restore exactly these folders.
FOLDERS: dict[str, str | None] = {
    "network": "NETWORK_UPLOAD_DIR",
    "tenders": "TENDERS_UPLOAD_DIR",
    "products": "SHOP_UPLOAD_DIR",
    "consents": None,
}


def folder(kind: str, config_key: str | None = None) -> Path:
    """The folder for uploads of ``kind``, whether or not it exists yet."""
    key = config_key or FOLDERS.get(kind)
    configured = current_app.config.get(key) if key else None
    return Path(configured or Path(current_app.instance_path) / "uploads" / kind)


def upload_dir(kind: str, config_key: str | None = None) -> Path:
    """The folder for uploads of ``kind`` (``config_key`` may point elsewhere), created."""
    path = folder(kind, config_key)
    path.mkdir(parents=True, exist_ok=True)
    return path
