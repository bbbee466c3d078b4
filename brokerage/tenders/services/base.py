"""Shared ground of the tender rules: supplier roles and kinds, the legal constants (EU
thresholds of D.Lgs. 36/2023 art. 14, reporting grace, premium and reserved codes),
``TenderError``, the parsing and checking of amounts and currencies every form and import
uses, and links that work with or without a request.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import has_request_context, url_for
from flask_babel import gettext as _

from portal.models import COOPERATIVE, COOPERATIVE_B, SOCIAL_FARM, SOCIAL_FARM_KIND

SUPPLIER_ROLES = (COOPERATIVE, SOCIAL_FARM)
SUPPLIER_KINDS = (COOPERATIVE_B, SOCIAL_FARM_KIND)
#: Days after the end of a reporting period before its report is overdue.
REPORT_GRACE_DAYS = 15
#: Reminders of overdue reports go out at most this often.
REMINDER_INTERVAL_DAYS = 7
MAX_AMOUNT = Decimal("999999999999.99")
PREMIUM_CODES = tuple(str(n) for n in range(1, 14))
RESERVED_CODES = ("res-ws", "res-pub-ser", "none")
CURRENCIES_NOTE = "ISO 4217"

#: EU thresholds (EUR, net of VAT), D.Lgs. 36/2023 art. 14 as updated by Reg. (EU)
#: 2023/2495 from 1 January 2024; configurable as TENDERS_EU_THRESHOLDS.
DEFAULT_EU_THRESHOLDS = {
    "works": "5538000",
    "supplies_services_central": "143000",
    "supplies_services_sub_central": "221000",
}


class TenderError(ValueError):
    """Bad data; ``fields`` maps field names to messages (shown all together)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def to_decimal(value: Any) -> Decimal | None:
    """A Decimal from a form or JSON value (never a float's binary noise)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = (
            Decimal(str(value).strip().replace(",", "."))
            if isinstance(value, str)
            else Decimal(str(value))
        )
    except InvalidOperation:
        raise ValueError(value) from None
    if not number.is_finite():
        raise ValueError(value)
    return number


def amount_error(value: Decimal | None, *, allow_none: bool = True) -> str | None:
    if value is None:
        return None if allow_none else _("Give an amount.")
    if value < 0:
        return _("The amount cannot be negative.")
    if value > MAX_AMOUNT or value != value.quantize(Decimal("0.01")):
        return _("Give an amount with at most two decimals.")
    return None


def currency_error(currency: str) -> str | None:
    if not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
        return _("Give a three-letter currency code such as EUR.")
    return None


def link(endpoint: str, fallback: str, **values: Any) -> str:
    if has_request_context():
        return url_for(endpoint, **values)
    return fallback
