"""Accounts, organisations, roles, municipalities, audit log and settings."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from portal import identifiers
from portal.concurrency import Versioned
from portal.db import Base, TimestampMixin, utcnow

# Roles, as INTERFACES.md names them.
ADMIN = "admin"
EMPLOYER = "employer"
COOPERATIVE = "cooperative"
SOCIAL_FARM = "social_farm"
BROKER = "broker"
PUBLIC_OFFICER = "public_officer"
MICROCREDIT_OFFICER = "microcredit_officer"
BUYER = "buyer"
ROLES = (
    ADMIN,
    EMPLOYER,
    COOPERATIVE,
    SOCIAL_FARM,
    BROKER,
    PUBLIC_OFFICER,
    MICROCREDIT_OFFICER,
    BUYER,
)

ROLE_LABELS = {
    ADMIN: _l("Administrator"),
    EMPLOYER: _l("Employer"),
    COOPERATIVE: _l("Type-B social cooperative"),
    SOCIAL_FARM: _l("Social farm"),
    BROKER: _l("Placement broker (public service)"),
    PUBLIC_OFFICER: _l("Public officer"),
    MICROCREDIT_OFFICER: _l("Microcredit officer"),
    BUYER: _l("Buyer"),
}

# Organisation kinds.
COMPANY = "company"
COOPERATIVE_B = "cooperative_b"
SOCIAL_FARM_KIND = "social_farm"
SERVICE = "service"
PUBLIC_BODY = "public_body"
MICROCREDIT_ORG = "microcredit_org"
ORG_KINDS = (COMPANY, COOPERATIVE_B, SOCIAL_FARM_KIND, SERVICE, PUBLIC_BODY, MICROCREDIT_ORG)

ORG_KIND_LABELS = {
    COMPANY: _l("Company"),
    COOPERATIVE_B: _l("Type-B social cooperative"),
    SOCIAL_FARM_KIND: _l("Social farm"),
    SERVICE: _l("Public or accredited service"),
    PUBLIC_BODY: _l("Public body"),
    MICROCREDIT_ORG: _l("Microcredit organisation"),
}

#: The organisation kind a role belongs to (None: the role needs no organisation).
ROLE_ORG_KIND: dict[str, str | None] = {
    ADMIN: None,
    EMPLOYER: COMPANY,
    COOPERATIVE: COOPERATIVE_B,
    SOCIAL_FARM: SOCIAL_FARM_KIND,
    BROKER: SERVICE,
    PUBLIC_OFFICER: PUBLIC_BODY,
    MICROCREDIT_OFFICER: MICROCREDIT_ORG,
    BUYER: None,
}

# Service types of the public service network (seeds 000, 001, 003).
SERVICE_TYPES = ("sil", "dsm", "sert", "social_services", "job_centre", "training_body")
SERVICE_TYPE_LABELS = {
    "sil": _l("Work inclusion service (SIL)"),
    "dsm": _l("Mental health department (DSM)"),
    "sert": _l("Addiction service (SerT)"),
    "social_services": _l("Municipal social services"),
    "job_centre": _l("Public job centre"),
    "training_body": _l("Training body"),
}


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "org"


class Municipality(Base):
    """An Italian comune (ISTAT), with coordinates for distances."""

    __tablename__ = "municipality"

    istat_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    province_code: Mapped[str] = mapped_column(String(2), index=True)
    region: Mapped[str] = mapped_column(String(60), index=True)
    lat: Mapped[float | None]
    lon: Mapped[float | None]

    @property
    def label(self) -> str:
        return f"{self.name} ({self.province_code})"


class Organisation(Versioned, TimestampMixin, Base):
    __tablename__ = "organisation"
    __search_type__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    slug: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    service_type: Mapped[str | None] = mapped_column(String(20), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    comune_code: Mapped[str | None] = mapped_column(
        ForeignKey("municipality.istat_code"), index=True
    )
    address: Mapped[str] = mapped_column(String(200), default="")
    website: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    fiscal_code: Mapped[str] = mapped_column(String(16), default="")
    #: Type-B cooperatives: number in the national register of cooperatives (Albo).
    register_number: Mapped[str] = mapped_column(String(40), default="")
    #: Social farms: enrolment in the regional register (L. 141/2015 art. 7).
    regional_register: Mapped[str] = mapped_column(String(80), default="")
    verified_at: Mapped[datetime | None] = mapped_column(index=True)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    municipality: Mapped[Municipality | None] = relationship(lazy="joined")
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def kind_label(self) -> str:
        return str(ORG_KIND_LABELS.get(self.kind, self.kind))

    @property
    def service_type_label(self) -> str:
        return str(SERVICE_TYPE_LABELS.get(self.service_type or "", ""))

    def search_document(self) -> dict[str, Any] | None:
        """What the public search shows; None keeps it out of the index."""
        if not self.is_verified:
            return None
        place = self.municipality
        return {
            "title": self.name,
            "body": self.description,
            "kind": self.kind,
            "comune": self.comune_code or "",
            "province": place.province_code if place else "",
            "region": place.region if place else "",
            "url_endpoint": ("portal.organisation_detail", {"org_id": self.id, "slug": self.slug}),
        }


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    locale: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    #: Codice fiscale (DPR 605/1973), set by a SPID/CIE sign-in: the identity the IdPs send
    #: as fiscalNumber. Unique when set; NULL for accounts never linked.
    fiscal_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    #: The last TOTP time step accepted (RFC 6238 §5.2: a code is valid once).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    #: Part of the identifier kept in session and remember cookies: raising it ends every
    #: session of the user on every server (logout, password or 2FA change, deactivation).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: what the session and remember cookies carry
        return f"{self.id}.{self.session_version or 0}"

    def end_sessions(self) -> None:
        """End every session of this user, in every browser and on every server."""
        self.session_version = (self.session_version or 0) + 1

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def roles(self) -> set[str]:
        return {m.role for m in self.memberships}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    def organisations(self, *roles: str) -> list[Organisation]:
        """Organisations where the user holds one of ``roles`` (any role if none given)."""
        return [
            m.organisation
            for m in self.memberships
            if m.organisation is not None and (not roles or m.role in roles)
        ]

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


class Membership(Base):
    """A user's role, within an organisation when the role has one."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(30), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation | None] = relationship(
        back_populates="memberships", lazy="joined"
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")

    @classmethod
    def issue(cls, user: User, name: str = "") -> tuple[ApiToken, str]:
        """Create a token for ``user``; the clear text is returned once and never stored."""
        clear = "pnt_" + secrets.token_urlsafe(32)
        return cls(user=user, token_hash=hash_token(clear), prefix=clear[:10], name=name), clear


