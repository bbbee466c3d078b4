"""Grameen's staggered first disbursement (2-2-1 by default): in a group,
first loans go out in waves, a wave waits until the earlier ones repay on time, and the
leader's loan is the last. Here are the check before a disbursement and the tranche plan a
group application starts from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import func, select

from microcredit.centres import next_meetings
from microcredit.lending.state import loan_position
from microcredit.models import (
    ACTIVE,
    APPROVED,
    LEADER,
    OPEN_STATES,
    REJECTED,
    SUBMITTED,
    WITHDRAWN,
    Group,
    Loan,
    LoanProduct,
    Member,
)
from microcredit.policy import policy
from portal import db


def wave_problem(loan: Loan, on_date: date) -> str | None:
    """Grameen's staggered first disbursement (2-2-1 by default), or None if allowed.

    In a group, first-cycle loans go out in waves; a wave waits until every loan of the
    earlier waves has been repaying for ``wave_gap_days`` without arrears, and the group
    leader's loan is the last one.
    """
    rules = policy()
    if not (loan.product.enforce_221 and loan.group_id and loan.cycle == 1):
        return None
    waves = rules.first_disbursement_waves
    earlier = (
        db.session.execute(
            select(Loan)
            .where(
                Loan.group_id == loan.group_id,
                Loan.cycle == 1,
                Loan.disbursed_on.is_not(None),
                Loan.id != loan.id,
                Loan.rescheduled_from_id.is_(None),
            )
            .order_by(Loan.disbursed_on, Loan.id)
        )
        .scalars()
        .all()
    )
    k = len(earlier) + 1
    bounds = [sum(waves[: i + 1]) for i in range(len(waves))]
    wave = next((i for i, bound in enumerate(bounds) if k <= bound), len(waves) - 1)
    group = db.session.get(Group, loan.group_id)
    leader = group.member_with_role(LEADER) if group else None
    is_leader = leader is not None and leader.id == loan.member_id
    if is_leader and k < bounds[-1] and len(group.members) >= bounds[-1]:  # type: ignore[union-attr]
        return _(
            "The group leader receives the first loan last (staggered %(pattern)s).",
            pattern="-".join(str(w) for w in waves),
        )
    if (
        not is_leader
        and leader is not None
        and k == bounds[-1]
        and leader.id not in {e.member_id for e in earlier}
    ):
        return _(
            "The last first loan of the group is the leader's (staggered %(pattern)s).",
            pattern="-".join(str(w) for w in waves),
        )
    if loan.tranche and loan.tranche > 1:
        waiting = _earlier_tranches_waiting(loan)
        if waiting:
            return _(
                "Tranche %(n)d of the group's first loans goes out first: %(names)s "
                "(staggered %(pattern)s).",
                n=min(other.tranche or 1 for other in waiting),
                names=", ".join(other.member.full_name for other in waiting),
                pattern="-".join(str(w) for w in waves),
            )
    if wave == 0:
        return None
    previous = earlier[: bounds[wave - 1]]
    if len(previous) < bounds[wave - 1]:
        return _("The earlier wave of first loans has not been disbursed yet.")
    for other in previous:
        if other.disbursed_on + timedelta(days=rules.wave_gap_days) > on_date:  # type: ignore[operator]
            return _(
                "The next wave of first loans can be disbursed from %(date)s, %(days)d days "
                "after the previous wave (staggered %(pattern)s).",
                date=format_date(other.disbursed_on + timedelta(days=rules.wave_gap_days)),  # type: ignore[operator]
                days=rules.wave_gap_days,
                pattern="-".join(str(w) for w in waves),
            )
        if other.status == ACTIVE and loan_position(other, on_date).in_arrears:
            return _(
                "A loan of the earlier wave is in arrears: the next wave waits until it "
                "is repaid on time."
            )
    return None


def _earlier_tranches_waiting(loan: Loan) -> list[Loan]:
    """First loans of the group planned for an earlier tranche and not yet disbursed."""
    return list(
        db.session.execute(
            select(Loan)
            .where(
                Loan.group_id == loan.group_id,
                Loan.cycle == 1,
                Loan.id != loan.id,
                Loan.status.in_((SUBMITTED, APPROVED)),
                Loan.tranche < loan.tranche,
                Loan.rescheduled_from_id.is_(None),
            )
            .order_by(Loan.tranche, Loan.id)
        ).scalars()
    )


def wave_number(loan: Loan) -> int:
    waves = policy().first_disbursement_waves
    count = (
        db.session.execute(
            select(func.count())
            .select_from(Loan)
            .where(
                Loan.group_id == loan.group_id,
                Loan.cycle == 1,
                Loan.disbursed_on.is_not(None),
                Loan.id != loan.id,
                Loan.rescheduled_from_id.is_(None),
            )
        ).scalar_one()
        + 1
    )
    bound = 0
    for number, size in enumerate(waves, start=1):
        bound += size
        if count <= bound:
            return number
    return len(waves)


@dataclass
class PlanLine:
    """A member of the group as a group application shows them."""

    member: Member
    #: The loan the member would now apply for is their n-th (1: first, staggered).
    cycle: int
    #: Tranche of the staggered first disbursement: already taken by a first loan of the
    #: member (``fixed``), or the suggested one. None: not staggered.
    tranche: int | None
    fixed: bool = False
    #: The first loan has gone out already (in tranche ``tranche``).
    disbursed: bool = False
    #: An open loan of the product's kind (the member cannot apply for another one).
    open_loan: Loan | None = None


def staggered(product: LoanProduct) -> bool:
    """Whether the product's first loans in a group go out in staggered tranches."""
    return bool(product.group_lending and product.enforce_221)


