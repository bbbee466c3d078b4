"""The notifications centre: unread counts, e-mail preferences (immediate, daily digest,
off) and the digest command."""

from __future__ import annotations

from sqlalchemy import select

from portal import db
from portal.notifications import (
    DAILY,
    IMMEDIATE,
    OFF,
    Notification,
    email_mode,
    notify,
    send_digests,
    set_email_mode,
)
from tests.conftest import login
from tests.factories import make_user
from tests.portal.test_network_support import outbox


def notes_of(user):
    return list(
        db.session.execute(select(Notification).where(Notification.user_id == user.id)).scalars()
    )


def test_immediate_is_the_default(app, db_session):
    user = make_user("broker")
    assert email_mode(user) == IMMEDIATE
    del outbox(app)[:]
    notify(user, "Una proposta è stata accettata", "/brokerage/proposals/1")
    assert [m["To"] for m in outbox(app)] == [user.email]
    [note] = notes_of(user)
    assert note.emailed_at is not None and not note.email_due


def test_off_keeps_the_notification_but_sends_no_email(app, db_session):
    user = make_user("employer")
    set_email_mode(user, OFF)
    del outbox(app)[:]
    notify(user, "Nuova candidatura")
    assert outbox(app) == []
    [note] = notes_of(user)
    assert note.read_at is None and not note.email_due


def test_daily_digest_collects_unread_notifications(app, db_session):
    user = make_user("cooperative")
    other = make_user("buyer")
    set_email_mode(user, DAILY)
    del outbox(app)[:]
    notify(user, "Primo avviso", "/a")
    notify(user, "Secondo avviso", "/b")
    notify(user, "Già letto")
    notify(other, "Per un altro")
    assert [m["To"] for m in outbox(app)] == [other.email], "only the immediate one goes now"
    read = next(n for n in notes_of(user) if n.message == "Già letto")
    from portal.db import utcnow

    read.read_at = utcnow()
    del outbox(app)[:]
    assert send_digests() == 1
    [digest] = outbox(app)
    body = digest.get_content()
    assert digest["To"] == user.email
    assert "Primo avviso" in body and "Secondo avviso" in body and "Già letto" not in body
    assert all(not n.email_due for n in notes_of(user))
    assert send_digests() == 0, "each notification goes in one digest only"


def test_switching_to_off_drops_the_pending_digest(app, db_session):
    user = make_user("broker")
    set_email_mode(user, DAILY)
    notify(user, "In attesa")
    set_email_mode(user, OFF)
    del outbox(app)[:]
    assert send_digests() == 0 and outbox(app) == []


def test_digest_command(app, db_session):
    result = app.test_cli_runner().invoke(args=["notifications", "digest"])
    assert result.exit_code == 0 and "digests sent" in result.output


def test_preferences_page(client, db_session):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # messages as written
    user = make_user("public_officer")
    login(client, user)
    page = client.get("/notifications/preferences")
    assert page.status_code == 200 and 'type="radio"' in page.text and "<legend" in page.text
    assert (
        client.post("/notifications/preferences", data={"email_mode": "weekly"}).status_code == 200
    )
    assert email_mode(user) == IMMEDIATE
    response = client.post("/notifications/preferences", data={"email_mode": DAILY})
    assert response.status_code == 302
    assert email_mode(user) == DAILY
    inbox = client.get("/notifications")
    assert "0 unread notifications" in inbox.text


def test_unread_count_in_the_header(client, db_session):
    user = make_user("buyer")
    set_email_mode(user, OFF)
    notify(user, "Ordine spedito", "/shop/my-orders")
    notify(user, "Ordine consegnato")
    login(client, user)
    page = client.get("/notifications")
    assert '<span class="badge bg-light text-dark">2' in page.text
    note = notes_of(user)[0]
    response = client.post(f"/notifications/{note.id}/open")
    assert response.status_code == 302 and response.headers["Location"].endswith("/shop/my-orders")
    client.post("/notifications/read-all")
    assert all(n.read_at is not None for n in notes_of(user))


def test_external_links_are_not_followed(client, db_session):
    user = make_user("buyer")
    set_email_mode(user, OFF)
    notify(user, "Strano", "//evil.example/x")
    login(client, user)
    note = notes_of(user)[0]
    assert (
        client.post(f"/notifications/{note.id}/open").headers["Location"].endswith("/notifications")
    )
