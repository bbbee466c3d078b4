"""In-app notifications, with an e-mail copy (issue 8 adds digests and preferences)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ForeignKey, Index, String, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from portal import db, mail
from portal.db import Base, utcnow
from portal.models import User
from portal.permissions import login_required


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


def notify(user: User, message: str, link: str = "", subject: str | None = None) -> None:
    """Tell ``user`` in the portal and by e-mail. ``message`` must not carry special-category
    data: e-mails leave the portal."""
    db.session.add(Notification(user_id=user.id, message=message[:500], link=link))
    mail.send(
        user.email,
        subject or _("Ponte: %(message)s", message=message[:80]),
        message + ("\n\n" + link if link else ""),
    )


def unread_count(user: Any) -> int:
    if not user.is_authenticated:
        return 0
    return db.session.execute(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ).scalar_one()


bp = Blueprint("notifications", __name__)


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
    return render_template("portal/notifications.html", page=page)


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@login_required
def open_notification(notification_id: int) -> Any:
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != current_user.id:
        abort(404)
    note.read_at = note.read_at or utcnow()
    db.session.commit()
    return redirect(note.link if note.link.startswith("/") else url_for("notifications.inbox"))


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
