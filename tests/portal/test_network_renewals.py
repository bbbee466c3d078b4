"""Agreements: renewal reminders to the parties, once per end date."""

from __future__ import annotations

from datetime import timedelta

from portal.db import utcnow
from portal.network import services
from tests.conftest import login
from tests.factories import make_org, make_user
from tests.portal.test_network_support import make_agreement, outbox


def test_renewal_reminders_reach_every_party_once(app, db_session):
    today = utcnow().date()
    body = make_org("public_body")
    coop = make_org("cooperative_b")
    officer = make_user("public_officer", org=body)
    worker = make_user("cooperative", org=coop)
    ending = make_agreement(body, title="In scadenza", ends_on=today + timedelta(days=20))
    services.set_parties(ending, [coop.id], ["Ente esterno"])
    make_agreement(body, title="Lontana", ends_on=today + timedelta(days=200))
    make_agreement(body, title="Bozza", ends_on=today + timedelta(days=5), status="draft")
    del outbox(app)[:]
    assert services.send_renewal_reminders(today) == 1
    assert sorted(m["To"] for m in outbox(app)) == sorted([officer.email, worker.email])
    assert services.send_renewal_reminders(today) == 0


def test_changing_the_end_date_rearms_the_reminder(client, db_session):
    today = utcnow().date()
    body = make_org("public_body")
    officer = make_user("public_officer", org=body)
    agreement = make_agreement(body, ends_on=today + timedelta(days=10))
    services.send_renewal_reminders(today)
    assert agreement.renewal_reminded_at is not None
    login(client, officer)
    response = client.post(
        f"/agreements/{agreement.id}/edit",
        data={
            "organisation_id": body.id,
            "title": agreement.title,
            "kind": "protocol",
            "starts_on": agreement.starts_on.isoformat(),
            "ends_on": (today + timedelta(days=730)).isoformat(),
            "renewal_notice_days": "60",
            "status": "active",
        },
    )
    assert response.status_code == 302
    assert agreement.renewal_reminded_at is None
    assert agreement.state(today) == "active"
    assert agreement.state(today + timedelta(days=800)) == "expired"


def test_member_records_an_agreement_with_parties(client, db_session):
    body = make_org("public_body")
    coop = make_org("cooperative_b", name="Coop Partner")
    officer = make_user("public_officer", org=body)
    login(client, officer)
    response = client.post(
        "/agreements/new",
        data={
            "organisation_id": body.id,
            "title": "Convenzione verde",
            "kind": "l381_art5",
            "party_ids": [str(coop.id)],
            "other_parties": "Regione\n\n",
            "renewal_notice_days": "30",
            "status": "active",
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert "Coop Partner" in page.text and "Regione" in page.text
    login(client, make_user("public_officer"))
    assert client.get(response.headers["Location"] + "/edit").status_code == 403
