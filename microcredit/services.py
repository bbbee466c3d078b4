"""Microcredit rules: who may act, centres and their calendar, groups and training,
savings, products, and the loan lifecycle (Fineract's states) with its limits.

Every change is made by an officer of the organisation, dated, and written to the
audit log in the same transaction. Functions raise :class:`McError` (all problems at
once, by field) and leave the session unchanged when they do.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError

from microcredit import holidays, ledger
from microcredit.ledger import Parts, Position
from microcredit.models import (
    ACTIVE,
    ACTIVE_GROUP,
    APPROVED,
    BUSINESS_SERVICES,
    CLOSED_GROUP,
    CLOSED_OBLIGATIONS_MET,
    CLOSED_RESCHEDULED,
    CLOSED_WRITTEN_OFF,
    DEPOSIT,
    DISBURSED_STATES,
    DISBURSEMENT,
    FEE,
    FORMING,
    LEADER,
    MEMBER,
    OPEN_STATES,
    OVERPAID,
    PENALTY,
    REFUND,
    REJECTED,
    REPAYMENT,
    SECRETARY,
    SERVICES,
    SOCIAL_SERVICES,
    SUBMITTED,
    SUSPENDED,
    TRAINING,
    TRANSFER,
    WAIVER,
    WITHDRAWAL,
    WITHDRAWN,
    WRITE_OFF,
    Centre,
    Group,
    Loan,
    LoanInstallment,
    LoanProduct,
    LoanService,
    LoanTransaction,
    Meeting,
    Member,
    SavingsTransaction,
    TrainingAttendance,
    TrainingSession,
)
from microcredit.money import ZERO, money
from microcredit.policy import BUSINESS, KINDS, SOCIAL, policy
from microcredit.schedule import (
    AMORTIZATIONS,
    DAYS_IN_YEAR_CHOICES,
    FREQUENCIES,
    INTEREST_CALCULATIONS,
    INTEREST_METHODS,
    MONTHLY,
    PERIOD_DAYS,
    RATE_PERIODS,
    Schedule,
    Terms,
    add_months,
    build_schedule,
    due_dates,
)
from portal import audit, db, identifiers
from portal.i18n import euro
from portal.models import MICROCREDIT_OFFICER, Organisation, User


class McError(ValueError):
    """Bad microcredit input or a forbidden transition; ``fields`` maps names to messages."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def local_today() -> date:
    """Today in the portal's time zone (Europe/Rome): the date people mean."""
    zone = zoneinfo.ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Rome"))
    return datetime.now(zone).date()


