"""Rules of network life: who may see, edit and publish; event seats and the waiting list;
guest confirmations; reminders; agreement renewals.

Publication of good practices (an editor or an administrator publishes them): the
publishers are the administrators and the users an administrator lists as content
editors (:class:`~portal.network.models.ContentEditor`). Drafts are private to the
author organisation: not even publishers see them until they are submitted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, or_, select

from portal import audit, db, mail
from portal.db import utcnow
from portal.models import (
    ADMIN,
    BROKER,
    COOPERATIVE,
    EMPLOYER,
    MICROCREDIT_OFFICER,
    PUBLIC_OFFICER,
    SOCIAL_FARM,
    Membership,
    Organisation,
    User,
    slugify,
)
from portal.network.models import (
    ACTIVE,
    CANCELLED,
    CONFIRMED,
    DRAFT,
    PENDING,
    PUBLISHED,
    SUBMITTED,
    WAITLISTED,
    Agreement,
    AgreementParty,
    ContentEditor,
    Event,
    GoodPractice,
    Registration,
)
from portal.notifications import notify

#: Roles that belong to an organisation of the network: they draft content for it.
MEMBER_ROLES = (EMPLOYER, COOPERATIVE, SOCIAL_FARM, BROKER, PUBLIC_OFFICER, MICROCREDIT_OFFICER)
#: Guests confirm their registration within this time (seconds).
CONFIRM_MAX_AGE = 3 * 24 * 3600
REMINDER_HOURS = 24


class NetworkError(ValueError):
    """A rule was broken; the message is for people."""


def _authenticated(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def member_orgs(user: Any) -> list[Organisation]:
    """Verified organisations ``user`` belongs to (content is drafted for them)."""
    if not _authenticated(user):
        return []
    return [o for o in user.organisations(*MEMBER_ROLES) if o.is_verified]


def is_member(user: Any, org: Organisation) -> bool:
    return _authenticated(user) and org in user.organisations()


def is_admin(user: Any) -> bool:
    return _authenticated(user) and user.has_role(ADMIN)


def is_editor(user: Any) -> bool:
    """A content editor granted by an administrator."""
    return _authenticated(user) and db.session.get(ContentEditor, user.id) is not None


def can_publish(user: Any) -> bool:
    return is_admin(user) or is_editor(user)


def publishers() -> list[User]:
    """Administrators and content editors: they review submitted good practices."""
    admins = select(Membership.user_id).where(Membership.role == ADMIN)
    editors = select(ContentEditor.user_id)
    return list(
        db.session.execute(
            select(User)
            .where(User.active.is_(True), or_(User.id.in_(admins), User.id.in_(editors)))
            .order_by(User.id)
        ).scalars()
    )


def members_of(org_ids: Iterable[int]) -> list[User]:
    ids = sorted(set(org_ids))
    if not ids:
        return []
    return list(
        db.session.execute(
            select(User)
            .where(
                User.active.is_(True),
                User.id.in_(select(Membership.user_id).where(Membership.organisation_id.in_(ids))),
            )
            .order_by(User.id)
        ).scalars()
    )


def grant_editor(user: User, admin: User | None) -> ContentEditor:
    entry = db.session.get(ContentEditor, user.id)
    if entry is None:
        entry = ContentEditor(user_id=user.id, granted_by_id=admin.id if admin else None)
        db.session.add(entry)
        audit.record("content_editor.grant", user, actor=admin)
    return entry


def revoke_editor(user: User, admin: User | None) -> None:
    entry = db.session.get(ContentEditor, user.id)
    if entry is not None:
        db.session.delete(entry)
        audit.record("content_editor.revoke", user, actor=admin)


# --- Good practices ----------------------------------------------------------------------------


def can_view_practice(user: Any, practice: GoodPractice) -> bool:
    if practice.is_public() or is_member(user, practice.organisation):
        return True
    return practice.status == SUBMITTED and can_publish(user)


def can_edit_practice(user: Any, practice: GoodPractice) -> bool:
    """The author organisation edits its drafts; submitted and published ones are frozen
    (withdraw to edit again)."""
    return practice.status == DRAFT and is_member(user, practice.organisation)


def new_practice(org: Organisation, author: User) -> GoodPractice:
    if org not in member_orgs(author):
        raise NetworkError(_("You can write good practices only for your verified organisation."))
    practice = GoodPractice(organisation=org, created_by_id=author.id, status=DRAFT, title="")
    db.session.add(practice)
    return practice


def set_slug(obj: GoodPractice | Event) -> None:
    obj.slug = slugify(obj.title)[:80]


def submit_practice(practice: GoodPractice, user: User) -> None:
    if practice.status != DRAFT or not is_member(user, practice.organisation):
        raise NetworkError(_("Only a draft of your organisation can be submitted."))
    if not (practice.title.strip() and practice.summary.strip()):
        raise NetworkError(_("Give the practice a title and a summary before submitting it."))
    practice.status = SUBMITTED
    practice.submitted_at = utcnow()
    practice.review_comment = ""
    audit.record("good_practice.submit", practice, actor=user)
    link = url_for("network.practice_detail", practice_id=practice.id, slug=practice.slug)
    for editor in publishers():
        notify(editor, _("A good practice awaits review: %(title)s", title=practice.title), link)


def publish_practice(practice: GoodPractice, editor: User) -> None:
    if not can_publish(editor):
        raise NetworkError(_("Only editors and administrators publish good practices."))
    if practice.status != SUBMITTED:
        raise NetworkError(_("Only a submitted practice can be published."))
    practice.status = PUBLISHED
    practice.published_at = practice.published_at or utcnow()
    practice.published_by_id = editor.id
    audit.record("good_practice.publish", practice, actor=editor)
    link = url_for("network.practice_detail", practice_id=practice.id, slug=practice.slug)
    for user in members_of([practice.organisation_id]):
        notify(user, _("Your good practice is published: %(title)s", title=practice.title), link)


def return_practice(practice: GoodPractice, editor: User, comment: str) -> None:
    """Send a submitted (or published) practice back to its authors as a draft."""
    if not can_publish(editor):
        raise NetworkError(_("Only editors and administrators review good practices."))
    if practice.status not in (SUBMITTED, PUBLISHED):
        raise NetworkError(_("This practice is not under review."))
    if not comment.strip():
        raise NetworkError(_("Tell the authors what to change."))
    practice.status = DRAFT
    practice.review_comment = comment.strip()[:2000]
    audit.record("good_practice.return", practice, actor=editor, reason=comment[:500])
    link = url_for("network.practice_detail", practice_id=practice.id, slug=practice.slug)
    for user in members_of([practice.organisation_id]):
        notify(user, _("Your good practice needs changes: %(title)s", title=practice.title), link)


def withdraw_practice(practice: GoodPractice, user: User) -> None:
    """The author organisation takes a submitted or published practice back to draft."""
    if not is_member(user, practice.organisation) or practice.status == DRAFT:
        raise NetworkError(_("This practice cannot be withdrawn."))
    practice.status = DRAFT
    audit.record("good_practice.withdraw", practice, actor=user)


# --- Events --------------------------------------------------------------------------------------


def can_manage_event(user: Any, event: Event) -> bool:
    return is_admin(user) or is_member(user, event.organisation)


def can_view_event(user: Any, event: Event) -> bool:
    return event.is_public() or can_manage_event(user, event)


def publish_event(event: Event, user: User) -> None:
    if not event.organisation.is_verified:
        raise NetworkError(_("The organisation must be verified to publish events."))
    if event.status != DRAFT:
        raise NetworkError(_("Only a draft can be published."))
    event.status = PUBLISHED
    event.published_at = utcnow()
    event.sequence += 1
    audit.record("event.publish", event, actor=user)


def cancel_event(event: Event, user: User, reason: str) -> int:
    """Cancel the event and tell everyone registered; returns how many were told."""
    if event.status == CANCELLED:
        return 0
    event.status = CANCELLED
    event.sequence += 1
    audit.record("event.cancel", event, actor=user, reason=reason[:500])
    told = 0
    for reg in active_registrations(event):
        message = _('The event "%(title)s" has been cancelled.', title=event.title)
        if reason:
            message += " " + reason[:300]
        _tell(reg, message)
        told += 1
    return told


def active_registrations(event: Event) -> list[Registration]:
    return list(
        db.session.execute(
            select(Registration)
            .where(
                Registration.event_id == event.id, Registration.status.in_((CONFIRMED, WAITLISTED))
            )
            .order_by(Registration.queued_at, Registration.id)
        ).scalars()
    )


def lock_event(event_id: int) -> Event:
    """The event row, locked until the transaction ends (PostgreSQL ``SELECT … FOR
    UPDATE``; SQLite transactions start with ``BEGIN IMMEDIATE`` and run one at a time), so
    seats are counted and given by one transaction at a time."""
    db.session.execute(select(Event.id).where(Event.id == event_id).with_for_update())
    return db.session.execute(
        select(Event).where(Event.id == event_id).execution_options(populate_existing=True)
    ).scalar_one()


def confirmed_count(event_id: int) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(Registration)
        .where(Registration.event_id == event_id, Registration.status == CONFIRMED)
    ).scalar_one()


def seat_counts(event_ids: list[int]) -> dict[int, dict[str, int]]:
    """Confirmed and waitlisted registrations of many events in one query."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {CONFIRMED: 0, WAITLISTED: 0})
    if event_ids:
        for event_id, status, n in db.session.execute(
            select(Registration.event_id, Registration.status, func.count())
            .where(
                Registration.event_id.in_(event_ids),
                Registration.status.in_((CONFIRMED, WAITLISTED)),
            )
            .group_by(Registration.event_id, Registration.status)
        ):
            counts[event_id][status] = n
    return counts


