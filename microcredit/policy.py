"""Microcredit policy: every legal and methodological limit in one place.

The defaults follow the Italian rules (PRODUCT.md, "Microcredit, art. 111 TUB and DM
176/2014") and the Grameen method. An installation changes them with the
``MICROCREDIT_POLICY`` configuration key (a dict of the field names below), e.g. to
apply L. 234/2021's higher business limit once its implementing rules are in force::

    MICROCREDIT_POLICY = {"apply_l234_2021": True}

Nothing else in the package hard-codes a limit: code asks :func:`policy`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from flask import current_app

SOCIAL, BUSINESS = "social", "business"
KINDS = (SOCIAL, BUSINESS)

#: Repayment allocation buckets (Fineract's "penalties, fees, interest, principal" order).
ALLOCATION_BUCKETS = ("penalty", "fee", "interest", "principal")


@dataclass(frozen=True)
class KindLimits:
    """Limits of one kind of microcredit."""

    #: Largest amount per borrower (EUR).
    max_amount: Decimal
    #: Longest duration, from disbursement to the last instalment (months).
    max_months: int
    #: True: the limit is on the sum of every loan of this kind the borrower ever had
    #: (rejected and withdrawn applications excluded); False: on the loans still open.
    cumulative: bool
    #: Ancillary services the loan must come with before approval.
    min_services: int


@dataclass(frozen=True)
class Policy:
    # Social microcredit, art. 111 c.3 TUB and DM 176/2014 art. 5: at most EUR 10,000
    # per borrower (cumulative), at most 5 years, with household budget support services.
    social: KindLimits = KindLimits(Decimal("10000.00"), 60, cumulative=True, min_services=1)
    # Business microcredit, art. 111 c.1 TUB: at most EUR 40,000 without real guarantees;
    # DM 176/2014 art. 2: at most 7 years; art. 3: at least two ancillary tutoring and
    # monitoring services.
    business: KindLimits = KindLimits(Decimal("40000.00"), 84, cumulative=False, min_services=2)
    # L. 234/2021 (budget law 2022) raised the business ceiling to EUR 75,000, pending the
    # implementing rules: off until an installation turns it on.
    apply_l234_2021: bool = False
    l234_2021_business_max_amount: Decimal = Decimal("75000.00")

    # Grameen method: self-selected groups of five (min/max configurable), centres of
    # six to eight groups, compulsory group training before the first loan.
    group_min_size: int = 5
    group_max_size: int = 5
    centre_max_groups: int = 8
    training_sessions_required: int = 5
    # Staggered first disbursement in a group: 2, then 2, then the leader.
    first_disbursement_waves: tuple[int, ...] = (2, 2, 1)
    #: Days the previous wave must have been repaying (without arrears) before the next.
    wave_gap_days: int = 28
    #: A member has at most one open loan of each kind.
    one_open_loan_per_kind: bool = True

    # Schedules (Fineract's defaults): HALF_EVEN rounding, weekly periods priced as
    # annual rate x 7/364.
    rounding: str = ROUND_HALF_EVEN
    days_in_year: int = 364
    allocation_order: tuple[str, ...] = ALLOCATION_BUCKETS

    # Sanity bounds for any schedule (the public calculator included): beyond these the
    # input is an error, not a loan.
    max_principal: Decimal = Decimal("1000000.00")
    max_repayments: int = 520
    max_annual_rate: Decimal = Decimal("100")

    # Portfolio quality.
    par_days: tuple[int, ...] = (1, 30, 90)
    ageing_buckets: tuple[int, ...] = (1, 31, 61, 91, 181)
    #: Window of the on-time collection rate and of the write-off ratio (days before
    #: the report date).
    collection_window_days: int = 30
    write_off_window_days: int = 365

    #: Consent to the processing of a member's data lasts this long unless renewed.
    consent_years: int = 5

    def limits(self, kind: str) -> KindLimits:
        limits = self.social if kind == SOCIAL else self.business
        if kind == BUSINESS and self.apply_l234_2021:
            limits = replace(limits, max_amount=self.l234_2021_business_max_amount)
        return limits

    @classmethod
    def from_config(cls, overrides: dict[str, Any] | None) -> Policy:
        """A policy with ``overrides`` (names of the fields above) applied."""
        if not overrides:
            return cls()
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, value in overrides.items():
            if name not in known:
                raise ValueError(f"unknown microcredit policy setting: {name}")
            default = getattr(cls(), name)
            if isinstance(default, KindLimits) and isinstance(value, dict):
                value = replace(
                    default,
                    **{k: Decimal(str(v)) if k == "max_amount" else v for k, v in value.items()},
                )
            elif isinstance(default, Decimal):
                value = Decimal(str(value))
            elif isinstance(default, tuple):
                value = tuple(value)
            values[name] = value
        return replace(cls(), **values)


def policy() -> Policy:
    """The application's policy (built once in ``init_app``)."""
    found = current_app.extensions.get("microcredit_policy")
    if found is None:
        found = Policy.from_config(current_app.config.get("MICROCREDIT_POLICY"))
        current_app.extensions["microcredit_policy"] = found
    return found
