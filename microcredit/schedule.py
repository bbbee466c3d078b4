"""Repayment schedules, computed as Apache Fineract / Mifos X computes them.

Pure functions, no database. For the same inputs the instalments are Fineract's:

* **Declining balance, equal instalments** (annuity): the instalment is
  ``P·r / (1 − (1 + r)^−m)`` over the ``m`` repayments after the grace on principal,
  rounded once; each period's interest is the outstanding principal × the period rate,
  rounded; principal is the instalment minus that interest.
* **Declining balance, equal principal**: principal ``P / m`` rounded, interest on the
  outstanding principal.
* **Flat**: total interest ``P × period rate × n`` (rounded), spread evenly over the ``n``
  repayments; principal ``P / m``.
* Rounding to the currency's digits with the configured mode (Fineract's default
  HALF_EVEN), or of the instalment to ``in_multiples_of``; whatever rounding leaves over
  (principal and interest) lands on the last instalment.
* Period rate: monthly = annual ÷ 12; weekly = annual × 7 / days-in-year (Fineract: 364,
  i.e. ÷ 52); fortnightly = annual × 14 / days-in-year. With ``interest_calculation =
  "daily"`` ("by days") each period's interest uses its actual days ÷ days-in-year.
* Grace on principal: the first ``k`` repayments are interest only.
* Due dates: disbursement date + 1, 2, … periods (months keep the day of the month,
  clamped to the month's end, counted from the disbursement date so they do not drift).
* Non-working days (``move_non_working_days``, Fineract's "reschedule repayments on
  holidays" with "next working day"): a due date on a Sunday or an Italian public holiday
  (:mod:`microcredit.holidays`, with the centre's patron saint in ``local_holidays``)
  moves to the next working day. As in Fineract, only the *due date* moves: the periods
  and so the interest stay those of the unmoved dates (with ``"daily"`` too), and the next
  due date is still counted from the unmoved one, so every amount is the same as without
  the move. A borrower is not charged a day more of interest because the office was closed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    localcontext,
)
from typing import Any

from microcredit.holidays import MonthDay, next_working_day
from microcredit.money import AMOUNT_ERRORS, AmountError, parse_amount

WEEKLY, FORTNIGHTLY, MONTHLY = "weekly", "fortnightly", "monthly"
FREQUENCIES = (WEEKLY, FORTNIGHTLY, MONTHLY)
PERIOD_DAYS = {WEEKLY: 7, FORTNIGHTLY: 14}

DECLINING_BALANCE, FLAT = "declining_balance", "flat"
INTEREST_METHODS = (DECLINING_BALANCE, FLAT)
EQUAL_INSTALLMENTS, EQUAL_PRINCIPAL = "equal_installments", "equal_principal"
AMORTIZATIONS = (EQUAL_INSTALLMENTS, EQUAL_PRINCIPAL)
PER_YEAR, PER_MONTH = "year", "month"
RATE_PERIODS = (PER_YEAR, PER_MONTH)
SAME_AS_REPAYMENT_PERIOD, DAILY = "same_as_repayment_period", "daily"
INTEREST_CALCULATIONS = (SAME_AS_REPAYMENT_PERIOD, DAILY)
DAYS_IN_YEAR_CHOICES = (360, 364, 365)
ROUNDING_MODES = (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_HALF_DOWN,
    ROUND_UP,
    ROUND_DOWN,
    ROUND_CEILING,
    ROUND_FLOOR,
)

#: Working precision for rates and powers (Fineract uses MathContext.DECIMAL128, 34 digits).
PRECISION = 40


@dataclass(frozen=True)
class Terms:
    principal: Decimal
    #: Nominal interest rate in percent, per ``interest_rate_period``.
    interest_rate: Decimal
    repayments: int
    disbursement_date: date
    frequency: str = MONTHLY
    interest_method: str = DECLINING_BALANCE
    amortization: str = EQUAL_INSTALLMENTS
    interest_rate_period: str = PER_YEAR
    grace_on_principal: int = 0
    in_multiples_of: Decimal | None = None
    days_in_year: int = 364
    interest_calculation: str = SAME_AS_REPAYMENT_PERIOD
    rounding: str = ROUND_HALF_EVEN
    digits: int = 2
    #: Move due dates off Sundays and public holidays (the amounts do not change).
    move_non_working_days: bool = False
    #: Local public holidays, (month, day): the patron saint of the centre's town.
    local_holidays: tuple[MonthDay, ...] = ()
    #: The ``holidays.Italy`` subdivision of the centre's town (its patron saint).
    holiday_subdivision: str | None = None

    @property
    def annual_rate(self) -> Decimal:
        """The nominal annual rate as a fraction (12 % a year → 0.12)."""
        rate = Decimal(self.interest_rate) / 100
        return rate * 12 if self.interest_rate_period == PER_MONTH else rate

    def period_rate(self) -> Decimal:
        """The nominal rate of one repayment period, as a fraction."""
        with localcontext() as ctx:
            ctx.prec = PRECISION
            if self.frequency == MONTHLY:
                return self.annual_rate / 12
            return self.annual_rate * PERIOD_DAYS[self.frequency] / self.days_in_year


@dataclass(frozen=True)
class Installment:
    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    #: Principal still owed after this instalment.
    balance: Decimal
    #: The unmoved due date, when a non-working day moved it (see ``Terms``).
    moved_from: date | None = None

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


@dataclass(frozen=True)
class Schedule:
    terms: Terms
    installments: tuple[Installment, ...]

    @property
    def total_principal(self) -> Decimal:
        return sum((i.principal for i in self.installments), Decimal("0.00"))

    @property
    def total_interest(self) -> Decimal:
        return sum((i.interest for i in self.installments), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.total_principal + self.total_interest

    @property
    def maturity_date(self) -> date:
        return self.installments[-1].due_date


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, the day clamped to the month's end."""
    years, month0 = divmod(start.month - 1 + months, 12)
    year = start.year + years
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


