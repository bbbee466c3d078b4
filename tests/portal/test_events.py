"""Events: capacity and waiting list (race-safe), guest registration with e-mail
confirmation, the attendance register, iCalendar, reminders."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import create_engine, delete, func, select
from sqlalchemy.orm import Session

from portal import db
from portal.db import utcnow
from portal.models import Membership, Organisation, User
from portal.network import services
from portal.network.models import (
    CANCELLED,
    CONFIRMED,
    DRAFT,
    ONLINE,
    PENDING,
    WAITLISTED,
    Event,
    Registration,
)
from portal.search.models import SearchOutbox
from tests.conftest import login
from tests.factories import make_org, make_user
from tests.portal.test_network_support import make_event, outbox


def link_in(message, pattern: str) -> str:
    body = message.get_content()
    found = re.search(r"https?://\S*" + pattern + r"\S*", body)
    assert found, body
    return found.group(0)


def test_seats_then_waiting_list_then_promotion(app, client, db_session):
    event = make_event(make_org("service"), capacity=2)
    users = [make_user("broker") for _ in range(4)]
    regs = [services.register_user(event, u) for u in users]
    assert [r.status for r in regs] == [CONFIRMED, CONFIRMED, WAITLISTED, WAITLISTED]
    with pytest.raises(services.NetworkError):
        services.register_user(event, users[0])
    db.session.commit()
    del outbox(app)[:]
    promoted = services.cancel_registration(regs[0])
    assert promoted is regs[2] and regs[2].status == CONFIRMED and regs[3].status == WAITLISTED
    assert outbox(app)[-1]["To"] == users[2].email  # told by notification e-mail
    # Cancelling a waitlisted registration frees nothing.
    assert services.cancel_registration(regs[3]) is None
    # A cancelled person can register again (at the end of the queue).
    again = services.register_user(event, users[0])
    assert again.id == regs[0].id and again.status == WAITLISTED


def test_raising_the_capacity_promotes_the_waiting_list(client, db_session):
    org = make_org("service")
    manager = make_user("broker", org=org)
    event = make_event(org, capacity=1)
    regs = [services.register_user(event, make_user("buyer")) for _ in range(3)]
    assert [r.status for r in regs] == [CONFIRMED, WAITLISTED, WAITLISTED]
    login(client, manager)
    local = event.starts_at.astimezone(ZoneInfo("Europe/Rome"))
    response = client.post(
        f"/events/{event.id}/edit",
        data={
            "organisation_id": org.id,
            "title": event.title,
            "kind": event.kind,
            "starts_at": local.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (local + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
            "mode": "in_person",
            "comune": "093033",
            "capacity": "2",
            "registration_open": "y",
        },
    )
    assert response.status_code == 302
    assert [r.status for r in regs] == [CONFIRMED, CONFIRMED, WAITLISTED]
    assert event.sequence == 1


def test_guest_registration_needs_the_emailed_confirmation(app, client, db_session):
    event = make_event(make_org("public_body"), capacity=1)
    del outbox(app)[:]
    form = {
        "name": "Ospite Uno",
        "email": "Ospite@Example.it",
        "organisation_name": "ACME",
        "privacy": "y",
    }
    response = client.post(f"/events/{event.id}/register", data=form)
    assert response.status_code == 302
    reg = db.session.execute(
        select(Registration).where(Registration.event_id == event.id)
    ).scalar_one()
    assert reg.status == PENDING and reg.email == "ospite@example.it"
    assert services.seat_counts([event.id])[event.id][CONFIRMED] == 0, "no seat before confirming"
    link = link_in(outbox(app)[-1], "/events/registrations/confirm/")
    path = link.split("ponte.test", 1)[1]
    page = client.get(path)
    assert page.status_code == 200 and reg.status == PENDING, "opening the link confirms nothing"
    client.post(path)
    assert reg.status == CONFIRMED
    # The confirmation e-mail carries a cancel link.
    cancel = link_in(outbox(app)[-1], "/events/registrations/cancel/").split("ponte.test", 1)[1]
    # Registering the same address again is refused.
    client.post(f"/events/{event.id}/register", data=form)
    assert (
        db.session.execute(
            select(func.count()).select_from(Registration).where(Registration.event_id == event.id)
        ).scalar_one()
        == 1
    )
    client.post(cancel)
    assert reg.status == CANCELLED


def test_bad_and_expired_tokens(app, client, db_session):
    event = make_event(make_org("service"))
    reg = services.register_guest(event, "Ospite", "ospite2@example.it")
    assert client.get("/events/registrations/confirm/not-a-token").status_code == 404
    token = services.make_token(reg, "confirm")
    # A cancel token does not confirm and vice versa (different salts).
    assert client.get(f"/events/registrations/cancel/{token}").status_code == 404
    from itsdangerous import URLSafeTimedSerializer

    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="event-confirm")
    import time

    real = time.time
    try:
        time.time = lambda: real() - services.CONFIRM_MAX_AGE - 60
        stale = old.dumps({"r": reg.id, "e": reg.email})
    finally:
        time.time = real
    assert services.registration_for_token(stale, "confirm") is None


def test_guest_form_errors_are_shown_next_to_the_fields(client, db_session):
    event = make_event(make_org("service"))
    page = client.post(f"/events/{event.id}/register", data={"name": "", "email": "x"})
    assert page.status_code == 422
    assert 'aria-invalid="true"' in page.text and 'id="email-error"' in page.text


def test_registrations_close_at_the_start_and_for_drafts(client, db_session):
    org = make_org("service")
    draft = make_event(org, status=DRAFT)
    assert client.get(f"/events/{draft.id}").status_code == 404
    past = make_event(org, days=-1)
    with pytest.raises(services.NetworkError):
        services.register_user(past, make_user("buyer"))


def test_attendance_register(client, db_session):
    org = make_org("service")
    manager = make_user("broker", org=org)
    event = make_event(org, capacity=2)
    regs = [services.register_user(event, make_user("buyer")) for _ in range(3)]
    login(client, make_user("broker"))
    assert client.get(f"/events/{event.id}/attendance").status_code == 403
    login(client, manager)
    page = client.get(f"/events/{event.id}/attendance")
    assert page.status_code == 200 and regs[0].name in page.text
    client.post(
        f"/events/{event.id}/attendance", data={"present": [str(regs[0].id), str(regs[2].id)]}
    )
    assert regs[0].attended is True and regs[1].attended is False
    assert regs[2].attended is None, "the waiting list is not in the register"
    csv_text = client.get(f"/events/{event.id}/attendance.csv").text
    assert "present" in csv_text.splitlines()[0] and "yes" in csv_text


def test_ics_of_an_event_parses_back(client, db_session):
    org = make_org("service", name="SIL di prova", email="sil@example.it")
    event = make_event(org, title="Formazione IPS: è ora", description="Riga uno\nRiga due")
    response = client.get(f"/events/{event.id}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    cal = icalendar.Calendar.from_ical(response.data)
    assert cal["VERSION"] == "2.0" and cal["PRODID"]
    [vevent] = cal.walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Formazione IPS: è ora"
    assert vevent.decoded("DTSTART") == event.starts_at
    assert vevent.decoded("DTEND") == event.ends_at
    assert str(vevent["UID"]).startswith(f"event-{event.id}@")
    assert "Riga due" in str(vevent["DESCRIPTION"])
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert str(vevent["URL"]).endswith(f"/events/{event.id}-{event.slug}")
    # Every line is at most 75 octets (RFC 5545 §3.1) and ends with CRLF.
    for line in response.data.split(b"\r\n"):
        assert len(line) <= 75


def test_organisation_feed_lists_its_public_events(client, db_session):
    org = make_org("service")
    other = make_org("service")
    shown = make_event(org, title="Pubblico")
    cancelled = make_event(org, title="Annullato", days=3)
    services.cancel_event(cancelled, make_user("admin"), "")
    make_event(org, title="Bozza", status=DRAFT)
    make_event(other, title="Altrui")
    cal = icalendar.Calendar.from_ical(client.get(f"/events/organisations/{org.id}.ics").data)
    summaries = {str(e["SUMMARY"]): str(e["STATUS"]) for e in cal.walk("VEVENT")}
    assert summaries == {"Pubblico": "CONFIRMED", "Annullato": "CANCELLED"}
    assert shown.id
    assert client.get("/events/organisations/999999.ics").status_code == 404
    feed = icalendar.Calendar.from_ical(client.get("/events/feed.ics").data)
    assert "Pubblico" in {str(e["SUMMARY"]) for e in feed.walk("VEVENT")}


def test_reminders_are_sent_once_to_confirmed_people(app, db_session):
    org = make_org("service")
    soon = make_event(org, capacity=1, days=0, title="Domani")
    soon.starts_at = utcnow() + timedelta(hours=20)
    later = make_event(org, days=5)
    confirmed_user = make_user("buyer")
    services.register_user(soon, confirmed_user)
    waiting = services.register_user(soon, make_user("buyer"))
    guest = services.register_guest(later, "Ospite", "ospite3@example.it")
    assert waiting.status == WAITLISTED and guest.status == PENDING
    del outbox(app)[:]
    assert services.send_event_reminders() == 1
    assert [m["To"] for m in outbox(app)] == [confirmed_user.email]
    assert "Domani" in outbox(app)[0].get_content()
    assert services.send_event_reminders() == 0


def test_remind_command(app, db_session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["network", "remind", "--hours", "1"])
    assert result.exit_code == 0, result.output
    assert "event reminders sent" in result.output


def test_cancelling_an_event_tells_registered_people(app, client, db_session):
    org = make_org("service")
    manager = make_user("broker", org=org)
    event = make_event(org, mode=ONLINE, comune_code=None)
    services.register_guest(event, "Ospite", "ospite4@example.it")
    reg = services.register_user(event, make_user("buyer"))
    login(client, manager)
    del outbox(app)[:]
    client.post(f"/events/{event.id}/cancel", data={"reason": "Maltempo"})
    assert event.status == CANCELLED and event.sequence == 1
    assert [m["To"] for m in outbox(app)] == [reg.email]


def test_member_creates_and_publishes_an_event(client, db_session):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # messages as written
    org = make_org("public_body")
    officer = make_user("public_officer", org=org)
    login(client, officer)
    start = (utcnow() + timedelta(days=9)).strftime("%Y-%m-%dT10:00")
    end = (utcnow() + timedelta(days=9)).strftime("%Y-%m-%dT09:00")
    bad = client.post(
        "/events/new",
        data={
            "organisation_id": org.id,
            "title": "Tavolo",
            "kind": "table_political",
            "starts_at": start,
            "ends_at": end,
            "mode": "hybrid",
        },
    )
    assert bad.status_code == 200
    assert "The end must come after the start." in bad.text
    assert "Give the link to join online." in bad.text
    assert "Choose the municipality where the event takes place." in bad.text
    unchosen = client.post(
        "/events/new", data={"organisation_id": org.id, "title": "Tavolo", "starts_at": start}
    )
    assert unchosen.status_code == 200 and "Choose one of the options." in unchosen.text
    ok = client.post(
        "/events/new",
        data={
            "organisation_id": org.id,
            "title": "Tavolo",
            "kind": "table_political",
            "starts_at": start,
            "ends_at": start[:-5] + "12:00",
            "mode": "hybrid",
            "comune": "Pordenone (PN)",
            "online_url": "https://meet.example.org/t",
            "capacity": "30",
            "registration_open": "y",
        },
    )
    assert ok.status_code == 302
    event = db.session.execute(select(Event).where(Event.organisation_id == org.id)).scalar_one()
    assert event.status == DRAFT and event.comune_code == "093033"
    assert event.starts_at.hour in (8, 9)  # 10:00 in Rome is 8:00 or 9:00 UTC
    client.post(f"/events/{event.id}/publish")
    assert event.status == "published"
    api = client.get(f"/api/v1/events/{event.id}").json
    assert api["seats_left"] == 30 and api["registration_open"] is True
    assert api["ics_url"].endswith(f"/events/{event.id}.ics")


def test_events_api_filters_and_pagination(client, db_session):
    org = make_org("service")
    for n in range(22):
        make_event(org, title=f"Evento {n}", days=n + 1)
    first = client.get(f"/api/v1/events?organisation={org.id}").json
    second = client.get(f"/api/v1/events?organisation={org.id}&page=2").json
    assert first["total"] == 22 and len(first["items"]) == 20 and len(second["items"]) == 2
    assert first["items"][0]["title"] == "Evento 0"  # soonest first
    assert client.get("/api/v1/events?when=tomorrow").status_code == 400
    assert client.get("/api/v1/events?kind=party").status_code == 400


# --- Race: more registrants than seats at once (PostgreSQL, separate connections) -------------


@pytest.mark.slow
@pytest.mark.postgresql_only
def test_concurrent_registrations_never_overbook(app):
    """Twelve people register for five seats at the same moment, each on its own
    connection and transaction: exactly five are confirmed, seven waitlisted."""
    seats, people = 5, 12
    engine = create_engine(
        app.extensions["ponte_db"].engine.url, pool_size=people + 2, max_overflow=0
    )
    marker = f"race-{utcnow().timestamp():.0f}"
    with Session(engine) as setup:
        outbox_start = setup.scalar(select(func.max(SearchOutbox.id))) or 0
        org = Organisation(
            name=f"Org {marker}",
            slug=marker,
            kind="service",
            service_type="sil",
            verified_at=utcnow(),
        )
        setup.add(org)
        setup.flush()
        start = utcnow() + timedelta(days=3)
        event = Event(
            organisation_id=org.id,
            title=marker,
            slug=marker,
            kind="enterprise_meeting",
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            capacity=seats,
            status="published",
            published_at=utcnow(),
        )
        users = [User(email=f"{marker}-{n}@example.it", full_name=f"P {n}") for n in range(people)]
        setup.add_all([event, *users])
        setup.commit()
        event_id, user_ids, org_id = event.id, [u.id for u in users], org.id

    barrier = threading.Barrier(people)
    errors: list[BaseException] = []
    state = app.extensions["ponte_db"]

    def register(user_id: int) -> None:
        try:
            with app.test_request_context(), Session(engine, expire_on_commit=False) as session:
                db.session.registry.set(session)
                try:
                    user = session.get(User, user_id)
                    event = session.get(Event, event_id)
                    barrier.wait(timeout=30)
                    services.register_user(event, user)
                    session.commit()
                finally:
                    db.session.registry.clear()
        except BaseException as error:
            errors.append(error)

    assert state is not None
    threads = [threading.Thread(target=register, args=(uid,)) for uid in user_ids]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        with Session(engine) as check:
            statuses = list(
                check.scalars(select(Registration.status).where(Registration.event_id == event_id))
            )
        assert statuses.count(CONFIRMED) == seats
        assert statuses.count(WAITLISTED) == people - seats
    finally:
        with engine.begin() as conn:
            conn.execute(delete(Registration).where(Registration.event_id == event_id))
            conn.execute(delete(Event).where(Event.id == event_id))
            conn.execute(delete(Membership).where(Membership.user_id.in_(user_ids)))
            conn.execute(delete(User).where(User.id.in_(user_ids)))
            conn.execute(delete(Organisation).where(Organisation.id == org_id))
            conn.execute(delete(SearchOutbox).where(SearchOutbox.id > outbox_start))
        engine.dispose()


def test_the_online_link_goes_only_to_confirmed_people(app, client, db_session):
    org = make_org("service")
    event = make_event(
        org,
        mode=ONLINE,
        comune_code=None,
        capacity=1,
        online_url="https://meet.example.org/segreto",
    )
    assert "segreto" not in client.get(f"/events/{event.id}").text
    assert "segreto" not in client.get(f"/events/{event.id}.ics").text
    api = client.get(f"/api/v1/events/{event.id}").json
    assert api["online"] is True and "segreto" not in str(api)
    del outbox(app)[:]
    reg = services.register_guest(event, "Ospite", "ospite5@example.it")
    assert "segreto" not in outbox(app)[-1].get_content()
    services.confirm_guest(reg)
    assert "segreto" in outbox(app)[-1].get_content()
    user = make_user("buyer")
    login(client, user)
    services.register_user(event, user)  # waitlisted: the seat is taken
    assert "segreto" not in client.get(f"/events/{event.id}").text


@pytest.mark.slow
@pytest.mark.postgresql_only
def test_cancellations_racing_promotions_and_a_confirmation_for_the_last_seat(app):
    """Three seats, all taken (A, B, C); two guests on the waiting list (W1, W2); a guest
    G who has not confirmed yet; a user N not registered. At the same moment, each on
    its own connection: A cancels twice (a double click), B cancels, G confirms, N
    registers. Capacity is never exceeded, W1 and W2 — first in the queue — get the two
    freed seats, each promoted (and told) exactly once; G and N wait."""
    seats = 3
    engine = create_engine(app.extensions["ponte_db"].engine.url, pool_size=8, max_overflow=0)
    marker = f"race2-{utcnow().timestamp():.0f}"
    now = utcnow()
    with Session(engine) as setup:
        outbox_start = setup.scalar(select(func.max(SearchOutbox.id))) or 0
        org = Organisation(
            name=f"Org {marker}", slug=marker, kind="service", service_type="sil",
            verified_at=now,
        )  # fmt: skip
        setup.add(org)
        setup.flush()
        start = now + timedelta(days=3)
        event = Event(
            organisation_id=org.id,
            title=marker,
            slug=marker,
            kind="operator_training",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            capacity=seats,
            status="published",
            published_at=now,
        )
        newcomer = User(email=f"{marker}-n@example.it", full_name="N")
        setup.add_all([event, newcomer])
        setup.flush()
        regs = {}
        for n, (key, status) in enumerate(
            [
                ("A", CONFIRMED),
                ("B", CONFIRMED),
                ("C", CONFIRMED),
                ("W1", WAITLISTED),
                ("W2", WAITLISTED),
                ("G", PENDING),
            ]
        ):
            regs[key] = Registration(
                event_id=event.id,
                name=key,
                email=f"{marker}-{key.lower()}@example.it",
                status=status,
                # In the past: whoever joins the queue during the race comes after them.
                queued_at=now - timedelta(minutes=10, seconds=-n) if status != PENDING else None,
                confirmed_at=now if status == CONFIRMED else None,
            )
        setup.add_all(regs.values())
        setup.commit()
        event_id, org_id, newcomer_id = event.id, org.id, newcomer.id
        ids = {key: reg.id for key, reg in regs.items()}

    actions = [("cancel", ids["A"]), ("cancel", ids["A"]), ("cancel", ids["B"])]
    actions += [("confirm", ids["G"]), ("register", newcomer_id)]
    barrier = threading.Barrier(len(actions))
    errors: list[BaseException] = []
    promoted: list[int] = []
    app.extensions["mail_outbox"] = []

    def act(kind: str, target: int) -> None:
        try:
            with app.test_request_context(), Session(engine, expire_on_commit=False) as session:
                db.session.registry.set(session)
                try:
                    if kind == "register":
                        user, event = session.get(User, target), session.get(Event, event_id)
                    else:
                        reg = session.get(Registration, target)
                    barrier.wait(timeout=30)
                    if kind == "cancel":
                        got = services.cancel_registration(reg)
                        if got is not None:
                            promoted.append(got.id)
                    elif kind == "confirm":
                        services.confirm_guest(reg)
                    else:
                        services.register_user(event, user)
                    session.commit()
                finally:
                    db.session.registry.clear()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=act, args=action) for action in actions]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        with Session(engine) as check:
            rows = check.execute(
                select(Registration.id, Registration.email, Registration.status).where(
                    Registration.event_id == event_id
                )
            ).all()
        status = {email.split("-")[-1].split("@")[0]: s for _id, email, s in rows}
        assert sum(1 for _i, _e, s in rows if s == CONFIRMED) == seats
        assert status == {
            "a": CANCELLED,
            "b": CANCELLED,
            "c": CONFIRMED,
            "w1": CONFIRMED,
            "w2": CONFIRMED,
            "g": WAITLISTED,
            "n": WAITLISTED,
        }
        assert sorted(promoted) == sorted([ids["W1"], ids["W2"]])  # each exactly once
        # The promoted guests are told once each (they get no other e-mail here).
        waiting = {f"{marker}-w1@example.it", f"{marker}-w2@example.it"}
        told = [str(m["To"]) for m in app.extensions["mail_outbox"] if str(m["To"]) in waiting]
        assert sorted(told) == sorted(waiting)
    finally:
        with engine.begin() as conn:
            conn.execute(delete(Registration).where(Registration.event_id == event_id))
            conn.execute(delete(Event).where(Event.id == event_id))
            conn.execute(delete(Membership).where(Membership.user_id == newcomer_id))
            conn.execute(delete(User).where(User.id == newcomer_id))
            conn.execute(delete(Organisation).where(Organisation.id == org_id))
            conn.execute(delete(SearchOutbox).where(SearchOutbox.id > outbox_start))
        engine.dispose()