def _allocate(event: Event, reg: Registration, now: datetime) -> None:
    """Give ``reg`` a seat or a place on the waiting list (the event row is locked)."""
    reg.queued_at = now
    if event.capacity is None or confirmed_count(event.id) < event.capacity:
        reg.status = CONFIRMED
        reg.confirmed_at = now
    else:
        reg.status = WAITLISTED
        reg.confirmed_at = None
    db.session.flush()


def _find(event_id: int, email: str) -> Registration | None:
    return db.session.execute(
        select(Registration).where(Registration.event_id == event_id, Registration.email == email)
    ).scalar_one_or_none()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def register_user(event: Event, user: User, organisation_name: str = "") -> Registration:
    """Register a signed-in user: a seat at once, or the waiting list."""
    now = utcnow()
    event = lock_event(event.id)
    if not event.accepts_registrations(now):
        raise NetworkError(_("Registrations for this event are closed."))
    email = normalise_email(user.email)
    reg = _find(event.id, email)
    if reg is not None and reg.status in (CONFIRMED, WAITLISTED):
        raise NetworkError(_("You are already registered for this event."))
    if reg is None:
        reg = Registration(event_id=event.id, email=email, name="")
        db.session.add(reg)
    reg.user_id = user.id
    reg.name = user.display_name[:200]
    reg.organisation_name = (organisation_name or ", ".join(o.name for o in user.organisations()))[
        :200
    ]
    reg.cancelled_at = None
    _allocate(event, reg, now)
    return reg


