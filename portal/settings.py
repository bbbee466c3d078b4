"""Portal-wide settings stored in the database (changed by administrators)."""

from __future__ import annotations

from typing import Any

from portal import db
from portal.models import Setting


def get_setting(key: str, default: Any = None) -> Any:
    row = db.session.get(Setting, key)
    return default if row is None else row.value


def set_setting(key: str, value: Any) -> None:
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value
