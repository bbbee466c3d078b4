"""Event times in iCalendar and in the event form: Italian wall-clock times with their
time zone, one UID per event whatever host serves it, and the nights the clocks change."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest
from sqlalchemy import select

from portal import db
from portal.network.models import Event
from tests.conftest import login
from tests.factories import make_org, make_user
from tests.portal.test_network_support import make_event


def test_an_event_keeps_one_uid_whichever_host_serves_it(app, client, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "PONTE_CANONICAL_HOST", "ponte.regione.example.it")
    event = make_event(make_org("service"))
    uids = set()
    for host in ("http://127.0.0.1", "http://ponte.example.it", "http://ponte.test"):
        response = client.get(f"/events/{event.id}.ics", base_url=host)
        assert response.status_code == 200, host
        [vevent] = icalendar.Calendar.from_ical(response.data).walk("VEVENT")
        uids.add(str(vevent["UID"]))
    assert uids == {f"event-{event.id}@ponte.regione.example.it"}


def test_times_are_in_europe_rome_with_a_vtimezone(client, db_session):
    event = make_event(make_org("service"))
    response = client.get(f"/events/{event.id}.ics")
    cal = icalendar.Calendar.from_ical(response.data)
    [zone] = cal.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "Europe/Rome"
    [vevent] = cal.walk("VEVENT")
    assert vevent["DTSTART"].params["TZID"] == "Europe/Rome"
    assert vevent.decoded("DTSTART") == event.starts_at  # the same instant


@pytest.fixture
def organiser(client, db_session):
    org = make_org("public_body")
    login(client, make_user("public_officer", org=org))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return org


def event_post(org, starts: str, ends: str, **extra: str) -> dict[str, object]:
    return {
        "organisation_id": org.id,
        "title": "Tavolo di rete",
        "kind": "table_political",
        "starts_at": starts,
        "ends_at": ends,
        "mode": "in_person",
        "comune": "Pordenone (PN)",
        **extra,
    }


def test_a_time_that_does_not_exist_is_refused(client, organiser):
    response = client.post(
        "/events/new", data=event_post(organiser, "2027-03-28T02:30", "2027-03-28T04:00")
    )
    assert response.status_code == 200
    assert "This time does not exist in Italy" in response.get_data(as_text=True)
    assert db.session.scalar(select(Event).where(Event.organisation_id == organiser.id)) is None


def test_a_time_that_happens_twice_is_asked_about_then_saved_as_chosen(client, organiser):
    data = event_post(organiser, "2027-10-31T02:30", "2027-10-31T04:00")
    asked = client.post("/events/new", data=data)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "this time happens twice" in page and 'name="starts_at_clock"' in page
    assert db.session.scalar(select(Event).where(Event.organisation_id == organiser.id)) is None

    saved = client.post("/events/new", data={**data, "starts_at_clock": "winter"})
    assert saved.status_code == 302
    event = db.session.scalar(select(Event).where(Event.organisation_id == organiser.id))
    assert event.starts_at == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)  # 02:30 CET


def test_the_first_of_the_two_times_is_summer_time(client, organiser):
    data = event_post(organiser, "2027-10-31T02:30", "2027-10-31T04:00", starts_at_clock="summer")
    assert client.post("/events/new", data=data).status_code == 302
    event = db.session.scalar(select(Event).where(Event.organisation_id == organiser.id))
    assert event.starts_at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30 CEST
