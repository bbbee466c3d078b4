"""Loan products: the terms an organisation lends on, checked against the
limits of art. 111 TUB and DM 176/2014 (amount, duration, rate) when saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _

from microcredit.lending.terms import term_exceeds
from microcredit.models import (
    LoanProduct,
)
from microcredit.money import ZERO
from microcredit.policy import BUSINESS, KINDS, SOCIAL, policy
from microcredit.rules import McError, name_taken, record
from microcredit.schedule import (
    AMORTIZATIONS,
    DAYS_IN_YEAR_CHOICES,
    FREQUENCIES,
    INTEREST_CALCULATIONS,
    INTEREST_METHODS,
    RATE_PERIODS,
)
from portal import db
from portal.i18n import euro
from portal.models import Organisation, User


@dataclass
class ProductData:
    name: str
    kind: str
    min_principal: Decimal | None
    max_principal: Decimal | None
    interest_rate: Decimal | None
    min_repayments: int | None = 1
    max_repayments: int | None = 52
    default_repayments: int | None = 52
    frequency: str = "weekly"
    interest_rate_period: str = "year"
    interest_method: str = "declining_balance"
    amortization: str = "equal_installments"
    interest_calculation: str = "same_as_repayment_period"
    days_in_year: int = 364
    grace_on_principal: int = 0
    in_multiples_of: Decimal | None = None
    allocation_order: str = "penalty,fee,interest,principal"
    disbursement_fee: Decimal = ZERO
    late_penalty: Decimal = ZERO
    penalty_after_days: int = 7
    group_lending: bool = True
    enforce_221: bool = True
    description: str = ""
    active: bool = True
    move_non_working_days: bool = False


def save_product(
    org: Organisation, data: ProductData, actor: User, product: LoanProduct | None = None
) -> LoanProduct:
    rules = policy()
    errors: dict[str, str] = {}
    name = (data.name or "").strip()
    if not name:
        errors["name"] = _("Give the product a name.")
    elif name_taken(LoanProduct, org, name, product):
        errors["name"] = _("Another product has this name.")
    if data.kind not in KINDS:
        errors["kind"] = _("Choose social or business microcredit.")
    limits = rules.limits(data.kind if data.kind in KINDS else SOCIAL)
    for name_, value in (
        ("min_principal", data.min_principal),
        ("max_principal", data.max_principal),
    ):
        if value is None or value <= 0:
            errors[name_] = _("Give an amount in euros, more than zero.")
        elif value > limits.max_amount:
            errors[name_] = _(
                "The law allows at most %(max)s for this kind of microcredit.",
                max=euro(limits.max_amount),
            )
    if (
        "min_principal" not in errors
        and "max_principal" not in errors
        and (data.min_principal > data.max_principal)
    ):  # type: ignore[operator]
        errors["max_principal"] = _("The maximum cannot be less than the minimum.")
    if data.interest_rate is None or data.interest_rate < 0:
        errors["interest_rate"] = _("Give the interest rate in percent.")
    else:
        annual = data.interest_rate * (12 if data.interest_rate_period == "month" else 1)
        if annual > rules.max_annual_rate:
            errors["interest_rate"] = _("The rate is too high.")
    reps = (data.min_repayments, data.default_repayments, data.max_repayments)
    if any(r is None or r < 1 or r > rules.max_repayments for r in reps):
        errors["max_repayments"] = _(
            "Repayments must be between 1 and %(max)d.", max=rules.max_repayments
        )
    elif not data.min_repayments <= data.default_repayments <= data.max_repayments:  # type: ignore[operator]
        errors["default_repayments"] = _(
            "The usual number of repayments must lie between the minimum and the maximum."
        )
    elif (
        data.frequency in FREQUENCIES
        and data.kind in KINDS
        and term_exceeds(data.kind, data.frequency, data.max_repayments, date(2000, 1, 31))
    ):  # type: ignore[arg-type]
        errors["max_repayments"] = _(
            "The longest loan would last more than the %(months)d months the law allows.",
            months=limits.max_months,
        )
    for name_, value, allowed in (
        ("frequency", data.frequency, FREQUENCIES),
        ("interest_rate_period", data.interest_rate_period, RATE_PERIODS),
        ("interest_method", data.interest_method, INTEREST_METHODS),
        ("amortization", data.amortization, AMORTIZATIONS),
        ("interest_calculation", data.interest_calculation, INTEREST_CALCULATIONS),
        ("days_in_year", data.days_in_year, DAYS_IN_YEAR_CHOICES),
    ):
        if value not in allowed:
            errors[name_] = _("Choose one of the options.")
    if data.grace_on_principal < 0 or (
        data.min_repayments and data.grace_on_principal >= data.min_repayments
    ):
        errors["grace_on_principal"] = _(
            "The grace on principal must be shorter than the fewest repayments."
        )
    order = [b.strip() for b in (data.allocation_order or "").split(",") if b.strip()]
    if sorted(order) != sorted(("penalty", "fee", "interest", "principal")):
        errors["allocation_order"] = _(
            "List penalty, fee, interest and principal, each once, in the order repaid."
        )
    for name_, value in (
        ("disbursement_fee", data.disbursement_fee),
        ("late_penalty", data.late_penalty),
        ("in_multiples_of", data.in_multiples_of),
    ):
        if value is not None and value < 0:
            errors[name_] = _("The amount cannot be negative.")
    if data.penalty_after_days < 0 or data.penalty_after_days > 365:
        errors["penalty_after_days"] = _("Give a number of days from 0 to 365.")
    if data.kind == BUSINESS and data.group_lending is False and data.enforce_221:
        data.enforce_221 = False  # 2-2-1 is about groups only
    if errors:
        raise McError(errors)
    creating = product is None
    if product is None:
        product = LoanProduct(organisation_id=org.id)
        db.session.add(product)
    for attr in (
        "kind",
        "min_principal",
        "max_principal",
        "interest_rate",
        "min_repayments",
        "max_repayments",
        "default_repayments",
        "frequency",
        "interest_rate_period",
        "interest_method",
        "amortization",
        "interest_calculation",
        "days_in_year",
        "grace_on_principal",
        "disbursement_fee",
        "late_penalty",
        "penalty_after_days",
        "group_lending",
        "enforce_221",
        "active",
        "move_non_working_days",
    ):
        setattr(product, attr, getattr(data, attr))
    product.name = name
    product.description = (data.description or "")[:4000]
    product.in_multiples_of = data.in_multiples_of or None
    product.allocation_order = ",".join(order)
    db.session.flush()
    record("product.create" if creating else "product.update", product, actor)
    return product