def _leader_rule(group: Group) -> bool:
    """The leader-last rule applies to groups of at least the staggered total (as in
    :func:`wave_problem`)."""
    return len(group.members) >= sum(policy().first_disbursement_waves)


def group_plan(group: Group, product: LoanProduct) -> list[PlanLine]:
    """The group's current members with their tranche of the staggered first disbursement
    (Grameen 2-2-1 by default): the tranche a first loan already holds, or a suggestion —
    members in order fill the earliest tranche with room, the leader goes last."""
    waves = policy().first_disbursement_waves
    members = list(group.members)
    ids = [m.id for m in members] or [-1]
    loans = (
        db.session.execute(
            select(Loan)
            .where(Loan.member_id.in_(ids), Loan.status.not_in((REJECTED, WITHDRAWN)))
            .order_by(Loan.id)
        )
        .scalars()
        .all()
    )
    disbursed = {
        loan.member_id for loan in loans if loan.disbursed_on and loan.rescheduled_from_id is None
    }
    room = list(waves)
    held: dict[int, tuple[int, bool]] = {}
    for loan in loans:
        number = loan.wave if loan.disbursed_on else loan.tranche
        if (
            loan.group_id == group.id
            and loan.cycle == 1
            and loan.rescheduled_from_id is None
            and number
            and 1 <= number <= len(waves)
        ):
            held[loan.member_id] = (number, loan.disbursed_on is not None)
            room[number - 1] -= 1
    leader = group.member_with_role(LEADER)
    reserve_for_leader = (
        leader is not None
        and leader.id not in held
        and leader.id not in disbursed
        and _leader_rule(group)
    )
    lines = []
    for member in members:
        line = PlanLine(
            member=member,
            cycle=2 if member.id in disbursed else 1,
            tranche=None,
            open_loan=next(
                (
                    loan
                    for loan in loans
                    if loan.member_id == member.id
                    and loan.kind == product.kind
                    and loan.status in OPEN_STATES
                ),
                None,
            ),
        )
        if staggered(product) and member.id in held:
            line.tranche, line.disbursed = held[member.id]
            line.fixed = True
        elif staggered(product) and line.cycle == 1 and line.open_loan is None:
            if reserve_for_leader and member.id == leader.id:  # type: ignore[union-attr]
                line.tranche = len(waves)
            else:
                usable = [
                    k
                    for k in range(len(waves))
                    if room[k] - (1 if reserve_for_leader and k == len(waves) - 1 else 0) > 0
                ]
                line.tranche = usable[0] + 1 if usable else len(waves)
                room[line.tranche - 1] -= 1
        lines.append(line)
    return lines


def tranche_date(group: Group, first: date, tranche: int | None) -> date:
    """The expected disbursement date of a tranche: the first tranche's date, plus the
    policy's gap between tranches, moved to the centre's next meeting."""
    if not tranche or tranche <= 1:
        return first
    day = first + timedelta(days=policy().wave_gap_days * (tranche - 1))
    if group.centre is not None:
        meetings = next_meetings(group.centre, day, 1)
        if meetings:
            return meetings[0]
    return day


def tranche_errors(
    group: Group, plan: dict[int, PlanLine], chosen: dict[int, int | None]
) -> dict[str, str]:
    """The chosen tranches against the staggered pattern (capacity, leader last)."""
    waves = policy().first_disbursement_waves
    pattern = "-".join(str(w) for w in waves)
    errors: dict[str, str] = {}
    counts = [0] * len(waves)
    for line in plan.values():
        if line.fixed and line.tranche:
            counts[line.tranche - 1] += 1
    for member_id, tranche in chosen.items():
        if tranche is None or not 1 <= tranche <= len(waves):
            errors[f"tranche-{member_id}"] = _("Choose the tranche of the first loan.")
        else:
            counts[tranche - 1] += 1
    leader = group.member_with_role(LEADER)
    leader_waiting = (
        leader is not None
        and _leader_rule(group)
        and plan.get(leader.id) is not None
        and plan[leader.id].cycle == 1
        and not plan[leader.id].fixed
    )
    for member_id, tranche in chosen.items():
        key = f"tranche-{member_id}"
        if key in errors:
            continue
        assert tranche is not None
        if counts[tranche - 1] > waves[tranche - 1]:
            errors[key] = _(
                "Tranche %(n)d holds at most %(size)d first loans (staggered %(pattern)s).",
                n=tranche,
                size=waves[tranche - 1],
                pattern=pattern,
            )
        elif leader is not None and member_id == leader.id and _leader_rule(group):
            if tranche != len(waves):
                errors[key] = _(
                    "The group leader's first loan is in the last tranche (staggered %(pattern)s).",
                    pattern=pattern,
                )
        elif (
            leader_waiting
            and tranche == len(waves)
            and counts[-1] - (1 if leader.id in chosen else 0) >= waves[-1]  # type: ignore[union-attr]
        ):
            errors[key] = _(
                "The last tranche is kept for the group leader (staggered %(pattern)s).",
                pattern=pattern,
            )
    return errors