class AuditLog(Base):
    """Append-only record of who read or changed what, when and why."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(60), default="")
    object_id: Mapped[str] = mapped_column(String(60), default="")
    #: The subject the record is about (e.g. a candidate), so it can be shown to them.
    subject_type: Mapped[str] = mapped_column(String(60), default="")
    subject_id: Mapped[str] = mapped_column(String(60), default="", index=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship(lazy="joined")


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _audit_log_is_append_only(mapper: Any, connection: Any, target: AuditLog) -> None:
    raise PermissionError("the audit log is append-only")


class LoginAttempt(Base):
    """Failed and successful logins, for throttling and the security audit."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_email_at", "email", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(45), default="", index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    success: Mapped[bool] = mapped_column(default=False)


class RateLimit(Base):
    """One rate-limit counter (fixed window), shared by every worker and node."""

    __tablename__ = "rate_limit"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(index=True)
    count: Mapped[int] = mapped_column(default=0)


class Setting(Base):
    """Portal-wide settings an administrator changes (e.g. who must use 2FA)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


# Stored identifiers, checked by `flask ponte check-identifiers` (portal.identifiers).
identifiers.register_stored(
    "organisation fiscal code", Organisation, "fiscal_code", identifiers.fiscal_code
)
identifiers.register_stored("user fiscal code", User, "fiscal_code", identifiers.person_fiscal_code)
