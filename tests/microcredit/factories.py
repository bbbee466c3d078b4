"""Factories for microcredit: officers, products, centres, groups, members and loans."""

from __future__ import annotations

import itertools
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from microcredit import services
from microcredit.models import (
    BUSINESS_SERVICES,
    LEADER,
    MEMBER,
    SECRETARY,
    SOCIAL_SERVICES,
    Centre,
    Group,
    Loan,
    LoanProduct,
    Member,
)
from microcredit.policy import policy
from portal.models import MICROCREDIT_OFFICER, Organisation, User
from tests.factories import make_org, make_user

_seq = itertools.count(1)


def today() -> date:
    return services.local_today()


def days_ago(n: int) -> date:
    return today() - timedelta(days=n)


def make_officer(org: Organisation | None = None) -> User:
    return make_user(MICROCREDIT_OFFICER, org=org or make_org("microcredit_org"))


def org_of(user: User) -> Organisation:
    return user.organisations(MICROCREDIT_OFFICER)[0]


def make_product(officer: User, **overrides: Any) -> LoanProduct:
    values: dict[str, Any] = {
        "name": f"Prodotto {next(_seq)}",
        "kind": "social",
        "min_principal": Decimal("100.00"),
        "max_principal": Decimal("10000.00"),
        "interest_rate": Decimal("12"),
        "min_repayments": 1,
        "max_repayments": 52,
        "default_repayments": 12,
        "frequency": "monthly",
        "group_lending": False,
        "enforce_221": False,
    }
    values.update(overrides)
    return services.save_product(org_of(officer), services.ProductData(**values), officer)


def make_centre(
    officer: User, first_meeting_on: date | None = None, frequency: str = "weekly"
) -> Centre:
    return services.save_centre(
        org_of(officer),
        services.CentreData(
            name=f"Centro {next(_seq)}",
            first_meeting_on=first_meeting_on or days_ago(70),
            meeting_time=time(9, 30),
            meeting_frequency=frequency,
            meeting_place="Sala civica",
            officer_id=officer.id,
        ),
        officer,
    )


def make_member(
    officer: User,
    group: Group | None = None,
    role: str = MEMBER,
    joined: date | None = None,
    **fields: Any,
) -> Member:
    joined = joined or days_ago(400)
    data = services.MemberData(
        full_name=fields.pop("full_name", f"Persona {next(_seq)}"),
        consent_on=joined,
        joined_on=joined,
        group_role=role,
        **fields,
    )
    return services.save_member(org_of(officer), data, officer, group=group)


def make_group(
    officer: User,
    centre: Centre | None,
    size: int = 5,
    state: str = "active",
    formed: date | None = None,
) -> tuple[Group, list[Member]]:
    """A group of ``size`` members (leader first, secretary second) in ``state``."""
    formed = formed or days_ago(300)
    group = services.save_group(
        org_of(officer), f"Gruppo {next(_seq)}", centre, officer, on_date=formed
    )
    members = [
        make_member(
            officer, group, LEADER if i == 0 else SECRETARY if i == 1 else MEMBER, joined=formed
        )
        for i in range(size)
    ]
    if state in ("training", "active"):
        services.group_transition(group, "start_training", formed, officer)
        for k in range(policy().training_sessions_required):
            services.record_training(
                group, formed + timedelta(days=k), "Sessione", [m.id for m in members], officer
            )
    if state == "active":
        services.group_transition(group, "recognise", formed + timedelta(days=7), officer)
    return group, members


def add_services(loan: Loan, officer: User) -> None:
    kinds = list(BUSINESS_SERVICES if loan.kind == "business" else SOCIAL_SERVICES)
    for kind in kinds[:2]:
        services.add_service(loan, kind, "Tutor", None, None, "", officer)


def make_loan(
    officer: User,
    member: Member,
    product: LoanProduct,
    *,
    principal: str = "1000.00",
    repayments: int = 12,
    disbursed: date | None = None,
    state: str = "active",
) -> Loan:
    """A loan in ``state`` (submitted, approved or active), disbursed on ``disbursed``."""
    start = disbursed or days_ago(1)
    applied = min(start, today()) - timedelta(days=5)
    loan = services.submit_loan(
        member, product, Decimal(principal), repayments, start, "Test", officer.id, officer, applied
    )
    if state == "submitted":
        return loan
    add_services(loan, officer)
    services.approve(loan, applied, officer)
    if state == "approved":
        return loan
    services.disburse(loan, start, officer)
    return loan


def individual_loan(officer: User | None = None, **kwargs: Any) -> Loan:
    """An active individual loan of a fresh member, with a fresh officer if none given."""
    officer = officer or make_officer()
    product = kwargs.pop("product", None) or make_product(officer)
    member = make_member(officer)
    return make_loan(officer, member, product, **kwargs)
