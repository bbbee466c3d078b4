"""Where the migration scripts are: the Alembic configuration of the application.

Portal's migrations live in ``portal/migrations``; each domain package keeps its own in
``<package>/migrations`` on an Alembic branch named after it (self-contained modules, as in
Indico's plugins). ``alembic_config`` points Alembic at all of them; the ``flask db``
commands (portal.migrate), the readiness check (portal.health) and backups (portal.backup)
read the scripts through it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from alembic.config import Config
from flask import Flask, current_app

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def module_migration_dirs(app: Flask) -> dict[str, Path]:
    """Each domain package's migration folder, by package name (enabled packages only)."""
    dirs = {}
    for name in app.config["PONTE_MODULES"]:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        path = Path(module.__file__).resolve().parent / "migrations"  # type: ignore[arg-type]
        dirs[name] = path
    return dirs


def alembic_config(connection: Any = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [str(MIGRATIONS_DIR / "versions")] + [
        str(p) for p in module_migration_dirs(current_app).values() if p.is_dir()
    ]
    cfg.set_main_option("version_locations", " ".join(locations))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg
