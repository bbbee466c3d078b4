"""Italian non-working days: Sundays, the national public holidays and a local patron
saint's day.

National public holidays (L. 260/1949 and its amendments, L. 336/1977, DPR 792/1985,
L. 151/2000 for 2 June): 1 January, 6 January (Epiphany), Easter Monday, 25 April
(Liberation), 1 May, 2 June (Republic), 15 August, 1 November, 8 December, 25 and 26
December. Each municipality also keeps its patron saint's day (e.g. 7 December in Milan,
29 June in Rome), configured per centre as ``MM-DD``.

Pure functions, no database. Easter Sunday is computed with the anonymous Gregorian
algorithm (Meeus/Jones/Butcher), exact for every Gregorian year.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta

SUNDAY = 6

#: (month, day) of the fixed national public holidays.
NATIONAL = ((1, 1), (1, 6), (4, 25), (5, 1), (6, 2), (8, 15), (11, 1), (12, 8), (12, 25), (12, 26))

MonthDay = tuple[int, int]

_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


def easter_sunday(year: int) -> date:
    """Easter Sunday of ``year`` (Gregorian calendar; anonymous algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def easter_monday(year: int) -> date:
    return easter_sunday(year) + timedelta(days=1)


def parse_month_day(text: str | None) -> MonthDay | None:
    """``"12-07"`` → (12, 7); None for an empty value. Raises ValueError if not a day of
    the year (29 February is allowed: it counts in leap years)."""
    if not text or not text.strip():
        return None
    found = _MONTH_DAY.match(text.strip())
    if not found:
        raise ValueError(text)
    month, day = int(found[1]), int(found[2])
    date(2000, month, day)  # a leap year: ValueError unless a real day
    return month, day


def is_public_holiday(day: date, local: Iterable[MonthDay] = ()) -> bool:
    """A national public holiday, or one of the ``local`` (month, day) holidays."""
    key = (day.month, day.day)
    return key in NATIONAL or key in tuple(local) or day == easter_monday(day.year)


def is_working_day(day: date, local: Iterable[MonthDay] = ()) -> bool:
    """Not a Sunday and not a public holiday (Saturdays are working days)."""
    return day.weekday() != SUNDAY and not is_public_holiday(day, local)


def next_working_day(day: date, local: Iterable[MonthDay] = ()) -> date:
    """``day`` itself if it is a working day, else the first working day after it."""
    holidays = tuple(local)
    while not is_working_day(day, holidays):
        day += timedelta(days=1)
    return day
