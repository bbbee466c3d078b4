"""Formatting for pages that print many numbers, prices and links: the same output as the
``number`` and ``euro`` template filters and ``url_for``, worked out once per value.

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
from flask import url_for
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


class IdUrl:
    """``url_for(endpoint, **{name: id})`` for many ids: the URL is built once with a
    marker in the id's place, and each id is put where the marker was."""

    MARKER = "2147483646"

    def __init__(self, endpoint: str, name: str) -> None:
        self.endpoint, self.name = endpoint, name
        url = url_for(endpoint, **{name: int(self.MARKER)})
        self.parts = url.split(self.MARKER) if url.count(self.MARKER) == 1 else None

    def __call__(self, value: int) -> str:
        if self.parts is None:  # the marker is also elsewhere in the URL
            return url_for(self.endpoint, **{self.name: value})
        return f"{self.parts[0]}{int(value)}{self.parts[1]}"
