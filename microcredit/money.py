"""Money: ``Decimal`` euros with two decimals, never floats.

Amounts typed by people or sent to the API are parsed here; an amount with more than
two decimals is an error, never silently rounded.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
CURRENCY = "EUR"
#: Numeric(14, 2) holds up to this amount.
MAX_STORABLE = Decimal("999999999999.99")

_PLAIN = re.compile(r"^\d+(\.\d+)?$")


class AmountError(ValueError):
    """A bad amount; ``code`` says why (see :data:`AMOUNT_ERRORS`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


#: English explanations of AmountError codes (the API's messages; pages translate).
AMOUNT_ERRORS = {
    "required": "is required",
    "invalid": 'must be a decimal number such as "1250.50"',
    "too_many_decimals": "has more than two decimals",
    "not_positive": "must be more than zero",
    "negative": "cannot be negative",
    "too_large": "is too large",
}


def money(value: Any) -> Decimal:
    """A database value or aggregate as euros and cents (None is zero).

    SQLite keeps NUMERIC as floating point: sums come back as floats or as Decimals with
    binary noise, which quantizing to the cent removes (amounts are far below 2**53 cents).
    """
    if value is None:
        return ZERO
    if isinstance(value, float):
        value = Decimal(repr(value))
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def fmt(value: Decimal | None) -> str | None:
    """The JSON form of an amount: a decimal string with two decimals."""
    return None if value is None else f"{money(value):.2f}"


def _normalise(text: str, localized: bool) -> str:
    text = text.strip().replace("\u00a0", "").replace(" ", "").replace("€", "")
    if text.startswith("+"):
        text = text[1:]
    if not localized:
        return text
    if "," in text and "." in text:
        # The separator that comes last is the decimal one: 1.234,50 or 1,234.50.
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        if text.count(",") > 1:
            raise AmountError("invalid")
        text = text.replace(",", ".")
    return text


def parse_amount(
    value: Any,
    *,
    places: int = 2,
    allow_zero: bool = False,
    localized: bool = False,
    maximum: Decimal = MAX_STORABLE,
) -> Decimal:
    """Parse an amount given as a string, an int or a Decimal.

    ``localized`` accepts the Italian forms people type (``1.234,50``, ``12,5``).
    Raises :class:`AmountError`.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise AmountError("required")
    if isinstance(value, bool):
        raise AmountError("invalid")
    if isinstance(value, float):  # not from our own parsers; be exact about what came
        value = repr(value)
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        text = _normalise(value, localized)
        negative = text.startswith("-")
        if negative:
            text = text[1:]
        if not _PLAIN.match(text):
            raise AmountError("invalid")
        try:
            number = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - the pattern rules it out
            raise AmountError("invalid") from exc
        if negative:
            number = -number
    else:
        raise AmountError("invalid")
    if not number.is_finite():
        raise AmountError("invalid")
    if abs(number) >= Decimal(10) ** 15:  # beyond any amount or rate: also beyond quantize
        if number > 0:
            raise AmountError("too_large")
        raise AmountError("negative" if allow_zero else "not_positive")
    exponent = number.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and -exponent > places
        and number != number.quantize(Decimal(1).scaleb(-places))
    ):
        raise AmountError("too_many_decimals")
    if number < 0:
        raise AmountError("negative" if allow_zero else "not_positive")
    if number == 0 and not allow_zero:
        raise AmountError("not_positive")
    if number > maximum:
        raise AmountError("too_large")
    return number.quantize(Decimal(1).scaleb(-places))
