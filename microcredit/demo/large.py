"""The large demo for the PAR30 benchmark: 10,000 group loans (250 centres of 8 groups
of 5) with their schedules and repayment histories written in bulk, not through the
rules, so that it takes seconds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select

from microcredit.access import org_officers
from microcredit.demo.cast import WAVES, demo_names
from microcredit.models import (
    ACTIVE,
    ACTIVE_GROUP,
    CLOSED_OBLIGATIONS_MET,
    CLOSED_WRITTEN_OFF,
    DISBURSEMENT,
    LEADER,
    MEMBER,
    REPAYMENT,
    SECRETARY,
    WRITE_OFF,
    Centre,
    Group,
    Loan,
    LoanInstallment,
    LoanProduct,
    LoanTransaction,
    Member,
    TrainingAttendance,
    TrainingSession,
)
from microcredit.money import ZERO
from microcredit.policy import policy
from microcredit.rules import local_today
from microcredit.schedule import Schedule, Terms, build_schedule
from portal import db
from portal.models import Organisation, User


def seed_large(
    org: Organisation, officer: User, echo: Callable[[str], Any], target: int = 10_000
) -> None:
    existing = db.session.execute(
        select(func.count()).select_from(Loan).where(Loan.organisation_id == org.id)
    ).scalar_one()
    missing = target - existing
    if missing <= 0:
        return
    product = (
        db.session.execute(
            select(LoanProduct).where(
                LoanProduct.organisation_id == org.id,
                LoanProduct.frequency == "weekly",
                LoanProduct.group_lending.is_(True),
            )
        )
        .scalars()
        .first()
    )
    if product is None:
        return
    officers = [u.id for u in org_officers(org.id)] or [officer.id]
    rng = random.Random(111)  # art. 111 TUB
    today = local_today()
    names = demo_names()
    first_centre = (
        db.session.execute(
            select(func.count()).select_from(Centre).where(Centre.organisation_id == org.id)
        ).scalar_one()
        + 1
    )
    member_base = db.session.execute(
        select(func.count()).select_from(Member).where(Member.organisation_id == org.id)
    ).scalar_one()
    schedules: dict[tuple[Decimal, date], Schedule] = {}
    centres_needed = -(-missing // 40)
    made = 0
    for c in range(centres_needed):
        anchor = today - timedelta(days=7 * rng.randint(30, 56) + rng.randint(0, 6))
        centre_id = db.session.execute(
            insert(Centre).returning(Centre.id),
            [
                {
                    "organisation_id": org.id,
                    "name": f"Centro territoriale {first_centre + c:03d}",
                    "meeting_place": "Sala comunale",
                    "comune_code": "093033",
                    "meeting_time": time(9, 0),
                    "meeting_frequency": "weekly",
                    "first_meeting_on": anchor,
                    "officer_id": officers[c % len(officers)],
                    "active": True,
                }
            ],
        ).scalar_one()
        group_ids = (
            db.session.execute(
                insert(Group).returning(Group.id),
                [
                    {
                        "organisation_id": org.id,
                        "centre_id": centre_id,
                        "name": f"Gruppo {first_centre + c:03d}-{g + 1}",
                        "status": ACTIVE_GROUP,
                        "formed_on": anchor - timedelta(days=49),
                        "training_started_on": anchor - timedelta(days=42),
                        "recognised_on": anchor - timedelta(days=7),
                    }
                    for g in range(8)
                ],
            )
            .scalars()
            .all()
        )
        member_rows = []
        for g, group_id in enumerate(group_ids):
            for i in range(5):
                member_base += 1
                member_rows.append(
                    {
                        "organisation_id": org.id,
                        "group_id": group_id,
                        "group_role": LEADER if i == 0 else SECRETARY if i == 1 else MEMBER,
                        "number": f"L{member_base:06d}",
                        "full_name": names[(member_base * 7 + g) % len(names)],
                        "fiscal_code": "",
                        "phone": "",
                        "comune_code": "093033",
                        "consent_on": anchor - timedelta(days=49),
                        "consent_purpose": "Microcredito",
                        "consent_until": anchor + timedelta(days=5 * 365),
                        "joined_on": anchor - timedelta(days=49),
                    }
                )
        member_ids = (
            db.session.execute(insert(Member).returning(Member.id), member_rows).scalars().all()
        )
        sessions = db.session.execute(
            insert(TrainingSession).returning(TrainingSession.id, TrainingSession.group_id),
            [
                {
                    "group_id": group_id,
                    "held_on": anchor - timedelta(days=42 - 7 * k),
                    "topic": f"Formazione di gruppo {k + 1}",
                }
                for group_id in group_ids
                for k in range(5)
            ],
        ).all()
        members_of = {gid: member_ids[n * 5 : (n + 1) * 5] for n, gid in enumerate(group_ids)}
        db.session.execute(
            insert(TrainingAttendance),
            [
                {"session_id": sid, "member_id": mid}
                for sid, gid in sessions
                for mid in members_of[gid]
            ],
        )
        loan_rows, plans = [], []
        for n, member_id in enumerate(member_ids):
            if made >= missing:
                break
            made += 1
            position = n % 5
            week, principal = WAVES[position]
            principal = principal + Decimal(100 * rng.randint(0, 5))
            disbursed = anchor + timedelta(days=7 * week)
            if disbursed > today:
                disbursed = today - timedelta(days=7)
            key = (principal, disbursed)
            if key not in schedules:
                schedules[key] = build_schedule(
                    Terms(
                        principal=principal,
                        interest_rate=product.interest_rate,
                        repayments=25,
                        disbursement_date=disbursed,
                        frequency="weekly",
                        days_in_year=product.days_in_year,
                    )
                )
            loan_rows.append(
                {
                    "organisation_id": org.id,
                    "member_id": member_id,
                    "group_id": group_ids[n // 5],
                    "centre_id": centre_id,
                    "product_id": product.id,
                    "officer_id": officers[c % len(officers)],
                    "kind": product.kind,
                    "status": ACTIVE,
                    "cycle": 1,
                    "principal": principal,
                    "repayments": 25,
                    "frequency": "weekly",
                    "interest_rate": product.interest_rate,
                    "interest_rate_period": "year",
                    "interest_method": product.interest_method,
                    "amortization": product.amortization,
                    "interest_calculation": product.interest_calculation,
                    "days_in_year": product.days_in_year,
                    "grace_on_principal": 0,
                    "allocation_order": product.allocation_order,
                    "rounding": policy().rounding,
                    "purpose": "Attività generatrice di reddito",
                    "submitted_on": disbursed - timedelta(days=7),
                    "expected_disbursement_on": disbursed,
                    "approved_on": disbursed - timedelta(days=3),
                    "disbursed_on": disbursed,
                    "wave": 1 if position in (1, 2) else 2 if position in (3, 4) else 3,
                    "created_by_id": officer.id,
                }
            )
            plans.append((schedules[key], _behaviour(rng)))
        loan_ids = db.session.execute(insert(Loan).returning(Loan.id), loan_rows).scalars().all()
        _bulk_history(loan_ids, plans, today, officer.id, rng)
        if c % 25 == 24:
            db.session.commit()
    db.session.commit()
    echo(f"Microcredit: added {made} loans for the benchmarks.")


def _behaviour(rng: random.Random) -> tuple[str, int]:
    r = rng.random()
    if r < 0.80:
        return "on_time", 0
    if r < 0.90:
        return "late", rng.choice([7, 14, 21])
    if r < 0.97:
        return "stopped", rng.randint(2, 12)
    return "written_off", rng.randint(2, 8)


def _bulk_history(
    loan_ids: list[int],
    plans: list[tuple[Schedule, tuple[str, int]]],
    today: date,
    officer_id: int,
    rng: random.Random,
) -> None:
    installments: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    closing: dict[int, tuple[str, date]] = {}
    for loan_id, (schedule, (kind, value)) in zip(loan_ids, plans, strict=True):
        start = schedule.terms.disbursement_date
        entries.append(
            _entry(loan_id, DISBURSEMENT, start, officer_id, principal=schedule.terms.principal)
        )
        cumulative_p = cumulative_t = ZERO
        paid_p = paid_i = ZERO
        last_paid = start
        for item in schedule.installments:
            cumulative_p += item.principal
            cumulative_t += item.total
            installments.append(
                {
                    "loan_id": loan_id,
                    "number": item.number,
                    "due_date": item.due_date,
                    "principal": item.principal,
                    "interest": item.interest,
                    "cumulative_principal": cumulative_p,
                    "cumulative_total": cumulative_t,
                }
            )
            lag = value if kind == "late" else 0
            pay_on = item.due_date + timedelta(days=lag)
            if kind in ("stopped", "written_off") and item.number > value:
                continue
            if pay_on > today:
                continue
            entries.append(
                _entry(
                    loan_id,
                    REPAYMENT,
                    pay_on,
                    officer_id,
                    principal=item.principal,
                    interest=item.interest,
                )
            )
            paid_p += item.principal
            paid_i += item.interest
            last_paid = max(last_paid, pay_on)
        if paid_p == schedule.terms.principal:
            closing[loan_id] = (CLOSED_OBLIGATIONS_MET, last_paid)
        elif kind == "written_off":
            off = last_paid + timedelta(days=120)
            if off <= today:
                entries.append(
                    _entry(
                        loan_id,
                        WRITE_OFF,
                        off,
                        officer_id,
                        principal=schedule.terms.principal - paid_p,
                        interest=schedule.total_interest - paid_i,
                    )
                )
                closing[loan_id] = (CLOSED_WRITTEN_OFF, off)
    for start in range(0, len(installments), 5000):
        db.session.execute(insert(LoanInstallment), installments[start : start + 5000])
    for start in range(0, len(entries), 5000):
        db.session.execute(insert(LoanTransaction), entries[start : start + 5000])
    for loan_id, (status, on) in closing.items():
        db.session.execute(
            Loan.__table__.update()
            .where(Loan.__table__.c.id == loan_id)
            .values(status=status, closed_on=on)
        )


def _entry(
    loan_id: int,
    kind: str,
    on: date,
    officer_id: int,
    *,
    principal: Decimal = ZERO,
    interest: Decimal = ZERO,
) -> dict[str, Any]:
    return {
        "loan_id": loan_id,
        "kind": kind,
        "sign": 1,
        "on_date": on,
        "amount": principal + interest,
        "principal": principal,
        "interest": interest,
        "fee": ZERO,
        "penalty": ZERO,
        "overpayment": ZERO,
        "note": "",
        "created_by_id": officer_id,
    }
