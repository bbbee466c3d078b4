"""Centre meetings: the collection sheet, arrears ageing and a group's joint view.

Saving a collection sheet books every repayment and savings deposit of the meeting in
one transaction. Two officers saving the same sheet at once cannot double-count:

1. the sheet carries the meeting's ``version``; the save runs
   ``UPDATE mc_meeting SET version = version + 1 … WHERE id = ? AND version = ?`` — on
   PostgreSQL the row lock makes the second saver wait, then match no row, so it stops
   with :class:`SheetConflict` and books nothing (SQLite serialises writers anyway);
2. the loans are then locked (``SELECT … FOR UPDATE``, in id order) before their balances
   are read and the repayments allocated;
3. each repayment carries an idempotency key unique in the ledger
   (``sheet:<meeting>:<version>:<loan>``), a last guard at the database level.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import selectinload

from microcredit import ledger
from microcredit.centres import ensure_meeting, meeting_dates
from microcredit.ledger import Position
from microcredit.lending.repayments import repay
from microcredit.models import (
    ACTIVE,
    ACTIVE_GROUP,
    ATTENDANCE,
    CLOSED_GROUP,
    DEPOSIT,
    DISBURSED_STATES,
    FORMING,
    HELD,
    REPAYMENT,
    Centre,
    Group,
    Loan,
    LoanInstallment,
    LoanTransaction,
    Meeting,
    MeetingAttendance,
    Member,
    SavingsTransaction,
)
from microcredit.money import ZERO, AmountError, money, parse_amount
from microcredit.policy import policy
from microcredit.rules import McError, local_today
from microcredit.savings import post_savings, savings_balances
from portal import audit, db
from portal.db import utcnow
from portal.models import User


@dataclass
class SheetLoan:
    loan: Loan
    position: Position
    #: Net repayments booked at this meeting.
    collected: Decimal = ZERO

    @property
    def open(self) -> bool:
        return self.loan.status == ACTIVE


@dataclass
class SheetMember:
    member: Member
    loans: list[SheetLoan] = field(default_factory=list)
    savings: Decimal = ZERO
    savings_collected: Decimal = ZERO
    attendance: str | None = None

    @property
    def due(self) -> Decimal:
        return sum((sl.position.due_now for sl in self.loans if sl.open), ZERO)

    @property
    def collected(self) -> Decimal:
        return sum((sl.collected for sl in self.loans), ZERO)


@dataclass
class SheetGroup:
    group: Group
    members: list[SheetMember] = field(default_factory=list)
    fund: Decimal = ZERO

    @property
    def due(self) -> Decimal:
        return sum((m.due for m in self.members), ZERO)

    @property
    def collected(self) -> Decimal:
        return sum((m.collected for m in self.members), ZERO)

    @property
    def savings_collected(self) -> Decimal:
        return sum((m.savings_collected for m in self.members), ZERO)


@dataclass
class Sheet:
    centre: Centre
    on_date: date
    meeting: Meeting | None
    groups: list[SheetGroup]

    @property
    def version(self) -> int:
        return self.meeting.version if self.meeting else 0

    @property
    def saved(self) -> bool:
        return bool(self.meeting and self.meeting.version > 0)

    @property
    def due(self) -> Decimal:
        return sum((g.due for g in self.groups), ZERO)

    @property
    def collected(self) -> Decimal:
        return sum((g.collected for g in self.groups), ZERO)

    @property
    def savings_collected(self) -> Decimal:
        return sum((g.savings_collected for g in self.groups), ZERO)

    def loans(self) -> dict[int, SheetLoan]:
        return {sl.loan.id: sl for g in self.groups for m in g.members for sl in m.loans}

    def members(self) -> dict[int, SheetMember]:
        return {m.member.id: m for g in self.groups for m in g.members}


def build_sheet(centre: Centre, on_date: date) -> Sheet:
    """Due amounts per member and group for the centre's meeting on ``on_date``."""
    meeting = db.session.execute(
        select(Meeting).where(Meeting.centre_id == centre.id, Meeting.on_date == on_date)
    ).scalar_one_or_none()
    groups = (
        db.session.execute(
            select(Group)
            .where(Group.centre_id == centre.id, Group.status.not_in((CLOSED_GROUP, FORMING)))
            .order_by(Group.name)
        )
        .scalars()
        .all()
    )
    group_ids = [g.id for g in groups]
    members = (
        db.session.execute(
            select(Member)
            .where(Member.group_id.in_(group_ids), Member.left_on.is_(None))
            .order_by(Member.group_id, Member.number)
        )
        .scalars()
        .all()
        if group_ids
        else []
    )
    member_ids = [m.id for m in members]
    meeting_loan_ids: set[int] = set()
    collected: dict[int, Decimal] = {}
    savings_collected: dict[int, Decimal] = {}
    attendance: dict[int, str] = {}
    if meeting is not None:
        t = LoanTransaction
        for loan_id, total in db.session.execute(
            select(t.loan_id, func.sum(t.sign * t.amount))
            .where(t.meeting_id == meeting.id, t.kind == REPAYMENT)
            .group_by(t.loan_id)
        ):
            collected[loan_id] = money(total)
            meeting_loan_ids.add(loan_id)
        s = SavingsTransaction
        for member_id, total in db.session.execute(
            select(s.member_id, func.sum(s.sign * s.amount))
            .where(s.meeting_id == meeting.id, s.kind == DEPOSIT)
            .group_by(s.member_id)
        ):
            if member_id is not None:
                savings_collected[member_id] = money(total)
        attendance = dict(
            db.session.execute(
                select(MeetingAttendance.member_id, MeetingAttendance.status).where(
                    MeetingAttendance.meeting_id == meeting.id
                )
            ).all()
        )
    loans = (
        db.session.execute(
            select(Loan)
            .where(
                Loan.member_id.in_(member_ids),
                or_(
                    and_(Loan.status == ACTIVE, Loan.disbursed_on <= on_date),
                    Loan.id.in_(sorted(meeting_loan_ids) or [-1]),
                ),
            )
            .order_by(Loan.member_id, Loan.id)
        )
        .scalars()
        .all()
        if member_ids
        else []
    )
    loan_ids = [loan.id for loan in loans]
    totals = ledger.totals_for(loan_ids, on_date)
    slots = ledger.slots_for(loan_ids)
    balances = savings_balances(group_ids, on_date)
    by_member: dict[int, list[SheetLoan]] = defaultdict(list)
    for loan in loans:
        by_member[loan.member_id].append(
            SheetLoan(
                loan,
                ledger.position(totals.get(loan.id, {}), slots.get(loan.id, []), on_date),
                collected.get(loan.id, ZERO),
            )
        )
    members_by_group: dict[int, list[SheetMember]] = defaultdict(list)
    for member in members:
        members_by_group[member.group_id].append(
            SheetMember(  # type: ignore[index]
                member,
                by_member.get(member.id, []),
                balances.get((member.group_id, member.id), ZERO),  # type: ignore[arg-type]
                savings_collected.get(member.id, ZERO),
                attendance.get(member.id),
            )
        )
    return Sheet(
        centre,
        on_date,
        meeting,
        [
            SheetGroup(g, members_by_group.get(g.id, []), balances.get((g.id, None), ZERO))
            for g in groups
        ],
    )


