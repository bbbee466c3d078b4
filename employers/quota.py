"""The Law 68/1999 hiring quota, as a pure calculation (no request, no database).

What is implemented, rule by rule (each rule cites its source next to the code):

1. **Part-time workers** (L. 68/1999 art. 4 c.1, which refers to L. 300/1970 art. 18 for
   part-time contracts, and DPR 333/2000 art. 3): each part-time worker counts in
   proportion to their contractual hours over the full-time hours of their contract. The
   fractions of all part-time workers are *added up first* (exactly, as fractions) and only
   the total is rounded: a remaining fraction **above 0.50** of a unit counts as one
   worker, a fraction of 0.50 or less is dropped (e.g. 2.50 → 2, 2.51 → 3).
2. **Computable base** (art. 4 c.1 and the sector exclusions of art. 5 c.2, apprentices by
   D.Lgs. 81/2015 art. 47 c.3): head count − part-time workers (by head) + their rounded
   full-time equivalent − the excluded workers of the categories in :class:`QuotaPolicy`.
   When the head count is itself a decimal full-time equivalent (the API allows it), the
   base is rounded with the same "above 0.50" rule, so it is always a whole number.
3. **Disabled workers, art. 3 c.1**: base below 15 → 0; 15–35 → 1 (letter c); 36–50 → 2
   (letter b); more than 50 → 7% of the base (letter a), where a percentage fraction
   **above 0.50** counts as one unit and one of 0.50 or less is dropped (art. 4 c.2 and
   DPR 333/2000 art. 3): 4.20 → 4, 10.50 → 10, 6.51 → 7.
4. **Art. 18 c.2 categories** (orphans and surviving spouses of people who died at work,
   in war or in service, refugees and assimilated categories): nothing up to 50; exactly
   one worker from 51 to 150; above 150, 1% of the base with the same rounding
   (1.51 → 2, 2.50 → 2).
5. **Suspension, art. 3 c.5**: during a redundancy procedure or CIGS the obligations are
   suspended: both quotas are 0 (``policy.suspension_covers_art18``), and a note tells
   what they would be otherwise.
6. **Gaps**: required − already employed, never negative.
7. **Work-order conventions, D.Lgs. 276/2003 art. 14 c.3**: positions covered =
   floor(annual order value ÷ convention coefficient), capped at
   floor(disabled quota × convention maximum share) — the cap is rounded down so the
   covered share never exceeds the convention maximum.

All counts are exact (``Decimal``/``Fraction``); money is ``Decimal`` only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from flask_babel import lazy_gettext as _l

MAX_EMPLOYEES = 1_000_000
#: Weekly full-time hours above this are not a plausible contract (D.Lgs. 66/2003 art. 4).
MAX_FULL_TIME_HOURS = 48
MAX_ORDER_VALUE = Decimal("1000000000000")  # 10^12 EUR: anything above is a typo
CENT = Decimal("0.01")

# Rule codes (machine-readable, stable in the API).
RULE_SUSPENDED = "art3_c5_suspended"
RULE_BELOW_THRESHOLD = "art3_c1_below_15"
RULE_ONE = "art3_c1_c"
RULE_TWO = "art3_c1_b"
RULE_PERCENT = "art3_c1_a"
ART18_NONE = "art18_c2_none"
ART18_FIXED = "art18_c2_fixed"
ART18_PERCENT = "art18_c2_percent"


class QuotaInputError(ValueError):
    """Figures that cannot be computed; ``fields`` maps field names to messages."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = dict(fields)


@dataclass(frozen=True)
class ExclusionCategory:
    """Workers not counted in the computable base, with the provision that excludes them."""

    code: str
    label: Any  # a lazy translatable string
    source: str
    sector: bool = False  # a sector exclusion (art. 5 c.2) rather than a general one


