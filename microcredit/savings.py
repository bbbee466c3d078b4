"""Savings and the group fund: the balances by group and member, deposits and
withdrawals (serialised per group so two withdrawals cannot both pass) and their
reversal by a counter-entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from microcredit.models import (
    CLOSED_GROUP,
    DEPOSIT,
    WITHDRAWAL,
    Group,
    Meeting,
    Member,
    SavingsTransaction,
)
from microcredit.money import ZERO, money
from microcredit.rules import McError, group_date_errors, record
from portal import db
from portal.models import User


def savings_balances(
    group_ids: Iterable[int], as_of: date | None = None
) -> dict[tuple[int, int | None], Decimal]:
    """Balances by (group, member); member None is the group fund."""
    ids = list(group_ids)
    if not ids:
        return {}
    t = SavingsTransaction
    effect = t.sign * t.amount
    stmt = select(t.group_id, t.member_id, t.kind, func.sum(effect)).where(t.group_id.in_(ids))
    if as_of is not None:
        stmt = stmt.where(t.on_date <= as_of)
    found: dict[tuple[int, int | None], Decimal] = {}
    for group_id, member_id, kind, total in db.session.execute(
        stmt.group_by(t.group_id, t.member_id, t.kind)
    ):
        key = (group_id, member_id)
        amount = money(total)
        found[key] = found.get(key, ZERO) + (amount if kind == DEPOSIT else -amount)
    return found


def savings_balance(group_id: int, member_id: int | None = None) -> Decimal:
    return savings_balances([group_id]).get((group_id, member_id), ZERO)


def post_savings(
    group: Group,
    member: Member | None,
    kind: str,
    amount: Decimal,
    on_date: date | None,
    actor: User,
    *,
    meeting: Meeting | None = None,
    key: str | None = None,
    note: str = "",
) -> SavingsTransaction:
    errors = group_date_errors(group, on_date)
    if kind not in (DEPOSIT, WITHDRAWAL):
        errors["kind"] = _("Choose deposit or withdrawal.")
    if amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        errors["amount"] = _("Give an amount in euros, more than zero, with at most two decimals.")
    if member is not None and (member.group_id != group.id or member.left_on is not None):
        errors["member"] = _("The member is not in this group.")
    if group.status == CLOSED_GROUP and kind == DEPOSIT:
        errors["kind"] = _("A closed group takes no deposits.")
    if errors:
        raise McError(errors)
    if kind == WITHDRAWAL:
        # Serialise withdrawals from this group's savings: two cannot both pass.
        db.session.execute(select(Group.id).where(Group.id == group.id).with_for_update())
        if amount > savings_balance(group.id, member.id if member else None):
            raise McError({"amount": _("The withdrawal is more than the balance.")})
    entry = SavingsTransaction(
        organisation_id=group.organisation_id,
        group_id=group.id,
        member_id=member.id if member else None,
        kind=kind,
        sign=1,
        amount=amount,
        on_date=on_date,
        meeting_id=meeting.id if meeting else None,
        idempotency_key=key,
        note=note[:300],
        created_by_id=actor.id,
    )
    db.session.add(entry)
    db.session.flush()
    record(f"savings.{kind}", entry, actor, subject=member, amount=amount, group=group.id)
    return entry


def reverse_savings(entry: SavingsTransaction, actor: User, reason: str) -> SavingsTransaction:
    if entry.sign != 1 or entry.reversal_of_id is not None:
        raise McError({"entry": _("A reversal cannot be reversed.")})
    if db.session.execute(
        select(SavingsTransaction.id).where(SavingsTransaction.reversal_of_id == entry.id)
    ).first():
        raise McError({"entry": _("This entry has already been reversed.")})
    db.session.execute(select(Group.id).where(Group.id == entry.group_id).with_for_update())
    if entry.kind == DEPOSIT and savings_balance(entry.group_id, entry.member_id) < entry.amount:
        raise McError({"entry": _("Reversing this deposit would leave a negative balance.")})
    reversal = SavingsTransaction(
        organisation_id=entry.organisation_id,
        group_id=entry.group_id,
        member_id=entry.member_id,
        kind=entry.kind,
        sign=-1,
        amount=entry.amount,
        on_date=entry.on_date,
        reversal_of_id=entry.id,
        note=(reason or "")[:300],
        created_by_id=actor.id,
    )
    db.session.add(reversal)
    db.session.flush()
    record("savings.reverse", entry, actor, reason=reason, amount=entry.amount)
    return reversal
