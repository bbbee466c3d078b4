"""Solidarity groups and their training: saving a group in a centre (within
the centre's capacity), the compulsory training sessions and the group's states, from
forming through recognition to closing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from microcredit.models import (
    ACTIVE_GROUP,
    CLOSED_GROUP,
    FORMING,
    LEADER,
    OPEN_STATES,
    SECRETARY,
    SUSPENDED,
    TRAINING,
    Centre,
    Group,
    Loan,
    Member,
    TrainingAttendance,
    TrainingSession,
)
from microcredit.policy import policy
from microcredit.rules import (
    McError,
    group_date_errors,
    local_today,
    name_taken,
    record,
)
from microcredit.savings import savings_balances
from portal import db
from portal.models import Organisation, User


def _check_centre_capacity(
    centre_id: int | None, group: Group | None, errors: dict[str, str]
) -> None:
    if centre_id is None:
        return
    count = db.session.execute(
        select(func.count())
        .select_from(Group)
        .where(
            Group.centre_id == centre_id,
            Group.status != CLOSED_GROUP,
            Group.id != (group.id if group else -1),
        )
    ).scalar_one()
    if count >= policy().centre_max_groups:
        errors["centre"] = _(
            "The centre already has %(n)d groups, the most allowed.", n=policy().centre_max_groups
        )


def save_group(
    org: Organisation,
    name: str,
    centre: Centre | None,
    actor: User,
    group: Group | None = None,
    on_date: date | None = None,
) -> Group:
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Give the group a name.")
    elif name_taken(Group, org, name, group):
        errors["name"] = _("Another group has this name.")
    if centre is not None and centre.organisation_id != org.id:
        errors["centre"] = _("Choose a centre of your organisation.")
    elif group is None or (centre.id if centre else None) != group.centre_id:
        _check_centre_capacity(centre.id if centre else None, group, errors)
    if group is not None and centre is None and group.status in (ACTIVE_GROUP, SUSPENDED):
        errors["centre"] = _("A recognised group meets in a centre.")
    if errors:
        raise McError(errors)
    creating = group is None
    if group is None:
        group = Group(organisation_id=org.id, status=FORMING, formed_on=on_date or local_today())
        db.session.add(group)
    group.name = name
    group.centre_id = centre.id if centre else None
    db.session.flush()
    record("group.create" if creating else "group.update", group, actor, centre=group.centre_id)
    return group


def record_training(
    group: Group, held_on: date | None, topic: str, attendee_ids: Iterable[int], actor: User
) -> TrainingSession:
    errors = group_date_errors(group, held_on, "held_on")
    if group.status not in (FORMING, TRAINING, ACTIVE_GROUP):
        errors["held_on"] = _("This group takes no training now.")
    members = {m.id for m in group.members}
    attendees = set(attendee_ids)
    if not attendees:
        errors["attendees"] = _("Tick who attended.")
    elif not attendees <= members:
        errors["attendees"] = _("Only members of the group can attend.")
    if errors:
        raise McError(errors)
    session = TrainingSession(
        group_id=group.id, held_on=held_on, topic=(topic or "")[:200], created_by_id=actor.id
    )
    session.attendance = [TrainingAttendance(member_id=m) for m in sorted(attendees)]
    db.session.add(session)
    db.session.flush()
    db.session.expire(group, ["training_sessions"])
    record("group.training", session, actor, group=group.id, attendees=sorted(attendees))
    return session


def sessions_attended(member_ids: Iterable[int]) -> dict[int, int]:
    ids = list(member_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(TrainingAttendance.member_id, func.count())
        .where(TrainingAttendance.member_id.in_(ids))
        .group_by(TrainingAttendance.member_id)
    )
    found = dict.fromkeys(ids, 0)
    found.update({member_id: count for member_id, count in rows})
    return found


def is_trained(member: Member) -> bool:
    return sessions_attended([member.id])[member.id] >= policy().training_sessions_required


def recognition_problems(group: Group) -> list[str]:
    """What stops the group being recognised (and so receiving its first loans)."""
    rules = policy()
    problems = []
    size = len(group.members)
    if not rules.group_min_size <= size <= rules.group_max_size:
        problems.append(
            _(
                "A group needs from %(low)d to %(high)d members; it has %(n)d.",
                low=rules.group_min_size,
                high=rules.group_max_size,
                n=size,
            )
        )
    if group.member_with_role(LEADER) is None:
        problems.append(_("Choose the group's leader."))
    if group.member_with_role(SECRETARY) is None:
        problems.append(_("Choose the group's secretary."))
    attended = sessions_attended(m.id for m in group.members)
    untrained = [m for m in group.members if attended[m.id] < rules.training_sessions_required]
    if untrained:
        problems.append(
            _(
                "%(n)d members have attended fewer than the %(required)d compulsory training "
                "sessions.",
                n=len(untrained),
                required=rules.training_sessions_required,
            )
        )
    if group.centre_id is None:
        problems.append(_("Assign the group to a centre, where it will meet."))
    return problems


GROUP_ACTIONS = ("start_training", "recognise", "suspend", "reactivate", "close")


def group_transition(
    group: Group, action: str, on_date: date | None, actor: User, reason: str = ""
) -> None:
    errors = group_date_errors(group, on_date)
    if errors:
        raise McError(errors)
    rules = policy()
    if action == "start_training":
        if group.status != FORMING:
            raise McError({"status": _("Only a forming group can start its training.")})
        size = len(group.members)
        if not rules.group_min_size <= size <= rules.group_max_size:
            raise McError(
                {
                    "status": _(
                        "A group needs from %(low)d to %(high)d members; it has %(n)d.",
                        low=rules.group_min_size,
                        high=rules.group_max_size,
                        n=size,
                    )
                }
            )
        group.status = TRAINING
        group.training_started_on = on_date
    elif action == "recognise":
        if group.status != TRAINING:
            raise McError({"status": _("Only a group in training can be recognised.")})
        problems = recognition_problems(group)
        if problems:
            raise McError({"status": " ".join(problems)})
        group.status = ACTIVE_GROUP
        group.recognised_on = on_date
    elif action == "suspend":
        if group.status != ACTIVE_GROUP:
            raise McError({"status": _("Only a recognised group can be suspended.")})
        group.status = SUSPENDED
    elif action == "reactivate":
        if group.status != SUSPENDED:
            raise McError({"status": _("Only a suspended group can be reactivated.")})
        group.status = ACTIVE_GROUP
    elif action == "close":
        if group.status == CLOSED_GROUP:
            raise McError({"status": _("The group is already closed.")})
        if db.session.execute(
            select(Loan.id).where(Loan.group_id == group.id, Loan.status.in_(OPEN_STATES))
        ).first():
            raise McError({"status": _("Members of the group still have open loans.")})
        if any(v != 0 for v in savings_balances([group.id]).values()):
            raise McError(
                {
                    "status": _(
                        "Return the group fund and the members' savings before closing the group."
                    )
                }
            )
        group.status = CLOSED_GROUP
        group.closed_on = on_date
    else:
        raise McError({"status": _("Unknown action.")})
    record(f"group.{action}", group, actor, reason=reason, on_date=on_date)