def due_dates(start: date, frequency: str, count: int) -> list[date]:
    if frequency == MONTHLY:
        return [add_months(start, k) for k in range(1, count + 1)]
    step = PERIOD_DAYS[frequency]
    return [start + timedelta(days=step * k) for k in range(1, count + 1)]


class _Rounder:
    def __init__(self, terms: Terms) -> None:
        self.unit = Decimal(1).scaleb(-terms.digits)
        self.mode = terms.rounding
        self.multiple = terms.in_multiples_of

    def money(self, value: Decimal) -> Decimal:
        return value.quantize(self.unit, rounding=self.mode)

    def instalment(self, value: Decimal) -> Decimal:
        """An instalment amount: to the multiple when one is set, else to the cent."""
        if self.multiple:
            units = (value / self.multiple).quantize(Decimal(1), rounding=self.mode)
            return self.money(units * self.multiple)
        return self.money(value)


def annuity_payment(principal: Decimal, rate: Decimal, periods: int) -> Decimal:
    """The unrounded equal instalment repaying ``principal`` in ``periods`` at ``rate``."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        if rate == 0:
            return principal / periods
        return principal * rate / (1 - (1 + rate) ** -periods)


def build_schedule(terms: Terms) -> Schedule:
    """The repayment schedule for ``terms`` (assumed valid: see :func:`parse_terms`)."""
    n, grace = terms.repayments, terms.grace_on_principal
    amortised = n - grace
    rounder = _Rounder(terms)
    dates = due_dates(terms.disbursement_date, terms.frequency, n)
    principal = Decimal(terms.principal)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        nominal = terms.period_rate()
        daily = terms.interest_calculation == DAILY
        previous = terms.disbursement_date
        rates = []
        for due in dates:
            days = (due - previous).days
            rates.append(terms.annual_rate * days / terms.days_in_year if daily else nominal)
            previous = due
        if terms.interest_method == FLAT:
            rows = _flat(terms, principal, rates, amortised, rounder)
        else:
            rows = _declining(terms, principal, rates, nominal, amortised, rounder)
    installments = []
    balance = principal
    for number, (due, (part, interest)) in enumerate(zip(dates, rows, strict=True), start=1):
        balance -= part
        moved = (
            next_working_day(due, terms.local_holidays, terms.holiday_subdivision)
            if terms.move_non_working_days
            else due
        )
        installments.append(
            Installment(number, moved, part, interest, balance, due if moved != due else None)
        )
    return Schedule(terms, tuple(installments))


def _declining(
    terms: Terms,
    principal: Decimal,
    rates: list[Decimal],
    nominal: Decimal,
    amortised: int,
    rounder: _Rounder,
) -> list[tuple[Decimal, Decimal]]:
    n, grace = terms.repayments, terms.grace_on_principal
    if terms.amortization == EQUAL_INSTALLMENTS:
        fixed = rounder.instalment(annuity_payment(principal, nominal, amortised))
    else:
        fixed = rounder.instalment(principal / amortised)
    rows = []
    balance = principal
    for k in range(1, n + 1):
        interest = rounder.money(balance * rates[k - 1])
        if k <= grace:
            part = rounder.money(Decimal(0))
        elif k == n:
            part = balance  # the residue of every rounding lands here
        elif terms.amortization == EQUAL_INSTALLMENTS:
            part = max(Decimal(0), fixed - interest)
        else:
            part = fixed
        part = rounder.money(min(part, balance))
        balance -= part
        rows.append((part, interest))
    return rows


def _flat(
    terms: Terms, principal: Decimal, rates: list[Decimal], amortised: int, rounder: _Rounder
) -> list[tuple[Decimal, Decimal]]:
    n, grace = terms.repayments, terms.grace_on_principal
    total_interest = rounder.money(principal * sum(rates, Decimal(0)))
    interest_each = rounder.money(total_interest / n)
    principal_each = rounder.money(principal / amortised)
    if terms.in_multiples_of:
        if terms.amortization == EQUAL_INSTALLMENTS:
            principal_each = rounder.instalment(principal_each + interest_each) - interest_each
        else:
            principal_each = rounder.instalment(principal_each)
    rows = []
    balance, interest_left = principal, total_interest
    for k in range(1, n + 1):
        interest = interest_left if k == n else min(interest_each, interest_left)
        if k <= grace:
            part = rounder.money(Decimal(0))
        elif k == n:
            part = balance
        else:
            part = min(max(principal_each, Decimal(0)), balance)
        balance -= part
        interest_left -= interest
        rows.append((part, interest))
    return rows


# --- Parsing terms (the API and the calculator page) ---------------------------------------


class TermsError(ValueError):
    """Bad schedule input: ``fields`` maps a field name to an English message (the API's),
    ``codes`` to a stable code the pages translate (see :data:`TERMS_ERRORS`)."""

    def __init__(self, codes: dict[str, str], fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.codes = codes
        self.fields = fields


#: English messages of the codes that are not amount codes (money.AMOUNT_ERRORS).
TERMS_ERRORS = {
    **AMOUNT_ERRORS,
    "choice": "is not one of the allowed values",
    "whole_number": "must be a whole number",
    "range": "is out of range",
    "grace": "must be fewer than the repayments",
    "multiple": "cannot be more than the principal",
    "date": "must be a date YYYY-MM-DD",
    "date_range": "must be between 1990 and 2100",
    "rate_too_high": "is too high",
    "boolean": "must be true or false",
}


class _Errors:
    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.fields: dict[str, str] = {}

    def add(self, name: str, code: str, message: str | None = None) -> None:
        self.codes[name] = code
        self.fields[name] = message or TERMS_ERRORS[code]

    def __contains__(self, name: str) -> bool:
        return name in self.codes

    def __bool__(self) -> bool:
        return bool(self.codes)


def _choice(
    data: dict[str, Any], name: str, allowed: tuple[Any, ...], default: Any, errors: _Errors
) -> Any:
    value = data.get(name)
    if value is None or value == "":
        return default
    if value not in allowed:
        errors.add(name, "choice", "must be one of " + ", ".join(str(a) for a in allowed))
        return default
    return value


def _integer(
    data: dict[str, Any], name: str, low: int, high: int, default: int | None, errors: _Errors
) -> int:
    value = data.get(name)
    if value is None or value == "":
        if default is None:
            errors.add(name, "required")
            return 0
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(name, "whole_number")
        return 0
    if not low <= value <= high:
        errors.add(name, "range", f"must be between {low} and {high}")
        return 0
    return value


def parse_terms(
    data: dict[str, Any],
    *,
    today: date,
    max_principal: Decimal,
    max_repayments: int,
    max_annual_rate: Decimal,
    rounding: str,
    days_in_year: int,
    localized: bool = False,
) -> Terms:
    """Validate a schedule request (JSON or form strings) into :class:`Terms`.

    Every problem is reported at once in :class:`TermsError`.
    """
    errors = _Errors()
    principal = Decimal(0)
    try:
        principal = parse_amount(data.get("principal"), localized=localized, maximum=max_principal)
    except AmountError as error:
        errors.add("principal", error.code)
    rate = Decimal(0)
    try:
        rate = parse_amount(
            data.get("interest_rate"),
            places=6,
            allow_zero=True,
            localized=localized,
            maximum=Decimal("999"),
        )
    except AmountError as error:
        errors.add(
            "interest_rate",
            error.code,
            AMOUNT_ERRORS[error.code].replace("two decimals", "six decimals"),
        )
    rate_period = _choice(data, "interest_rate_period", RATE_PERIODS, PER_YEAR, errors)
    if "interest_rate" not in errors:
        annual = rate * 12 if rate_period == PER_MONTH else rate
        if annual > max_annual_rate:
            errors.add("interest_rate", "rate_too_high", f"is more than {max_annual_rate}% a year")
    repayments = _integer(data, "repayments", 1, max_repayments, None, errors)
    frequency = _choice(data, "frequency", FREQUENCIES, MONTHLY, errors)
    method = _choice(data, "interest_method", INTEREST_METHODS, DECLINING_BALANCE, errors)
    amortization = _choice(data, "amortization", AMORTIZATIONS, EQUAL_INSTALLMENTS, errors)
    calculation = _choice(
        data, "interest_calculation", INTEREST_CALCULATIONS, SAME_AS_REPAYMENT_PERIOD, errors
    )
    year_days = _integer(data, "days_in_year", 360, 365, days_in_year, errors)
    if "days_in_year" not in errors and year_days not in DAYS_IN_YEAR_CHOICES:
        errors.add("days_in_year", "choice", "must be one of 360, 364, 365")
    grace = _integer(data, "grace_on_principal", 0, max_repayments, 0, errors)
    if "grace_on_principal" not in errors and "repayments" not in errors and (grace >= repayments):
        errors.add("grace_on_principal", "grace")
    multiple = None
    if data.get("in_multiples_of") not in (None, ""):
        try:
            multiple = parse_amount(
                data.get("in_multiples_of"), localized=localized, maximum=max_principal
            )
        except AmountError as error:
            errors.add("in_multiples_of", error.code)
        else:
            if "principal" not in errors and multiple > principal:
                errors.add("in_multiples_of", "multiple")
    move = data.get("move_non_working_days")
    if move in (None, "", False, "0", "false", "off"):
        move = False
    elif move in (True, "1", "true", "on", "y"):
        move = True
    else:
        errors.add("move_non_working_days", "boolean")
        move = False
    start = today
    raw_date = data.get("disbursement_date")
    if raw_date not in (None, ""):
        try:
            start = raw_date if isinstance(raw_date, date) else date.fromisoformat(str(raw_date))
        except ValueError:
            errors.add("disbursement_date", "date")
        else:
            if not date(1990, 1, 1) <= start <= date(2100, 12, 31):
                errors.add("disbursement_date", "date_range")
    if errors:
        raise TermsError(errors.codes, errors.fields)
    return Terms(
        principal=principal,
        interest_rate=rate,
        repayments=repayments,
        disbursement_date=start,
        frequency=frequency,
        interest_method=method,
        amortization=amortization,
        interest_rate_period=rate_period,
        grace_on_principal=grace,
        in_multiples_of=multiple,
        days_in_year=year_days,
        interest_calculation=calculation,
        rounding=rounding,
        move_non_working_days=move,
    )
