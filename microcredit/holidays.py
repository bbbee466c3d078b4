"""Italian non-working days: Sundays, the national public holidays and the patron saint
of the centre's town, from the ``holidays`` library (``holidays.Italy``).

The library keeps the law: L. 260/1949 and its amendments (L. 336/1977, DPR 792/1985,
L. 151/2000 for 2 June, L. 71/2025 restoring 4 October, San Francesco d'Assisi, from 2026),
Easter Monday, and the patron saints of the provincial capitals and of the cities it
knows. A centre in one of those towns gets its patron from the library; any other day a
centre keeps (the patron of a town the library does not know) is added by hand as
``MM-DD``.

Pure functions, no database. A year's calendar is computed once per process (it is the
same in every process).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import holidays as holidays_library

SUNDAY = 6

MonthDay = tuple[int, int]

_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


def _folded(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return text.casefold().strip()


@lru_cache(maxsize=1)
def _subdivisions_by_town() -> dict[str, str]:
    """Town name (accents folded) → the library's subdivision whose patron it keeps:
    provincial capitals by their province code, and the cities the library lists."""
    found = {
        _folded(name): code for name, code in holidays_library.Italy.subdivisions_aliases.items()
    }
    for code in holidays_library.Italy.subdivisions:
        if len(code) > 2:  # a city (Andria, Cesena, Forli…), not a province code
            found[_folded(code)] = code
    return found


def patron_subdivision(town: str | None) -> str | None:
    """The ``holidays.Italy`` subdivision that holds ``town``'s patron saint, if any."""
    return _subdivisions_by_town().get(_folded(town)) if town else None


@lru_cache(maxsize=2048)
def _official(year: int, subdivision: str | None) -> frozenset[date]:
    return frozenset(holidays_library.Italy(years=year, subdiv=subdivision))


def official_holidays(year: int, subdivision: str | None = None) -> frozenset[date]:
    """The national holidays of ``year``, with the subdivision's patron saint."""
    return _official(year, subdivision)


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


def is_public_holiday(
    day: date, local: Iterable[MonthDay] = (), subdivision: str | None = None
) -> bool:
    """A national public holiday, the subdivision's patron, or one of the ``local``
    (month, day) days a centre keeps."""
    return day in _official(day.year, subdivision) or (day.month, day.day) in tuple(local)


def is_working_day(
    day: date, local: Iterable[MonthDay] = (), subdivision: str | None = None
) -> bool:
    """Not a Sunday and not a public holiday (Saturdays are working days)."""
    return day.weekday() != SUNDAY and not is_public_holiday(day, local, subdivision)


def next_working_day(
    day: date, local: Iterable[MonthDay] = (), subdivision: str | None = None
) -> date:
    """``day`` itself if it is a working day, else the first working day after it."""
    kept = tuple(local)
    while not is_working_day(day, kept, subdivision):
        day += timedelta(days=1)
    return day


def holiday_name(day: date, subdivision: str | None = None, language: str = "it") -> str | None:
    """The library's name of the holiday on ``day`` in ``language`` (it or en), if any."""
    code = "it_IT" if language == "it" else "en_US"
    return holidays_library.Italy(years=day.year, subdiv=subdivision, language=code).get(day)