def _j(value: Any) -> Any:
    """A value for the audit log's JSON details."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _audit(
    action: str, obj: Any, actor: User | None, reason: str = "", subject: Any = None, **details: Any
) -> None:
    audit.record(
        f"microcredit.{action}",
        obj,
        actor=actor,
        reason=reason,
        subject=subject,
        **{k: _j(v) for k, v in details.items()},
    )


def _check_date(
    on_date: date | None,
    name: str,
    errors: dict[str, str],
    *,
    not_before: date | None = None,
    before_label: str = "",
) -> None:
    if on_date is None:
        errors[name] = _("Give the date.")
    elif on_date > local_today():
        errors[name] = _("The date cannot be in the future.")
    elif not_before is not None and on_date < not_before:
        errors[name] = _(
            "The date cannot be before %(what)s (%(date)s).",
            what=before_label,
            date=format_date(not_before),
        )


# --- Who may act ---------------------------------------------------------------------------


def officer_organisations(user: Any) -> list[Organisation]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return user.organisations(MICROCREDIT_OFFICER)


def officer_org_ids(user: Any) -> set[int]:
    return {org.id for org in officer_organisations(user)}


def can_manage(user: Any, organisation_id: int) -> bool:
    """Only microcredit officers of the organisation manage (and see) its data."""
    return organisation_id in officer_org_ids(user)


def require_officer(actor: Any, organisation_id: int) -> None:
    """Every change to a loan is made by a microcredit officer of its organisation: the
    pages check it first (404), and the rules check it again here, so no other caller
    (the API, a script, a future page) can skip it."""
    if not can_manage(actor, organisation_id):
        raise McError(
            {"actor": _("Only a microcredit officer of the loan's organisation can do this.")}
        )


def org_officers(org_id: int) -> list[User]:
    from portal.models import Membership

    return list(
        db.session.execute(
            select(User)
            .join(Membership)
            .where(
                Membership.organisation_id == org_id,
                Membership.role == MICROCREDIT_OFFICER,
                User.active.is_(True),
            )
            .order_by(User.full_name, User.id)
        )
        .scalars()
        .unique()
    )


# --- Centres and their meeting calendar ----------------------------------------------------


@dataclass
class CentreData:
    name: str
    first_meeting_on: date | None
    meeting_time: time | None
    meeting_frequency: str = "weekly"
    meeting_place: str = ""
    comune_code: str | None = None
    officer_id: int | None = None
    move_non_working_days: bool = False
    #: The patron saint's day, ``MM-DD`` (empty: none).
    patron_day: str | None = None


def _name_taken(model: Any, org: Organisation, name: str, current: Any | None) -> bool:
    """Whether another row of ``model`` in ``org`` has ``name`` (case-insensitive)."""
    return (
        db.session.execute(
            select(model.id).where(
                model.organisation_id == org.id,
                func.lower(model.name) == name.lower(),
                model.id != (current.id if current is not None else -1),
            )
        ).first()
        is not None
    )


def save_centre(
    org: Organisation, data: CentreData, actor: User, centre: Centre | None = None
) -> Centre:
    errors: dict[str, str] = {}
    name = (data.name or "").strip()
    if not name:
        errors["name"] = _("Give the centre a name.")
    elif _name_taken(Centre, org, name, centre):
        errors["name"] = _("Another centre has this name.")
    if data.first_meeting_on is None:
        errors["first_meeting_on"] = _("Give the date of the first meeting.")
    if data.meeting_time is None:
        errors["meeting_time"] = _("Give the meeting time.")
    if data.meeting_frequency not in FREQUENCIES:
        errors["meeting_frequency"] = _("Choose how often the centre meets.")
    if data.officer_id is not None and data.officer_id not in {u.id for u in org_officers(org.id)}:
        errors["officer_id"] = _("Choose an officer of your organisation.")
    patron_day = None
    try:
        found = holidays.parse_month_day(data.patron_day)
    except ValueError:
        errors["patron_day"] = _("Give the day as month-day, e.g. 12-07 for 7 December.")
    else:
        patron_day = f"{found[0]:02d}-{found[1]:02d}" if found else None
    if errors:
        raise McError(errors)
    creating = centre is None
    if centre is None:
        centre = Centre(organisation_id=org.id)
        db.session.add(centre)
    centre.name = name
    centre.first_meeting_on = data.first_meeting_on  # type: ignore[assignment]
    centre.meeting_time = data.meeting_time  # type: ignore[assignment]
    centre.meeting_frequency = data.meeting_frequency
    centre.meeting_place = (data.meeting_place or "").strip()[:200]
    centre.comune_code = data.comune_code or None
    centre.officer_id = data.officer_id
    centre.move_non_working_days = bool(data.move_non_working_days)
    centre.patron_day = patron_day
    db.session.flush()
    _audit("centre.create" if creating else "centre.update", centre, actor)
    return centre


def meeting_dates(centre: Centre, start: date, end: date) -> list[date]:
    """The centre's meeting dates between ``start`` and ``end`` (both included).

    With ``move_non_working_days`` a meeting on a Sunday or a public holiday (the centre's
    patron saint included) is held on the next working day; the calendar keeps counting
    from the unmoved dates.
    """
    if not centre.move_non_working_days:
        return _calendar_dates(centre, start, end)
    local, subdivision = centre.local_holidays, centre.holiday_subdivision
    # A moved meeting is at most a few days late: look that far back for the unmoved date.
    moved = (
        holidays.next_working_day(day, local, subdivision)
        for day in _calendar_dates(centre, start - timedelta(days=7), end)
    )
    return sorted({day for day in moved if start <= day <= end})


def _calendar_dates(centre: Centre, start: date, end: date) -> list[date]:
    anchor = centre.first_meeting_on
    found: list[date] = []
    if end < anchor:
        return found
    if centre.meeting_frequency == MONTHLY:
        k = max(0, (start.year - anchor.year) * 12 + start.month - anchor.month - 1)
        while True:
            day = add_months(anchor, k)
            if day > end:
                return found
            if day >= start:
                found.append(day)
            k += 1
    step = PERIOD_DAYS[centre.meeting_frequency]
    k = max(0, (start - anchor).days // step)
    day = anchor + timedelta(days=step * k)
    while day <= end:
        if day >= start:
            found.append(day)
        day += timedelta(days=step)
    return found


def last_meeting(centre: Centre, on_or_before: date) -> date | None:
    dates = meeting_dates(centre, on_or_before - timedelta(days=62), on_or_before)
    return dates[-1] if dates else None


def next_meetings(centre: Centre, from_day: date, count: int = 6) -> list[date]:
    return meeting_dates(centre, from_day, from_day + timedelta(days=31 * count + 31))[:count]


@dataclass
class CalendarMove:
    """A non-working day ahead on which the centre has a meeting or instalments fall."""

    day: date
    holiday: str | None  # None: a Sunday
    meeting_moves_to: date | None
    meeting_kept: bool
    #: Instalments of disbursed loans due that day: their schedule is fixed at
    #: disbursement and stays as it is; new schedules move such dates.
    instalments: int
    new_schedules_move_to: date


def calendar_moves(centre: Centre, from_day: date, days: int = 180) -> list[CalendarMove]:
    """Which dates of the next ``days`` the holiday calendar (holidays.Italy, the town's
    patron, the centre's own days) puts on a non-working day, so that the officer sees what
    moves and what a changed calendar leaves as it was."""
    local, subdivision = centre.local_holidays, centre.holiday_subdivision
    until = from_day + timedelta(days=days)
    meetings = set(_calendar_dates(centre, from_day, until))
    due = dict(
        db.session.execute(
            select(LoanInstallment.due_date, func.count())
            .join(Loan, Loan.id == LoanInstallment.loan_id)
            .where(
                Loan.centre_id == centre.id,
                Loan.status.in_(DISBURSED_STATES),
                LoanInstallment.due_date.between(from_day, until),
            )
            .group_by(LoanInstallment.due_date)
        ).all()
    )
    moves = []
    for day in sorted(meetings | set(due)):
        if holidays.is_working_day(day, local, subdivision):
            continue
        holiday = holidays.is_public_holiday(day, local, subdivision)
        if not (holiday or centre.move_non_working_days or due.get(day)):
            continue  # a centre that meets on Sundays on purpose: nothing moves
        moved = holidays.next_working_day(day, local, subdivision)
        in_calendar = day in meetings
        moves.append(
            CalendarMove(
                day=day,
                holiday=holidays.holiday_name(day, subdivision, str(get_locale() or "it"))
                or (_("Patron saint") if (day.month, day.day) in local else None),
                meeting_moves_to=moved if in_calendar and centre.move_non_working_days else None,
                meeting_kept=in_calendar and not centre.move_non_working_days,
                instalments=due.get(day, 0),
                new_schedules_move_to=moved,
            )
        )
    return moves


# --- Members ----------------------------------------------------------------------------------


@dataclass
class MemberData:
    full_name: str
    consent_on: date | None
    consent_purpose: str = ""
    consent_until: date | None = None
    fiscal_code: str = ""
    phone: str = ""
    comune_code: str | None = None
    candidate_pseudonym: str = ""
    joined_on: date | None = None
    group_role: str = MEMBER


def _candidate_id(pseudonym: str, errors: dict[str, str], current: int | None = None) -> int | None:
    pseudonym = (pseudonym or "").strip()
    if not pseudonym:
        return None
    from brokerage.caseload import has_consent
    from brokerage.models import Candidate

    found = db.session.execute(
        select(Candidate).where(Candidate.pseudonym == pseudonym, Candidate.erased_at.is_(None))
    ).scalar_one_or_none()
    if found is None:
        errors["candidate"] = _("No candidate record has this code.")
        return None
    # A new link shares the person's record across services: only with their consent to
    # sharing within the network (brokerage's "data_sharing" purpose, GDPR art. 6-7).
    if found.id != current and not has_consent(found, "data_sharing", local_today()):
        errors["candidate"] = _(
            "The person has not consented to sharing their record within the network's "
            "services: their service must record that consent first."
        )
        return None
    return found.id


def _next_member_number(org_id: int) -> str:
    count = db.session.execute(
        select(func.count()).select_from(Member).where(Member.organisation_id == org_id)
    ).scalar_one()
    return f"M{count + 1:05d}"


def save_member(
    org: Organisation,
    data: MemberData,
    actor: User,
    *,
    member: Member | None = None,
    group: Group | None = None,
) -> Member:
    """Create a member (in ``group``, or an individual borrower) or update one."""
    errors: dict[str, str] = {}
    if not (data.full_name or "").strip():
        errors["full_name"] = _("Give the member's full name.")
    if member is None and data.consent_on is None:
        errors["consent"] = _(
            "Record the person's consent to the processing of their data before saving."
        )
    if data.consent_on is not None and data.consent_on > local_today():
        errors["consent"] = _("The date cannot be in the future.")
    if (
        data.consent_until is not None
        and data.consent_on is not None
        and (data.consent_until <= data.consent_on)
    ):
        errors["consent_until"] = _("The consent must end after it was given.")
    if data.fiscal_code:
        try:
            data.fiscal_code = identifiers.person_fiscal_code(data.fiscal_code)
        except identifiers.IdentifierError as error:
            errors["fiscal_code"] = str(error.message)
    candidate_id = _candidate_id(
        data.candidate_pseudonym, errors, member.candidate_id if member else None
    )
    if (
        candidate_id is not None
        and db.session.execute(
            select(Member.id).where(
                Member.organisation_id == org.id,
                Member.candidate_id == candidate_id,
                Member.id != (member.id if member else -1),
            )
        ).first()
    ):
        errors["candidate"] = _("Another member is already linked to this candidate.")
    if data.group_role not in (LEADER, SECRETARY, MEMBER):
        errors["group_role"] = _("Choose a role in the group.")
    target_group = group or (member.group if member else None)
    if group is not None and member is None:
        if group.status == CLOSED_GROUP:
            errors["full_name"] = _("A closed group takes no new members.")
        elif len(group.members) >= policy().group_max_size:
            errors["full_name"] = _(
                "The group already has %(n)d members, the most allowed.", n=policy().group_max_size
            )
    if errors:
        raise McError(errors)
    creating = member is None
    if member is None:
        member = Member(
            organisation_id=org.id,
            number=_next_member_number(org.id),
            group_id=group.id if group else None,
            joined_on=data.joined_on or local_today(),
        )
        db.session.add(member)
    member.full_name = data.full_name.strip()
    member.fiscal_code = (data.fiscal_code or "").strip().upper()
    member.phone = (data.phone or "").strip()
    member.comune_code = data.comune_code or None
    member.candidate_id = candidate_id
    if data.consent_on is not None:
        member.consent_on = data.consent_on
        member.consent_purpose = (data.consent_purpose or "").strip()[:300]
        member.consent_until = data.consent_until or add_months(
            data.consent_on, 12 * policy().consent_years
        )
        member.consent_withdrawn_on = None
    db.session.flush()
    if target_group is not None:
        _set_role(member, target_group, data.group_role)
    _audit("member.create" if creating else "member.update", member, actor, subject=member)
    return member


def _set_role(member: Member, group: Group, role: str) -> None:
    """Leader and secretary are unique in a group: the previous holder becomes a member."""
    if role in (LEADER, SECRETARY):
        for other in group.members:
            if other.id != member.id and other.group_role == role:
                other.group_role = MEMBER
    member.group_role = role
    db.session.flush()
    db.session.expire(group, ["members"])


def withdraw_consent(member: Member, on_date: date, actor: User) -> None:
    """Consent withdrawn: no new loans; the contract in force continues (GDPR art. 6(1)(b))."""
    if member.consent_withdrawn_on is not None:
        raise McError({"consent": _("The consent has already been withdrawn.")})
    member.consent_withdrawn_on = on_date
    _audit("member.consent_withdrawn", member, actor, subject=member)


def leave_group(member: Member, on_date: date, actor: User) -> None:
    if member.group_id is None or member.left_on is not None:
        raise McError({"group": _("The member is not in a group.")})
    if db.session.execute(
        select(Loan.id).where(Loan.member_id == member.id, Loan.status.in_(OPEN_STATES))
    ).first():
        raise McError({"group": _("A member with an open loan cannot leave the group.")})
    if savings_balance(member.group_id, member.id) != 0:
        raise McError({"group": _("Return the member's savings before they leave.")})
    member.left_on = on_date
    member.group_role = MEMBER
    db.session.flush()
    if member.group is not None:  # the group's current members, read again when next used
        db.session.expire(member.group, ["members"])
    _audit("member.left_group", member, actor, subject=member, group=member.group_id)


# --- Groups and training -------------------------------------------------------------------


def _check_centre_capacity(
    centre_id: int | None, group: Group | None, errors: dict[str, str]
) -> None:
    if centre_id is None:
        return
    count = db.session.execute(
        select(func.count())
        .select_from(Group)
        .where(
            Group.centre_id == centre_id,
            Group.status != CLOSED_GROUP,
            Group.id != (group.id if group else -1),
        )
    ).scalar_one()
    if count >= policy().centre_max_groups:
        errors["centre"] = _(
            "The centre already has %(n)d groups, the most allowed.", n=policy().centre_max_groups
        )


def save_group(
    org: Organisation,
    name: str,
    centre: Centre | None,
    actor: User,
    group: Group | None = None,
    on_date: date | None = None,
) -> Group:
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Give the group a name.")
    elif _name_taken(Group, org, name, group):
        errors["name"] = _("Another group has this name.")
    if centre is not None and centre.organisation_id != org.id:
        errors["centre"] = _("Choose a centre of your organisation.")
    elif group is None or (centre.id if centre else None) != group.centre_id:
        _check_centre_capacity(centre.id if centre else None, group, errors)
    if group is not None and centre is None and group.status in (ACTIVE_GROUP, SUSPENDED):
        errors["centre"] = _("A recognised group meets in a centre.")
    if errors:
        raise McError(errors)
    creating = group is None
    if group is None:
        group = Group(organisation_id=org.id, status=FORMING, formed_on=on_date or local_today())
        db.session.add(group)
    group.name = name
    group.centre_id = centre.id if centre else None
    db.session.flush()
    _audit("group.create" if creating else "group.update", group, actor, centre=group.centre_id)
    return group


def record_training(
    group: Group, held_on: date | None, topic: str, attendee_ids: Iterable[int], actor: User
) -> TrainingSession:
    errors: dict[str, str] = {}
    _check_date(
        held_on,
        "held_on",
        errors,
        not_before=group.formed_on,
        before_label=_("the group was formed"),
    )
    if group.status not in (FORMING, TRAINING, ACTIVE_GROUP):
        errors["held_on"] = _("This group takes no training now.")
    members = {m.id for m in group.members}
    attendees = set(attendee_ids)
    if not attendees:
        errors["attendees"] = _("Tick who attended.")
    elif not attendees <= members:
        errors["attendees"] = _("Only members of the group can attend.")
    if errors:
        raise McError(errors)
    session = TrainingSession(
        group_id=group.id, held_on=held_on, topic=(topic or "")[:200], created_by_id=actor.id
    )
    session.attendance = [TrainingAttendance(member_id=m) for m in sorted(attendees)]
    db.session.add(session)
    db.session.flush()
    db.session.expire(group, ["training_sessions"])
    _audit("group.training", session, actor, group=group.id, attendees=sorted(attendees))
    return session


def sessions_attended(member_ids: Iterable[int]) -> dict[int, int]:
    ids = list(member_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(TrainingAttendance.member_id, func.count())
        .where(TrainingAttendance.member_id.in_(ids))
        .group_by(TrainingAttendance.member_id)
    )
    found = dict.fromkeys(ids, 0)
    found.update({member_id: count for member_id, count in rows})
    return found


def is_trained(member: Member) -> bool:
    return sessions_attended([member.id])[member.id] >= policy().training_sessions_required


def recognition_problems(group: Group) -> list[str]:
    """What stops the group being recognised (and so receiving its first loans)."""
    rules = policy()
    problems = []
    size = len(group.members)
    if not rules.group_min_size <= size <= rules.group_max_size:
        problems.append(
            _(
                "A group needs from %(low)d to %(high)d members; it has %(n)d.",
                low=rules.group_min_size,
                high=rules.group_max_size,
                n=size,
            )
        )
    if group.member_with_role(LEADER) is None:
        problems.append(_("Choose the group's leader."))
    if group.member_with_role(SECRETARY) is None:
        problems.append(_("Choose the group's secretary."))
    attended = sessions_attended(m.id for m in group.members)
    untrained = [m for m in group.members if attended[m.id] < rules.training_sessions_required]
    if untrained:
        problems.append(
            _(
                "%(n)d members have attended fewer than the %(required)d compulsory training "
                "sessions.",
                n=len(untrained),
                required=rules.training_sessions_required,
            )
        )
    if group.centre_id is None:
        problems.append(_("Assign the group to a centre, where it will meet."))
    return problems


GROUP_ACTIONS = ("start_training", "recognise", "suspend", "reactivate", "close")


def group_transition(
    group: Group, action: str, on_date: date | None, actor: User, reason: str = ""
) -> None:
    errors: dict[str, str] = {}
    _check_date(
        on_date,
        "on_date",
        errors,
        not_before=group.formed_on,
        before_label=_("the group was formed"),
    )
    if errors:
        raise McError(errors)
    rules = policy()
    if action == "start_training":
        if group.status != FORMING:
            raise McError({"status": _("Only a forming group can start its training.")})
        size = len(group.members)
        if not rules.group_min_size <= size <= rules.group_max_size:
            raise McError(
                {
                    "status": _(
                        "A group needs from %(low)d to %(high)d members; it has %(n)d.",
                        low=rules.group_min_size,
                        high=rules.group_max_size,
                        n=size,
                    )
                }
            )
        group.status = TRAINING
        group.training_started_on = on_date
    elif action == "recognise":
        if group.status != TRAINING:
            raise McError({"status": _("Only a group in training can be recognised.")})
        problems = recognition_problems(group)
        if problems:
            raise McError({"status": " ".join(problems)})
        group.status = ACTIVE_GROUP
        group.recognised_on = on_date
    elif action == "suspend":
        if group.status != ACTIVE_GROUP:
            raise McError({"status": _("Only a recognised group can be suspended.")})
        group.status = SUSPENDED
    elif action == "reactivate":
        if group.status != SUSPENDED:
            raise McError({"status": _("Only a suspended group can be reactivated.")})
        group.status = ACTIVE_GROUP
    elif action == "close":
        if group.status == CLOSED_GROUP:
            raise McError({"status": _("The group is already closed.")})
        if db.session.execute(
            select(Loan.id).where(Loan.group_id == group.id, Loan.status.in_(OPEN_STATES))
        ).first():
            raise McError({"status": _("Members of the group still have open loans.")})
        if any(v != 0 for v in savings_balances([group.id]).values()):
            raise McError(
                {
                    "status": _(
                        "Return the group fund and the members' savings before closing the group."
                    )
                }
            )
        group.status = CLOSED_GROUP
        group.closed_on = on_date
    else:
        raise McError({"status": _("Unknown action.")})
    _audit(f"group.{action}", group, actor, reason=reason, on_date=on_date)


# --- Savings and the group fund ------------------------------------------------------------


def savings_balances(
    group_ids: Iterable[int], as_of: date | None = None
) -> dict[tuple[int, int | None], Decimal]:
    """Balances by (group, member); member None is the group fund."""
    ids = list(group_ids)
    if not ids:
        return {}
    t = SavingsTransaction
    effect = t.sign * t.amount
    stmt = select(t.group_id, t.member_id, t.kind, func.sum(effect)).where(t.group_id.in_(ids))
    if as_of is not None:
        stmt = stmt.where(t.on_date <= as_of)
    found: dict[tuple[int, int | None], Decimal] = {}
    for group_id, member_id, kind, total in db.session.execute(
        stmt.group_by(t.group_id, t.member_id, t.kind)
    ):
        key = (group_id, member_id)
        amount = money(total)
        found[key] = found.get(key, ZERO) + (amount if kind == DEPOSIT else -amount)
    return found


def savings_balance(group_id: int, member_id: int | None = None) -> Decimal:
    return savings_balances([group_id]).get((group_id, member_id), ZERO)


def post_savings(
    group: Group,
    member: Member | None,
    kind: str,
    amount: Decimal,
    on_date: date | None,
    actor: User,
    *,
    meeting: Meeting | None = None,
    key: str | None = None,
    note: str = "",
) -> SavingsTransaction:
    errors: dict[str, str] = {}
    _check_date(
        on_date,
        "on_date",
        errors,
        not_before=group.formed_on,
        before_label=_("the group was formed"),
    )
    if kind not in (DEPOSIT, WITHDRAWAL):
        errors["kind"] = _("Choose deposit or withdrawal.")
    if amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        errors["amount"] = _("Give an amount in euros, more than zero, with at most two decimals.")
    if member is not None and (member.group_id != group.id or member.left_on is not None):
        errors["member"] = _("The member is not in this group.")
    if group.status == CLOSED_GROUP and kind == DEPOSIT:
        errors["kind"] = _("A closed group takes no deposits.")
    if errors:
        raise McError(errors)
    if kind == WITHDRAWAL:
        # Serialise withdrawals from this group's savings: two cannot both pass.
        db.session.execute(select(Group.id).where(Group.id == group.id).with_for_update())
        if amount > savings_balance(group.id, member.id if member else None):
            raise McError({"amount": _("The withdrawal is more than the balance.")})
    entry = SavingsTransaction(
        organisation_id=group.organisation_id,
        group_id=group.id,
        member_id=member.id if member else None,
        kind=kind,
        sign=1,
        amount=amount,
        on_date=on_date,
        meeting_id=meeting.id if meeting else None,
        idempotency_key=key,
        note=note[:300],
        created_by_id=actor.id,
    )
    db.session.add(entry)
    db.session.flush()
    _audit(f"savings.{kind}", entry, actor, subject=member, amount=amount, group=group.id)
    return entry


def reverse_savings(entry: SavingsTransaction, actor: User, reason: str) -> SavingsTransaction:
    if entry.sign != 1 or entry.reversal_of_id is not None:
        raise McError({"entry": _("A reversal cannot be reversed.")})
    if db.session.execute(
        select(SavingsTransaction.id).where(SavingsTransaction.reversal_of_id == entry.id)
    ).first():
        raise McError({"entry": _("This entry has already been reversed.")})
    db.session.execute(select(Group.id).where(Group.id == entry.group_id).with_for_update())
    if entry.kind == DEPOSIT and savings_balance(entry.group_id, entry.member_id) < entry.amount:
        raise McError({"entry": _("Reversing this deposit would leave a negative balance.")})
    reversal = SavingsTransaction(
        organisation_id=entry.organisation_id,
        group_id=entry.group_id,
        member_id=entry.member_id,
        kind=entry.kind,
        sign=-1,
        amount=entry.amount,
        on_date=entry.on_date,
        reversal_of_id=entry.id,
        note=(reason or "")[:300],
        created_by_id=actor.id,
    )
    db.session.add(reversal)
    db.session.flush()
    _audit("savings.reverse", entry, actor, reason=reason, amount=entry.amount)
    return reversal


# --- Loan products ---------------------------------------------------------------------------


@dataclass
class ProductData:
    name: str
    kind: str
    min_principal: Decimal | None
    max_principal: Decimal | None
    interest_rate: Decimal | None
    min_repayments: int | None = 1
    max_repayments: int | None = 52
    default_repayments: int | None = 52
    frequency: str = "weekly"
    interest_rate_period: str = "year"
    interest_method: str = "declining_balance"
    amortization: str = "equal_installments"
    interest_calculation: str = "same_as_repayment_period"
    days_in_year: int = 364
    grace_on_principal: int = 0
    in_multiples_of: Decimal | None = None
    allocation_order: str = "penalty,fee,interest,principal"
    disbursement_fee: Decimal = ZERO
    late_penalty: Decimal = ZERO
    penalty_after_days: int = 7
    group_lending: bool = True
    enforce_221: bool = True
    description: str = ""
    active: bool = True
    move_non_working_days: bool = False


def _term_exceeds(kind: str, frequency: str, repayments: int, start: date) -> bool:
    last = due_dates(start, frequency, repayments)[-1]
    return last > add_months(start, policy().limits(kind).max_months)


def save_product(
    org: Organisation, data: ProductData, actor: User, product: LoanProduct | None = None
) -> LoanProduct:
    rules = policy()
    errors: dict[str, str] = {}
    name = (data.name or "").strip()
    if not name:
        errors["name"] = _("Give the product a name.")
    elif _name_taken(LoanProduct, org, name, product):
        errors["name"] = _("Another product has this name.")
    if data.kind not in KINDS:
        errors["kind"] = _("Choose social or business microcredit.")
    limits = rules.limits(data.kind if data.kind in KINDS else SOCIAL)
    for name_, value in (
        ("min_principal", data.min_principal),
        ("max_principal", data.max_principal),
    ):
        if value is None or value <= 0:
            errors[name_] = _("Give an amount in euros, more than zero.")
        elif value > limits.max_amount:
            errors[name_] = _(
                "The law allows at most %(max)s for this kind of microcredit.",
                max=euro(limits.max_amount),
            )
    if (
        "min_principal" not in errors
        and "max_principal" not in errors
        and (data.min_principal > data.max_principal)
    ):  # type: ignore[operator]
        errors["max_principal"] = _("The maximum cannot be less than the minimum.")
    if data.interest_rate is None or data.interest_rate < 0:
        errors["interest_rate"] = _("Give the interest rate in percent.")
    else:
        annual = data.interest_rate * (12 if data.interest_rate_period == "month" else 1)
        if annual > rules.max_annual_rate:
            errors["interest_rate"] = _("The rate is too high.")
    reps = (data.min_repayments, data.default_repayments, data.max_repayments)
    if any(r is None or r < 1 or r > rules.max_repayments for r in reps):
        errors["max_repayments"] = _(
            "Repayments must be between 1 and %(max)d.", max=rules.max_repayments
        )
    elif not data.min_repayments <= data.default_repayments <= data.max_repayments:  # type: ignore[operator]
        errors["default_repayments"] = _(
            "The usual number of repayments must lie between the minimum and the maximum."
        )
    elif (
        data.frequency in FREQUENCIES
        and data.kind in KINDS
        and _term_exceeds(data.kind, data.frequency, data.max_repayments, date(2000, 1, 31))
    ):  # type: ignore[arg-type]
        errors["max_repayments"] = _(
            "The longest loan would last more than the %(months)d months the law allows.",
            months=limits.max_months,
        )
    for name_, value, allowed in (
        ("frequency", data.frequency, FREQUENCIES),
        ("interest_rate_period", data.interest_rate_period, RATE_PERIODS),
        ("interest_method", data.interest_method, INTEREST_METHODS),
        ("amortization", data.amortization, AMORTIZATIONS),
        ("interest_calculation", data.interest_calculation, INTEREST_CALCULATIONS),
        ("days_in_year", data.days_in_year, DAYS_IN_YEAR_CHOICES),
    ):
        if value not in allowed:
            errors[name_] = _("Choose one of the options.")
    if data.grace_on_principal < 0 or (
        data.min_repayments and data.grace_on_principal >= data.min_repayments
    ):
        errors["grace_on_principal"] = _(
            "The grace on principal must be shorter than the fewest repayments."
        )
    order = [b.strip() for b in (data.allocation_order or "").split(",") if b.strip()]
    if sorted(order) != sorted(("penalty", "fee", "interest", "principal")):
        errors["allocation_order"] = _(
            "List penalty, fee, interest and principal, each once, in the order repaid."
        )
    for name_, value in (
        ("disbursement_fee", data.disbursement_fee),
        ("late_penalty", data.late_penalty),
        ("in_multiples_of", data.in_multiples_of),
    ):
        if value is not None and value < 0:
            errors[name_] = _("The amount cannot be negative.")
    if data.penalty_after_days < 0 or data.penalty_after_days > 365:
        errors["penalty_after_days"] = _("Give a number of days from 0 to 365.")
    if data.kind == BUSINESS and data.group_lending is False and data.enforce_221:
        data.enforce_221 = False  # 2-2-1 is about groups only
    if errors:
        raise McError(errors)
    creating = product is None
    if product is None:
        product = LoanProduct(organisation_id=org.id)
        db.session.add(product)
    for attr in (
        "kind",
        "min_principal",
        "max_principal",
        "interest_rate",
        "min_repayments",
        "max_repayments",
        "default_repayments",
        "frequency",
        "interest_rate_period",
        "interest_method",
        "amortization",
        "interest_calculation",
        "days_in_year",
        "grace_on_principal",
        "disbursement_fee",
        "late_penalty",
        "penalty_after_days",
        "group_lending",
        "enforce_221",
        "active",
        "move_non_working_days",
    ):
        setattr(product, attr, getattr(data, attr))
    product.name = name
    product.description = (data.description or "")[:4000]
    product.in_multiples_of = data.in_multiples_of or None
    product.allocation_order = ",".join(order)
    db.session.flush()
    _audit("product.create" if creating else "product.update", product, actor)
    return product


# --- Loans: terms, limits, positions ---------------------------------------------------------


def loan_terms(loan: Loan, start: date | None = None) -> Terms:
    return Terms(
        principal=money(loan.principal),
        interest_rate=Decimal(loan.interest_rate),
        repayments=loan.repayments,
        disbursement_date=start or loan.disbursed_on or loan.expected_disbursement_on,
        frequency=loan.frequency,
        interest_method=loan.interest_method,
        amortization=loan.amortization,
        interest_rate_period=loan.interest_rate_period,
        grace_on_principal=loan.grace_on_principal,
        in_multiples_of=money(loan.in_multiples_of) if loan.in_multiples_of else None,
        days_in_year=loan.days_in_year,
        interest_calculation=loan.interest_calculation,
        rounding=loan.rounding,
        move_non_working_days=loan.move_non_working_days,
        local_holidays=loan.centre.local_holidays if loan.centre else (),
        holiday_subdivision=loan.centre.holiday_subdivision if loan.centre else None,
    )


def preview_schedule(loan: Loan) -> Schedule:
    return build_schedule(loan_terms(loan))


def loan_position(loan: Loan, as_of: date | None = None, *, all_entries: bool = False) -> Position:
    """The loan's position on ``as_of`` (today by default). ``all_entries`` also counts
    entries dated after it (the current state, for allocating a back-dated repayment)."""
    day = as_of or local_today()
    totals = ledger.totals_for([loan.id], None if all_entries else day).get(loan.id, {})
    return ledger.position(totals, ledger.slots_for([loan.id]).get(loan.id, []), day)


def _cumulative_exposure(member: Member, kind: str, exclude_id: int | None) -> Decimal:
    limits = policy().limits(kind)
    stmt = select(func.sum(Loan.principal)).where(
        Loan.member_id == member.id, Loan.kind == kind, Loan.id != (exclude_id or -1)
    )
    if limits.cumulative:
        # Everything ever lent, not what was refused; a rescheduled loan counts once.
        stmt = stmt.where(
            Loan.status.not_in((REJECTED, WITHDRAWN)), Loan.rescheduled_from_id.is_(None)
        )
    else:
        stmt = stmt.where(Loan.status.in_(OPEN_STATES))
    return money(db.session.execute(stmt).scalar_one())


def check_limits(
    member: Member,
    kind: str,
    principal: Decimal,
    repayments: int,
    frequency: str,
    start: date,
    exclude_id: int | None,
    errors: dict[str, str],
) -> None:
    """Art. 111 TUB and DM 176/2014 limits (see :mod:`microcredit.policy`)."""
    rules = policy()
    limits = rules.limits(kind)
    already = _cumulative_exposure(member, kind, exclude_id)
    if principal + already > limits.max_amount:
        errors["principal"] = _(
            "This would bring the member's %(kind)s to %(total)s: the limit is %(max)s.",
            kind=_("social microcredit") if kind == SOCIAL else _("business microcredit"),
            total=euro(principal + already),
            max=euro(limits.max_amount),
        )
    if repayments >= 1 and _term_exceeds(kind, frequency, repayments, start):
        errors["repayments"] = _(
            "The loan would last more than the %(months)d months allowed.", months=limits.max_months
        )
    if (
        rules.one_open_loan_per_kind
        and db.session.execute(
            select(Loan.id).where(
                Loan.member_id == member.id,
                Loan.kind == kind,
                Loan.status.in_(OPEN_STATES),
                Loan.id != (exclude_id or -1),
            )
        ).first()
    ):
        errors["member"] = _("The member already has an open loan of this kind.")


def submit_loan(
    member: Member,
    product: LoanProduct,
    principal: Decimal | None,
    repayments: int | None,
    expected_disbursement_on: date | None,
    purpose: str,
    officer_id: int | None,
    actor: User,
    on_date: date | None = None,
) -> Loan:
    require_officer(actor, member.organisation_id)
    on_date = on_date or local_today()
    errors: dict[str, str] = {}
    if product.organisation_id != member.organisation_id or not product.active:
        errors["product"] = _("Choose an active product of your organisation.")
    if member.left_on is not None:
        errors["member"] = _("The member has left.")
    elif not member.has_consent(on_date):
        errors["member"] = _("The member's consent is missing, expired or withdrawn.")
    if principal is None or principal <= 0 or principal != principal.quantize(Decimal("0.01")):
        errors["principal"] = _(
            "Give an amount in euros, more than zero, with at most two decimals."
        )
    elif not product.min_principal <= principal <= product.max_principal:
        errors["principal"] = _(
            "The product lends from %(low)s to %(high)s.",
            low=euro(product.min_principal),
            high=euro(product.max_principal),
        )
    if repayments is None or not product.min_repayments <= repayments <= product.max_repayments:
        errors["repayments"] = _(
            "The product allows from %(low)d to %(high)d repayments.",
            low=product.min_repayments,
            high=product.max_repayments,
        )
    if expected_disbursement_on is None:
        errors["expected_disbursement_on"] = _("Give the expected disbursement date.")
    elif expected_disbursement_on < on_date - timedelta(days=31):
        errors["expected_disbursement_on"] = _("The date is too far in the past.")
    if officer_id is not None and officer_id not in {
        u.id for u in org_officers(member.organisation_id)
    }:
        errors["officer"] = _("Choose an officer of your organisation.")
    group = member.group if member.group_id and member.left_on is None else None
    if product.group_lending:
        if group is None:
            errors["member"] = _("This product lends to members of a group.")
        elif group.status != ACTIVE_GROUP:
            errors["member"] = _("The member's group is not recognised (active).")
        elif not is_trained(member):
            errors["member"] = _("The member has not attended the compulsory group training.")
    if not errors:
        check_limits(
            member,
            product.kind,
            principal,
            repayments,
            product.frequency,  # type: ignore[arg-type]
            expected_disbursement_on,
            None,
            errors,
        )  # type: ignore[arg-type]
    if errors:
        raise McError(errors)
    cycle = (
        1
        + db.session.execute(
            select(func.count())
            .select_from(Loan)
            .where(
                Loan.member_id == member.id,
                Loan.disbursed_on.is_not(None),
                Loan.rescheduled_from_id.is_(None),
            )
        ).scalar_one()
    )
    loan = Loan(
        organisation_id=member.organisation_id,
        member_id=member.id,
        group_id=group.id if group else None,
        centre_id=group.centre_id if group else None,
        product_id=product.id,
        officer_id=officer_id or actor.id,
        kind=product.kind,
        status=SUBMITTED,
        cycle=cycle,
        principal=principal,
        repayments=repayments,
        frequency=product.frequency,
        interest_rate=product.interest_rate,
        interest_rate_period=product.interest_rate_period,
        interest_method=product.interest_method,
        amortization=product.amortization,
        interest_calculation=product.interest_calculation,
        days_in_year=product.days_in_year,
        grace_on_principal=product.grace_on_principal,
        in_multiples_of=product.in_multiples_of,
        allocation_order=product.allocation_order,
        rounding=policy().rounding,
        move_non_working_days=product.move_non_working_days,
        purpose=(purpose or "").strip()[:300],
        submitted_on=on_date,
        expected_disbursement_on=expected_disbursement_on,
        created_by_id=actor.id,
    )
    db.session.add(loan)
    db.session.flush()
    _audit(
        "loan.submit",
        loan,
        actor,
        subject=member,
        principal=principal,
        repayments=repayments,
        product=product.id,
    )
    return loan


# --- Loans: services ------------------------------------------------------------------------


def required_services(loan: Loan) -> tuple[dict[str, Any], int]:
    """The kinds of ancillary service that count for the loan, and how many are needed."""
    kinds = BUSINESS_SERVICES if loan.kind == BUSINESS else SOCIAL_SERVICES
    return kinds, policy().limits(loan.kind).min_services


def add_service(
    loan: Loan,
    kind: str,
    provider: str,
    planned_on: date | None,
    delivered_on: date | None,
    notes: str,
    actor: User,
) -> LoanService:
    errors: dict[str, str] = {}
    if kind not in SERVICES:
        errors["kind"] = _("Choose a service.")
    if delivered_on is not None and delivered_on > local_today():
        errors["delivered_on"] = _("The date cannot be in the future.")
    if loan.status in (REJECTED, WITHDRAWN) or loan.status in (
        CLOSED_OBLIGATIONS_MET,
        CLOSED_WRITTEN_OFF,
        CLOSED_RESCHEDULED,
    ):
        errors["kind"] = _("The loan is closed.")
    if errors:
        raise McError(errors)
    service = LoanService(
        loan_id=loan.id,
        kind=kind,
        provider=(provider or "")[:200],
        planned_on=planned_on,
        delivered_on=delivered_on,
        notes=(notes or "")[:500],
    )
    db.session.add(service)
    db.session.flush()
    db.session.expire(loan, ["services"])
    _audit("loan.service", loan, actor, kind=kind, delivered_on=delivered_on)
    return service


# --- Loans: lifecycle -------------------------------------------------------------------------


def lock_loan(loan: Loan) -> Loan:
    """Take the loan's row lock (PostgreSQL; SQLite serialises writers) and refresh it."""
    return db.session.execute(
        select(Loan)
        .where(Loan.id == loan.id)
        .with_for_update(of=Loan)
        .execution_options(populate_existing=True)
    ).scalar_one()


def _require_status(loan: Loan, *states: str, message: str | None = None) -> None:
    if loan.status not in states:
        raise McError(
            {
                "status": message
                or _(
                    'This cannot be done on a loan in the state "%(state)s".',
                    state=loan.status_label,
                )
            }
        )


def approve(
    loan: Loan,
    on_date: date | None,
    actor: User,
    principal: Decimal | None = None,
    reason: str = "",
) -> None:
    require_officer(actor, loan.organisation_id)
    loan = lock_loan(loan)
    _require_status(loan, SUBMITTED)
    errors: dict[str, str] = {}
    _check_date(
        on_date, "on_date", errors, not_before=loan.submitted_on, before_label=_("the application")
    )
    amount = principal if principal is not None else loan.principal
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        errors["principal"] = _(
            "Give an amount in euros, more than zero, with at most two decimals."
        )
    elif amount > loan.principal:
        errors["principal"] = _("The approved amount cannot exceed the amount applied for.")
    elif amount < loan.product.min_principal:
        errors["principal"] = _(
            "The product lends at least %(low)s.", low=euro(loan.product.min_principal)
        )
    kinds, needed = required_services(loan)
    if sum(1 for s in loan.services if s.kind in kinds) < needed:
        errors["services"] = _(
            "Record at least %(n)d of the required support services before approval (DM 176/2014).",
            n=needed,
        )
    if not loan.member.has_consent(on_date or local_today()):
        errors["member"] = _("The member's consent is missing, expired or withdrawn.")
    if not errors:
        check_limits(
            loan.member,
            loan.kind,
            amount,
            loan.repayments,
            loan.frequency,
            loan.expected_disbursement_on,
            loan.id,
            errors,
        )
    if errors:
        raise McError(errors)
    loan.principal = amount
    loan.status = APPROVED
    loan.approved_on = on_date
    _audit(
        "loan.approve",
        loan,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=on_date,
        principal=amount,
    )


def undo_approval(loan: Loan, actor: User, reason: str = "") -> None:
    require_officer(actor, loan.organisation_id)
    loan = lock_loan(loan)
    _require_status(loan, APPROVED)
    loan.status = SUBMITTED
    loan.approved_on = None
    _audit(
        "loan.undo_approval",
        loan,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=local_today(),
    )


def reject(loan: Loan, on_date: date | None, actor: User, reason: str = "") -> None:
    require_officer(actor, loan.organisation_id)
    loan = lock_loan(loan)
    _require_status(loan, SUBMITTED)
    errors: dict[str, str] = {}
    _check_date(
        on_date, "on_date", errors, not_before=loan.submitted_on, before_label=_("the application")
    )
    if not (reason or "").strip():
        errors["reason"] = _("Say why the application is rejected.")
    if errors:
        raise McError(errors)
    loan.status = REJECTED
    loan.rejected_on = on_date
    loan.status_reason = reason.strip()[:300]
    _audit("loan.reject", loan, actor, reason=reason, subject=loan.member, on_date=on_date)


def withdraw(loan: Loan, on_date: date | None, actor: User, reason: str = "") -> None:
    require_officer(actor, loan.organisation_id)
    loan = lock_loan(loan)
    _require_status(loan, SUBMITTED)
    errors: dict[str, str] = {}
    _check_date(
        on_date, "on_date", errors, not_before=loan.submitted_on, before_label=_("the application")
    )
    if errors:
        raise McError(errors)
    loan.status = WITHDRAWN
    loan.withdrawn_on = on_date
    loan.status_reason = (reason or "").strip()[:300]
    _audit("loan.withdraw", loan, actor, reason=reason, subject=loan.member, on_date=on_date)


def wave_problem(loan: Loan, on_date: date) -> str | None:
    """Grameen's staggered first disbursement (2-2-1 by default), or None if allowed.

    In a group, first-cycle loans go out in waves; a wave waits until every loan of the
    earlier waves has been repaying for ``wave_gap_days`` without arrears, and the group
    leader's loan is the last one.
    """
    rules = policy()
    if not (loan.product.enforce_221 and loan.group_id and loan.cycle == 1):
        return None
    waves = rules.first_disbursement_waves
    earlier = (
        db.session.execute(
            select(Loan)
            .where(
                Loan.group_id == loan.group_id,
                Loan.cycle == 1,
                Loan.disbursed_on.is_not(None),
                Loan.id != loan.id,
                Loan.rescheduled_from_id.is_(None),
            )
            .order_by(Loan.disbursed_on, Loan.id)
        )
        .scalars()
        .all()
    )
    k = len(earlier) + 1
    bounds = [sum(waves[: i + 1]) for i in range(len(waves))]
    wave = next((i for i, bound in enumerate(bounds) if k <= bound), len(waves) - 1)
    group = db.session.get(Group, loan.group_id)
    leader = group.member_with_role(LEADER) if group else None
    is_leader = leader is not None and leader.id == loan.member_id
    if is_leader and k < bounds[-1] and len(group.members) >= bounds[-1]:  # type: ignore[union-attr]
        return _(
            "The group leader receives the first loan last (staggered %(pattern)s).",
            pattern="-".join(str(w) for w in waves),
        )
    if (
        not is_leader
        and leader is not None
        and k == bounds[-1]
        and leader.id not in {e.member_id for e in earlier}
    ):
        return _(
            "The last first loan of the group is the leader's (staggered %(pattern)s).",
            pattern="-".join(str(w) for w in waves),
        )
    if loan.tranche and loan.tranche > 1:
        waiting = _earlier_tranches_waiting(loan)
        if waiting:
            return _(
                "Tranche %(n)d of the group's first loans goes out first: %(names)s "
                "(staggered %(pattern)s).",
                n=min(other.tranche or 1 for other in waiting),
                names=", ".join(other.member.full_name for other in waiting),
                pattern="-".join(str(w) for w in waves),
            )
    if wave == 0:
        return None
    previous = earlier[: bounds[wave - 1]]
    if len(previous) < bounds[wave - 1]:
        return _("The earlier wave of first loans has not been disbursed yet.")
    for other in previous:
        if other.disbursed_on + timedelta(days=rules.wave_gap_days) > on_date:  # type: ignore[operator]
            return _(
                "The next wave of first loans can be disbursed from %(date)s, %(days)d days "
                "after the previous wave (staggered %(pattern)s).",
                date=format_date(other.disbursed_on + timedelta(days=rules.wave_gap_days)),  # type: ignore[operator]
                days=rules.wave_gap_days,
                pattern="-".join(str(w) for w in waves),
            )
        if other.status == ACTIVE and loan_position(other, on_date).in_arrears:
            return _(
                "A loan of the earlier wave is in arrears: the next wave waits until it "
                "is repaid on time."
            )
    return None


def _earlier_tranches_waiting(loan: Loan) -> list[Loan]:
    """First loans of the group planned for an earlier tranche and not yet disbursed."""
    return list(
        db.session.execute(
            select(Loan)
            .where(
                Loan.group_id == loan.group_id,
                Loan.cycle == 1,
                Loan.id != loan.id,
                Loan.status.in_((SUBMITTED, APPROVED)),
                Loan.tranche < loan.tranche,
                Loan.rescheduled_from_id.is_(None),
            )
            .order_by(Loan.tranche, Loan.id)
        ).scalars()
    )


def _post(
    loan: Loan,
    kind: str,
    on_date: date,
    parts: Parts,
    actor: User | None,
    *,
    sign: int = 1,
    reversal_of: LoanTransaction | None = None,
    meeting: Meeting | None = None,
    key: str | None = None,
    note: str = "",
    installment_number: int | None = None,
) -> LoanTransaction:
    entry = LoanTransaction(
        loan_id=loan.id,
        kind=kind,
        sign=sign,
        on_date=on_date,
        amount=parts.total,
        principal=parts.principal,
        interest=parts.interest,
        fee=parts.fee,
        penalty=parts.penalty,
        overpayment=parts.overpayment,
        reversal_of_id=reversal_of.id if reversal_of else None,
        meeting_id=meeting.id if meeting else None,
        idempotency_key=key,
        note=note[:300],
        installment_number=installment_number,
        created_by_id=actor.id if actor else None,
    )
    ledger.check_entry(entry)
    db.session.add(entry)
    db.session.flush()
    return entry


def disburse(loan: Loan, on_date: date | None, actor: User, reason: str = "") -> None:
    require_officer(actor, loan.organisation_id)
    loan = lock_loan(loan)
    _require_status(loan, APPROVED)
    errors: dict[str, str] = {}
    _check_date(
        on_date, "on_date", errors, not_before=loan.approved_on, before_label=_("the approval")
    )
    if errors:
        raise McError(errors)
    assert on_date is not None
    if not loan.member.has_consent(on_date):
        errors["member"] = _("The member's consent is missing, expired or withdrawn.")
    if loan.product.group_lending:
        group = loan.group
        if group is None or group.status != ACTIVE_GROUP:
            errors["member"] = _("The member's group is not recognised (active).")
    if _term_exceeds(loan.kind, loan.frequency, loan.repayments, on_date):
        errors["repayments"] = _(
            "The loan would last more than the %(months)d months allowed.",
            months=policy().limits(loan.kind).max_months,
        )
    problem = wave_problem(loan, on_date)
    if problem:
        errors["on_date"] = problem
    if errors:
        raise McError(errors)
    schedule = build_schedule(loan_terms(loan, on_date))
    _store_schedule(loan, schedule)
    loan.status = ACTIVE
    loan.disbursed_on = on_date
    loan.centre_id = loan.group.centre_id if loan.group else None
    if loan.product.enforce_221 and loan.group_id and loan.cycle == 1:
        loan.wave = _wave_number(loan)
    _post(loan, DISBURSEMENT, on_date, Parts(principal=money(loan.principal)), actor, note=reason)
    fee = money(loan.product.disbursement_fee)
    if fee > 0:
        _post(loan, FEE, on_date, Parts(fee=fee), actor, note="disbursement fee")
    _audit(
        "loan.disburse",
        loan,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=on_date,
        principal=loan.principal,
        maturity=schedule.maturity_date,
    )


def _wave_number(loan: Loan) -> int:
    waves = policy().first_disbursement_waves
    count = (
        db.session.execute(
            select(func.count())
            .select_from(Loan)
            .where(
                Loan.group_id == loan.group_id,
                Loan.cycle == 1,
                Loan.disbursed_on.is_not(None),
                Loan.id != loan.id,
                Loan.rescheduled_from_id.is_(None),
            )
        ).scalar_one()
        + 1
    )
    bound = 0
    for number, size in enumerate(waves, start=1):
        bound += size
        if count <= bound:
            return number
    return len(waves)


# --- Group applications: the whole group on one form ---------------------------------------

#: Errors of :func:`submit_loan` that belong to one member's line of a group application.
ROW_FIELDS = ("principal", "repayments", "member")


@dataclass
class GroupLoanRow:
    """One member's line of a group application (None: missing or not a valid value)."""

    member_id: int
    principal: Decimal | None
    repayments: int | None
    purpose: str = ""
    #: Tranche of the staggered first disbursement (first loans of staggered products).
    tranche: int | None = None


@dataclass
class PlanLine:
    """A member of the group as a group application shows them."""

    member: Member
    #: The loan the member would now apply for is their n-th (1: first, staggered).
    cycle: int
    #: Tranche of the staggered first disbursement: already taken by a first loan of the
    #: member (``fixed``), or the suggested one. None: not staggered.
    tranche: int | None
    fixed: bool = False
    #: The first loan has gone out already (in tranche ``tranche``).
    disbursed: bool = False
    #: An open loan of the product's kind (the member cannot apply for another one).
    open_loan: Loan | None = None


def staggered(product: LoanProduct) -> bool:
    """Whether the product's first loans in a group go out in staggered tranches."""
    return bool(product.group_lending and product.enforce_221)


def _leader_rule(group: Group) -> bool:
    """The leader-last rule applies to groups of at least the staggered total (as in
    :func:`wave_problem`)."""
    return len(group.members) >= sum(policy().first_disbursement_waves)


def group_plan(group: Group, product: LoanProduct) -> list[PlanLine]:
    """The group's current members with their tranche of the staggered first disbursement
    (Grameen 2-2-1 by default): the tranche a first loan already holds, or a suggestion —
    members in order fill the earliest tranche with room, the leader goes last."""
    waves = policy().first_disbursement_waves
    members = list(group.members)
    ids = [m.id for m in members] or [-1]
    loans = (
        db.session.execute(
            select(Loan)
            .where(Loan.member_id.in_(ids), Loan.status.not_in((REJECTED, WITHDRAWN)))
            .order_by(Loan.id)
        )
        .scalars()
        .all()
    )
    disbursed = {
        loan.member_id for loan in loans if loan.disbursed_on and loan.rescheduled_from_id is None
    }
    room = list(waves)
    held: dict[int, tuple[int, bool]] = {}
    for loan in loans:
        number = loan.wave if loan.disbursed_on else loan.tranche
        if (
            loan.group_id == group.id
            and loan.cycle == 1
            and loan.rescheduled_from_id is None
            and number
            and 1 <= number <= len(waves)
        ):
            held[loan.member_id] = (number, loan.disbursed_on is not None)
            room[number - 1] -= 1
    leader = group.member_with_role(LEADER)
    reserve_for_leader = (
        leader is not None
        and leader.id not in held
        and leader.id not in disbursed
        and _leader_rule(group)
    )
    lines = []
    for member in members:
        line = PlanLine(
            member=member,
            cycle=2 if member.id in disbursed else 1,
            tranche=None,
            open_loan=next(
                (
                    loan
                    for loan in loans
                    if loan.member_id == member.id
                    and loan.kind == product.kind
                    and loan.status in OPEN_STATES
                ),
                None,
            ),
        )
        if staggered(product) and member.id in held:
            line.tranche, line.disbursed = held[member.id]
            line.fixed = True
        elif staggered(product) and line.cycle == 1 and line.open_loan is None:
            if reserve_for_leader and member.id == leader.id:  # type: ignore[union-attr]
                line.tranche = len(waves)
            else:
                usable = [
                    k
                    for k in range(len(waves))
                    if room[k] - (1 if reserve_for_leader and k == len(waves) - 1 else 0) > 0
                ]
                line.tranche = usable[0] + 1 if usable else len(waves)
                room[line.tranche - 1] -= 1
        lines.append(line)
    return lines


def tranche_date(group: Group, first: date, tranche: int | None) -> date:
    """The expected disbursement date of a tranche: the first tranche's date, plus the
    policy's gap between tranches, moved to the centre's next meeting."""
    if not tranche or tranche <= 1:
        return first
    day = first + timedelta(days=policy().wave_gap_days * (tranche - 1))
    if group.centre is not None:
        meetings = next_meetings(group.centre, day, 1)
        if meetings:
            return meetings[0]
    return day


def _tranche_errors(
    group: Group, plan: dict[int, PlanLine], chosen: dict[int, int | None]
) -> dict[str, str]:
    """The chosen tranches against the staggered pattern (capacity, leader last)."""
    waves = policy().first_disbursement_waves
    pattern = "-".join(str(w) for w in waves)
    errors: dict[str, str] = {}
    counts = [0] * len(waves)
    for line in plan.values():
        if line.fixed and line.tranche:
            counts[line.tranche - 1] += 1
    for member_id, tranche in chosen.items():
        if tranche is None or not 1 <= tranche <= len(waves):
            errors[f"tranche-{member_id}"] = _("Choose the tranche of the first loan.")
        else:
            counts[tranche - 1] += 1
    leader = group.member_with_role(LEADER)
    leader_waiting = (
        leader is not None
        and _leader_rule(group)
        and plan.get(leader.id) is not None
        and plan[leader.id].cycle == 1
        and not plan[leader.id].fixed
    )
    for member_id, tranche in chosen.items():
        key = f"tranche-{member_id}"
        if key in errors:
            continue
        assert tranche is not None
        if counts[tranche - 1] > waves[tranche - 1]:
            errors[key] = _(
                "Tranche %(n)d holds at most %(size)d first loans (staggered %(pattern)s).",
                n=tranche,
                size=waves[tranche - 1],
                pattern=pattern,
            )
        elif leader is not None and member_id == leader.id and _leader_rule(group):
            if tranche != len(waves):
                errors[key] = _(
                    "The group leader's first loan is in the last tranche (staggered %(pattern)s).",
                    pattern=pattern,
                )
        elif (
            leader_waiting
            and tranche == len(waves)
            and counts[-1] - (1 if leader.id in chosen else 0) >= waves[-1]  # type: ignore[union-attr]
        ):
            errors[key] = _(
                "The last tranche is kept for the group leader (staggered %(pattern)s).",
                pattern=pattern,
            )
    return errors


def submit_group_loans(
    group: Group,
    product: LoanProduct,
    rows: list[GroupLoanRow],
    expected_disbursement_on: date | None,
    officer_id: int | None,
    service_kinds: Iterable[str],
    actor: User,
    on_date: date | None = None,
) -> list[Loan]:
    """Apply for loans for several members of a group at once: all or nothing.

    Each line goes through :func:`submit_loan` (the product's terms, consent, training and
    the art. 111 TUB / DM 176/2014 limits per borrower); first loans of a staggered product
    also get their tranche, checked against the pattern (:func:`_tranche_errors`). Every
    problem is reported, keyed ``<field>-<member id>`` for a line's fields, and nothing is
    saved unless every line is valid. Each loan gets the support services chosen.
    """
    on_date = on_date or local_today()
    errors: dict[str, str] = {}
    if product.organisation_id != group.organisation_id or not product.active:
        errors["product"] = _("Choose an active product of your organisation.")
    elif not product.group_lending:
        errors["product"] = _("Choose a product that lends to members of a group.")
    if group.status != ACTIVE_GROUP:
        errors["group"] = _("The group is not recognised (active).")
    members = {m.id: m for m in group.members}
    if not rows:
        errors["rows"] = _("Include at least one member.")
    elif any(row.member_id not in members for row in rows) or len(
        {row.member_id for row in rows}
    ) != len(rows):
        errors["rows"] = _("Include each current member of the group at most once.")
    kinds = list(dict.fromkeys(service_kinds))
    if any(kind not in SERVICES for kind in kinds):
        errors["services"] = _("Choose a service.")
    if expected_disbursement_on is None:
        errors["expected_disbursement_on"] = _("Give the expected disbursement date.")
    if errors:
        raise McError(errors)
    assert expected_disbursement_on is not None
    plan = {line.member.id: line for line in group_plan(group, product)}
    if staggered(product):
        errors.update(
            _tranche_errors(
                group,
                plan,
                {row.member_id: row.tranche for row in rows if plan[row.member_id].cycle == 1},
            )
        )
    loans: list[Loan] = []
    with db.session.begin_nested():
        for row in rows:
            member = members[row.member_id]
            tranche = row.tranche if staggered(product) and plan[member.id].cycle == 1 else None
            try:
                loan = submit_loan(
                    member,
                    product,
                    row.principal,
                    row.repayments,
                    tranche_date(group, expected_disbursement_on, tranche),
                    row.purpose,
                    officer_id,
                    actor,
                    on_date,
                )
            except McError as error:
                for name, message in error.fields.items():
                    errors.setdefault(
                        f"{name}-{member.id}" if name in ROW_FIELDS else name, message
                    )
                continue
            loan.tranche = tranche if loan.cycle == 1 else None
            for kind in kinds:
                add_service(loan, kind, "", None, None, "", actor)
            loans.append(loan)
        if errors:
            raise McError(errors)
        db.session.flush()
        _audit(
            "group.loans_submit",
            group,
            actor,
            product=product.id,
            loans=[loan.id for loan in loans],
            principal=sum((loan.principal for loan in loans), ZERO),
        )
    return loans


def _group_loans(group: Group, loan_ids: Iterable[int], state: str) -> list[Loan]:
    ids = sorted(set(loan_ids))
    if not ids:
        raise McError({"loans": _("Choose at least one loan.")})
    loans = list(
        db.session.execute(
            select(Loan).where(Loan.id.in_(ids), Loan.group_id == group.id, Loan.status == state)
        ).scalars()
    )
    if len(loans) != len(ids):
        raise McError({"loans": _("Choose loans of this group in the state shown.")})
    return loans


def _each(loans: list[Loan], action: Any) -> None:
    """Run ``action`` on every loan in one savepoint: all, or none and every problem."""
    errors: dict[str, str] = {}
    with db.session.begin_nested():
        for loan in loans:
            try:
                action(loan)
            except McError as error:
                errors[f"loan-{loan.id}"] = " ".join(dict.fromkeys(error.fields.values()))
        if errors:
            raise McError(errors)


def approve_group_loans(
    group: Group, loan_ids: Iterable[int], on_date: date | None, actor: User, reason: str = ""
) -> list[Loan]:
    """Approve several submitted applications of a group, each through :func:`approve`
    (services, consent, limits), in one transaction; errors keyed ``loan-<id>``."""
    loans = _group_loans(group, loan_ids, SUBMITTED)
    _each(loans, lambda loan: approve(loan, on_date, actor, reason=reason))
    return loans


def disbursement_order(loan: Loan) -> tuple[int, int, int]:
    """Tranche first, the leader last within it, then the order of application."""
    return (loan.tranche or 0, 1 if loan.member.group_role == LEADER else 0, loan.id)


def disburse_group_loans(
    group: Group, loan_ids: Iterable[int], on_date: date | None, actor: User, reason: str = ""
) -> list[Loan]:
    """Disburse several approved loans of a group, each through :func:`disburse` in
    tranche order, so the staggered first disbursement is checked loan by loan; all in
    one transaction, errors keyed ``loan-<id>``."""
    loans = sorted(_group_loans(group, loan_ids, APPROVED), key=disbursement_order)
    _each(loans, lambda loan: disburse(loan, on_date, actor, reason))
    return loans


def _store_schedule(loan: Loan, schedule: Schedule) -> None:
    cumulative_p = cumulative_t = ZERO
    rows = []
    for item in schedule.installments:
        cumulative_p += item.principal
        cumulative_t += item.total
        rows.append(
            LoanInstallment(
                loan_id=loan.id,
                number=item.number,
                due_date=item.due_date,
                principal=item.principal,
                interest=item.interest,
                cumulative_principal=cumulative_p,
                cumulative_total=cumulative_t,
            )
        )
    db.session.add_all(rows)
    db.session.flush()
    db.session.expire(loan, ["installments"])


def _state(loan: Loan) -> tuple[ledger.Totals, list[ledger.Slot]]:
    """All the loan's entries summed by kind, and its schedule."""
    return (
        ledger.totals_for([loan.id]).get(loan.id, {}),
        ledger.slots_for([loan.id]).get(loan.id, []),
    )


def _after_change(
    loan: Loan,
    on_date: date,
    actor: User | None,
    state: tuple[ledger.Totals, list[ledger.Slot]] | None = None,
) -> None:
    """Set the loan's state from its balances after a repayment, reversal or refund; a
    change of state (closed with obligations met, overpaid, back to active) is audited
    on the loan, with who and when."""
    before = loan.status
    _set_state_from_balances(loan, on_date, state)
    _audit_state(loan, before, on_date, actor)


def _audit_state(loan: Loan, before: str, on_date: date, actor: User | None) -> None:
    if loan.status != before:
        _audit(
            "loan.state",
            loan,
            actor,
            subject=loan.member,
            on_date=on_date,
            **{"from": before, "to": loan.status},
        )


def _set_state_from_balances(
    loan: Loan, on_date: date, state: tuple[ledger.Totals, list[ledger.Slot]] | None
) -> None:
    totals, slots = state or _state(loan)
    pos = ledger.position(totals, slots, on_date)
    if pos.overpayment > 0:
        loan.status = OVERPAID
        loan.closed_on = None
    elif pos.outstanding == 0:
        loan.status = CLOSED_OBLIGATIONS_MET
        loan.closed_on = loan.closed_on or on_date
    else:
        loan.status = ACTIVE
        loan.closed_on = None


def _existing(key: str | None) -> LoanTransaction | None:
    if not key:
        return None
    return db.session.execute(
        select(LoanTransaction).where(LoanTransaction.idempotency_key == key)
    ).scalar_one_or_none()


def repay(
    loan: Loan,
    amount: Decimal | None,
    on_date: date | None,
    actor: User,
    *,
    meeting: Meeting | None = None,
    key: str | None = None,
    note: str = "",
    locked: bool = False,
) -> LoanTransaction:
    """Book a repayment, allocated by the loan's order (see :mod:`microcredit.ledger`).

    ``locked``: the caller already holds the loan's row lock and refreshed it.
    """
    require_officer(actor, loan.organisation_id)
    if not locked:
        loan = lock_loan(loan)
    errors: dict[str, str] = {}
    if loan.status in (CLOSED_OBLIGATIONS_MET, CLOSED_WRITTEN_OFF, CLOSED_RESCHEDULED):
        errors["amount"] = _("The loan is closed: it takes no repayments.")
    elif loan.status == OVERPAID:
        errors["amount"] = _("The loan is already overpaid: refund the overpayment instead.")
    elif loan.status != ACTIVE:
        errors["amount"] = _("The loan has not been disbursed.")
    elif amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        errors["amount"] = _("Give an amount in euros, more than zero, with at most two decimals.")
    if not errors:
        _check_date(
            on_date,
            "on_date",
            errors,
            not_before=loan.disbursed_on,
            before_label=_("the disbursement"),
        )
    if key and _existing(key) is not None:
        errors["amount"] = _("This repayment has already been recorded.")
    if errors:
        raise McError(errors)
    assert on_date is not None and amount is not None
    totals, slots = _state(loan)
    pos = ledger.position(totals, slots, on_date)
    parts = ledger.allocate(amount, pos, on_date, loan.allocation)
    entry = _post(loan, REPAYMENT, on_date, parts, actor, meeting=meeting, key=key, note=note)
    totals[REPAYMENT] = totals.get(REPAYMENT, Parts()) + parts
    _after_change(loan, on_date, actor, (totals, slots))
    _audit(
        "loan.repay",
        entry,
        actor,
        subject=loan.member,
        loan=loan.id,
        amount=amount,
        on_date=on_date,
        meeting=meeting.id if meeting else None,
        **{c: v for c, v in parts.as_dict().items() if v},
    )
    return entry


def _negated(parts: Parts) -> Parts:
    return Parts(*(-getattr(parts, c) for c in ledger.COMPONENTS))


def reverse(entry: LoanTransaction, actor: User, reason: str = "") -> LoanTransaction:
    """Undo an entry with a reversal entry (never a deletion)."""
    loan = db.session.get(Loan, entry.loan_id)
    assert loan is not None
    require_officer(actor, loan.organisation_id)
    loan = lock_loan(loan)
    if entry.sign != 1 or entry.reversal_of_id is not None:
        raise McError({"entry": _("A reversal cannot be reversed.")})
    if db.session.execute(
        select(LoanTransaction.id).where(LoanTransaction.reversal_of_id == entry.id)
    ).first():
        raise McError({"entry": _("This entry has already been reversed.")})
    if loan.status == CLOSED_RESCHEDULED or entry.kind == TRANSFER:
        raise McError({"entry": _("The entries of a rescheduled loan cannot be reversed.")})
    if loan.status == CLOSED_WRITTEN_OFF and entry.kind != WRITE_OFF:
        raise McError({"entry": _("The loan is written off: reverse the write-off first.")})
    if not (reason or "").strip():
        raise McError({"reason": _("Say why the entry is reversed.")})
    parts = Parts(**entry.components)
    if entry.kind == DISBURSEMENT:
        return _undo_disbursement(loan, entry, actor, reason)
    totals = ledger.totals_for([loan.id]).get(loan.id, {})
    totals[entry.kind] = totals.get(entry.kind, Parts()) + _negated(parts)
    slots = ledger.slots_for([loan.id]).get(loan.id, [])
    after = ledger.position(totals, slots, entry.on_date)
    if min(after.principal, after.interest, after.fee, after.penalty, after.overpayment) < 0:
        raise McError(
            {
                "entry": _(
                    "Reversing this entry would leave a negative balance: reverse the later "
                    "entries that depend on it first."
                )
            }
        )
    reversal = _post(
        loan, entry.kind, entry.on_date, parts, actor, sign=-1, reversal_of=entry, note=reason
    )
    if entry.kind == WRITE_OFF:
        loan.status = ACTIVE
        loan.closed_on = None
        _audit_state(loan, CLOSED_WRITTEN_OFF, local_today(), actor)
    elif loan.status in (ACTIVE, OVERPAID, CLOSED_OBLIGATIONS_MET):
        _after_change(loan, local_today(), actor)
    _audit(
        "loan.reverse",
        entry,
        actor,
        reason=reason,
        subject=loan.member,
        loan=loan.id,
        kind=entry.kind,
        amount=entry.amount,
    )
    return reversal


def _undo_disbursement(
    loan: Loan, entry: LoanTransaction, actor: User, reason: str
) -> LoanTransaction:
    """Back to approved, when nothing but the disbursement (and its fee) was booked."""
    entries = (
        db.session.execute(select(LoanTransaction).where(LoanTransaction.loan_id == loan.id))
        .scalars()
        .all()
    )
    reversed_ids = {e.reversal_of_id for e in entries if e.reversal_of_id}
    live = [e for e in entries if e.sign == 1 and e.id not in reversed_ids and e.id != entry.id]
    if any(not (e.kind == FEE and e.note == "disbursement fee") for e in live):
        raise McError({"entry": _("Other entries follow the disbursement: reverse them first.")})
    for fee in live:
        _post(
            loan,
            FEE,
            fee.on_date,
            Parts(**fee.components),
            actor,
            sign=-1,
            reversal_of=fee,
            note=reason,
        )
    reversal = _post(
        loan,
        DISBURSEMENT,
        entry.on_date,
        Parts(**entry.components),
        actor,
        sign=-1,
        reversal_of=entry,
        note=reason,
    )
    for row in list(loan.installments):  # the schedule is derived data, rebuilt next time
        db.session.delete(row)
    loan.status = APPROVED
    loan.disbursed_on = None
    loan.wave = None
    db.session.flush()
    db.session.expire(loan, ["installments"])
    _audit(
        "loan.undo_disbursement",
        loan,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=entry.on_date,
    )
    return reversal


def prepay(
    loan: Loan, on_date: date | None, actor: User, key: str | None = None
) -> LoanTransaction:
    """Pay the loan off early: interest after the current period is waived."""
    require_officer(actor, loan.organisation_id)
    loan = lock_loan(loan)
    _require_status(loan, ACTIVE)
    errors: dict[str, str] = {}
    _check_date(
        on_date, "on_date", errors, not_before=loan.disbursed_on, before_label=_("the disbursement")
    )
    if _existing(key) is not None:
        errors["on_date"] = _("This repayment has already been recorded.")
    if errors:
        raise McError(errors)
    assert on_date is not None
    pay, waive = ledger.payoff_quote(loan_position(loan, on_date, all_entries=True))
    if waive > 0:
        _post(
            loan,
            WAIVER,
            on_date,
            Parts(interest=waive),
            actor,
            note="interest waived on early repayment",
        )
    entry = _post(loan, REPAYMENT, on_date, pay, actor, key=key, note="early repayment")
    _after_change(loan, on_date, actor)
    _audit(
        "loan.prepay",
        entry,
        actor,
        subject=loan.member,
        loan=loan.id,
        amount=pay.total,
        waived=waive,
        on_date=on_date,
    )
    return entry


def write_off(loan: Loan, on_date: date | None, actor: User, reason: str = "") -> LoanTransaction:
    require_officer(actor, loan.organisation_id)
    loan = lock_loan(loan)
    _require_status(loan, ACTIVE)
    errors: dict[str, str] = {}
    _check_date(
        on_date, "on_date", errors, not_before=loan.disbursed_on, before_label=_("the disbursement")
    )
    if not (reason or "").strip():
        errors["reason"] = _("Say why the loan is written off.")
    if errors:
        raise McError(errors)
    assert on_date is not None
    pos = loan_position(loan, on_date, all_entries=True)
    parts = Parts(principal=pos.principal, interest=pos.interest, fee=pos.fee, penalty=pos.penalty)
    entry = _post(loan, WRITE_OFF, on_date, parts, actor, note=reason)
    loan.status = CLOSED_WRITTEN_OFF
    loan.closed_on = on_date
    loan.status_reason = reason.strip()[:300]
    _audit(
        "loan.write_off",
        loan,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=on_date,
        principal=pos.principal,
    )
    return entry


def refund(loan: Loan, on_date: date | None, actor: User) -> LoanTransaction:
    require_officer(actor, loan.organisation_id)
    loan = lock_loan(loan)
    _require_status(loan, OVERPAID)
    errors: dict[str, str] = {}
    _check_date(
        on_date, "on_date", errors, not_before=loan.disbursed_on, before_label=_("the disbursement")
    )
    if errors:
        raise McError(errors)
    assert on_date is not None
    pos = loan_position(loan, on_date, all_entries=True)
    entry = _post(loan, REFUND, on_date, Parts(overpayment=pos.overpayment), actor)
    _after_change(loan, on_date, actor)
    loan.closed_on = on_date if loan.status == CLOSED_OBLIGATIONS_MET else None
    _audit("loan.refund", loan, actor, subject=loan.member, amount=pos.overpayment, on_date=on_date)
    return entry


def reschedule(
    loan: Loan, on_date: date | None, repayments: int | None, actor: User, reason: str = ""
) -> Loan:
    """Close the loan as rescheduled and open a new one for what is owed.

    The new loan lends the outstanding principal plus the interest, fees and penalties
    already due (capitalised); interest not yet due is waived. Its schedule starts on
    ``on_date`` with the same product terms and ``repayments``.
    """
    require_officer(actor, loan.organisation_id)
    loan = lock_loan(loan)
    _require_status(loan, ACTIVE)
    errors: dict[str, str] = {}
    _check_date(
        on_date, "on_date", errors, not_before=loan.disbursed_on, before_label=_("the disbursement")
    )
    if repayments is None or not 1 <= repayments <= policy().max_repayments:
        errors["repayments"] = _(
            "Repayments must be between 1 and %(max)d.", max=policy().max_repayments
        )
    elif on_date and _term_exceeds(loan.kind, loan.frequency, repayments, on_date):
        errors["repayments"] = _(
            "The loan would last more than the %(months)d months allowed.",
            months=policy().limits(loan.kind).max_months,
        )
    if not (reason or "").strip():
        errors["reason"] = _("Say why the loan is rescheduled.")
    if errors:
        raise McError(errors)
    assert on_date is not None and repayments is not None
    pos = loan_position(loan, on_date, all_entries=True)
    due_interest = min(pos.due_interest, pos.interest)
    waive = pos.interest - due_interest
    if waive > 0:
        _post(
            loan,
            WAIVER,
            on_date,
            Parts(interest=waive),
            actor,
            note="interest not yet due, on rescheduling",
        )
    moved = Parts(principal=pos.principal, interest=due_interest, fee=pos.fee, penalty=pos.penalty)
    _post(loan, TRANSFER, on_date, moved, actor, note=reason)
    loan.status = CLOSED_RESCHEDULED
    loan.closed_on = on_date
    loan.status_reason = reason.strip()[:300]
    successor = Loan(
        organisation_id=loan.organisation_id,
        member_id=loan.member_id,
        group_id=loan.group_id,
        centre_id=loan.centre_id,
        product_id=loan.product_id,
        officer_id=loan.officer_id,
        kind=loan.kind,
        status=ACTIVE,
        cycle=loan.cycle,
        principal=moved.total,
        repayments=repayments,
        frequency=loan.frequency,
        interest_rate=loan.interest_rate,
        interest_rate_period=loan.interest_rate_period,
        interest_method=loan.interest_method,
        amortization=loan.amortization,
        interest_calculation=loan.interest_calculation,
        days_in_year=loan.days_in_year,
        grace_on_principal=min(loan.grace_on_principal, repayments - 1),
        in_multiples_of=loan.in_multiples_of,
        allocation_order=loan.allocation_order,
        rounding=loan.rounding,
        purpose=loan.purpose,
        submitted_on=on_date,
        expected_disbursement_on=on_date,
        approved_on=on_date,
        disbursed_on=on_date,
        rescheduled_from_id=loan.id,
        created_by_id=actor.id,
    )
    db.session.add(successor)
    db.session.flush()
    _store_schedule(successor, build_schedule(loan_terms(successor, on_date)))
    _post(successor, DISBURSEMENT, on_date, Parts(principal=moved.total), actor, note="rescheduled")
    _audit(
        "loan.disburse",
        successor,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=on_date,
        principal=moved.total,
        rescheduled_from=loan.id,
    )
    _audit(
        "loan.reschedule",
        loan,
        actor,
        reason=reason,
        subject=loan.member,
        on_date=on_date,
        successor=successor.id,
        capitalised=moved.total,
        waived=waive,
    )
    return successor


def penalty_organisations() -> list[Organisation]:
    """The organisations with an active loan whose product charges late penalties (the
    daily ``microcredit penalties`` job without ``--org`` runs for each)."""
    ids = (
        select(Loan.organisation_id)
        .join(LoanProduct)
        .where(Loan.status == ACTIVE, LoanProduct.late_penalty > 0)
    )
    return list(
        db.session.execute(
            select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name)
        ).scalars()
    )


