"""What SPID/CIE sign-in keeps in the database: the AuthnRequests this portal issued.

A response is accepted only for a request stored here, and only once: any node of the
portal may issue the request and any other may receive the response (no per-process state).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, update
from sqlalchemy.orm import Mapped, mapped_column

from portal import db
from portal.db import Base, utcnow


class SpidRequest(Base):
    __tablename__ = "spid_request"

    #: The AuthnRequest ID (the response's InResponseTo).
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    profile: Mapped[str] = mapped_column(String(8))  # "spid" | "cie"
    idp_entity_id: Mapped[str] = mapped_column(String(300))
    level: Mapped[int]
    #: Where to go after signing in (a local path), and whether the request links the
    #: identity to the signed-in account instead of signing in.
    next_url: Mapped[str] = mapped_column(String(500), default="")
    link_user_id: Mapped[int | None]
    #: For a linking request: the codice fiscale the IdP asserted, kept until the signed-in
    #: browser confirms it (the IdP's cross-site POST carries no session cookie).
    linked_fiscal_code: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    used_at: Mapped[datetime | None]


def consume(request_id: str) -> bool:
    """Mark the request used; True only for the one caller that did it (atomic UPDATE, so
    two nodes receiving the same response cannot both accept it)."""
    result = db.session.execute(
        update(SpidRequest)
        .where(SpidRequest.id == request_id, SpidRequest.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return result.rowcount == 1
