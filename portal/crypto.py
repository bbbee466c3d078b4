"""Encryption at rest for special-category data (GDPR art. 9 and art. 32).

Columns of type :class:`EncryptedText` are stored as Fernet tokens (AES-128-CBC with
HMAC-SHA256). The key comes from ``DATA_ENCRYPTION_KEY`` (a Fernet key; several,
comma-separated, to rotate: the first encrypts, all decrypt) or, when unset, is derived
from ``SECRET_KEY`` with HKDF, so a database dump alone does not reveal the data.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


@lru_cache(maxsize=8)
def _fernet(keys: str, secret: str) -> MultiFernet:
    if keys:
        return MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"ponte-data-at-rest", info=b"fernet"
    ).derive(secret.encode())
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derived))])


def fernet() -> MultiFernet:
    config = current_app.config
    return _fernet(config.get("DATA_ENCRYPTION_KEY") or "", config["SECRET_KEY"])


class EncryptedText(TypeDecorator):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return fernet().encrypt(str(value).encode()).decode()

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return fernet().decrypt(value.encode()).decode()