def register_guest(
    event: Event, name: str, email: str, organisation_name: str = ""
) -> Registration:
    """A guest's registration waits for the e-mail confirmation before it takes a seat."""
    now = utcnow()
    event = lock_event(event.id)
    if not event.accepts_registrations(now):
        raise NetworkError(_("Registrations for this event are closed."))
    email = normalise_email(email)
    reg = _find(event.id, email)
    if reg is not None and reg.status in (CONFIRMED, WAITLISTED):
        raise NetworkError(_("This e-mail address is already registered for this event."))
    if reg is None:
        reg = Registration(event_id=event.id, email=email)
        db.session.add(reg)
    reg.name = name.strip()[:200]
    reg.organisation_name = organisation_name.strip()[:200]
    reg.status = PENDING
    reg.cancelled_at = None
    db.session.flush()
    link = url_for("network.registration_confirm", token=make_token(reg, "confirm"), _external=True)
    mail.send(
        email,
        _("Confirm your registration: %(title)s", title=event.title),
        _(
            'Hello %(name)s,\n\nto confirm your registration for "%(title)s" (%(when)s) '
            "open this link within three days:\n\n%(link)s\n\nIf you did not ask for it, "
            "ignore this message: nothing will be kept after three days.",
            name=reg.name,
            title=event.title,
            when=event_when(event),
            link=link,
        ),
    )
    return reg


