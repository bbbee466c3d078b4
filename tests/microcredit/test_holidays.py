"""Non-working days: Easter, the Italian public holidays, a patron saint; due dates and
centre meetings moved to the next working day with the amounts unchanged (Fineract's
"reschedule repayments on holidays", next working day)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from flask_babel import gettext as _
from sqlalchemy import select

from microcredit import services
from microcredit.holidays import (
    is_public_holiday,
    is_working_day,
    next_working_day,
    parse_month_day,
    patron_subdivision,
)
from microcredit.models import LoanInstallment
from microcredit.schedule import Terms, build_schedule
from microcredit.services import McError
from portal import db
from tests.microcredit.factories import (
    make_centre,
    make_group,
    make_loan,
    make_member,
    make_officer,
    make_product,
    org_of,
    today,
)

D = Decimal
MILAN = ((12, 7),)  # Sant'Ambrogio


def every_day(first: int, last: int):
    day = date(first, 1, 1)
    while day.year <= last:
        yield day
        day += timedelta(days=1)


@pytest.mark.parametrize("subdivision", [None, "PN", "MI", "RM", "Andria"])
def test_the_calendar_is_holidays_italy_plus_the_centres_own_days_2020_to_2040(subdivision):
    import holidays as holidays_library

    official = holidays_library.Italy(years=range(2020, 2041), subdiv=subdivision)
    for day in every_day(2020, 2040):
        expected = day in official or (day.month, day.day) in MILAN
        assert is_public_holiday(day, MILAN, subdivision) == expected, day


def test_san_francesco_is_a_national_holiday_again_from_2026():
    assert not is_public_holiday(date(2025, 10, 4))
    moved = [d for y in range(2027, 2041) if (d := date(y, 10, 4)).weekday() < 6]
    assert len(moved) == 13  # the weekdays 2027-2040 that now move
    assert all(not is_working_day(d) for d in moved)


@pytest.mark.parametrize(
    ("town", "subdivision", "patron"),
    [
        ("Pordenone", "PN", date(2027, 9, 8)),  # Madonna delle Grazie
        ("Milano", "MI", date(2027, 12, 7)),  # Sant'Ambrogio
        ("Forlì", "Forli", None),
        ("Sacile", None, None),  # not a town the library knows: a manual day
    ],
)
def test_a_towns_patron_comes_from_the_library_where_it_knows_it(town, subdivision, patron):
    assert patron_subdivision(town) == subdivision
    if patron is not None:
        assert is_public_holiday(patron, (), subdivision)
        assert not is_public_holiday(patron)


@pytest.mark.parametrize(
    ("day", "local", "working"),
    [
        (date(2026, 1, 1), (), False),  # New Year
        (date(2026, 1, 6), (), False),  # Epiphany
        (date(2026, 4, 5), (), False),  # Easter Sunday (a Sunday)
        (date(2026, 4, 6), (), False),  # Easter Monday
        (date(2026, 4, 7), (), True),
        (date(2026, 4, 25), (), False),  # Liberation, a Saturday
        (date(2026, 5, 1), (), False),
        (date(2026, 6, 2), (), False),
        (date(2026, 8, 15), (), False),
        (date(2026, 11, 1), (), False),
        (date(2026, 11, 21), (), True),  # a Saturday is a working day
        (date(2026, 11, 22), (), False),  # a Sunday
        (date(2026, 12, 7), (), True),
        (date(2026, 12, 7), MILAN, False),
        (date(2026, 12, 8), (), False),
        (date(2026, 12, 25), (), False),
        (date(2026, 12, 26), (), False),
        (date(2026, 12, 31), (), True),
    ],
)
def test_working_days(day, local, working):
    assert is_working_day(day, local) is working


@pytest.mark.parametrize(
    ("day", "local", "moved"),
    [
        (date(2026, 11, 23), (), date(2026, 11, 23)),  # already a working day
        (date(2026, 12, 25), (), date(2026, 12, 28)),  # Christmas, St Stephen, Sunday
        (date(2026, 4, 5), (), date(2026, 4, 7)),  # Easter Sunday and Monday
        (date(2026, 12, 6), (), date(2026, 12, 7)),
        (date(2026, 12, 6), MILAN, date(2026, 12, 9)),  # Sant'Ambrogio, then 8 December
        (date(2027, 1, 1), (), date(2027, 1, 2)),  # to a Saturday
        (date(2027, 5, 1), (), date(2027, 5, 3)),  # a Saturday holiday, then a Sunday
    ],
)
def test_next_working_day(day, local, moved):
    assert next_working_day(day, local) == moved


@pytest.mark.parametrize(
    ("text", "parsed"), [("12-07", (12, 7)), ("02-29", (2, 29)), ("", None), (None, None)]
)
def test_month_day(text, parsed):
    assert parse_month_day(text) == parsed


@pytest.mark.parametrize("text", ["13-01", "12-32", "7 dic", "1207", "02-30"])
def test_bad_month_day(text):
    with pytest.raises(ValueError):
        parse_month_day(text)


# --- Schedules -----------------------------------------------------------------------------


BASE = Terms(
    principal=D("1200.00"),
    interest_rate=D("18"),
    repayments=12,
    disbursement_date=date(2026, 11, 25),
    frequency="monthly",
)


@pytest.mark.parametrize(
    ("terms", "moves"),
    [
        # Monthly from 25 November: Christmas → Monday 28 December; 25 April 2027 is a
        # Sunday and Liberation Day → Monday 26 April; 25 July 2027 a Sunday → 26 July.
        (
            BASE,
            {
                date(2026, 12, 25): date(2026, 12, 28),
                date(2027, 4, 25): date(2027, 4, 26),
                date(2027, 7, 25): date(2027, 7, 26),
            },
        ),
        # By days: the interest of each period is still priced on the unmoved dates.
        (
            replace(BASE, interest_calculation="daily", days_in_year=365),
            {
                date(2026, 12, 25): date(2026, 12, 28),
                date(2027, 4, 25): date(2027, 4, 26),
                date(2027, 7, 25): date(2027, 7, 26),
            },
        ),
        # Weekly from a Sunday: every due date moves to the Monday and does not drift;
        # 27 December is a Sunday after Christmas and St Stephen → Monday 28.
        (
            replace(BASE, frequency="weekly", repayments=6, disbursement_date=date(2026, 11, 29)),
            {date(2026, 11, 29) + timedelta(days=7 * k): None for k in range(1, 7)},
        ),
        # Flat, fortnightly, with Milan's patron saint: Sunday 6 December → Wednesday 9.
        (
            replace(
                BASE,
                frequency="fortnightly",
                repayments=3,
                interest_method="flat",
                disbursement_date=date(2026, 11, 22),
                local_holidays=MILAN,
            ),
            {
                date(2026, 12, 6): date(2026, 12, 9),
                date(2026, 12, 20): date(2026, 12, 21),
                date(2027, 1, 3): date(2027, 1, 4),
            },
        ),
    ],
)
def test_due_dates_move_and_the_amounts_do_not(terms, moves):
    kept = build_schedule(terms)
    moved = build_schedule(replace(terms, move_non_working_days=True))
    for before, after in zip(kept.installments, moved.installments, strict=True):
        assert (after.principal, after.interest, after.balance) == (
            before.principal,
            before.interest,
            before.balance,
        )
        expected = moves.get(before.due_date, before.due_date)
        if expected is None:  # every date of the weekly case: the next day, a Monday
            expected = before.due_date + timedelta(days=1)
        assert after.due_date == expected
        assert after.moved_from == (before.due_date if expected != before.due_date else None)
        assert before.moved_from is None
    assert moved.total_interest == kept.total_interest


def test_keeping_the_date_is_the_default():
    assert build_schedule(BASE).installments[0].due_date == date(2026, 12, 25)


# --- Loans and centres -------------------------------------------------------------------------


def test_a_product_that_moves_due_dates_and_the_centres_patron_saint(db_session):
    officer = make_officer()
    centre = make_centre(officer)
    centre.patron_day = "12-07"
    product = make_product(
        officer,
        group_lending=True,
        enforce_221=False,
        frequency="weekly",
        move_non_working_days=True,
    )
    _group, members = make_group(officer, centre)
    loan = make_loan(officer, members[1], product, repayments=10, state="approved")
    assert loan.move_non_working_days is True
    schedule = services.preview_schedule(loan)
    for item in schedule.installments:
        assert is_working_day(item.due_date, MILAN)
    loan.move_non_working_days = False
    plain = services.preview_schedule(loan)
    assert [i.total for i in plain.installments] == [i.total for i in schedule.installments]


def test_stored_instalments_are_the_moved_ones(db_session):
    officer = make_officer()
    product = make_product(officer, frequency="weekly", move_non_working_days=True)
    member = make_member(officer)
    sunday = today() - timedelta(days=(today().weekday() + 1) % 7 + 14)
    loan = make_loan(officer, member, product, repayments=8, disbursed=sunday)
    dates = db.session.execute(
        select(LoanInstallment.due_date).where(LoanInstallment.loan_id == loan.id)
    ).scalars()
    assert all(is_working_day(day) for day in dates)


def test_centre_meetings_move_to_the_next_working_day(db_session):
    officer = make_officer()
    centre = make_centre(officer, first_meeting_on=date(2026, 12, 4))  # Fridays
    assert services.meeting_dates(centre, date(2026, 12, 20), date(2027, 1, 5)) == [
        date(2026, 12, 25),
        date(2027, 1, 1),
    ]
    centre.move_non_working_days = True
    assert services.meeting_dates(centre, date(2026, 12, 20), date(2027, 1, 5)) == [
        date(2026, 12, 28),
        date(2027, 1, 2),
    ]
    # a meeting moved into the window from before it is found
    assert services.meeting_dates(centre, date(2026, 12, 27), date(2026, 12, 31)) == [
        date(2026, 12, 28)
    ]
    assert services.next_meetings(centre, date(2026, 12, 26), 2) == [
        date(2026, 12, 28),
        date(2027, 1, 2),
    ]


def test_the_patron_saint_day_is_checked(db_session):
    officer = make_officer()
    data = services.CentreData(
        name="Centro Sant'Ambrogio",
        first_meeting_on=date(2026, 12, 1),
        meeting_time=None,
        patron_day="12-32",
    )
    with pytest.raises(McError) as error:
        services.save_centre(org_of(officer), data, officer)
    assert error.value.fields["patron_day"] == _(
        "Give the day as month-day, e.g. 12-07 for 7 December."
    )
    data = replace(data, patron_day="12-07", move_non_working_days=True, meeting_time=time(9))
    centre = services.save_centre(org_of(officer), data, officer)
    assert centre.local_holidays == MILAN and centre.move_non_working_days


def test_the_officer_sees_which_dates_ahead_the_calendar_moves(client, db_session):
    from datetime import timedelta as td

    from tests.conftest import login

    officer = make_officer()
    monday = today() - td(days=today().weekday())
    centre = make_centre(officer, first_meeting_on=monday)  # weekly, on Mondays
    centre.move_non_working_days = True
    patron = monday + td(days=21)  # a meeting day three weeks ahead
    centre.patron_day = f"{patron.month:02d}-{patron.day:02d}"
    db.session.flush()
    moves = services.calendar_moves(centre, today())
    assert any(
        m.day == patron and m.meeting_moves_to and m.meeting_moves_to > patron for m in moves
    )
    login(client, officer)
    page = client.get(f"/microcredit/centres/{centre.id}").get_data(as_text=True)
    assert 'id="calendar-moves"' in page