DEFAULT_EXCLUSIONS: tuple[ExclusionCategory, ...] = (
    ExclusionCategory(
        "l68_hires",
        _l("Workers hired under Law 68/1999 (disabled and art. 18 categories)"),
        "L. 68/1999, art. 4 c.1",
    ),
    ExclusionCategory(
        "fixed_term_6m", _l("Fixed-term contracts of up to six months"), "L. 68/1999, art. 4 c.1"
    ),
    ExclusionCategory("apprentices", _l("Apprentices"), "D.Lgs. 81/2015, art. 47 c.3"),
    ExclusionCategory("executives", _l("Executives (dirigenti)"), "L. 68/1999, art. 4 c.1"),
    ExclusionCategory(
        "coop_members",
        _l("Working members of production and labour cooperatives"),
        "L. 68/1999, art. 4 c.1",
    ),
    ExclusionCategory(
        "abroad", _l("Workers hired to work abroad, for that period"), "L. 68/1999, art. 4 c.1"
    ),
    ExclusionCategory(
        "other",
        _l("Other exclusions (home workers, socially useful work, other sector rules)"),
        "L. 68/1999, art. 4 c.1",
    ),
    ExclusionCategory(
        "transport_crew",
        _l("Transport (air, sea, land): travelling and flying staff"),
        "L. 68/1999, art. 5 c.2",
        sector=True,
    ),
    ExclusionCategory(
        "construction_site",
        _l("Construction: site staff and transport workers"),
        "L. 68/1999, art. 5 c.2",
        sector=True,
    ),
    ExclusionCategory(
        "cableway_operations",
        _l("Cableways: staff of the operating areas"),
        "L. 68/1999, art. 5 c.2",
        sector=True,
    ),
)