def confirm_guest(reg: Registration) -> Registration:
    now = utcnow()
    event = lock_event(reg.event_id)
    db.session.refresh(reg)
    if reg.status != PENDING:
        return reg
    if not event.accepts_registrations(now):
        raise NetworkError(_("Registrations for this event are closed."))
    _allocate(event, reg, now)
    _tell(reg, _registration_message(reg), include_cancel_link=True)
    return reg


def cancel_registration(reg: Registration, actor: User | None = None) -> Registration | None:
    """Cancel a registration; a freed seat goes to the first on the waiting list, who is
    told. Returns the promoted registration, if any."""
    now = utcnow()
    event = lock_event(reg.event_id)
    db.session.refresh(reg)
    if reg.status == CANCELLED:
        return None
    freed = reg.status == CONFIRMED
    reg.status = CANCELLED
    reg.cancelled_at = now
    db.session.flush()
    promoted = fill_seats(event, now) if freed else []
    return promoted[0] if promoted else None


def fill_seats(event: Event, now: datetime | None = None) -> list[Registration]:
    """Promote people from the waiting list while seats are free (event row locked)."""
    now = now or utcnow()
    if event.status != PUBLISHED:
        return []
    free = None if event.capacity is None else event.capacity - confirmed_count(event.id)
    stmt = (
        select(Registration)
        .where(Registration.event_id == event.id, Registration.status == WAITLISTED)
        .order_by(Registration.queued_at, Registration.id)
    )
    if free is not None:
        if free <= 0:
            return []
        stmt = stmt.limit(free)
    promoted = list(db.session.execute(stmt).scalars())
    for reg in promoted:
        reg.status = CONFIRMED
        reg.confirmed_at = now
        _tell(
            reg,
            _(
                'A seat has become free: your registration for "%(title)s" is confirmed.',
                title=event.title,
            )
            + _online_link(event),
            include_cancel_link=True,
        )
    db.session.flush()
    return promoted


def _online_link(event: Event) -> str:
    """The link to join online: only confirmed registrants get it."""
    if not event.online_url:
        return ""
    return " " + _("Link to join online: %(link)s", link=event.online_url)


def _registration_message(reg: Registration) -> str:
    if reg.status == CONFIRMED:
        return _(
            'Your registration for "%(title)s" (%(when)s) is confirmed.',
            title=reg.event.title,
            when=event_when(reg.event),
        ) + _online_link(reg.event)
    return _(
        'The event "%(title)s" is full: you are on the waiting list and will be told '
        "if a seat becomes free.",
        title=reg.event.title,
    )


def _tell(reg: Registration, message: str, include_cancel_link: bool = False) -> None:
    """A registered user gets a notification (their e-mail preference applies); a guest an
    e-mail, with the link to cancel."""
    event = reg.event
    link = url_for("network.event_detail", event_id=event.id, slug=event.slug)
    if reg.user_id is not None and reg.user is not None:
        notify(reg.user, message, link)
        return
    body = (
        message
        + "\n\n"
        + url_for("network.event_detail", event_id=event.id, slug=event.slug, _external=True)
    )
    if include_cancel_link and reg.status in (CONFIRMED, WAITLISTED):
        cancel = url_for(
            "network.registration_cancel", token=make_token(reg, "cancel"), _external=True
        )
        body += "\n\n" + _("To cancel your registration: %(link)s", link=cancel)
    mail.send(reg.email, _("Ponte: %(title)s", title=event.title), body)


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"event-{purpose}")


def make_token(reg: Registration, purpose: str) -> str:
    return _serializer(purpose).dumps({"r": reg.id, "e": reg.email})


def registration_for_token(token: str, purpose: str) -> Registration | None:
    """The registration a signed link names (confirmation links expire after 3 days)."""
    max_age = CONFIRM_MAX_AGE if purpose == "confirm" else None
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict):
        return None
    reg = db.session.get(Registration, data.get("r"))
    if reg is None or reg.email != data.get("e"):
        return None
    return reg


def user_registration(event: Event, user: Any) -> Registration | None:
    if not _authenticated(user):
        return None
    return _find(event.id, normalise_email(user.email))


def mark_attendance(event: Event, attended_ids: set[int], user: User) -> int:
    """The attendance register: confirmed people present or absent; returns how many are
    present."""
    now = utcnow()
    present = 0
    for reg in db.session.execute(
        select(Registration).where(
            Registration.event_id == event.id, Registration.status == CONFIRMED
        )
    ).scalars():
        reg.attended = reg.id in attended_ids
        reg.attendance_marked_at = now
        present += reg.attended
    audit.record("event.attendance", event, actor=user, present=present)
    return present


