"""The L. 68/1999 quota as a pure calculation: every band edge and rounding rule."""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction

import pytest

from employers import quota
from employers.quota import (
    QuotaFigures,
    QuotaInputError,
    QuotaPolicy,
    compute_quota,
    convention_cap,
    order_coverage,
    positions_covered_by_order,
    round_over_half,
)

POLICY = QuotaPolicy()


def half_time(n: int, hours: int = 20, full: int = 40) -> tuple[tuple[D, D], ...]:
    return ((D(hours), D(full)),) * n


@pytest.mark.parametrize(
    "value,expected",
    [
        (D("0"), 0),
        (D("0.50"), 0),
        (D("0.51"), 1),
        (D("3.50"), 3),
        (D("3.51"), 4),
        (D("3.57"), 4),
        (D("4.20"), 4),
        (D("10.50"), 10),
        (D("10.57"), 11),
        (D("1.51"), 2),
        (D("2.50"), 2),
        (Fraction(5, 2), 2),
        (Fraction(101, 40), 3),
        (14, 14),
    ],
)
def test_fractions_above_half_count_as_a_unit(value, expected):
    assert round_over_half(value) == expected


# (figures, base, disabled, art18, rule, art18 rule)
CASES = {
    "14 below the threshold": (dict(employees=14), 14, 0, 0, "art3_c1_below_15", "art18_c2_none"),
    "15 one worker": (dict(employees=15), 15, 1, 0, "art3_c1_c", "art18_c2_none"),
    "35 still one": (dict(employees=35), 35, 1, 0, "art3_c1_c", "art18_c2_none"),
    "36 two workers": (dict(employees=36), 36, 2, 0, "art3_c1_b", "art18_c2_none"),
    "50 still two, no art. 18": (dict(employees=50), 50, 2, 0, "art3_c1_b", "art18_c2_none"),
    "51: 7% = 3.57 → 4, art. 18 one": (dict(employees=51), 51, 4, 1, "art3_c1_a", "art18_c2_fixed"),
    "60: 4.20 → 4": (dict(employees=60), 60, 4, 1, "art3_c1_a", "art18_c2_fixed"),
    "93: 6.51 → 7": (dict(employees=93), 93, 7, 1, "art3_c1_a", "art18_c2_fixed"),
    "150: 10.50 → 10, art. 18 fixed": (
        dict(employees=150),
        150,
        10,
        1,
        "art3_c1_a",
        "art18_c2_fixed",
    ),
    "151: 10.57 → 11, art. 18 1.51 → 2": (
        dict(employees=151),
        151,
        11,
        2,
        "art3_c1_a",
        "art18_c2_percent",
    ),
    "250: 17.50 → 17, art. 18 2.50 → 2": (
        dict(employees=250),
        250,
        17,
        2,
        "art3_c1_a",
        "art18_c2_percent",
    ),
    "251: 17.57 → 18, art. 18 2.51 → 3": (
        dict(employees=251),
        251,
        18,
        3,
        "art3_c1_a",
        "art18_c2_percent",
    ),
    # Part-time: fractions summed first, the total rounded (above 0.50 → one unit).
    "part-time total 2.50 drops to 2: base 14": (
        dict(employees=16, part_time_hours=half_time(4, 25)),
        14,
        0,
        0,
        "art3_c1_below_15",
        "art18_c2_none",
    ),
    "part-time total 2.60 rounds to 3: base 15": (
        dict(employees=16, part_time_hours=half_time(4, 26)),
        15,
        1,
        0,
        "art3_c1_c",
        "art18_c2_none",
    ),
    "part-time aggregated, not per head (3 × 0.75 = 2.25 → 2)": (
        dict(employees=3, part_time_hours=half_time(3, 30)),
        2,
        0,
        0,
        "art3_c1_below_15",
        "art18_c2_none",
    ),
    "different full-time references: 18/36 + 20/40 + 21/40 = 1.525 → 2": (
        dict(employees=37, part_time_hours=((D(18), D(36)), (D(20), D(40)), (D(21), D(40)))),
        36,
        2,
        0,
        "art3_c1_b",
        "art18_c2_none",
    ),
    "part-time FTE with heads: 30 + 4.50 → 34": (
        dict(employees=40, part_time_workers=10, part_time_fte=D("4.50")),
        34,
        1,
        0,
        "art3_c1_c",
        "art18_c2_none",
    ),
    "part-time FTE with heads: 30 + 5.51 → 36": (
        dict(employees=40, part_time_workers=10, part_time_fte=D("5.51")),
        36,
        2,
        0,
        "art3_c1_b",
        "art18_c2_none",
    ),
    "part-time FTE without heads is added: 50 + 0.51 → 51": (
        dict(employees=50, part_time_fte=D("0.51")),
        51,
        4,
        1,
        "art3_c1_a",
        "art18_c2_fixed",
    ),
    # Exclusions across a band edge.
    "52 minus 2 short fixed-term contracts → 50": (
        dict(employees=52, excluded={"fixed_term_6m": 2}),
        50,
        2,
        0,
        "art3_c1_b",
        "art18_c2_none",
    ),
    "16 minus 2 apprentices → 14": (
        dict(employees=16, excluded={"apprentices": 2}),
        14,
        0,
        0,
        "art3_c1_below_15",
        "art18_c2_none",
    ),
    "152 minus a transport crew of 2 → 150": (
        dict(employees=152, excluded={"transport_crew": 2}),
        150,
        10,
        1,
        "art3_c1_a",
        "art18_c2_fixed",
    ),
    # A decimal full-time equivalent (the API) is rounded the same way.
    "FTE 50.50 → 50": (dict(employees=D("50.50")), 50, 2, 0, "art3_c1_b", "art18_c2_none"),
    "FTE 50.51 → 51": (dict(employees=D("50.51")), 51, 4, 1, "art3_c1_a", "art18_c2_fixed"),
    "nobody": (dict(employees=0), 0, 0, 0, "art3_c1_below_15", "art18_c2_none"),
}


