"""Microcredit: centres, solidarity groups, members, training, meetings, savings, loan
products, loans, their schedules and the append-only ledger.

Money is ``Decimal`` in ``Numeric(14, 2)`` columns. Balances are never stored: they are
derived from the ledger (:class:`LoanTransaction`, :class:`SavingsTransaction`), whose rows
are never updated or deleted — a mistake is corrected by a reversal entry.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import identifiers
from portal.concurrency import Versioned
from portal.crypto import EncryptedText
from portal.db import Base, TimestampMixin, utcnow
from portal.models import Municipality, Organisation, User

Money = Numeric(14, 2)
Rate = Numeric(9, 6)

# --- Vocabularies --------------------------------------------------------------------------

WEEKDAYS = {
    0: _l("Monday"),
    1: _l("Tuesday"),
    2: _l("Wednesday"),
    3: _l("Thursday"),
    4: _l("Friday"),
    5: _l("Saturday"),
    6: _l("Sunday"),
}
FREQUENCY_LABELS = {
    "weekly": _l("Weekly"),
    "fortnightly": _l("Fortnightly"),
    "monthly": _l("Monthly"),
}

# Groups.
FORMING, TRAINING, ACTIVE_GROUP, SUSPENDED, CLOSED_GROUP = (
    "forming",
    "training",
    "active",
    "suspended",
    "closed",
)
GROUP_STATES = {
    FORMING: _l("Forming"),
    TRAINING: _l("In group training"),
    ACTIVE_GROUP: _l("Recognised (active)"),
    SUSPENDED: _l("Suspended"),
    CLOSED_GROUP: _l("Closed"),
}
LEADER, SECRETARY, MEMBER = "leader", "secretary", "member"
GROUP_ROLES = {LEADER: _l("Leader"), SECRETARY: _l("Secretary"), MEMBER: _l("Member")}

# Meetings.
SCHEDULED, HELD, CANCELLED = "scheduled", "held", "cancelled"
MEETING_STATES = {SCHEDULED: _l("Scheduled"), HELD: _l("Held"), CANCELLED: _l("Cancelled")}
PRESENT, ABSENT, EXCUSED = "present", "absent", "excused"
ATTENDANCE = {PRESENT: _l("Present"), ABSENT: _l("Absent"), EXCUSED: _l("Excused")}

# Loans: Apache Fineract's states.
SUBMITTED, APPROVED, ACTIVE = "submitted", "approved", "active"
CLOSED_OBLIGATIONS_MET = "closed_obligations_met"
CLOSED_WRITTEN_OFF = "closed_written_off"
CLOSED_RESCHEDULED = "closed_rescheduled"
WITHDRAWN, REJECTED, OVERPAID = "withdrawn", "rejected", "overpaid"
LOAN_STATES = {
    SUBMITTED: _l("Submitted and pending approval"),
    APPROVED: _l("Approved"),
    ACTIVE: _l("Active"),
    CLOSED_OBLIGATIONS_MET: _l("Closed (obligations met)"),
    CLOSED_WRITTEN_OFF: _l("Closed (written off)"),
    CLOSED_RESCHEDULED: _l("Closed (rescheduled)"),
    WITHDRAWN: _l("Withdrawn by the applicant"),
    REJECTED: _l("Rejected"),
    OVERPAID: _l("Overpaid"),
}
OPEN_STATES = (SUBMITTED, APPROVED, ACTIVE, OVERPAID)
DISBURSED_STATES = (
    ACTIVE,
    OVERPAID,
    CLOSED_OBLIGATIONS_MET,
    CLOSED_WRITTEN_OFF,
    CLOSED_RESCHEDULED,
)
CLOSED_STATES = (CLOSED_OBLIGATIONS_MET, CLOSED_WRITTEN_OFF, CLOSED_RESCHEDULED)

KIND_LABELS = {"social": _l("Social microcredit"), "business": _l("Business microcredit")}

# Ancillary services. Business microcredit: DM 176/2014 art. 3 c.1 (at least two of them);
# social microcredit: DM 176/2014 art. 5 (household budget support).
BUSINESS_SERVICES = {
    "strategy": _l("Support in defining the project's development strategy"),
    "management_training": _l("Training in accounting, financial and staff management"),
    "technology_training": _l("Training in technologies that raise productivity"),
    "pricing_marketing": _l("Support with prices, sales strategy and market research"),
    "legal_tax": _l("Support with legal, tax and administrative matters"),
    "social_impact": _l("Support in increasing the social impact (social enterprises)"),
}
SOCIAL_SERVICES = {
    "household_budget": _l("Household budget support"),
    "financial_education": _l("Financial education"),
}
SERVICES = {**BUSINESS_SERVICES, **SOCIAL_SERVICES}

# Ledger.
DISBURSEMENT, REPAYMENT, FEE, PENALTY = "disbursement", "repayment", "fee", "penalty"
WAIVER, WRITE_OFF, TRANSFER, REFUND = "waiver", "write_off", "transfer", "refund"
TRANSACTION_KINDS = {
    DISBURSEMENT: _l("Disbursement"),
    REPAYMENT: _l("Repayment"),
    FEE: _l("Fee charged"),
    PENALTY: _l("Penalty charged"),
    WAIVER: _l("Waiver"),
    WRITE_OFF: _l("Write-off"),
    TRANSFER: _l("Transfer to a rescheduled loan"),
    REFUND: _l("Refund of an overpayment"),
}
#: Notes the system writes on ledger entries (codes, shown translated).
SYSTEM_NOTES = {
    "disbursement fee": _l("Disbursement fee"),
    "early repayment": _l("Early repayment"),
    "interest waived on early repayment": _l("Interest waived on early repayment"),
    "interest not yet due, on rescheduling": _l("Interest not yet due, waived on rescheduling"),
    "rescheduled": _l("Disbursed by rescheduling an earlier loan"),
    "late payment penalty": _l("Late payment penalty"),
    "collection sheet": _l("Collection sheet"),
}
DEPOSIT, WITHDRAWAL = "deposit", "withdrawal"
SAVINGS_KINDS = {DEPOSIT: _l("Deposit"), WITHDRAWAL: _l("Withdrawal")}


class Centre(Versioned, TimestampMixin, Base):
    """A centre: several groups meeting together at a fixed place and time."""

    __tablename__ = "mc_centre"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    meeting_place: Mapped[str] = mapped_column(String(200), default="")
    comune_code: Mapped[str | None] = mapped_column(ForeignKey("municipality.istat_code"))
    meeting_time: Mapped[time] = mapped_column(Time, default=time(9, 30))
    meeting_frequency: Mapped[str] = mapped_column(String(12), default="weekly")
    #: First meeting: the calendar counts weeks, fortnights or months from it (its weekday
    #: is the meeting day).
    first_meeting_on: Mapped[date] = mapped_column(Date)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: A meeting that falls on a Sunday or a public holiday moves to the next working day.
    move_non_working_days: Mapped[bool] = mapped_column(default=False)
    #: The town's patron saint's day, ``MM-DD`` (a local public holiday), if any.
    patron_day: Mapped[str | None] = mapped_column(String(5))

    organisation: Mapped[Organisation] = relationship()
    municipality: Mapped[Municipality | None] = relationship(lazy="joined")
    officer: Mapped[User | None] = relationship(lazy="joined")
    groups: Mapped[list[Group]] = relationship(back_populates="centre", order_by="Group.name")

    @property
    def holiday_subdivision(self) -> str | None:
        """Where ``holidays.Italy`` keeps the patron saint of the centre's town."""
        from microcredit.holidays import patron_subdivision

        return patron_subdivision(self.municipality.name if self.municipality else None)

    @property
    def local_holidays(self) -> tuple[tuple[int, int], ...]:
        """The centre's local public holidays as (month, day)."""
        if not self.patron_day:
            return ()
        month, _sep, day = self.patron_day.partition("-")
        return ((int(month), int(day)),)

    @property
    def weekday_label(self) -> str:
        return str(WEEKDAYS[self.first_meeting_on.weekday()]) if self.first_meeting_on else ""

    @property
    def frequency_label(self) -> str:
        return str(FREQUENCY_LABELS.get(self.meeting_frequency, self.meeting_frequency))