def event_when(event: Event) -> str:
    from flask_babel import format_datetime

    return format_datetime(event.starts_at, "medium")


def send_event_reminders(now: datetime | None = None, hours: int = REMINDER_HOURS) -> int:
    """Remind confirmed people of events starting within ``hours``; once per event.
    Returns how many reminders were sent."""
    now = now or utcnow()
    events = list(
        db.session.execute(
            select(Event).where(
                Event.status == PUBLISHED,
                Event.reminders_sent_at.is_(None),
                Event.starts_at > now,
                Event.starts_at <= now + timedelta(hours=hours),
            )
        ).scalars()
    )
    if not events:
        return 0
    regs = db.session.execute(
        select(Registration).where(
            Registration.event_id.in_([e.id for e in events]),
            Registration.status == CONFIRMED,
            Registration.reminder_sent_at.is_(None),
        )
    ).scalars()
    sent = 0
    for reg in regs:
        event = reg.event
        where = event.place or str(event.mode_label)
        _tell(
            reg,
            _(
                'Reminder: "%(title)s" starts on %(when)s (%(where)s).',
                title=event.title,
                when=event_when(event),
                where=where,
            )
            + _online_link(event),
            include_cancel_link=True,
        )
        reg.reminder_sent_at = now
        sent += 1
    for event in events:
        event.reminders_sent_at = now
    return sent


# --- Agreements ----------------------------------------------------------------------------------


def can_manage_agreement(user: Any, agreement: Agreement) -> bool:
    return is_admin(user) or is_member(user, agreement.organisation)


def can_view_agreement(user: Any, agreement: Agreement) -> bool:
    return agreement.is_public() or can_manage_agreement(user, agreement)


def set_parties(agreement: Agreement, org_ids: list[int], other_names: list[str]) -> None:
    """The parties: the recording organisation first, then the chosen organisations of the
    network, then other bodies named in full."""
    ids = [agreement.organisation_id, *[i for i in org_ids if i != agreement.organisation_id]]
    orgs = {
        o.id: o
        for o in db.session.execute(select(Organisation).where(Organisation.id.in_(ids))).scalars()
    }
    parties = [
        AgreementParty(organisation_id=i, name=orgs[i].name)
        for i in dict.fromkeys(ids)
        if i in orgs
    ]
    parties += [AgreementParty(name=n.strip()[:200]) for n in other_names if n.strip()]
    for position, party in enumerate(parties):
        party.position = position
    agreement.parties = parties


def send_renewal_reminders(today: date) -> int:
    """Tell the members of every party organisation that an agreement in force ends within
    its notice period; once per agreement and end date. Returns agreements reminded."""
    candidates = list(
        db.session.execute(
            select(Agreement).where(
                Agreement.status == ACTIVE,
                Agreement.ends_on.is_not(None),
                Agreement.ends_on >= today,
                Agreement.renewal_reminded_at.is_(None),
            )
        ).scalars()
    )
    due = [a for a in candidates if a.ends_on - timedelta(days=a.renewal_notice_days) <= today]
    if not due:
        return 0
    org_ids = {a.organisation_id for a in due} | {
        p.organisation_id for a in due for p in a.parties if p.organisation_id
    }
    members: dict[int, list[User]] = defaultdict(list)
    for org_id, user in db.session.execute(
        select(Membership.organisation_id, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organisation_id.in_(org_ids), User.active.is_(True))
    ):
        members[org_id].append(user)
    now = utcnow()
    for agreement in due:
        link = url_for("network.agreement_detail", agreement_id=agreement.id)
        told: set[int] = set()
        orgs = [agreement.organisation_id] + [p.organisation_id for p in agreement.parties]
        for org_id in orgs:
            for user in members.get(org_id or 0, []):
                if user.id in told:
                    continue
                told.add(user.id)
                notify(
                    user,
                    _(
                        'The agreement "%(title)s" ends on %(date)s: time to renew it.',
                        title=agreement.title,
                        date=agreement.ends_on.isoformat(),
                    ),
                    link,
                )
        agreement.renewal_reminded_at = now
    return len(due)


def today() -> date:
    return utcnow().date()