class SheetConflict(McError):
    """Someone saved the sheet after it was opened: nothing was booked."""

    def __init__(self, meeting: Meeting) -> None:
        who = meeting.saved_by.display_name if meeting.saved_by else _("another officer")
        super().__init__(
            {
                "sheet": _(
                    "%(who)s saved this collection sheet while you were filling it in: nothing "
                    "from your copy was recorded. Check the amounts now shown and save again only "
                    "what is still to be recorded.",
                    who=who,
                )
            }
        )
        self.meeting = meeting


@dataclass
class SavedSheet:
    meeting: Meeting
    repayments: int
    collected: Decimal
    savings: Decimal


def _parse(raw: str | None, name: str, errors: dict[str, str]) -> Decimal:
    if raw is None or not str(raw).strip():
        return ZERO
    try:
        return parse_amount(raw, allow_zero=True, localized=True)
    except AmountError as error:
        errors[name] = {
            "too_many_decimals": _("Use at most two decimals."),
            "negative": _("The amount cannot be negative."),
            "too_large": _("The amount is too large."),
        }.get(error.code, _("Enter an amount in euros, e.g. 12,50."))
        return ZERO


def save_sheet(
    centre: Centre,
    on_date: date,
    version: int,
    amounts: dict[int, str],
    savings: dict[int, str],
    attendance: dict[int, str],
    actor: User,
) -> SavedSheet:
    """Book the meeting's repayments, savings deposits and attendance in one go.

    ``amounts`` maps loan ids to the amounts collected, ``savings`` member ids to the
    savings deposited (as typed: ``12,50`` is fine). Every problem is reported at once
    (keys ``amount-<loan>``, ``savings-<member>``) and then nothing is booked.
    """
    errors: dict[str, str] = {}
    if on_date > local_today():
        raise McError({"sheet": _("A meeting in the future cannot be recorded yet.")})
    if on_date < centre.first_meeting_on:
        raise McError({"sheet": _("The centre did not meet yet on that date.")})
    sheet = build_sheet(centre, on_date)
    loans, members = sheet.loans(), sheet.members()
    booked: list[tuple[SheetLoan, Decimal]] = []
    for loan_id, raw in amounts.items():
        name = f"amount-{loan_id}"
        amount = _parse(raw, name, errors)
        if amount == 0:
            continue
        sheet_loan = loans.get(loan_id)
        if sheet_loan is None:
            errors[name] = _("This loan is not on the sheet.")
        elif not sheet_loan.open:
            errors[name] = _("The loan is closed: it takes no repayments.")
        else:
            booked.append((sheet_loan, amount))
    deposits: list[tuple[SheetMember, Decimal]] = []
    for member_id, raw in savings.items():
        name = f"savings-{member_id}"
        amount = _parse(raw, name, errors)
        if amount == 0:
            continue
        if member_id not in members:
            errors[name] = _("This member is not on the sheet.")
        else:
            deposits.append((members[member_id], amount))
    for member_id, status in attendance.items():
        if member_id not in members or status not in ATTENDANCE:
            errors[f"attendance-{member_id}"] = _("Choose present, absent or excused.")
    if errors:
        raise McError(errors)

    meeting = ensure_meeting(centre, on_date)
    claimed = db.session.execute(
        update(Meeting)
        .where(Meeting.id == meeting.id, Meeting.version == version)
        .values(version=version + 1, status=HELD, saved_by_id=actor.id, saved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(meeting)
    if claimed.rowcount != 1:
        raise SheetConflict(meeting)
    ids = sorted(sl.loan.id for sl, _amount in booked)
    locked: dict[int, Loan] = {}
    if ids:
        # Lock every loan of the sheet at once, in id order (no deadlock between savers),
        # and re-read them: their state may have changed since the sheet was built.
        locked = {
            loan.id: loan
            for loan in db.session.execute(
                select(Loan)
                .where(Loan.id.in_(ids))
                .order_by(Loan.id)
                .with_for_update(of=Loan)
                .execution_options(populate_existing=True)
            ).scalars()
        }
    total = ZERO
    note = "collection sheet"  # a code: microcredit.models.SYSTEM_NOTES
    for sheet_loan, amount in sorted(booked, key=lambda pair: pair[0].loan.id):
        repay(
            locked[sheet_loan.loan.id],
            amount,
            on_date,
            actor,
            meeting=meeting,
            key=f"sheet:{meeting.id}:{version}:{sheet_loan.loan.id}",
            note=note,
            locked=True,
        )
        total += amount
    saved = ZERO
    for sheet_member, amount in deposits:
        member = sheet_member.member
        post_savings(
            member.group,
            member,
            DEPOSIT,
            amount,
            on_date,
            actor,  # type: ignore[arg-type]
            meeting=meeting,
            key=f"sheet:{meeting.id}:{version}:m{member.id}",
        )
        saved += amount
    for member_id, status in attendance.items():
        db.session.merge(
            MeetingAttendance(meeting_id=meeting.id, member_id=member_id, status=status)
        )
    db.session.flush()
    audit.record(
        "microcredit.sheet.save",
        meeting,
        actor=actor,
        centre=centre.id,
        on_date=on_date.isoformat(),
        version=version + 1,
        repayments=len(booked),
        collected=f"{total:.2f}",
        savings=f"{saved:.2f}",
    )
    return SavedSheet(meeting, len(booked), total, saved)


# --- Arrears ---------------------------------------------------------------------------------


@dataclass
class ArrearsRow:
    loan: Loan
    position: Position

    @property
    def bucket(self) -> int:
        return bucket_of(self.position.days_late)


def bucket_of(days: int) -> int:
    """Index of the ageing bucket (policy.ageing_buckets lower bounds) for ``days`` late."""
    index = 0
    for i, low in enumerate(policy().ageing_buckets):
        if days >= low:
            index = i
    return index


def bucket_labels() -> list[str]:
    bounds = policy().ageing_buckets
    labels = []
    for i, low in enumerate(bounds):
        if i + 1 < len(bounds):
            labels.append(_("%(low)d–%(high)d days", low=low, high=bounds[i + 1] - 1))
        else:
            labels.append(_("%(low)d days or more", low=low))
    return labels


def late_loan_ids(
    org_id: int, as_of: date, *, centre_id: int | None = None, officer_id: int | None = None
) -> list[int]:
    """Loans with an instalment past due and not settled on ``as_of`` (one query)."""
    t, i = LoanTransaction, LoanInstallment
    settled = (
        select(t.loan_id, func.sum(t.sign * (t.principal + t.interest)).label("paid"))
        .where(t.kind.in_(ledger.SETTLING), t.on_date <= as_of)
        .group_by(t.loan_id)
        .subquery()
    )
    stmt = (
        select(i.loan_id)
        .join(Loan, Loan.id == i.loan_id)
        .outerjoin(settled, settled.c.loan_id == i.loan_id)
        .where(
            Loan.organisation_id == org_id,
            Loan.status.in_(DISBURSED_STATES),
            Loan.disbursed_on <= as_of,
            or_(Loan.closed_on.is_(None), Loan.closed_on > as_of),
            i.due_date < as_of,
            i.cumulative_total > func.coalesce(settled.c.paid, 0) + Decimal("0.005"),
        )
        .group_by(i.loan_id)
    )
    if centre_id is not None:
        stmt = stmt.where(Loan.centre_id == centre_id)
    if officer_id is not None:
        stmt = stmt.where(Loan.officer_id == officer_id)
    return list(db.session.execute(stmt).scalars())


def arrears(
    org_id: int, as_of: date, *, centre_id: int | None = None, officer_id: int | None = None
) -> list[ArrearsRow]:
    """Every loan in arrears on ``as_of``, most days late first."""
    ids = late_loan_ids(org_id, as_of, centre_id=centre_id, officer_id=officer_id)
    return _rows(ids, as_of)


def _rows(ids: list[int], as_of: date) -> list[ArrearsRow]:
    if not ids:
        return []
    loans = (
        db.session.execute(select(Loan).where(Loan.id.in_(ids)).options(selectinload(Loan.group)))
        .scalars()
        .all()
    )
    totals = ledger.totals_for(ids, as_of)
    slots = ledger.slots_for(ids)
    rows = [
        ArrearsRow(loan, ledger.position(totals.get(loan.id, {}), slots.get(loan.id, []), as_of))
        for loan in loans
    ]
    rows = [r for r in rows if r.position.in_arrears]
    rows.sort(key=lambda r: (-r.position.days_late, r.loan.id))
    return rows


def ageing(rows: list[ArrearsRow]) -> list[tuple[str, int, Decimal, Decimal]]:
    """Per bucket: label, loans, overdue amount, principal outstanding."""
    labels = bucket_labels()
    counts = [0] * len(labels)
    overdue = [ZERO] * len(labels)
    principal = [ZERO] * len(labels)
    for row in rows:
        b = row.bucket
        counts[b] += 1
        overdue[b] += row.position.overdue
        principal[b] += row.position.principal
    return list(zip(labels, counts, overdue, principal, strict=True))


@dataclass
class GroupView:
    """A group's joint view: each member's loans and arrears (joint responsibility)."""

    group: Group
    as_of: date
    members: list[SheetMember]

    @property
    def in_arrears(self) -> list[SheetMember]:
        return [m for m in self.members if any(sl.position.in_arrears for sl in m.loans)]

    @property
    def overdue(self) -> Decimal:
        return sum((sl.position.overdue for m in self.members for sl in m.loans), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return sum((sl.position.outstanding for m in self.members for sl in m.loans), ZERO)


def group_view(group: Group, as_of: date) -> GroupView:
    members = list(group.members)
    loans = (
        db.session.execute(
            select(Loan)
            .where(
                Loan.member_id.in_([m.id for m in members] or [-1]),
                Loan.status.in_(DISBURSED_STATES),
                Loan.disbursed_on <= as_of,
            )
            .order_by(Loan.id)
        )
        .scalars()
        .all()
    )
    ids = [loan.id for loan in loans]
    totals = ledger.totals_for(ids, as_of)
    slots = ledger.slots_for(ids)
    balances = savings_balances([group.id], as_of)
    by_member: dict[int, list[SheetLoan]] = defaultdict(list)
    for loan in loans:
        pos = ledger.position(totals.get(loan.id, {}), slots.get(loan.id, []), as_of)
        if loan.status == ACTIVE or pos.outstanding or pos.overpayment:
            by_member[loan.member_id].append(SheetLoan(loan, pos))
    return GroupView(
        group,
        as_of,
        [
            SheetMember(m, by_member.get(m.id, []), balances.get((group.id, m.id), ZERO))
            for m in members
        ],
    )


def recent_meetings(centre: Centre, today: date, count: int = 8) -> list[date]:
    start = today - timedelta(days=31 * 3)
    return list(reversed(meeting_dates(centre, start, today)))[:count]


def active_group_count(centre: Centre) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(Group)
        .where(Group.centre_id == centre.id, Group.status == ACTIVE_GROUP)
    ).scalar_one()
