"""Centres and their meeting calendar: saving a centre, the dates it meets on
(moved off Sundays and public holidays when the centre asks for it), what the holiday
calendar moves ahead, and the meeting row a collection sheet is booked against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from microcredit import holidays
from microcredit.access import org_officers
from microcredit.models import (
    DISBURSED_STATES,
    Centre,
    Loan,
    LoanInstallment,
    Meeting,
)
from microcredit.rules import McError, name_taken, record
from microcredit.schedule import (
    FREQUENCIES,
    MONTHLY,
    PERIOD_DAYS,
    add_months,
)
from portal import db
from portal.models import Organisation, User


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


def save_centre(
    org: Organisation, data: CentreData, actor: User, centre: Centre | None = None
) -> Centre:
    errors: dict[str, str] = {}
    name = (data.name or "").strip()
    if not name:
        errors["name"] = _("Give the centre a name.")
    elif name_taken(Centre, org, name, centre):
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
    record("centre.create" if creating else "centre.update", centre, actor)
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
