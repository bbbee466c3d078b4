"""The notifications centre: in-app notifications with unread counts, and an e-mail copy
according to each person's preference: at once, in a daily digest, or never.

Modules call :func:`notify`; the e-mail follows the recipient's
:class:`NotificationPreference` (default: at once). ``flask --app wsgi notifications
digest`` (run daily, e.g. from cron) sends each person who chose the digest one e-mail
with what arrived since the last one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import ForeignKey, Index, String, false, func, select, update
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import RadioField, SubmitField
from wtforms.validators import InputRequired

from portal import db, mail
from portal.db import Base, utcnow
from portal.forms import options
from portal.models import User
from portal.permissions import login_required

IMMEDIATE, DAILY, OFF = "immediate", "daily", "off"
EMAIL_MODES = {
    IMMEDIATE: _l("Send me an e-mail for each notification"),
    DAILY: _l("Send me one e-mail a day with a digest"),
    OFF: _l("Do not send e-mails: I read them in the portal"),
}


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_unread", "user_id", "read_at"),
        Index("ix_notification_email_due", "email_due", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    #: Waiting for the recipient's daily digest.
    email_due: Mapped[bool] = mapped_column(default=False, server_default=false())
    emailed_at: Mapped[datetime | None]


class NotificationPreference(Base):
    """How a person wants the e-mail copy of their notifications (absent: at once)."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    email_mode: Mapped[str] = mapped_column(String(10), default=IMMEDIATE)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def email_mode(user: User) -> str:
    pref = db.session.get(NotificationPreference, user.id)
    return pref.email_mode if pref is not None and pref.email_mode in EMAIL_MODES else IMMEDIATE


def set_email_mode(user: User, mode: str) -> None:
    if mode not in EMAIL_MODES:
        raise ValueError(f"unknown e-mail mode {mode!r}")
    pref = db.session.get(NotificationPreference, user.id)
    if pref is None:
        db.session.add(NotificationPreference(user_id=user.id, email_mode=mode))
    else:
        pref.email_mode = mode
    if mode == OFF:
        # What was waiting for the digest is not sent any more.
        db.session.execute(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.email_due.is_(True))
            .values(email_due=False)
        )


def notify(user: User, message: str, link: str = "", subject: str | None = None) -> None:
    """Tell ``user`` in the portal, and by e-mail as they prefer. ``message`` must not carry
    special-category data: e-mails leave the portal."""
    mode = email_mode(user)
    note = Notification(user_id=user.id, message=message[:500], link=link, email_due=mode == DAILY)
    db.session.add(note)
    if mode == IMMEDIATE:
        note.emailed_at = utcnow()
        mail.send(
            user.email,
            subject or _("Ponte: %(message)s", message=message[:80]),
            message + ("\n\n" + absolute(link) if link else ""),
        )


def absolute(link: str) -> str:
    """A portal path as a full URL when a request tells the host (e-mails need one)."""
    if link.startswith("/") and has_request_context():
        return request.host_url.rstrip("/") + link
    return link


def unread_count(user: Any) -> int:
    if not user.is_authenticated:
        return 0
    return db.session.execute(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ).scalar_one()


def send_digests(now: datetime | None = None) -> int:
    """One e-mail per person with notifications waiting for the digest; returns how many
    e-mails were sent. Notifications already read in the portal are left out."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(Notification.email_due.is_(True))
        .order_by(Notification.user_id, Notification.id)
    ).all()
    by_user: dict[int, tuple[User, list[Notification]]] = {}
    for note, user in rows:
        by_user.setdefault(user.id, (user, []))[1].append(note)
    sent = 0
    for user, notes in by_user.values():
        unread = [n for n in notes if n.read_at is None]
        if unread and user.active:
            with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
                subject = _("Ponte: your daily digest (%(n)d notifications)", n=len(unread))
                lines = [_("What happened in the portal since the last digest:"), ""]
                for note in unread:
                    lines.append("- " + note.message + (f" ({note.link})" if note.link else ""))
                lines += ["", _("Change how you receive e-mails in your notification settings.")]
            mail.send(user.email, subject, "\n".join(lines))
            sent += 1
        for note in notes:
            note.email_due = False
            if note.read_at is None:
                note.emailed_at = now
    return sent


bp = Blueprint("notifications", __name__)


class PreferencesForm(FlaskForm):
    email_mode = RadioField(
        _l("E-mail copies of notifications"),
        choices=options(EMAIL_MODES.items()),
        validators=[InputRequired()],
    )
    submit = SubmitField(_l("Save"))


@bp.route("/notifications")
@login_required
def inbox() -> Any:
    page = db.paginate(
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc()),
        request.args.get("page", 1, type=int),
        30,
    )
    return render_template(
        "portal/notifications.html",
        page=page,
        mode=email_mode(current_user),
        modes=EMAIL_MODES,
        unread=unread_count(current_user),
    )


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def preferences() -> Any:
    form = PreferencesForm()
    if request.method == "GET":
        form.email_mode.data = email_mode(current_user)
    if form.validate_on_submit():
        set_email_mode(current_user, form.email_mode.data)
        db.session.commit()
        flash(_("Your notification settings have been saved."), "success")
        return redirect(url_for("notifications.inbox"))
    return render_template("portal/notification_preferences.html", form=form)


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@login_required
def open_notification(notification_id: int) -> Any:
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != current_user.id:
        abort(404)
    note.read_at = note.read_at or utcnow()
    db.session.commit()
    safe = note.link.startswith("/") and not note.link.startswith("//")
    return redirect(note.link if safe else url_for("notifications.inbox"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all() -> Any:
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
    return redirect(url_for("notifications.inbox"))


notifications_cli = AppGroup("notifications", help="The notifications centre.")


@notifications_cli.command("digest")
def digest_command() -> None:
    """Send the daily digest to everyone who chose it (run once a day)."""
    sent = send_digests()
    db.session.commit()
    click.echo(f"{sent} digests sent.")


def init_app(app: Flask) -> None:
    app.cli.add_command(notifications_cli)