@pytest.mark.parametrize(
    "figures,base,disabled,art18,rule,art18_rule", CASES.values(), ids=list(CASES)
)
def test_quota_table(figures, base, disabled, art18, rule, art18_rule):
    result = compute_quota(QuotaFigures(**figures), POLICY)
    assert (result.base, result.disabled_required, result.art18_required) == (base, disabled, art18)
    assert (result.rule, result.art18_rule) == (rule, art18_rule)
    assert (result.disabled_gap, result.art18_gap) == (disabled, art18)


def test_the_exact_percentage_and_the_explanation_are_given():
    result = compute_quota(QuotaFigures(employees=60), POLICY)
    assert result.disabled_exact == D("4.20") and result.art18_exact is None
    assert "4.20" in str(result.explanation) and "7%" in str(result.explanation)
    refs = [a.ref for a in result.articles]
    assert "L. 68/1999, art. 3 c.1" in refs and "L. 68/1999, art. 18 c.2" in refs
    assert any("0.50" in str(a.text) for a in result.articles)


def test_part_time_figures_are_reported():
    result = compute_quota(QuotaFigures(employees=20, part_time_hours=half_time(5)), POLICY)
    assert result.part_time_fte == D("2.50") and result.part_time_units == 2
    assert result.base == 17
    assert "DPR 333/2000, art. 3" in [a.ref for a in result.articles]


def test_sector_exclusions_cite_article_5():
    result = compute_quota(QuotaFigures(employees=60, excluded={"construction_site": 5}), POLICY)
    assert result.base == 55
    assert "L. 68/1999, art. 5 c.2" in [a.ref for a in result.articles]


def test_sector_exclusions_are_configurable():
    only_general = QuotaPolicy(
        exclusions=tuple(c for c in quota.DEFAULT_EXCLUSIONS if not c.sector)
    )
    with pytest.raises(QuotaInputError) as error:
        compute_quota(QuotaFigures(employees=60, excluded={"transport_crew": 2}), only_general)
    assert "excluded.transport_crew" in error.value.fields
    mining = quota.ExclusionCategory(
        "mining", "Mining underground staff", "sector rule", sector=True
    )
    extended = QuotaPolicy(exclusions=(*quota.DEFAULT_EXCLUSIONS, mining))
    assert compute_quota(QuotaFigures(employees=60, excluded={"mining": 10}), extended).base == 50


def test_suspension_sets_the_quota_to_zero_with_a_note():
    result = compute_quota(QuotaFigures(employees=60, suspended=True), POLICY)
    assert (result.disabled_required, result.art18_required) == (0, 0)
    assert (result.disabled_gap, result.art18_gap) == (0, 0)
    assert result.rule == "art3_c5_suspended"
    assert (result.disabled_required_unsuspended, result.art18_required_unsuspended) == (4, 1)
    assert "L. 68/1999, art. 3 c.5" in [a.ref for a in result.articles]
    note = "disabled workers (art. 3): 4; art. 18 categories: 1"
    assert any(note in str(n) for n in result.notes)


def test_suspension_may_leave_the_art18_quota():
    policy = QuotaPolicy(suspension_covers_art18=False)
    result = compute_quota(QuotaFigures(employees=60, suspended=True), policy)
    assert (result.disabled_required, result.art18_required) == (0, 1)


@pytest.mark.parametrize(
    "disabled,art18,gaps",
    [
        (0, 0, (4, 1)),
        (1, 0, (3, 1)),
        (4, 1, (0, 0)),
        (10, 5, (0, 0)),
    ],
)
def test_gaps_are_never_negative(disabled, art18, gaps):
    result = compute_quota(
        QuotaFigures(
            employees=60,
            disabled_employed=disabled,
            art18_employed=art18,
            excluded={"l68_hires": disabled + art18},
        ),
        POLICY,
    )
    assert (result.disabled_gap, result.art18_gap) == gaps
    assert result.complete is (gaps == (0, 0))


