"""Members: their record and consent to the processing of their data (GDPR
art. 6-7), the link to a candidate record of the network, their role in the group and
leaving it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, select

from microcredit.models import (
    CLOSED_GROUP,
    LEADER,
    MEMBER,
    OPEN_STATES,
    SECRETARY,
    Group,
    Loan,
    Member,
)
from microcredit.policy import policy
from microcredit.rules import McError, local_today, record
from microcredit.savings import savings_balance
from microcredit.schedule import (
    add_months,
)
from portal import db, identifiers
from portal.models import Organisation, User


@dataclass
class MemberData:
    full_name: str
    consent_on: date | None
    consent_purpose: str = ""
    consent_until: date | None = None
    fiscal_code: str = ""
    phone: str = ""
    comune_code: str | None = None
    candidate_pseudonym: str = ""
    joined_on: date | None = None
    group_role: str = MEMBER


def _candidate_id(pseudonym: str, errors: dict[str, str], current: int | None = None) -> int | None:
    pseudonym = (pseudonym or "").strip()
    if not pseudonym:
        return None
    from brokerage.caseload import has_consent
    from brokerage.models import Candidate

    found = db.session.execute(
        select(Candidate).where(Candidate.pseudonym == pseudonym, Candidate.erased_at.is_(None))
    ).scalar_one_or_none()
    if found is None:
        errors["candidate"] = _("No candidate record has this code.")
        return None
    # A new link shares the person's record across services: only with their consent to
    # sharing within the network (brokerage's "data_sharing" purpose, GDPR art. 6-7).
    if found.id != current and not has_consent(found, "data_sharing", local_today()):
        errors["candidate"] = _(
            "The person has not consented to sharing their record within the network's "
            "services: their service must record that consent first."
        )
        return None
    return found.id


def _next_member_number(org_id: int) -> str:
    count = db.session.execute(
        select(func.count()).select_from(Member).where(Member.organisation_id == org_id)
    ).scalar_one()
    return f"M{count + 1:05d}"


def save_member(
    org: Organisation,
    data: MemberData,
    actor: User,
    *,
    member: Member | None = None,
    group: Group | None = None,
) -> Member:
    """Create a member (in ``group``, or an individual borrower) or update one."""
    errors: dict[str, str] = {}
    if not (data.full_name or "").strip():
        errors["full_name"] = _("Give the member's full name.")
    if member is None and data.consent_on is None:
        errors["consent"] = _(
            "Record the person's consent to the processing of their data before saving."
        )
    if data.consent_on is not None and data.consent_on > local_today():
        errors["consent"] = _("The date cannot be in the future.")
    if (
        data.consent_until is not None
        and data.consent_on is not None
        and (data.consent_until <= data.consent_on)
    ):
        errors["consent_until"] = _("The consent must end after it was given.")
    if data.fiscal_code:
        try:
            data.fiscal_code = identifiers.person_fiscal_code(data.fiscal_code)
        except identifiers.IdentifierError as error:
            errors["fiscal_code"] = str(error.message)
    candidate_id = _candidate_id(
        data.candidate_pseudonym, errors, member.candidate_id if member else None
    )
    if (
        candidate_id is not None
        and db.session.execute(
            select(Member.id).where(
                Member.organisation_id == org.id,
                Member.candidate_id == candidate_id,
                Member.id != (member.id if member else -1),
            )
        ).first()
    ):
        errors["candidate"] = _("Another member is already linked to this candidate.")
    if data.group_role not in (LEADER, SECRETARY, MEMBER):
        errors["group_role"] = _("Choose a role in the group.")
    target_group = group or (member.group if member else None)
    if group is not None and member is None:
        if group.status == CLOSED_GROUP:
            errors["full_name"] = _("A closed group takes no new members.")
        elif len(group.members) >= policy().group_max_size:
            errors["full_name"] = _(
                "The group already has %(n)d members, the most allowed.", n=policy().group_max_size
            )
    if errors:
        raise McError(errors)
    creating = member is None
    if member is None:
        member = Member(
            organisation_id=org.id,
            number=_next_member_number(org.id),
            group_id=group.id if group else None,
            joined_on=data.joined_on or local_today(),
        )
        db.session.add(member)
    member.full_name = data.full_name.strip()
    member.fiscal_code = (data.fiscal_code or "").strip().upper()
    member.phone = (data.phone or "").strip()
    member.comune_code = data.comune_code or None
    member.candidate_id = candidate_id
    if data.consent_on is not None:
        member.consent_on = data.consent_on
        member.consent_purpose = (data.consent_purpose or "").strip()[:300]
        member.consent_until = data.consent_until or add_months(
            data.consent_on, 12 * policy().consent_years
        )
        member.consent_withdrawn_on = None
    db.session.flush()
    if target_group is not None:
        _set_role(member, target_group, data.group_role)
    record("member.create" if creating else "member.update", member, actor, subject=member)
    return member


def _set_role(member: Member, group: Group, role: str) -> None:
    """Leader and secretary are unique in a group: the previous holder becomes a member."""
    if role in (LEADER, SECRETARY):
        for other in group.members:
            if other.id != member.id and other.group_role == role:
                other.group_role = MEMBER
    member.group_role = role
    db.session.flush()
    db.session.expire(group, ["members"])


def withdraw_consent(member: Member, on_date: date, actor: User) -> None:
    """Consent withdrawn: no new loans; the contract in force continues (GDPR art. 6(1)(b))."""
    if member.consent_withdrawn_on is not None:
        raise McError({"consent": _("The consent has already been withdrawn.")})
    member.consent_withdrawn_on = on_date
    record("member.consent_withdrawn", member, actor, subject=member)


def leave_group(member: Member, on_date: date, actor: User) -> None:
    if member.group_id is None or member.left_on is not None:
        raise McError({"group": _("The member is not in a group.")})
    if db.session.execute(
        select(Loan.id).where(Loan.member_id == member.id, Loan.status.in_(OPEN_STATES))
    ).first():
        raise McError({"group": _("A member with an open loan cannot leave the group.")})
    if savings_balance(member.group_id, member.id) != 0:
        raise McError({"group": _("Return the member's savings before they leave.")})
    member.left_on = on_date
    member.group_role = MEMBER
    db.session.flush()
    if member.group is not None:  # the group's current members, read again when next used
        db.session.expire(member.group, ["members"])
    record("member.left_group", member, actor, subject=member, group=member.group_id)


def member_has_open_loan(member_id: int) -> bool:
    return bool(
        db.session.execute(
            select(exists().where(and_(Loan.member_id == member_id, Loan.status.in_(OPEN_STATES))))
        ).scalar()
    )
