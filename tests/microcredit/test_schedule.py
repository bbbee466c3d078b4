"""Schedules against independently computed values (Fineract's rules).

The oracle below shares no code with ``microcredit.schedule``: the equal instalment is
found by bisection on the balance left after the last period (the implementation uses the
annuity's closed form), period rates are exact fractions, and rounding is re-applied by
hand. Hand-worked flat and equal-principal cases pin the residue on the last instalment.
"""

from __future__ import annotations

import calendar
import itertools
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest

from microcredit.schedule import Terms, TermsError, build_schedule, parse_terms

CENT = Decimal("0.01")


def D(value: str | int) -> Decimal:
    return Decimal(str(value))


# --- The oracle ------------------------------------------------------------------------------


def period_fraction(annual_percent: Decimal, frequency: str, days_in_year: int) -> Fraction:
    annual = Fraction(annual_percent) / 100
    return {
        "weekly": annual * 7 / days_in_year,
        "fortnightly": annual * 14 / days_in_year,
        "monthly": annual / 12,
    }[frequency]


def to_decimal(value: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return Decimal(value.numerator) / Decimal(value.denominator)


def cents(value: Fraction | Decimal, mode: str = ROUND_HALF_EVEN) -> Decimal:
    if isinstance(value, Fraction):
        value = to_decimal(value)
    return value.quantize(CENT, rounding=mode)


def to_multiple(value: Fraction, multiple: Decimal) -> Decimal:
    units = to_decimal(value / Fraction(multiple)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return cents(units * multiple)


def solve_instalment(principal: Decimal, rate: Fraction, periods: int) -> Fraction:
    """The level payment that leaves nothing owed after ``periods``, by bisection."""
    if rate == 0:
        return Fraction(principal) / periods

    def left_after(payment: Fraction) -> Fraction:
        balance = Fraction(principal)
        for _ in range(periods):
            balance = balance * (1 + rate) - payment
        return balance

    low, high = Fraction(0), Fraction(principal) * (1 + rate)
    for _ in range(80):
        middle = (low + high) / 2
        if left_after(middle) > 0:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def oracle_dates(start: date, frequency: str, n: int) -> list[date]:
    if frequency == "monthly":
        found = []
        for k in range(1, n + 1):
            month_index = start.month - 1 + k
            year, month = start.year + month_index // 12, month_index % 12 + 1
            found.append(date(year, month, min(start.day, calendar.monthrange(year, month)[1])))
        return found
    step = 7 if frequency == "weekly" else 14
    return [start + timedelta(days=step * k) for k in range(1, n + 1)]


def oracle(
    principal: Decimal,
    annual: Decimal,
    n: int,
    frequency: str,
    method: str,
    amortization: str,
    grace: int = 0,
    multiple: Decimal | None = None,
    start: date = date(2026, 1, 15),
    days_in_year: int = 364,
    by_days: bool = False,
) -> list[tuple[date, Decimal, Decimal]]:
    rate = period_fraction(annual, frequency, days_in_year)
    dates = oracle_dates(start, frequency, n)
    # "By days": each period's interest uses its actual days ÷ days-in-year (the level
    # instalment is still found at the nominal period rate, as Fineract does).
    rates = [
        Fraction(annual) / 100 * (due - previous).days / days_in_year if by_days else rate
        for previous, due in zip([start, *dates], dates, strict=False)
    ]
    rows: list[tuple[date, Decimal, Decimal]] = []
    paying = n - grace
    if method == "flat":
        total_interest = cents(Fraction(principal) * sum(rates))
        each_interest = cents(Fraction(total_interest) / n)
        each_principal = cents(Fraction(principal) / paying)
        if multiple is not None:
            if amortization == "equal_installments":
                each_principal = (
                    to_multiple(Fraction(each_principal + each_interest), multiple) - each_interest
                )
            else:
                each_principal = to_multiple(Fraction(principal) / paying, multiple)
        balance, interest_left = principal, total_interest
        for k, due in enumerate(dates, start=1):
            interest = interest_left if k == n else each_interest
            part = D(0) if k <= grace else balance if k == n else min(each_principal, balance)
            rows.append((due, part, interest))
            balance -= part
            interest_left -= interest
        return rows
    if amortization == "equal_installments":
        raw = solve_instalment(principal, rate, paying)
        level = to_multiple(raw, multiple) if multiple else cents(raw)
    else:
        raw = Fraction(principal) / paying
        level = to_multiple(raw, multiple) if multiple else cents(raw)
    balance = principal
    for k, due in enumerate(dates, start=1):
        interest = cents(Fraction(balance) * rates[k - 1])
        if k <= grace:
            part = D(0)
        elif k == n:
            part = balance
        elif amortization == "equal_installments":
            part = min(max(level - interest, D(0)), balance)
        else:
            part = min(level, balance)
        rows.append((due, part, interest))
        balance -= part
    return rows


def schedule_rows(**terms: object) -> list[tuple[date, Decimal, Decimal]]:
    values = {"disbursement_date": date(2026, 1, 15), **terms}
    return [
        (i.due_date, i.principal, i.interest) for i in build_schedule(Terms(**values)).installments
    ]  # type: ignore[arg-type]


# --- Table tests: every method × amortisation × frequency × interest period --------------------

COMBINATIONS = list(
    itertools.product(
        ("declining_balance", "flat"),
        ("equal_installments", "equal_principal"),
        ("weekly", "fortnightly", "monthly"),
        # Weekly and fortnightly periods priced as rate × 7/364 (14/364), or by days.
        ((364, "same_as_repayment_period"), (365, "daily"), (360, "daily")),
        (
            (D("1000.00"), D("12"), 12, 0, None),
            (D("2500.00"), D("9.5"), 26, 2, None),
            (D("7333.33"), D("18"), 10, 0, D("5")),
            (D("450.00"), D("0"), 7, 1, None),
        ),
    )
)


@pytest.mark.parametrize("method,amortization,frequency,interest_period,case", COMBINATIONS)
def test_schedule_matches_the_independent_oracle(
    method, amortization, frequency, interest_period, case
):
    principal, annual, n, grace, multiple = case
    days_in_year, calculation = interest_period
    expected = oracle(
        principal,
        annual,
        n,
        frequency,
        method,
        amortization,
        grace,
        multiple,
        days_in_year=days_in_year,
        by_days=calculation == "daily",
    )
    got = schedule_rows(
        days_in_year=days_in_year,
        interest_calculation=calculation,
        principal=principal,
        interest_rate=annual,
        repayments=n,
        frequency=frequency,
        interest_method=method,
        amortization=amortization,
        grace_on_principal=grace,
        in_multiples_of=multiple,
    )
    assert got == expected
    assert sum(p for _d, p, _i in got) == principal  # every cent of principal scheduled
    for _due, part, interest in got[:grace]:
        assert part == 0 and (interest > 0 or annual == 0)


@pytest.mark.parametrize("frequency", ["weekly", "fortnightly", "monthly"])
def test_equal_instalments_are_level_with_the_residue_on_the_last(frequency):
    rows = schedule_rows(
        principal=D("5000.00"), interest_rate=D("11"), repayments=24, frequency=frequency
    )
    totals = [p + i for _d, p, i in rows]
    assert len(set(totals[:-1])) == 1
    # The last instalment takes whatever the rounding left: within a few cents.
    assert abs(totals[-1] - totals[0]) < D("0.25")


# --- Hand-worked cases ---------------------------------------------------------------------------


def test_known_monthly_annuity_10000_at_12_percent():
    rows = schedule_rows(principal=D("10000.00"), interest_rate=D("12"), repayments=12)
    assert rows[0][1:] == (D("788.49"), D("100.00"))
    assert {p + i for _d, p, i in rows[:-1]} == {D("888.49")}
    assert rows[-1][1:] == (D("879.67"), D("8.80"))  # 888.47: the residue of rounding
    schedule = build_schedule(Terms(D("10000.00"), D("12"), 12, date(2026, 1, 15)))
    assert schedule.total_interest == D("661.86")


def test_flat_monthly_by_hand():
    # 1000 at 12 % a year flat, 12 months: interest 1000 × 1 % × 12 = 120.00, 10.00 each;
    # principal 1000 / 12 = 83.33, the last takes 1000 − 11 × 83.33 = 83.37.
    rows = schedule_rows(
        principal=D("1000.00"), interest_rate=D("12"), repayments=12, interest_method="flat"
    )
    assert [(p, i) for _d, p, i in rows[:-1]] == [(D("83.33"), D("10.00"))] * 11
    assert rows[-1][1:] == (D("83.37"), D("10.00"))


def test_flat_weekly_by_hand_with_interest_residue():
    # 1000 at 10 % a year, 10 weeks: interest 1000 × 0.10 × 7/364 × 10 = 19.2307… → 19.23,
    # 1.92 a week (19.23 / 10 = 1.923), the last 19.23 − 9 × 1.92 = 1.95.
    rows = schedule_rows(
        principal=D("1000.00"),
        interest_rate=D("10"),
        repayments=10,
        frequency="weekly",
        interest_method="flat",
    )
    assert [i for _d, _p, i in rows] == [D("1.92")] * 9 + [D("1.95")]
    assert [p for _d, p, _i in rows] == [D("100.00")] * 10
    assert [d for d, _p, _i in rows][:2] == [date(2026, 1, 22), date(2026, 1, 29)]


def test_equal_principal_by_hand():
    rows = schedule_rows(
        principal=D("1000.00"), interest_rate=D("12"), repayments=4, amortization="equal_principal"
    )
    assert [(p, i) for _d, p, i in rows] == [
        (D("250.00"), D("10.00")),
        (D("250.00"), D("7.50")),
        (D("250.00"), D("5.00")),
        (D("250.00"), D("2.50")),
    ]


def test_equal_principal_with_grace_and_residue_on_the_last():
    # Grace on the first repayment: interest only. Then 1000 / 3 = 333.33 twice, 333.34 last;
    # interest on 1000 (10.00), 1000 (10.00), 666.67 (6.67), 333.34 (3.33).
    rows = schedule_rows(
        principal=D("1000.00"),
        interest_rate=D("12"),
        repayments=4,
        amortization="equal_principal",
        grace_on_principal=1,
    )
    assert [(p, i) for _d, p, i in rows] == [
        (D("0.00"), D("10.00")),
        (D("333.33"), D("10.00")),
        (D("333.33"), D("6.67")),
        (D("333.34"), D("3.33")),
    ]


def test_zero_interest_splits_evenly_with_residue():
    rows = schedule_rows(principal=D("100.00"), interest_rate=D("0"), repayments=3)
    assert [(p, i) for _d, p, i in rows] == [
        (D("33.33"), D("0.00")),
        (D("33.33"), D("0.00")),
        (D("33.34"), D("0.00")),
    ]


def test_in_multiples_of_rounds_the_instalment_and_leaves_the_rest_last():
    # 1000 at 1 % a month, 12 months: 88.8488… → the nearest multiple of 5 is 90.00.
    rows = schedule_rows(
        principal=D("1000.00"), interest_rate=D("12"), repayments=12, in_multiples_of=D("5")
    )
    assert {p + i for _d, p, i in rows[:-1]} == {D("90.00")}
    assert rows[0][1:] == (D("80.00"), D("10.00"))
    assert rows[-1][1] + rows[-1][2] < D("90.00")
    assert sum(p for _d, p, _i in rows) == D("1000.00")


def test_period_rates_follow_fineract():
    weekly = Terms(D("1000"), D("13"), 10, date(2026, 1, 1), frequency="weekly")
    fortnightly = Terms(D("1000"), D("13"), 10, date(2026, 1, 1), frequency="fortnightly")
    monthly = Terms(D("1000"), D("12"), 10, date(2026, 1, 1))
    assert weekly.period_rate() == D("0.13") * 7 / 364 == D("0.0025")
    assert fortnightly.period_rate() == D("0.005")
    assert monthly.period_rate() == D("0.01")
    per_month = Terms(D("1000"), D("1"), 10, date(2026, 1, 1), interest_rate_period="month")
    assert per_month.period_rate() == D("0.01")
    by_365 = Terms(D("1000"), D("36.5"), 10, date(2026, 1, 1), frequency="weekly", days_in_year=365)
    assert by_365.period_rate() == D("0.007")


def test_weekly_rate_7_364_or_by_days():
    # 10,000 at 36.4 % a year, two weekly repayments, equal principal: 7/364 of 36.4 % is
    # exactly 0.7 % a week (70.00, then 35.00); by days over 365 it is 7/365 of it.
    common = {
        "principal": D("10000.00"),
        "interest_rate": D("36.4"),
        "repayments": 2,
        "frequency": "weekly",
        "amortization": "equal_principal",
    }
    by_364 = schedule_rows(**common)
    assert [(p, i) for _d, p, i in by_364] == [
        (D("5000.00"), D("70.00")),
        (D("5000.00"), D("35.00")),
    ]
    by_days = schedule_rows(**common, interest_calculation="daily", days_in_year=365)
    # 10000 × 0.364 × 7/365 = 69.808… → 69.81; 5000 × 0.364 × 7/365 = 34.904… → 34.90
    assert [i for _d, _p, i in by_days] == [D("69.81"), D("34.90")]


def test_interest_by_days():
    # 12,000 at 36.5 % a year, by actual days over 365: January has 31 days, February 28.
    rows = schedule_rows(
        principal=D("12000.00"),
        interest_rate=D("36.5"),
        repayments=3,
        amortization="equal_principal",
        interest_calculation="daily",
        days_in_year=365,
        disbursement_date=date(2026, 1, 1),
    )
    assert rows[0][2] == D("372.00")  # 12000 × 0.365 × 31 / 365
    assert rows[1][2] == D("224.00")  # 8000 × 0.365 × 28 / 365
    assert rows[2][2] == D("124.00")  # 4000 × 0.365 × 31 / 365


def test_month_ends_do_not_drift():
    rows = schedule_rows(
        principal=D("300.00"),
        interest_rate=D("0"),
        repayments=4,
        disbursement_date=date(2026, 1, 31),
    )
    assert [d for d, _p, _i in rows] == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]


def test_rounding_mode_is_configurable():
    # 0.125 rounds to 0.12 (half even, Fineract's default) or 0.13 (half up).
    even = build_schedule(Terms(D("12.50"), D("12"), 1, date(2026, 1, 1)))
    up = build_schedule(Terms(D("12.50"), D("12"), 1, date(2026, 1, 1), rounding=ROUND_HALF_UP))
    assert even.installments[0].interest == D("0.12")
    assert up.installments[0].interest == D("0.13")


# --- Parsing -------------------------------------------------------------------------------------

LIMITS = {
    "today": date(2026, 1, 1),
    "max_principal": D("1000000"),
    "max_repayments": 520,
    "max_annual_rate": D("100"),
    "rounding": ROUND_HALF_EVEN,
    "days_in_year": 364,
}


@pytest.mark.parametrize(
    "data,field",
    [
        ({"principal": "100.001"}, "principal"),
        ({"principal": "0"}, "principal"),
        ({"principal": "-5"}, "principal"),
        ({"principal": "abc"}, "principal"),
        ({"principal": "1e5"}, "principal"),
        ({"principal": "NaN"}, "principal"),
        ({"principal": True}, "principal"),
        ({"principal": "2000000"}, "principal"),
        ({"repayments": 0}, "repayments"),
        ({"repayments": -3}, "repayments"),
        ({"repayments": 10**9}, "repayments"),
        ({"repayments": "dodici"}, "repayments"),
        ({"repayments": D("1.5")}, "repayments"),
        ({"repayments": True}, "repayments"),
        ({"frequency": "daily"}, "frequency"),
        ({"interest_method": "compound"}, "interest_method"),
        ({"amortization": "balloon"}, "amortization"),
        ({"interest_rate": "150"}, "interest_rate"),
        ({"interest_rate": "10", "interest_rate_period": "month"}, "interest_rate"),
        ({"interest_rate": "-1"}, "interest_rate"),
        ({"grace_on_principal": 12}, "grace_on_principal"),
        ({"in_multiples_of": "5000"}, "in_multiples_of"),
        ({"disbursement_date": "2026-02-30"}, "disbursement_date"),
        ({"disbursement_date": "1066-10-14"}, "disbursement_date"),
        ({"days_in_year": 400}, "days_in_year"),
    ],
)
def test_bad_terms_are_reported_by_field(data, field):
    good = {"principal": "1000.00", "interest_rate": "10", "repayments": 12}
    with pytest.raises(TermsError) as error:
        parse_terms({**good, **data}, **LIMITS)
    assert field in error.value.fields


def test_italian_amounts_parse_when_localized():
    terms = parse_terms(
        {"principal": "1.250,50", "interest_rate": "7,5", "repayments": "12"},
        localized=True,
        **LIMITS,
    )
    assert terms.principal == D("1250.50") and terms.interest_rate == D("7.5")
