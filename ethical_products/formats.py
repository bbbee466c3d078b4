"""Formatting for pages that print many numbers and prices: the same output as the
``number`` and ``euro`` template filters, worked out once per value (links:
``portal.layout.row_url``).

Babel builds a number from its locale's pattern on every call and Flask-Babel looks up
the request's locale each time; a catalogue page prints dozens of prices and counts, most
of them the same few values. :func:`current` gives the request's formatter, whose results
are kept per locale and value in this process (they never change: the locale's data is
part of the installed Babel).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel import numbers
from flask_babel import get_locale


@lru_cache(maxsize=8192)
def _integer(locale: str, value: int) -> str:
    return numbers.format_decimal(value, locale=locale)


@lru_cache(maxsize=8192)
def _euro(locale: str, amount: str) -> str:
    # The amount as text: Decimal("4.5") and Decimal("4.50") are equal keys.
    return numbers.format_currency(Decimal(amount), "EUR", locale=locale)


class Formats:
    """The ``number`` and ``euro`` filters (:mod:`portal.i18n`) in one locale."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def number(self, value: int | Decimal | None) -> str:
        if value is None:
            return ""
        if type(value) is int:  # 5 and Decimal("5.0") are equal keys, printed apart
            return _integer(self.locale, value)
        return numbers.format_decimal(value, locale=self.locale)

    def euro(self, amount: Decimal | int | str | None) -> str:
        return "" if amount is None else _euro(self.locale, str(Decimal(amount)))


def current() -> Formats:
    """The formatter of the request's language."""
    return Formats(str(get_locale()))