def _penalty_charged(loan_id: int, number: int) -> bool:
    net = db.session.execute(
        select(func.sum(LoanTransaction.sign)).where(
            LoanTransaction.loan_id == loan_id,
            LoanTransaction.kind == PENALTY,
            LoanTransaction.installment_number == number,
        )
    ).scalar_one()
    return int(net or 0) > 0


def apply_penalties(org_id: int, as_of: date, actor: User | None = None) -> int:
    """Charge each product's late penalty once on every instalment still unpaid
    ``penalty_after_days`` after it fell due. Returns how many were charged."""
    loans = (
        db.session.execute(
            select(Loan)
            .join(LoanProduct)
            .where(
                Loan.organisation_id == org_id, Loan.status == ACTIVE, LoanProduct.late_penalty > 0
            )
        )
        .scalars()
        .all()
    )
    if not loans:
        return 0
    ids = [loan.id for loan in loans]
    charged: dict[tuple[int, int], int] = {}
    for loan_id, number, net in db.session.execute(
        select(
            LoanTransaction.loan_id,
            LoanTransaction.installment_number,
            func.sum(LoanTransaction.sign),
        )
        .where(
            LoanTransaction.loan_id.in_(ids),
            LoanTransaction.kind == PENALTY,
            LoanTransaction.installment_number.is_not(None),
        )
        .group_by(LoanTransaction.loan_id, LoanTransaction.installment_number)
    ):
        charged[(loan_id, number)] = int(net or 0)
    totals = ledger.totals_for(ids, as_of)
    slots = ledger.slots_for(ids)
    count = 0
    for loan in loans:
        grace = timedelta(days=loan.product.penalty_after_days)
        pos = ledger.position(totals.get(loan.id, {}), slots.get(loan.id, []), as_of)
        for slot, unpaid_p, unpaid_i in pos.slots:
            if slot.due_date + grace >= as_of or not (unpaid_p or unpaid_i):
                continue
            if charged.get((loan.id, slot.number), 0) > 0:
                continue
            lock_loan(loan)
            # Under the lock, look again: a run at the same time (the daily job and a
            # per-organisation cron line) may have charged it since the read above.
            if _penalty_charged(loan.id, slot.number):
                continue
            _post(
                loan,
                PENALTY,
                slot.due_date + grace,
                Parts(penalty=money(loan.product.late_penalty)),
                actor,
                installment_number=slot.number,
                note="late payment penalty",
            )
            count += 1
    if count:
        _audit("loan.penalties", ("organisation", org_id), actor, charged=count, as_of=as_of)
    return count