class Group(Versioned, TimestampMixin, Base):
    """A solidarity group (Grameen: five self-selected members, joint responsibility)."""

    __tablename__ = "mc_group"
    __table_args__ = (
        UniqueConstraint("organisation_id", "name"),
        Index("ix_mc_group_org_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("mc_centre.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(12), default=FORMING)
    formed_on: Mapped[date] = mapped_column(Date)
    training_started_on: Mapped[date | None] = mapped_column(Date)
    recognised_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)

    organisation: Mapped[Organisation] = relationship()
    centre: Mapped[Centre | None] = relationship(back_populates="groups")
    #: Current members (those who left keep their group_id and a ``left_on`` date).
    members: Mapped[list[Member]] = relationship(
        order_by="Member.id",
        primaryjoin="and_(Group.id == Member.group_id, Member.left_on.is_(None))",
        viewonly=True,
    )
    training_sessions: Mapped[list[TrainingSession]] = relationship(
        back_populates="group", order_by="TrainingSession.held_on", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return str(GROUP_STATES.get(self.status, self.status))

    def member_with_role(self, role: str) -> Member | None:
        return next((m for m in self.members if m.group_role == role), None)


class Member(Versioned, TimestampMixin, Base):
    """A borrower: a person of a group, or an individual borrower without one.

    Personal data (name, fiscal code, telephone) is encrypted at rest and shown only to
    the officers of the organisation. A member may be linked to the network's candidate
    record of the same person (``candidate_id``), with the person's consent.
    """

    __tablename__ = "mc_member"
    __table_args__ = (UniqueConstraint("organisation_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("mc_group.id"), index=True)
    group_role: Mapped[str] = mapped_column(String(10), default=MEMBER)
    #: The organisation's member number, printed on collection sheets.
    number: Mapped[str] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(EncryptedText, default="")
    fiscal_code: Mapped[str] = mapped_column(EncryptedText, default="")
    phone: Mapped[str] = mapped_column(EncryptedText, default="")
    comune_code: Mapped[str | None] = mapped_column(ForeignKey("municipality.istat_code"))
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("candidate.id"), index=True)
    consent_on: Mapped[date] = mapped_column(Date)
    consent_purpose: Mapped[str] = mapped_column(String(300), default="")
    consent_until: Mapped[date | None] = mapped_column(Date)
    consent_withdrawn_on: Mapped[date | None] = mapped_column(Date)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)

    organisation: Mapped[Organisation] = relationship()
    group: Mapped[Group | None] = relationship()
    municipality: Mapped[Municipality | None] = relationship(lazy="joined")

    def has_consent(self, today: date) -> bool:
        return self.consent_withdrawn_on is None and (
            self.consent_until is None or self.consent_until >= today
        )

    @property
    def role_label(self) -> str:
        return str(GROUP_ROLES.get(self.group_role, self.group_role))

    @property
    def label(self) -> str:
        return f"{self.full_name} ({self.number})"


class TrainingSession(Base):
    """A compulsory group training session (Grameen's CGT) and who attended."""

    __tablename__ = "mc_training_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("mc_group.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    group: Mapped[Group] = relationship(back_populates="training_sessions")
    attendance: Mapped[list[TrainingAttendance]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def attendee_ids(self) -> set[int]:
        return {a.member_id for a in self.attendance}


class TrainingAttendance(Base):
    __tablename__ = "mc_training_attendance"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("mc_training_session.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("mc_member.id"), primary_key=True, index=True)


class Meeting(Base):
    """A centre meeting on a date: its collection sheet is saved once per version.

    ``version`` is the optimistic lock of the collection sheet: a save names the version
    it was filled in on, and only one save per version succeeds.
    """

    __tablename__ = "mc_meeting"
    __table_args__ = (UniqueConstraint("centre_id", "on_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("mc_centre.id"))
    on_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default=SCHEDULED)
    version: Mapped[int] = mapped_column(default=0)
    saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    saved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    centre: Mapped[Centre] = relationship()
    saved_by: Mapped[User | None] = relationship(lazy="joined")


class MeetingAttendance(Base):
    __tablename__ = "mc_meeting_attendance"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("mc_meeting.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("mc_member.id"), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(10), default=PRESENT)


class SavingsTransaction(Base):
    """Append-only savings ledger: a member's savings or, without a member, the group fund."""

    __tablename__ = "mc_savings_txn"
    __table_args__ = (Index("ix_mc_savings_txn_group_member", "group_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("mc_group.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("mc_member.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    #: +1, or -1 for the reversal of the entry ``reversal_of_id``.
    sign: Mapped[int] = mapped_column(SmallInteger, default=1)
    amount: Mapped[Decimal] = mapped_column(Money)
    on_date: Mapped[date] = mapped_column(Date)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("mc_meeting.id"), index=True)
    reversal_of_id: Mapped[int | None] = mapped_column(ForeignKey("mc_savings_txn.id"), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member | None] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(lazy="joined")

    @property
    def kind_label(self) -> str:
        return str(SAVINGS_KINDS.get(self.kind, self.kind))

    @property
    def note_label(self) -> str:
        return str(SYSTEM_NOTES.get(self.note, self.note))

    @property
    def balance_effect(self) -> Decimal:
        return self.sign * (self.amount if self.kind == DEPOSIT else -self.amount)


class LoanProduct(Versioned, TimestampMixin, Base):
    """A configurable loan product; a loan copies its terms when it is submitted."""

    __tablename__ = "mc_product"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)
    min_principal: Mapped[Decimal] = mapped_column(Money)
    max_principal: Mapped[Decimal] = mapped_column(Money)
    min_repayments: Mapped[int] = mapped_column(default=1)
    max_repayments: Mapped[int] = mapped_column(default=52)
    default_repayments: Mapped[int] = mapped_column(default=52)
    frequency: Mapped[str] = mapped_column(String(12), default="weekly")
    interest_rate: Mapped[Decimal] = mapped_column(Rate)
    interest_rate_period: Mapped[str] = mapped_column(String(6), default="year")
    interest_method: Mapped[str] = mapped_column(String(20), default="declining_balance")
    amortization: Mapped[str] = mapped_column(String(20), default="equal_installments")
    interest_calculation: Mapped[str] = mapped_column(
        String(30), default="same_as_repayment_period"
    )
    days_in_year: Mapped[int] = mapped_column(default=364)
    grace_on_principal: Mapped[int] = mapped_column(default=0)
    in_multiples_of: Mapped[Decimal | None] = mapped_column(Money)
    #: Comma-separated buckets: penalty, fee, interest, principal in the order repaid.
    allocation_order: Mapped[str] = mapped_column(
        String(60), default="penalty,fee,interest,principal"
    )
    disbursement_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    #: Charged once on each instalment still unpaid ``penalty_after_days`` after it fell due.
    late_penalty: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    penalty_after_days: Mapped[int] = mapped_column(default=7)
    group_lending: Mapped[bool] = mapped_column(default=True)
    enforce_221: Mapped[bool] = mapped_column(default=True)
    #: Fineract's "reschedule repayments on holidays": due dates on a Sunday or a public
    #: holiday move to the next working day (the amounts stay the same).
    move_non_working_days: Mapped[bool] = mapped_column(default=False)

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))


class Loan(TimestampMixin, Base):
    __tablename__ = "mc_loan"
    __table_args__ = (
        Index("ix_mc_loan_org_status", "organisation_id", "status"),
        Index("ix_mc_loan_member_kind", "member_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("mc_member.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("mc_group.id"), index=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("mc_centre.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("mc_product.id"), index=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(24), default=SUBMITTED)
    #: The member's n-th loan (1: the first cycle, staggered 2-2-1 in a group).
    cycle: Mapped[int] = mapped_column(default=1)
    principal: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    repayments: Mapped[int]
    frequency: Mapped[str] = mapped_column(String(12))
    interest_rate: Mapped[Decimal] = mapped_column(Rate)
    interest_rate_period: Mapped[str] = mapped_column(String(6))
    interest_method: Mapped[str] = mapped_column(String(20))
    amortization: Mapped[str] = mapped_column(String(20))
    interest_calculation: Mapped[str] = mapped_column(String(30))
    days_in_year: Mapped[int]
    grace_on_principal: Mapped[int] = mapped_column(default=0)
    in_multiples_of: Mapped[Decimal | None] = mapped_column(Money)
    allocation_order: Mapped[str] = mapped_column(String(60))
    rounding: Mapped[str] = mapped_column(String(16), default="ROUND_HALF_EVEN")
    move_non_working_days: Mapped[bool] = mapped_column(default=False)
    purpose: Mapped[str] = mapped_column(String(300), default="")
    submitted_on: Mapped[date] = mapped_column(Date)
    expected_disbursement_on: Mapped[date] = mapped_column(Date)
    approved_on: Mapped[date | None] = mapped_column(Date)
    disbursed_on: Mapped[date | None] = mapped_column(Date, index=True)
    closed_on: Mapped[date | None] = mapped_column(Date)
    rejected_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    status_reason: Mapped[str] = mapped_column(String(300), default="")
    #: Position in the group's staggered first disbursement (1, 2, 3 for 2-2-1).
    wave: Mapped[int | None]
    #: The tranche of the staggered first disbursement planned on the group application
    #: (1, 2, 3 for 2-2-1): a later tranche waits for the earlier ones (see
    #: ``services.wave_problem``). None when the loan was applied for on its own.
    tranche: Mapped[int | None]
    rescheduled_from_id: Mapped[int | None] = mapped_column(ForeignKey("mc_loan.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    member: Mapped[Member] = relationship(lazy="joined")
    group: Mapped[Group | None] = relationship()
    centre: Mapped[Centre | None] = relationship()
    product: Mapped[LoanProduct] = relationship(lazy="joined")
    officer: Mapped[User | None] = relationship(foreign_keys=[officer_id])
    installments: Mapped[list[LoanInstallment]] = relationship(
        order_by="LoanInstallment.number", cascade="all, delete-orphan"
    )
    services: Mapped[list[LoanService]] = relationship(
        order_by="LoanService.id", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return str(LOAN_STATES.get(self.status, self.status))

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def allocation(self) -> tuple[str, ...]:
        return tuple(b for b in self.allocation_order.split(",") if b)


class LoanInstallment(Base):
    """One instalment of a disbursed loan's schedule, fixed at disbursement.

    ``cumulative_*`` are running totals up to this instalment, so "what had fallen due by
    date D" is a single indexed look-up in portfolio reports.
    """

    __tablename__ = "mc_installment"
    __table_args__ = (Index("ix_mc_installment_loan_due", "loan_id", "due_date"),)

    loan_id: Mapped[int] = mapped_column(
        ForeignKey("mc_loan.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(primary_key=True)
    due_date: Mapped[date] = mapped_column(Date, index=True)
    principal: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    cumulative_principal: Mapped[Decimal] = mapped_column(Money)
    cumulative_total: Mapped[Decimal] = mapped_column(Money)

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


class LoanService(Base):
    """An ancillary service that comes with the loan (DM 176/2014 art. 3 and 5)."""

    __tablename__ = "mc_loan_service"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("mc_loan.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    provider: Mapped[str] = mapped_column(String(200), default="")
    planned_on: Mapped[date | None] = mapped_column(Date)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(String(500), default="")

    @property
    def kind_label(self) -> str:
        return str(SERVICES.get(self.kind, self.kind))


class LoanTransaction(Base):
    """The loan ledger: append-only, one row per balance change, split by component.

    ``amount`` = ``principal + interest + fee + penalty + overpayment``. What each kind does
    to the balances (``sign`` is -1 on the reversal of entry ``reversal_of_id``, which
    undoes it):

    ========== =====================================================================
    disbursement principal owed + principal
    repayment    each component paid (overpayment: credit owed to the borrower)
    fee, penalty fee or penalty owed + amount (a charge)
    waiver       the components forgiven
    write_off    the components written off (loan closed as written off)
    transfer     the components moved to the loan that reschedules this one
    refund       overpayment returned to the borrower
    ========== =====================================================================
    """

    __tablename__ = "mc_loan_txn"
    __table_args__ = (
        # Covers the portfolio report's ledger sums: read from the index alone.
        Index(
            "ix_mc_loan_txn_loan_date_amounts",
            "loan_id",
            "on_date",
            "kind",
            "sign",
            "principal",
            "interest",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("mc_loan.id"))
    kind: Mapped[str] = mapped_column(String(12))
    sign: Mapped[int] = mapped_column(SmallInteger, default=1)
    #: The value date. A reversal carries the date of the entry it reverses.
    on_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    principal: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    interest: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    fee: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    penalty: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    overpayment: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    #: Penalties: the instalment they were charged on (charged at most once each).
    installment_number: Mapped[int | None]
    reversal_of_id: Mapped[int | None] = mapped_column(ForeignKey("mc_loan_txn.id"), unique=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("mc_meeting.id"), index=True)
    #: Set by forms and collection sheets: the same submission is never booked twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    note: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship(lazy="joined")

    @property
    def kind_label(self) -> str:
        return str(TRANSACTION_KINDS.get(self.kind, self.kind))

    @property
    def note_label(self) -> str:
        return str(SYSTEM_NOTES.get(self.note, self.note))

    @property
    def components(self) -> dict[str, Decimal]:
        return {
            "principal": self.principal,
            "interest": self.interest,
            "fee": self.fee,
            "penalty": self.penalty,
            "overpayment": self.overpayment,
        }


@event.listens_for(LoanTransaction, "before_update")
@event.listens_for(LoanTransaction, "before_delete")
@event.listens_for(SavingsTransaction, "before_update")
@event.listens_for(SavingsTransaction, "before_delete")
def _ledger_is_append_only(mapper: Any, connection: Any, target: Any) -> None:
    raise PermissionError("the microcredit ledger is append-only: post a reversal instead")


# Stored identifiers, checked by `flask ponte check-identifiers` (portal.identifiers).
identifiers.register_stored(
    "member fiscal code", Member, "fiscal_code", identifiers.person_fiscal_code
)
