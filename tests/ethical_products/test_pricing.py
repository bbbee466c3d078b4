"""Cart totals, VAT and the platform fee: Decimal arithmetic, ROUND_HALF_UP to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethical_products import pricing
from ethical_products.pricing import Line

D = Decimal


def test_vat_is_extracted_from_vat_inclusive_prices():
    assert pricing.vat_included(D("10.40"), D("4")) == D("0.40")
    assert pricing.vat_included(D("12.20"), D("22")) == D("2.20")
    # 1.00 × 10/110 = 0.0909… → 0.09; 0.55 × 10/110 = 0.05 exactly at half → up
    assert pricing.vat_included(D("1.00"), D("10")) == D("0.09")
    assert pricing.vat_included(D("0.55"), D("10")) == D("0.05")
    assert pricing.vat_included(D("1.05"), D("5")) == D("0.05")


def test_rounding_is_half_up_not_bankers():
    assert pricing.money(D("0.125")) == D("0.13")
    assert pricing.money(D("0.135")) == D("0.14")
    assert pricing.fee(D("10.50"), D("5")) == D("0.53")  # 0.525 → 0.53 (half-even: 0.52)


def test_vat_is_computed_per_rate_on_the_sub_order():
    lines = [
        Line(1, 7, D("3.33"), D("4"), 3),
        Line(2, 7, D("1.11"), D("4"), 1),
        Line(3, 7, D("8.50"), D("22"), 1),
    ]
    totals = pricing.totals(lines)
    group = totals.producers[0]
    assert group.subtotal == D("19.60")
    assert group.vat_by_rate == {D("4"): D("0.43"), D("22"): D("1.53")}
    assert group.vat == D("1.96") and totals.vat == D("1.96")
    assert totals.net == D("17.64")


def test_fee_and_payout_per_producer_and_order_totals():
    lines = [Line(1, 1, D("4.50"), D("4"), 3), Line(2, 2, D("9.99"), D("10"), 1)]
    totals = pricing.totals(lines, D("7.5"))
    first, second = totals.producers
    assert (first.subtotal, first.fee, first.payout) == (D("13.50"), D("1.01"), D("12.49"))
    assert (second.subtotal, second.fee, second.payout) == (D("9.99"), D("0.75"), D("9.24"))
    assert totals.total == D("23.49") and totals.fee == D("1.76")


def test_default_fee_is_zero():
    totals = pricing.totals([Line(1, 1, D("4.50"), D("4"), 2)])
    assert totals.fee == D("0.00") and totals.producers[0].payout == D("9.00")


def test_cents_for_stripe_are_exact_or_refused():
    assert pricing.to_cents(D("12.34")) == 1234
    assert pricing.to_cents(D("0.10")) == 10
    with pytest.raises(ValueError):
        pricing.to_cents(D("0.001"))
    assert pricing.from_cents(1234) == D("12.34")


def test_quantities_must_be_positive():
    with pytest.raises(ValueError):
        pricing.totals([Line(1, 1, D("1.00"), D("4"), 0)])


prices = st.decimals(min_value=D("0.01"), max_value=D("999.99"), places=2)
rates = st.sampled_from([D("4.00"), D("5.00"), D("10.00"), D("22.00")])
lines_strategy = st.lists(
    st.builds(Line, st.integers(1, 1000), st.integers(1, 4), prices, rates, st.integers(1, 50)),
    min_size=1,
    max_size=12,
)


@settings(deadline=None, max_examples=200)
@given(lines_strategy, st.decimals(min_value=D("0"), max_value=D("30"), places=2))
def test_totals_add_up_to_the_cent(lines, fee_percent):
    totals = pricing.totals(lines, fee_percent)
    assert totals.total == sum((line.total for line in lines), D(0))
    for group in totals.producers:
        assert group.fee + group.payout == group.subtotal
        assert D(0) <= group.vat < group.subtotal
        assert group.vat == group.vat.quantize(D("0.01"))
        assert pricing.to_cents(group.payout) >= 0
    assert totals.vat == sum((g.vat for g in totals.producers), D(0))