def _decimal_setting(value: Any, name: str) -> Decimal:
    if isinstance(value, float | bool):
        raise ValueError(f"{name} must be a decimal string, not {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation as error:
        raise ValueError(f"{name} is not a decimal: {value!r}") from error
    if not result.is_finite():
        raise ValueError(f"{name} is not a finite decimal: {value!r}")
    return result


@dataclass(frozen=True)
class QuotaPolicy:
    """The legal parameters, kept in one place so a change of law is a change of policy."""

    minimum_employees: int = 15  # art. 3 c.1 c): from 15 employees
    one_worker_up_to: int = 35  # art. 3 c.1 c): 15-35 → 1
    two_workers_up_to: int = 50  # art. 3 c.1 b): 36-50 → 2; above: a) 7%
    disabled_percent: Decimal = Decimal("7")
    art18_percent: Decimal = Decimal("1")  # art. 18 c.2
    art18_fixed_up_to: int = 150  # art. 18 c.2: one unit for 51-150
    exclusions: tuple[ExclusionCategory, ...] = DEFAULT_EXCLUSIONS
    suspension_covers_art18: bool = True
    #: D.Lgs. 276/2003 art. 14 c.2 d): the annual labour cost of one worker (EUR).
    convention_coefficient: Decimal = Decimal("30000.00")
    #: D.Lgs. 276/2003 art. 14 c.3: the maximum share of the quota a convention may cover.
    convention_max_share: Decimal = Decimal("0.30")

    def __post_init__(self) -> None:
        if not isinstance(self.convention_coefficient, Decimal) or self.convention_coefficient <= 0:
            raise ValueError("the convention coefficient must be a positive Decimal")
        if (
            not isinstance(self.convention_max_share, Decimal)
            or not 0 <= self.convention_max_share <= 1
        ):
            raise ValueError("the convention maximum share must be a Decimal from 0 to 1")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> QuotaPolicy:
        """The policy with the convention figures of the application configuration
        (``L68_CONVENTION_COEFFICIENT``, ``L68_CONVENTION_MAX_SHARE``)."""
        return cls(
            convention_coefficient=_decimal_setting(
                config.get("L68_CONVENTION_COEFFICIENT", "30000.00"), "L68_CONVENTION_COEFFICIENT"
            ),
            convention_max_share=_decimal_setting(
                config.get("L68_CONVENTION_MAX_SHARE", "0.30"), "L68_CONVENTION_MAX_SHARE"
            ),
        )

    def exclusion(self, code: str) -> ExclusionCategory | None:
        return next((c for c in self.exclusions if c.code == code), None)


def _count(value: Any, name: str) -> Decimal:
    """Counts are Decimal (a full-time equivalent may be fractional); never float."""
    if isinstance(value, bool | float):
        raise TypeError(f"{name} must be an int or a Decimal, not {type(value).__name__}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    raise TypeError(f"{name} must be an int or a Decimal, not {type(value).__name__}")


@dataclass(frozen=True)
class QuotaFigures:
    """What the employer tells us.

    ``employees`` is the head count, part-time workers included (the API also accepts a
    decimal full-time equivalent). Part-time workers are given either as ``part_time_hours``
    — one ``(weekly hours, full-time weekly hours)`` pair per worker, who are among
    ``employees`` — or as their total ``part_time_fte`` with their number
    ``part_time_workers``. When only the FTE is known (``part_time_workers`` = 0),
    ``employees`` is taken to count the other workers and the FTE is added to it.
    ``excluded`` maps :class:`ExclusionCategory` codes to the number of workers.
    """

    employees: Decimal
    part_time_workers: int = 0
    part_time_hours: tuple[tuple[Decimal, Decimal], ...] = ()
    part_time_fte: Decimal | None = None
    excluded: Mapping[str, Decimal] = field(default_factory=dict)
    disabled_employed: int = 0
    art18_employed: int = 0
    suspended: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "employees", _count(self.employees, "employees"))
        if self.part_time_fte is not None:
            set_(self, "part_time_fte", _count(self.part_time_fte, "part_time_fte"))
        set_(
            self,
            "part_time_hours",
            tuple(
                (_count(h, "hours"), _count(f, "full-time hours")) for h, f in self.part_time_hours
            ),
        )
        set_(self, "excluded", {k: _count(v, f"excluded.{k}") for k, v in self.excluded.items()})
        for name in ("part_time_workers", "disabled_employed", "art18_employed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int")

    @property
    def part_time_heads(self) -> int:
        """Part-time workers counted by head in ``employees``."""
        return len(self.part_time_hours) if self.part_time_hours else self.part_time_workers

    @property
    def part_time_added(self) -> bool:
        """Only a total FTE, without the number of workers: the FTE is added."""
        return (
            not self.part_time_hours
            and self.part_time_fte is not None
            and self.part_time_fte.is_finite()
            and self.part_time_fte > 0
            and self.part_time_workers == 0
        )


@dataclass(frozen=True)
class Article:
    ref: str
    text: Any  # a lazy translatable string


@dataclass(frozen=True)
class QuotaResult:
    base: int
    base_exact: Decimal
    part_time_fte: Decimal
    part_time_units: int
    excluded_total: Decimal
    disabled_required: int
    art18_required: int
    disabled_employed: int
    art18_employed: int
    disabled_gap: int
    art18_gap: int
    rule: str
    art18_rule: str
    disabled_exact: Decimal | None  # the percentage before rounding (letter a only)
    art18_exact: Decimal | None  # the percentage before rounding (above 150 only)
    suspended: bool
    disabled_required_unsuspended: int
    art18_required_unsuspended: int
    explanation: Any
    art18_explanation: Any
    articles: tuple[Article, ...]
    notes: tuple[Any, ...]
    #: The rules applied in words, with their article (``rule_description``).
    rule_text: Any = ""
    art18_rule_text: Any = ""

    @property
    def complete(self) -> bool:
        return self.disabled_gap == 0 and self.art18_gap == 0


@dataclass(frozen=True)
class OrderCoverage:
    """D.Lgs. 276/2003 art. 14: what a yearly work order to a type-B cooperative covers."""

    order_value: Decimal
    coefficient: Decimal
    max_share: Decimal
    uncapped: int
    cap: int | None
    positions: int


class _Number:
    """A number put into a translated sentence: formatted for the reader's language when
    there is a request, plainly otherwise (so this module needs no request)."""

    def __init__(self, value: Decimal | int, places: int = 0) -> None:
        self.value, self.places = value, places

    def __str__(self) -> str:
        from flask import has_request_context

        if has_request_context():
            from flask_babel import format_decimal

            if self.places:
                pattern = "#,##0." + "0" * self.places
            else:
                pattern = "#,##0" if Decimal(self.value) == int(self.value) else "#,##0.##"
            return str(format_decimal(self.value, format=pattern))
        if self.places:
            return str(Decimal(self.value).quantize(Decimal(1).scaleb(-self.places)))
        return str(self.value)


def round_over_half(value: Fraction | Decimal | int) -> int:
    """DPR 333/2000 art. 3 and L. 68/1999 art. 4 c.2: a fraction *above* 0.50 counts as a
    unit, a fraction of 0.50 or less is dropped (so 3.50 → 3 and 3.51 → 4)."""
    exact = Fraction(value)
    whole = math.floor(exact)
    return whole + (1 if exact - whole > Fraction(1, 2) else 0)


def _decimal(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(CENT)


MAX_DECIMALS = 4


def _unusable(value: Decimal) -> bool:
    """Not finite, or more decimals than any real head count or FTE needs."""
    return not value.is_finite() or int(value.as_tuple().exponent) < -MAX_DECIMALS


def validate_figures(figures: QuotaFigures, policy: QuotaPolicy) -> dict[str, Any]:
    """Every problem at once, as {field: message}; empty when the figures can be computed.

    Fields: ``employees``, ``part_time_workers``, ``part_time_hours``, ``part_time_fte``,
    ``excluded`` (the total), ``excluded.<code>``, ``disabled_employed``, ``art18_employed``.
    """
    errors: dict[str, Any] = {}
    employees = figures.employees
    too_precise = _l("Give a number with at most %(places)s decimals.", places=MAX_DECIMALS)
    if _unusable(employees):
        errors["employees"] = too_precise
    elif employees < 0:
        errors["employees"] = _l("The number of employees cannot be negative.")
    elif employees > MAX_EMPLOYEES:
        errors["employees"] = _l("Give at most %(max)s employees.", max=_Number(MAX_EMPLOYEES))
    heads_ok = "employees" not in errors

    if figures.part_time_workers < 0:
        errors["part_time_workers"] = _l("The number of part-time workers cannot be negative.")
    elif heads_ok and figures.part_time_workers > employees:
        errors["part_time_workers"] = _l("There cannot be more part-time workers than employees.")
    if figures.part_time_hours:
        if figures.part_time_fte is not None:
            errors["part_time_fte"] = _l(
                "Give either the hours of each part-time worker or "
                "their total full-time equivalent, not both."
            )
        if figures.part_time_workers not in (0, len(figures.part_time_hours)):
            errors["part_time_workers"] = _l(
                "Workers in the hours list: %(count)s. The two numbers do not match.",
                count=len(figures.part_time_hours),
            )
        for hours, full_time in figures.part_time_hours:
            if _unusable(hours) or _unusable(full_time):
                errors["part_time_hours"] = too_precise
                break
            if hours <= 0 or full_time <= 0 or full_time > MAX_FULL_TIME_HOURS:
                errors["part_time_hours"] = _l(
                    "Each worker needs weekly hours above zero and full-time hours from 1 "
                    "to %(max)s.",
                    max=MAX_FULL_TIME_HOURS,
                )
                break
            if hours > full_time:
                errors["part_time_hours"] = _l("Part-time hours cannot exceed the full-time hours.")
                break
        if (
            heads_ok
            and "part_time_hours" not in errors
            and len(figures.part_time_hours) > employees
        ):
            errors["part_time_hours"] = _l("There cannot be more part-time workers than employees.")
    fte = figures.part_time_fte
    if fte is not None and "part_time_fte" not in errors:
        if _unusable(fte):
            errors["part_time_fte"] = too_precise
        elif fte < 0:
            errors["part_time_fte"] = _l("The full-time equivalent cannot be negative.")
        elif figures.part_time_workers > 0 and heads_ok and fte > employees:
            errors["part_time_fte"] = _l(
                "The part-time full-time equivalent cannot exceed the employees."
            )
        elif figures.part_time_workers > 0 and fte > figures.part_time_workers:
            errors["part_time_fte"] = _l(
                "The full-time equivalent cannot exceed the number of part-time workers."
            )
        elif fte > MAX_EMPLOYEES:
            errors["part_time_fte"] = _l("Give at most %(max)s.", max=_Number(MAX_EMPLOYEES))

    total = Decimal(0)
    for code, count in figures.excluded.items():
        if policy.exclusion(code) is None:
            errors[f"excluded.{code}"] = _l("Unknown category of excluded workers.")
        elif _unusable(count):
            errors[f"excluded.{code}"] = too_precise
        elif count < 0:
            errors[f"excluded.{code}"] = _l("The number of excluded workers cannot be negative.")
        else:
            total += count
    people = employees + (
        fte if figures.part_time_added and fte is not None and "part_time_fte" not in errors else 0
    )
    if heads_ok and not any(k.startswith("excluded.") for k in errors) and total > people:
        errors["excluded"] = _l(
            "The excluded workers (%(excluded)s) cannot be more than the "
            "employees (%(employees)s).",
            excluded=_Number(total),
            employees=_Number(people),
        )

    for name in ("disabled_employed", "art18_employed"):
        value = getattr(figures, name)
        if value < 0:
            errors[name] = _l("The number of workers cannot be negative.")
        elif value > MAX_EMPLOYEES:
            errors[name] = _l("Give at most %(max)s.", max=_Number(MAX_EMPLOYEES))
    return errors


ARTICLES = {
    "art3": Article(
        "L. 68/1999, art. 3 c.1",
        _l(
            "Employers must employ disabled workers: one with 15 to 35 employees, two with 36 to "
            "50, and %(percent)s%% of the computable employees with more than 50.",
            percent=7,
        ),
    ),
    "art4": Article(
        "L. 68/1999, art. 4 c.1",
        _l(
            "The computable base leaves out the workers hired under this law, fixed-term "
            "contracts of up to six months, executives, working members of production "
            "cooperatives and other listed categories; part-time workers count in proportion "
            "to their hours."
        ),
    ),
    "part_time": Article(
        "DPR 333/2000, art. 3",
        _l(
            "The hours of the part-time workers are added up and divided by the full-time "
            "hours; a remaining fraction above half a unit counts as one worker."
        ),
    ),
    "rounding": Article(
        "L. 68/1999, art. 4 c.2; DPR 333/2000, art. 3",
        _l(
            "In the percentage, a fraction above 0.50 counts as one worker; a fraction of 0.50 "
            "or less is dropped."
        ),
    ),
    "art5": Article(
        "L. 68/1999, art. 5 c.2",
        _l(
            "Some sectors do not count certain staff, such as travelling staff in transport "
            "and site staff in construction."
        ),
    ),
    "art18": Article(
        "L. 68/1999, art. 18 c.2",
        _l(
            "Employers with more than 50 employees reserve a further %(percent)s%% to orphans "
            "and surviving spouses of people who died at work, in war or in service, and to "
            "refugees and assimilated categories: one worker from 51 to 150 employees.",
            percent=1,
        ),
    ),
    "suspension": Article(
        "L. 68/1999, art. 3 c.5",
        _l(
            "The hiring obligations are suspended while the company is in a redundancy "
            "procedure or receives extraordinary wage guarantee (CIGS), for the length of the "
            "programme; with CIGS, in proportion to the work actually suspended."
        ),
    ),
    "art14": Article(
        "D.Lgs. 276/2003, art. 14",
        _l(
            "A company may cover part of the disabled quota by giving work orders to type-B "
            "social cooperatives that employ disabled workers under a regional framework "
            "convention: the yearly order value divided by the convention coefficient gives the "
            "positions covered, up to the convention's maximum share."
        ),
    ),
}


def compute_quota(figures: QuotaFigures, policy: QuotaPolicy) -> QuotaResult:
    """The obligation of L. 68/1999 arts. 3 and 18 for these figures.

    Raises :class:`QuotaInputError` when :func:`validate_figures` finds a problem.
    """
    errors = validate_figures(figures, policy)
    if errors:
        raise QuotaInputError(errors)
    articles = [ARTICLES["art3"], ARTICLES["art4"]]
    notes: list[Any] = []

    # Part-time (L. 68/1999 art. 4 c.1 → L. 300/1970 art. 18; DPR 333/2000 art. 3): the
    # individual fractions hours/full-time are summed exactly, then the *total* is rounded
    # with the "above 0.50" rule.
    if figures.part_time_hours:
        part_time = sum(
            (Fraction(h) / Fraction(f) for h, f in figures.part_time_hours), Fraction(0)
        )
    else:
        part_time = Fraction(figures.part_time_fte or 0)
    part_time_units = round_over_half(part_time)
    if part_time:
        articles.append(ARTICLES["part_time"])
    if figures.part_time_added:
        notes.append(
            _l(
                "The number of part-time workers was not given: their full-time "
                "equivalent was added to the employees."
            )
        )

    # Computable base (art. 4 c.1; sector exclusions of art. 5 c.2; apprentices D.Lgs.
    # 81/2015 art. 47 c.3).
    excluded_total = sum(figures.excluded.values(), Decimal(0))
    if any(policy.exclusion(c).sector for c, n in figures.excluded.items() if n):  # type: ignore[union-attr]
        articles.append(ARTICLES["art5"])
    base_exact = (
        Fraction(figures.employees)
        - figures.part_time_heads
        + part_time_units
        - Fraction(excluded_total)
    )
    base_exact = max(base_exact, Fraction(0))
    base = round_over_half(base_exact)  # whole already unless employees was a decimal FTE

    # Art. 3 c.1.
    disabled_exact: Fraction | None = None
    if base < policy.minimum_employees:
        rule, disabled = RULE_BELOW_THRESHOLD, 0
        explanation = _l(
            "With %(base)s computable employees (fewer than %(min)s) there is no obligation.",
            base=_Number(base),
            min=policy.minimum_employees,
        )
    elif base <= policy.one_worker_up_to:
        rule, disabled = RULE_ONE, 1
        explanation = _l(
            "With %(base)s computable employees (from %(min)s to %(max)s) the "
            "quota is one disabled worker (art. 3 c.1 c).",
            base=_Number(base),
            min=policy.minimum_employees,
            max=policy.one_worker_up_to,
        )
    elif base <= policy.two_workers_up_to:
        rule, disabled = RULE_TWO, 2
        explanation = _l(
            "With %(base)s computable employees (from %(min)s to %(max)s) the "
            "quota is two disabled workers (art. 3 c.1 b).",
            base=_Number(base),
            min=policy.one_worker_up_to + 1,
            max=policy.two_workers_up_to,
        )
    else:
        rule = RULE_PERCENT
        # Art. 3 c.1 a) with the rounding of art. 4 c.2 / DPR 333/2000 art. 3.
        disabled_exact = Fraction(base) * Fraction(policy.disabled_percent) / 100
        disabled = round_over_half(disabled_exact)
        articles.append(ARTICLES["rounding"])
        explanation = _l(
            "With %(base)s computable employees (more than %(max)s) the quota "
            "is %(percent)s%% of the base: %(exact)s, rounded to %(required)s "
            "(art. 3 c.1 a; fractions above 0.50 count as one).",
            base=_Number(base),
            max=policy.two_workers_up_to,
            percent=_Number(policy.disabled_percent),
            exact=_Number(_decimal(disabled_exact), 2),
            required=_Number(disabled),
        )

    # Art. 18 c.2: more than 50 employees; one unit for 51-150; above, 1% rounded as above.
    art18_exact: Fraction | None = None
    if base <= policy.two_workers_up_to:
        art18_rule, art18 = ART18_NONE, 0
        art18_explanation = _l(
            "Up to %(max)s computable employees there is no art. 18 quota.",
            max=policy.two_workers_up_to,
        )
    elif base <= policy.art18_fixed_up_to:
        art18_rule, art18 = ART18_FIXED, 1
        articles.append(ARTICLES["art18"])
        art18_explanation = _l(
            "From %(min)s to %(max)s computable employees the art. 18 quota is one worker.",
            min=policy.two_workers_up_to + 1,
            max=policy.art18_fixed_up_to,
        )
    else:
        art18_rule = ART18_PERCENT
        art18_exact = Fraction(base) * Fraction(policy.art18_percent) / 100
        art18 = round_over_half(art18_exact)
        articles.append(ARTICLES["art18"])
        if ARTICLES["rounding"] not in articles:
            articles.append(ARTICLES["rounding"])
        art18_explanation = _l(
            "Above %(max)s computable employees the art. 18 quota is "
            "%(percent)s%% of the base: %(exact)s, rounded to "
            "%(required)s.",
            max=policy.art18_fixed_up_to,
            percent=_Number(policy.art18_percent),
            exact=_Number(_decimal(art18_exact), 2),
            required=_Number(art18),
        )

    # Art. 3 c.5: suspension during redundancy procedures / CIGS.
    disabled_unsuspended, art18_unsuspended = disabled, art18
    if figures.suspended:
        rule = RULE_SUSPENDED
        disabled = 0
        if policy.suspension_covers_art18:
            art18_rule, art18 = RULE_SUSPENDED, 0
            art18_explanation = _l("The art. 18 obligation is suspended too (art. 3 c.5).")
        articles.append(ARTICLES["suspension"])
        explanation = _l(
            "The hiring obligations are suspended during the redundancy "
            "procedure or CIGS (art. 3 c.5)."
        )
        notes.append(
            _l(
                "Without the suspension the quota would be: disabled workers (art. 3): "
                "%(disabled)s; art. 18 categories: %(art18)s. With CIGS the "
                "suspension is "
                "in proportion to the work actually suspended: check it with the "
                "targeted placement office.",
                disabled=disabled_unsuspended,
                art18=art18_unsuspended,
            )
        )

    l68 = policy.exclusion("l68_hires")
    employed = figures.disabled_employed + figures.art18_employed
    if l68 is not None and employed > figures.excluded.get("l68_hires", 0):
        notes.append(
            _l(
                "Workers hired under Law 68/1999 are not part of the base "
                "(art. 4 c.1): if the workers already employed are among the "
                "employees, exclude them too."
            )
        )

    return QuotaResult(
        base=base,
        base_exact=_decimal(base_exact),
        part_time_fte=_decimal(part_time),
        part_time_units=part_time_units,
        excluded_total=excluded_total,
        disabled_required=disabled,
        art18_required=art18,
        disabled_employed=figures.disabled_employed,
        art18_employed=figures.art18_employed,
        disabled_gap=max(0, disabled - figures.disabled_employed),
        art18_gap=max(0, art18 - figures.art18_employed),
        rule=rule,
        art18_rule=art18_rule,
        disabled_exact=None if disabled_exact is None else _decimal(disabled_exact),
        art18_exact=None if art18_exact is None else _decimal(art18_exact),
        suspended=figures.suspended,
        disabled_required_unsuspended=disabled_unsuspended,
        art18_required_unsuspended=art18_unsuspended,
        explanation=explanation,
        art18_explanation=art18_explanation,
        articles=tuple(articles),
        notes=tuple(notes),
        rule_text=rule_description(rule, policy),
        art18_rule_text=rule_description(art18_rule, policy, art18=True),
    )


def rule_description(code: str, policy: QuotaPolicy, *, art18: bool = False) -> Any:
    """The rule ``code`` (``RULE_*``, ``ART18_*``) in words, citing its article and the
    policy's figures, e.g. "art. 3, paragraph 1, letter a): 7% of the computable workers
    above 50". ``art18`` tells which obligation a suspension (``RULE_SUSPENDED``) is about."""
    if code == RULE_SUSPENDED:
        if art18:
            return _l("art. 3, paragraph 5: the art. 18 obligation is suspended as well")
        return _l(
            "art. 3, paragraph 5: obligations suspended during a redundancy procedure or CIGS"
        )
    if code == RULE_BELOW_THRESHOLD:
        return _l(
            "art. 3, paragraph 1: no obligation below %(min)s computable workers",
            min=_Number(policy.minimum_employees),
        )
    if code == RULE_ONE:
        return _l(
            "art. 3, paragraph 1, letter c): one worker from %(min)s to %(max)s computable workers",
            min=_Number(policy.minimum_employees),
            max=_Number(policy.one_worker_up_to),
        )
    if code == RULE_TWO:
        return _l(
            "art. 3, paragraph 1, letter b): two workers from %(min)s to %(max)s computable "
            "workers",
            min=_Number(policy.one_worker_up_to + 1),
            max=_Number(policy.two_workers_up_to),
        )
    if code == RULE_PERCENT:
        return _l(
            "art. 3, paragraph 1, letter a): %(percent)s%% of the computable workers above %(max)s",
            percent=_Number(policy.disabled_percent),
            max=_Number(policy.two_workers_up_to),
        )
    if code == ART18_NONE:
        return _l(
            "art. 18, paragraph 2: no obligation up to %(max)s computable workers",
            max=_Number(policy.two_workers_up_to),
        )
    if code == ART18_FIXED:
        return _l(
            "art. 18, paragraph 2: one worker from %(min)s to %(max)s computable workers",
            min=_Number(policy.two_workers_up_to + 1),
            max=_Number(policy.art18_fixed_up_to),
        )
    if code == ART18_PERCENT:
        return _l(
            "art. 18, paragraph 2: %(percent)s%% of the computable workers above %(max)s",
            percent=_Number(policy.art18_percent),
            max=_Number(policy.art18_fixed_up_to),
        )
    return code


def check_order_value(order_value: Any) -> Decimal:
    """A yearly order value in EUR: a Decimal from 0 with at most two decimals."""
    if not isinstance(order_value, Decimal):
        raise TypeError("money must be a Decimal")
    if not order_value.is_finite() or order_value < 0:
        raise ValueError("the order value cannot be negative")
    if order_value > MAX_ORDER_VALUE:
        raise ValueError("the order value is too large")
    if order_value != order_value.quantize(CENT):
        raise ValueError("the order value has more than two decimals")
    return order_value


def convention_cap(disabled_required: int, policy: QuotaPolicy) -> int:
    """D.Lgs. 276/2003 art. 14 c.3: at most this many positions of the disabled quota may
    be covered by a convention (the maximum share, rounded down: never above the share)."""
    return math.floor(Decimal(disabled_required) * policy.convention_max_share)


def order_coverage(
    order_value: Decimal, policy: QuotaPolicy, disabled_required: int | None = None
) -> OrderCoverage:
    """What a yearly order covers; with ``disabled_required`` the convention cap applies."""
    value = check_order_value(order_value)
    # D.Lgs. 276/2003 art. 14 c.3: annual order value ÷ the coefficient of c.2 d), floored.
    uncapped = math.floor(value / policy.convention_coefficient)
    cap = None if disabled_required is None else convention_cap(disabled_required, policy)
    return OrderCoverage(
        order_value=value,
        coefficient=policy.convention_coefficient,
        max_share=policy.convention_max_share,
        uncapped=uncapped,
        cap=cap,
        positions=uncapped if cap is None else min(uncapped, cap),
    )


def positions_covered_by_order(
    order_value: Decimal, policy: QuotaPolicy, disabled_required: int | None = None
) -> int:
    """floor(annual order value ÷ convention coefficient), capped by the convention's
    maximum share of ``disabled_required`` when given."""
    return order_coverage(order_value, policy, disabled_required).positions
