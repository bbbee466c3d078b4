"""Factories for the tenders tests (no tests here): suppliers with profiles and workforce
declarations, officers of public bodies, tenders and awarded contracts."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from brokerage.tenders import services
from brokerage.tenders.models import PUBLISHED, RESERVED, Contract, Tender
from brokerage.tenders.services import AwardData, DeclarationData, ProfileData, TenderData
from portal import db
from portal.db import utcnow
from portal.models import Organisation, User
from tests.factories import make_org, make_user

SAMPLES = Path(__file__).resolve().parent / "ocds_samples"
_seq = itertools.count(1)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def today() -> date:
    return utcnow().date()


def make_supplier(
    kind: str = "cooperative_b",
    *,
    codes: tuple[str, ...] = ("77310000",),
    total: str = "10",
    art4: str = "3",
    other: str = "0",
    year: int | None = None,
    provinces: tuple[str, ...] = (),
    regions: tuple[str, ...] = (),
    comune: str = "093033",
    valid_until: date | None = None,
    verified: bool = True,
    name: str | None = None,
    declare: bool = True,
) -> tuple[Organisation, User]:
    """A supplier with a profile, a declaration (art. 4 workers all "disabled") and a user."""
    org = make_org(
        kind, verified=verified, comune_code=comune, name=name or f"Fornitore {next(_seq)}"
    )
    role = "cooperative" if kind == "cooperative_b" else "social_farm"
    user = make_user(role, org=org)
    services.save_profile(
        org,
        user,
        ProfileData(
            cpv_codes=list(codes),
            provinces=list(provinces),
            regions=list(regions),
            register_valid_until=valid_until,
        ),
    )
    if declare:
        services.save_declaration(
            org,
            user,
            DeclarationData(
                year=year or today().year - 1,
                total_workers=Decimal(total),
                disabled=Decimal(art4),
                other_disadvantaged=Decimal(other),
            ),
            today(),
        )
    db.session.flush()
    return org, user


def make_officer(body: Organisation | None = None) -> tuple[User, Organisation]:
    body = body or make_org("public_body")
    return make_user("public_officer", org=body), body


def make_tender(
    body: Organisation,
    author: User | None = None,
    *,
    clause: str = RESERVED,
    codes: tuple[str, ...] = ("77310000",),
    status: str = PUBLISHED,
    comune: str | None = "093033",
    **fields: Any,
) -> Tender:
    data = TenderData(
        title=fields.pop("title", f"Gara {next(_seq)}"),
        clause_type=clause,
        cpv_codes=list(codes),
        comune_code=comune,
        value_amount=fields.pop("value_amount", Decimal("100000.00")),
        deadline=fields.pop("deadline", utcnow() + timedelta(days=30)),
        **fields,
    )
    tender = services.create_tender(body, author, data)
    if status != "draft":
        services.publish(tender, author, today())
    db.session.flush()
    return tender


def make_contract(
    tender: Tender, supplier: Organisation, *, months_ago: int = 9, every: int = 3
) -> Contract:
    start = services.add_months(today(), -months_ago)
    contract = services.award(
        tender,
        None,
        AwardData(
            supplier_org_id=supplier.id,
            value_amount=Decimal("90000.00"),
            start_date=start,
            end_date=services.add_months(start, 24),
            report_every_months=every,
        ),
        today(),
    )
    db.session.flush()
    return contract
