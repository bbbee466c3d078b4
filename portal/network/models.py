"""Network life: good practices, events and their registrations, agreements, documents.

Seeds 000 (a network that governs itself), 001 (network tables at the technical-political
and technical-operational levels, result indicators), 003 (meetings with enterprises,
trainings for operators) and 004 (good practices shared through a portal).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.concurrency import Versioned
from portal.db import Base, TimestampMixin, utcnow
from portal.models import Municipality, Organisation, User

# --- Vocabularies ---------------------------------------------------------------------------

DRAFT, SUBMITTED, PUBLISHED = "draft", "submitted", "published"
PRACTICE_STATUSES = {
    DRAFT: _l("Draft"),
    SUBMITTED: _l("Awaiting review"),
    PUBLISHED: _l("Published"),
}

#: Themes of good practices (seeds 000-004).
THEMES = {
    "employer_engagement": _l("Engaging employers"),
    "supported_employment": _l("Supported employment and job coaching"),
    "observation_labs": _l("Observation labs and work experience"),
    "social_agriculture": _l("Social agriculture"),
    "social_clauses": _l("Social clauses in public procurement"),
    "microcredit": _l("Microcredit and self-employment"),
    "training": _l("Training and skills"),
    "network_governance": _l("Network governance and shared procedures"),
    "information_systems": _l("Shared information systems"),
}

#: Who a practice is for: groups of people, never a person (no personal data here).
TARGET_GROUPS = {
    "disability": _l("People with disabilities"),
    "mental_health": _l("People in mental-health pathways"),
    "addiction": _l("People in addiction services"),
    "prison": _l("Prisoners and people on alternative measures"),
    "poverty": _l("People at risk of poverty"),
    "migrants": _l("Migrants and refugees"),
    "young_people": _l("Young people and minors of working age"),
    "long_term_unemployed": _l("Long-term unemployed people"),
}

# Events.
ENTERPRISE_MEETING = "enterprise_meeting"
OPERATOR_TRAINING = "operator_training"
TABLE_POLITICAL = "table_political"
TABLE_OPERATIONAL = "table_operational"
EVENT_KINDS = {
    ENTERPRISE_MEETING: _l("Sensitisation meeting with enterprises"),
    OPERATOR_TRAINING: _l("Training for operators"),
    TABLE_POLITICAL: _l("Network table, technical-political level"),
    TABLE_OPERATIONAL: _l("Network table, technical-operational level"),
}
IN_PERSON, ONLINE, HYBRID = "in_person", "online", "hybrid"
EVENT_MODES = {IN_PERSON: _l("In person"), ONLINE: _l("Online"), HYBRID: _l("In person and online")}
CANCELLED = "cancelled"
EVENT_STATUSES = {DRAFT: _l("Draft"), PUBLISHED: _l("Published"), CANCELLED: _l("Cancelled")}

# Registrations.
PENDING, CONFIRMED, WAITLISTED = "pending", "confirmed", "waitlisted"
REGISTRATION_STATUSES = {
    PENDING: _l("Waiting for e-mail confirmation"),
    CONFIRMED: _l("Confirmed"),
    WAITLISTED: _l("On the waiting list"),
    CANCELLED: _l("Cancelled"),
}

# Agreements.
AGREEMENT_KINDS = {
    "protocol": _l("Memorandum of understanding (protocollo d'intesa)"),
    "l381_art5": _l("Convention with a type-B cooperative (L. 381/1991 art. 5)"),
    "dlgs276_art14": _l("Work-order convention (D.Lgs. 276/2003 art. 14)"),
    "partnership": _l("Partnership agreement"),
}
ACTIVE, TERMINATED = "active", "terminated"
AGREEMENT_STATUSES = {DRAFT: _l("Draft"), ACTIVE: _l("In force"), TERMINATED: _l("Terminated")}
EXPIRED = "expired"
AGREEMENT_STATES = {**AGREEMENT_STATUSES, EXPIRED: _l("Expired")}


def label(vocabulary: dict[str, Any], code: str | None) -> str:
    return str(vocabulary.get(code or "", code or ""))


# --- Editors ----------------------------------------------------------------------------------


def coded_rows(rows: list[Any], codes: list[str], known: dict[str, Any], make: Any) -> list[Any]:
    """The child rows that hold a list of vocabulary codes (themes, target groups): the
    known codes once each, in order; a row already there is kept, a new code gets a new row
    (``make(code=...)``)."""
    wanted = [c for c in dict.fromkeys(codes) if c in known]
    keep = [r for r in rows if r.code in wanted]
    have = {r.code for r in keep}
    return keep + [make(code=c) for c in wanted if c not in have]


class ContentEditor(Base):
    """A user an administrator allowed to publish good practices (the editor role).

    Kept apart from memberships: editing is a portal-wide duty, not an organisation role.
    """

    __tablename__ = "content_editor"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


# --- Good practices ----------------------------------------------------------------------------


class GoodPractice(Versioned, TimestampMixin, Base):
    __tablename__ = "good_practice"
    __search_type__ = "good_practice"
    __table_args__ = (
        Index("ix_good_practice_public", "status", "published_at"),
        Index("ix_good_practice_org_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), default="")
    summary: Mapped[str] = mapped_column(String(600), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    #: Territory: a region, optionally narrowed to a province (two letters).
    region: Mapped[str] = mapped_column(String(60), default="", index=True)
    province_code: Mapped[str] = mapped_column(String(2), default="")
    status: Mapped[str] = mapped_column(String(12), default=DRAFT)
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    review_comment: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    theme_rows: Mapped[list[PracticeTheme]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PracticeTheme.code"
    )
    target_rows: Mapped[list[PracticeTarget]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="PracticeTarget.code"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="practice",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="Document.id",
    )

    @property
    def themes(self) -> list[str]:
        return [row.code for row in self.theme_rows]

    @themes.setter
    def themes(self, codes: list[str]) -> None:
        self.theme_rows = coded_rows(self.theme_rows, codes, THEMES, PracticeTheme)

    @property
    def target_groups(self) -> list[str]:
        return [row.code for row in self.target_rows]

    @target_groups.setter
    def target_groups(self, codes: list[str]) -> None:
        self.target_rows = coded_rows(self.target_rows, codes, TARGET_GROUPS, PracticeTarget)

    @property
    def status_label(self) -> str:
        return label(PRACTICE_STATUSES, self.status)

    @property
    def territory(self) -> str:
        if self.province_code and self.region:
            return f"{self.region} ({self.province_code})"
        return self.region

    def is_public(self) -> bool:
        return self.status == PUBLISHED and self.organisation.is_verified

    def search_document(self) -> dict[str, Any] | None:
        if not self.is_public():
            return None
        return {
            "title": self.title,
            "body": [self.summary, self.body, self.organisation.name],
            "kind": "good_practice",
            "province": self.province_code,
            "region": self.region,
            "tags": [*self.themes, *self.target_groups],
            "published": self.published_at,
            "url_endpoint": (
                "network.practice_detail",
                {"practice_id": self.id, "slug": self.slug},
            ),
        }


class PracticeTheme(Base):
    __tablename__ = "good_practice_theme"

    practice_id: Mapped[int] = mapped_column(
        ForeignKey("good_practice.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class PracticeTarget(Base):
    __tablename__ = "good_practice_target"

    practice_id: Mapped[int] = mapped_column(
        ForeignKey("good_practice.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


# --- Documents (PDF attachments of practices and agreements) -------------------------------


class Document(Base):
    """A PDF checked by its magic bytes and size, stored under ``instance/uploads/network``."""

    __tablename__ = "network_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int | None] = mapped_column(
        ForeignKey("good_practice.id", ondelete="CASCADE"), index=True
    )
    agreement_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreement.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200), default="")
    filename: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    practice: Mapped[GoodPractice | None] = relationship(back_populates="documents")
    agreement: Mapped[Agreement | None] = relationship(back_populates="documents")

    @property
    def display_name(self) -> str:
        return self.title or self.filename


# --- Events ----------------------------------------------------------------------------------


class Event(Versioned, TimestampMixin, Base):
    __tablename__ = "network_event"
    __table_args__ = (
        Index("ix_network_event_public", "status", "starts_at"),
        Index("ix_network_event_org", "organisation_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), default="")
    kind: Mapped[str] = mapped_column(String(30), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    mode: Mapped[str] = mapped_column(String(12), default=IN_PERSON)
    venue: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    comune_code: Mapped[str | None] = mapped_column(
        ForeignKey("municipality.istat_code"), index=True
    )
    online_url: Mapped[str] = mapped_column(String(300), default="")
    #: Seats; None: no limit.
    capacity: Mapped[int | None]
    registration_open: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(12), default=DRAFT)
    published_at: Mapped[datetime | None]
    #: Bumped on every change people should see in their calendars (iCalendar SEQUENCE).
    sequence: Mapped[int] = mapped_column(default=0)
    reminders_sent_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    municipality: Mapped[Municipality | None] = relationship(lazy="joined")

    @property
    def kind_label(self) -> str:
        return label(EVENT_KINDS, self.kind)

    @property
    def mode_label(self) -> str:
        return label(EVENT_MODES, self.mode)

    @property
    def status_label(self) -> str:
        return label(EVENT_STATUSES, self.status)

    @property
    def place(self) -> str:
        parts = [self.venue, self.address]
        if self.municipality is not None:
            parts.append(self.municipality.label)
        return ", ".join(p for p in parts if p)

    def is_public(self) -> bool:
        return self.status in (PUBLISHED, CANCELLED) and self.organisation.is_verified

    def accepts_registrations(self, now: datetime) -> bool:
        return self.status == PUBLISHED and self.registration_open and self.starts_at > now


class Registration(TimestampMixin, Base):
    """A seat (or a place on the waiting list) at an event, for a user or a guest."""

    __tablename__ = "event_registration"
    __table_args__ = (
        UniqueConstraint("event_id", "email"),
        Index("ix_event_registration_queue", "event_id", "status", "queued_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("network_event.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    organisation_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    #: When the registration entered the queue (confirmation for guests): waiting-list order.
    queued_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    attended: Mapped[bool | None]
    attendance_marked_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]

    event: Mapped[Event] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return label(REGISTRATION_STATUSES, self.status)


# --- Agreements -------------------------------------------------------------------------------


class Agreement(Versioned, TimestampMixin, Base):
    """A network agreement (protocol, convention, partnership) and its parties."""

    __tablename__ = "agreement"
    __table_args__ = (Index("ix_agreement_public", "status", "ends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The organisation that keeps the record (one of the parties).
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    signed_on: Mapped[date | None] = mapped_column(Date)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=DRAFT)
    #: How many days before the end the parties are reminded to renew it.
    renewal_notice_days: Mapped[int] = mapped_column(default=60)
    renewal_reminded_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    parties: Mapped[list[AgreementParty]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AgreementParty.position"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="agreement",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="Document.id",
    )

    @property
    def kind_label(self) -> str:
        return label(AGREEMENT_KINDS, self.kind)

    def state(self, today: date) -> str:
        """draft, active, expired or terminated (expiry is computed, never stored)."""
        if self.status == ACTIVE and self.ends_on is not None and self.ends_on < today:
            return EXPIRED
        return self.status

    def state_label(self, today: date) -> str:
        return label(AGREEMENT_STATES, self.state(today))

    def is_public(self) -> bool:
        return self.status in (ACTIVE, TERMINATED) and self.organisation.is_verified


class AgreementParty(Base):
    """A party: an organisation of the network, or another body named in full."""

    __tablename__ = "agreement_party"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreement.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
