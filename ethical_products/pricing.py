"""Money arithmetic of the shop, in ``Decimal`` only (never float).

Rules, applied everywhere (cart, checkout, reports, Stripe):

* Prices are in euros **including VAT** with two decimals (``Numeric(12, 2)``).
* A line's total is ``unit price × quantity``: exact, no rounding needed.
* The VAT part is *extracted* from VAT-inclusive amounts ("scorporo"), once per VAT rate
  of a producer's sub-order: ``vat = total_at_rate × rate / (100 + rate)``, rounded
  ROUND_HALF_UP to the cent. Summing per-rate amounts first and rounding once per rate
  is what an Italian receipt or invoice does (DPR 633/1972 art. 21: VAT per rate).
* The platform fee is ``subtotal × fee percent / 100`` per sub-order, ROUND_HALF_UP to the
  cent; the producer's payout is ``subtotal − fee`` (exact).
* Stripe takes integer cents: :func:`to_cents` converts an amount that is already a whole
  number of cents and refuses anything else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def money(value: Decimal | int | str) -> Decimal:
    """``value`` rounded ROUND_HALF_UP to the cent."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def is_money(value: Decimal) -> bool:
    """Whether ``value`` is a positive-or-zero amount with at most two decimals."""
    return value.is_finite() and value >= 0 and value == value.quantize(CENT)


def vat_included(gross: Decimal, rate: Decimal) -> Decimal:
    """The VAT contained in a VAT-inclusive ``gross`` amount at ``rate`` percent."""
    return money(gross * rate / (HUNDRED + rate))


def fee(subtotal: Decimal, percent: Decimal) -> Decimal:
    """The platform fee on ``subtotal`` at ``percent`` (0 by default)."""
    return money(subtotal * percent / HUNDRED)


def to_cents(amount: Decimal) -> int:
    """Integer cents for Stripe; ``amount`` must already be a whole number of cents."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


@dataclass(frozen=True)
class Line:
    """One priced line: the price comes from the database, never from a form."""

    variant_id: int
    producer_id: int
    unit_price: Decimal
    vat_rate: Decimal
    quantity: int

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass
class ProducerTotals:
    producer_id: int
    lines: list[Line] = field(default_factory=list)
    subtotal: Decimal = ZERO
    vat: Decimal = ZERO
    vat_by_rate: dict[Decimal, Decimal] = field(default_factory=dict)
    fee: Decimal = ZERO
    payout: Decimal = ZERO


@dataclass
class Totals:
    producers: list[ProducerTotals]
    total: Decimal
    vat: Decimal
    fee: Decimal

    @property
    def net(self) -> Decimal:
        """The total without VAT."""
        return self.total - self.vat


def totals(lines: Iterable[Line], fee_percent: Decimal = ZERO) -> Totals:
    """Per-producer subtotals, VAT per rate, fee and payout; order totals are their sums."""
    grouped: dict[int, ProducerTotals] = {}
    for line in lines:
        if line.quantity <= 0:
            raise ValueError("quantities must be positive")
        group = grouped.setdefault(line.producer_id, ProducerTotals(line.producer_id))
        group.lines.append(line)
    for group in grouped.values():
        by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
        for line in group.lines:
            by_rate[line.vat_rate] += line.total
        group.subtotal = sum((line.total for line in group.lines), ZERO)
        group.vat_by_rate = {
            rate: vat_included(gross, rate) for rate, gross in sorted(by_rate.items())
        }
        group.vat = sum(group.vat_by_rate.values(), ZERO)
        group.fee = fee(group.subtotal, fee_percent)
        group.payout = group.subtotal - group.fee
    producers = list(grouped.values())
    return Totals(
        producers=producers,
        total=sum((p.subtotal for p in producers), ZERO),
        vat=sum((p.vat for p in producers), ZERO),
        fee=sum((p.fee for p in producers), ZERO),
    )
