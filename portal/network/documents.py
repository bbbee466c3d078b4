"""PDF attachments: the type is checked by the file's magic bytes (never its name or the
Content-Type the browser sends), the size is at most 10 MB, and the file is kept under
``instance/uploads/network/`` with a random name."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from pathlib import Path
from typing import IO

from flask_babel import gettext as _

from portal import uploads
from portal.models import User
from portal.network.models import Document

MAX_BYTES = 10 * 1024 * 1024
#: A PDF starts with "%PDF-" and a version digit (ISO 32000-1 §7.5.2).
PDF_MAGIC = re.compile(rb"^%PDF-[12]\.\d")


class DocumentError(ValueError):
    """A file that is not accepted, with a message for people."""


def upload_dir() -> Path:
    return uploads.upload_dir("network", "NETWORK_UPLOAD_DIR")


def is_pdf(head: bytes) -> bool:
    return bool(PDF_MAGIC.match(head))


def read_limited(stream: IO[bytes], limit: int = MAX_BYTES) -> bytes:
    """Read at most ``limit`` bytes; a longer stream raises DocumentError."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise DocumentError(_("The file is larger than 10 MB."))
    return data


def check(data: bytes) -> None:
    if not data:
        raise DocumentError(_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise DocumentError(_("The file is larger than 10 MB."))
    if not is_pdf(data[:16]):
        raise DocumentError(_("Upload a PDF file."))


def safe_filename(name: str) -> str:
    """A download name without paths or odd characters, ending in .pdf."""
    name = unicodedata.normalize("NFKD", Path(name or "").name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name.rsplit(".", 1)[0] if "." in name else name)
    stem = stem.strip("-.")[:120] or "document"
    return f"{stem}.pdf"


def store(data: bytes, filename: str, title: str, uploader: User | None) -> Document:
    """Check and save ``data``; the caller attaches the Document to its owner."""
    check(data)
    stored = secrets.token_hex(16) + ".pdf"
    (upload_dir() / stored).write_bytes(data)
    return Document(
        title=(title or "").strip()[:200],
        filename=safe_filename(filename),
        stored_name=stored,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=uploader.id if uploader is not None else None,
    )


def path_of(document: Document) -> Path | None:
    path = upload_dir() / document.stored_name
    return path if path.is_file() else None


def delete_file(document: Document) -> None:
    path = upload_dir() / document.stored_name
    path.unlink(missing_ok=True)
