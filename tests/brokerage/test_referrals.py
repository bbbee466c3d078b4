"""Applying through the network: desks for a vacancy, the request form, the desk's inbox,
the acknowledgement e-mail and a truthful schema.org directApply."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from brokerage import referrals
from brokerage.models import ReferralRequest, ServiceDesk
from portal import db
from portal.models import SERVICE
from portal.notifications import Notification
from tests.conftest import login
from tests.employers.factories import make_vacancy
from tests.factories import make_org, make_user


def desk(org, **fields):  # type: ignore[no-untyped-def]
    values = {
        "address": "Via Roma 1, Pordenone",
        "opening_hours": "lunedì 9–12",
        "phone": "0434 000000",
        "email": "sil@example.it",
    }
    values.update(fields)
    row = ServiceDesk(organisation_id=org.id, **values)
    db.session.add(row)
    db.session.flush()
    return row


def json_ld(html: str) -> dict:
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert found
    return json.loads(found.group(1))


def test_desks_of_the_province_first_and_never_health_services(app, db_session):
    vacancy = make_vacancy(make_user("employer"), comune_code="093033")  # Pordenone
    sil = make_org(SERVICE, service_type="sil", comune_code="093033")
    dsm = make_org(SERVICE, service_type="dsm", comune_code="093033")
    far = make_org(SERVICE, service_type="job_centre", comune_code="108033")  # Monza
    closed = make_org(SERVICE, service_type="job_centre", comune_code="093033")
    for org in (sil, dsm, far):
        desk(org)
    desk(closed, accepts_candidacies=False)

    assert [d.organisation.id for d in referrals.desks_for(vacancy)] == [sil.id]

    # No desk in the province: the nearest ones, with their distance.
    elsewhere = make_vacancy(make_user("employer"), comune_code="001272")  # Torino
    nearest = referrals.desks_for(elsewhere)
    assert [d.organisation.id for d in nearest][:2] == [far.id, sil.id]
    assert all(d.distance_km and d.distance_km > 50 for d in nearest)


def test_a_person_applies_and_the_desk_receives_it(app, client, db_session):
    employer = make_user("employer")
    vacancy = make_vacancy(employer, title="Magazziniere")
    sil = make_org(SERVICE, service_type="sil", name="SIL di prova")
    desk(sil)
    broker = make_user("broker", org=sil, locale="en")
    outbox = app.extensions.setdefault("mail_outbox", [])
    outbox.clear()

    page = client.get(f"/vacancies/{vacancy.id}")
    assert "/apply" in page.text
    assert json_ld(page.text)["directApply"] is True

    form = client.get(f"/vacancies/{vacancy.id}/apply")
    assert form.status_code == 200
    assert "Via Roma 1, Pordenone" in form.text and "lunedì 9–12" in form.text

    # The consent to be contacted is required; nothing is written without it.
    refused = client.post(
        f"/vacancies/{vacancy.id}/apply",
        data={"desk": sil.id, "full_name": "Anna Rossi", "email": "anna@example.it"},
    )
    assert refused.status_code == 200
    assert 'id="consent-error"' in refused.text
    assert db.session.execute(select(ReferralRequest)).first() is None

    sent = client.post(
        f"/vacancies/{vacancy.id}/apply",
        data={
            "desk": sil.id,
            "full_name": "Anna Rossi",
            "email": "anna@example.it",
            "phone": "333 1234567",
            "consent": "y",
        },
    )
    assert sent.status_code == 302
    request = db.session.execute(select(ReferralRequest)).scalar_one()
    assert (request.full_name, request.service_id, request.status) == ("Anna Rossi", sil.id, "new")
    assert request.consent_at is not None
    # The broker of the service is told, in the broker's language; the person gets an e-mail.
    note = db.session.execute(
        select(Notification).where(Notification.user_id == broker.id)
    ).scalar_one()
    assert "Magazziniere" in note.message and note.message.startswith("New request")
    ack = [m for m in outbox if m["To"] == "anna@example.it"]
    assert len(ack) == 1 and "SIL di prova" in ack[0].get_content()

    login(client, broker)
    inbox = client.get("/brokerage/referrals")
    assert "Anna Rossi" in inbox.text and "anna@example.it" in inbox.text
    client.post(f"/brokerage/referrals/{request.id}/status", data={"status": "contacted"})
    assert db.session.get(ReferralRequest, request.id).status == "contacted"

    # Another service's broker neither sees it nor changes it.
    other = make_user("broker", org=make_org(SERVICE))
    login(client, other)
    assert "Anna Rossi" not in client.get("/brokerage/referrals").text
    assert (
        client.post(
            f"/brokerage/referrals/{request.id}/status", data={"status": "closed"}
        ).status_code
        == 404
    )


def test_no_desk_no_form_and_direct_apply_false(app, client, db_session):
    vacancy = make_vacancy(make_user("employer"), comune_code="093033")
    db.session.execute(ServiceDesk.__table__.update().values(accepts_candidacies=False))
    page = client.get(f"/vacancies/{vacancy.id}")
    assert json_ld(page.text)["directApply"] is False
    assert f"/vacancies/{vacancy.id}/apply" not in page.text
    form = client.get(f"/vacancies/{vacancy.id}/apply")
    assert '<form method="post"' not in form.text


def test_unpublished_vacancy_has_no_apply_page(app, client, db_session):
    vacancy = make_vacancy(make_user("employer"), publish=False)
    assert client.get(f"/vacancies/{vacancy.id}/apply").status_code == 404


def test_a_broker_of_a_sil_keeps_the_desk_details(app, client, db_session):
    sil = make_org(SERVICE, service_type="sil", address="Via Mazzini 3", phone="0434 1")
    broker = make_user("broker", org=sil)
    login(client, broker)
    form = client.get("/brokerage/desk")
    assert 'value="Via Mazzini 3"' in form.text
    missing = client.post("/brokerage/desk", data={"address": "Via Mazzini 3", "phone": "0434 1"})
    assert 'id="opening_hours-error"' in missing.text
    assert db.session.get(ServiceDesk, sil.id) is None
    saved = client.post(
        "/brokerage/desk",
        data={
            "accepts_candidacies": "y",
            "address": "Via Mazzini 3",
            "opening_hours": "martedì 9–13",
            "phone": "0434 1",
        },
    )
    assert saved.status_code == 302
    assert db.session.get(ServiceDesk, sil.id).opening_hours == "martedì 9–13"
    # A broker of a health service has no public desk for candidacies.
    login(client, make_user("broker", org=make_org(SERVICE, service_type="dsm")))
    assert client.get("/brokerage/desk").status_code == 404


def test_the_same_person_asks_once_per_vacancy(app, client, db_session):
    vacancy = make_vacancy(make_user("employer"))
    sil = make_org(SERVICE, service_type="sil")
    desk(sil)
    data = {"desk": sil.id, "full_name": "Anna Rossi", "email": "anna@example.it", "consent": "y"}
    assert client.post(f"/vacancies/{vacancy.id}/apply", data=data).status_code == 302
    again = client.post(f"/vacancies/{vacancy.id}/apply", data={**data, "email": "ANNA@example.it"})
    assert again.status_code == 200 and 'id="email-error"' in again.text
    assert len(db.session.execute(select(ReferralRequest)).all()) == 1