def transactions(loan: Loan) -> list[tuple[LoanTransaction, bool]]:
    """The loan's ledger in booking order, each entry with whether it was reversed."""
    entries = (
        db.session.execute(
            select(LoanTransaction)
            .where(LoanTransaction.loan_id == loan.id)
            .order_by(LoanTransaction.on_date, LoanTransaction.id)
        )
        .scalars()
        .all()
    )
    reversed_ids = {e.reversal_of_id for e in entries if e.reversal_of_id}
    return [(e, e.id in reversed_ids) for e in entries]


def member_has_open_loan(member_id: int) -> bool:
    return bool(
        db.session.execute(
            select(exists().where(and_(Loan.member_id == member_id, Loan.status.in_(OPEN_STATES))))
        ).scalar()
    )


def ensure_meeting(centre: Centre, on_date: date) -> Meeting:
    """The centre's meeting on ``on_date``, created (once, even under a race) if missing."""
    found = db.session.execute(
        select(Meeting).where(Meeting.centre_id == centre.id, Meeting.on_date == on_date)
    ).scalar_one_or_none()
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            meeting = Meeting(centre_id=centre.id, on_date=on_date, version=0)
            db.session.add(meeting)
        return meeting
    except IntegrityError:
        return db.session.execute(
            select(Meeting).where(Meeting.centre_id == centre.id, Meeting.on_date == on_date)
        ).scalar_one()