def test_a_note_when_the_workers_already_employed_are_not_excluded():
    result = compute_quota(QuotaFigures(employees=60, disabled_employed=2), POLICY)
    assert any("art. 4 c.1" in str(n) for n in result.notes)


@pytest.mark.parametrize(
    "figures,field",
    [
        (dict(employees=-1), "employees"),
        (dict(employees=1_000_001), "employees"),
        (dict(employees=10, part_time_workers=11, part_time_fte=D(5)), "part_time_workers"),
        (dict(employees=10, part_time_workers=5, part_time_fte=D(12)), "part_time_fte"),
        (dict(employees=10, part_time_workers=2, part_time_fte=D(3)), "part_time_fte"),
        (dict(employees=10, part_time_fte=D(-1)), "part_time_fte"),
        (dict(employees=10, part_time_hours=half_time(2), part_time_fte=D(1)), "part_time_fte"),
        (dict(employees=10, part_time_hours=((D(50), D(40)),)), "part_time_hours"),
        (dict(employees=10, part_time_hours=((D(0), D(40)),)), "part_time_hours"),
        (dict(employees=10, part_time_hours=((D(20), D(90)),)), "part_time_hours"),
        (dict(employees=1, part_time_hours=half_time(2)), "part_time_hours"),
        (dict(employees=10, excluded={"apprentices": D(6), "executives": D(5)}), "excluded"),
        (dict(employees=10, excluded={"apprentices": D(-1)}), "excluded.apprentices"),
        (dict(employees=10, excluded={"pirates": D(1)}), "excluded.pirates"),
        (dict(employees=10, disabled_employed=-1), "disabled_employed"),
        (dict(employees=10, art18_employed=-2), "art18_employed"),
        (dict(employees=D("NaN")), "employees"),
        (dict(employees=D("1e-300")), "employees"),
        (dict(employees=D("12.12345")), "employees"),
        (dict(employees=10, part_time_fte=D("sNaN")), "part_time_fte"),
        (dict(employees=10, part_time_hours=((D("Infinity"), D(40)),)), "part_time_hours"),
        (dict(employees=10, excluded={"other": D("-Infinity")}), "excluded.other"),
    ],
)
def test_impossible_figures_are_refused_field_by_field(figures, field):
    problems = quota.validate_figures(QuotaFigures(**figures), POLICY)
    assert field in problems
    with pytest.raises(QuotaInputError) as error:
        compute_quota(QuotaFigures(**figures), POLICY)
    assert field in error.value.fields


def test_floats_are_refused():
    with pytest.raises(TypeError):
        QuotaFigures(employees=60.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        positions_covered_by_order(30000.0, POLICY)  # type: ignore[arg-type]


def test_the_pure_function_needs_no_application():
    result = compute_quota(QuotaFigures(employees=200), POLICY)
    assert str(result.explanation).startswith("With 200 computable employees")


# --- D.Lgs. 276/2003 art. 14 ------------------------------------------------------------


@pytest.mark.parametrize(
    "value,disabled,expected",
    [
        (D("0.00"), None, 0),
        (D("29999.99"), None, 0),
        (D("30000.00"), None, 1),
        (D("100000.00"), None, 3),  # floor(3.33)
        (D("100000.00"), 10, 3),  # cap floor(10 × 0.30) = 3
        (D("100000.00"), 4, 1),  # cap floor(1.2) = 1
        (D("1000000.00"), 14, 4),  # 33 positions, capped at floor(4.2) = 4
        (D("100000.00"), 3, 0),  # cap floor(0.9) = 0
        (D("100000.00"), 0, 0),
    ],
)
def test_positions_covered_by_an_order(value, disabled, expected):
    assert positions_covered_by_order(value, POLICY, disabled) == expected


def test_order_coverage_details_and_configured_policy():
    policy = QuotaPolicy.from_config(
        {"L68_CONVENTION_COEFFICIENT": "25000.00", "L68_CONVENTION_MAX_SHARE": "0.50"}
    )
    coverage = order_coverage(D("120000.00"), policy, 7)
    assert (coverage.uncapped, coverage.cap, coverage.positions) == (4, 3, 3)
    assert coverage.coefficient == D("25000.00")
    assert convention_cap(7, POLICY) == 2


@pytest.mark.parametrize("value", [D("-1"), D("10.001"), D("1e20"), D("NaN")])
def test_bad_order_values_are_refused(value):
    with pytest.raises(ValueError):
        positions_covered_by_order(value, POLICY)


@pytest.mark.parametrize(
    "config",
    [
        {"L68_CONVENTION_COEFFICIENT": "0"},
        {"L68_CONVENTION_COEFFICIENT": "abc"},
        {"L68_CONVENTION_COEFFICIENT": 30000.0},
        {"L68_CONVENTION_MAX_SHARE": "1.5"},
    ],
)
def test_a_bad_convention_configuration_is_refused(config):
    with pytest.raises(ValueError):
        QuotaPolicy.from_config(config)
