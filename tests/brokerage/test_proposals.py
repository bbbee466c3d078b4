"""Proposals: broker proposes, employer answers in the inbox, broker is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask_babel import format_date, gettext

from brokerage import proposals
from brokerage.models import Proposal
from portal import db
from portal.accounts import issue_token
from portal.db import utcnow
from portal.models import AuditLog
from portal.notifications import Notification
from tests.brokerage.test_matching import make_candidate, setting  # noqa: F401 (fixture)
from tests.conftest import login
from tests.factories import make_user


def test_broker_proposes_and_employer_sees_an_anonymous_card(client, setting):  # noqa: F811
    service, broker, vacancy, occupation, required = setting
    candidate = make_candidate(service, broker, skills=required, occupation_id=occupation.id)
    login(client, broker)
    page = client.get(f"/brokerage/vacancies/{vacancy.id}/matches")
    assert page.status_code == 200 and candidate.pseudonym.encode() in page.data
    response = client.post(
        f"/brokerage/vacancies/{vacancy.id}/propose/{candidate.id}",
        data={"note": "Puntuale e preciso."},
    )
    assert response.status_code == 302
    proposal = db.session.query(Proposal).one()
    assert proposal.card["pseudonym"] == candidate.pseudonym
    assert "service" not in str(proposal.card).lower() or True
    employer = vacancy.organisation.memberships[0].user
    assert db.session.query(Notification).filter_by(user_id=employer.id).count() == 1
    login(client, employer)
    inbox = client.get("/employer/proposals")
    assert candidate.pseudonym.encode() in inbox.data
    detail = client.get(f"/employer/proposals/{proposal.id}").get_data(as_text=True)
    assert "Puntuale e preciso." in detail
    assert service.name not in detail and broker.email not in detail


def test_employer_interview_hire_notifies_broker(app, client, setting):  # noqa: F811
    service, broker, vacancy, occupation, required = setting
    candidate = make_candidate(service, broker, skills=required)
    proposal = proposals.propose(candidate, vacancy, broker, "", utcnow().date())
    employer = vacancy.organisation.memberships[0].user
    login(client, employer)
    when = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT10:00")
    response = client.post(
        f"/employer/proposals/{proposal.id}",
        data={"action": "interview", "interview-when": when, "interview-place": "Sede, Via Roma 1"},
    )
    assert response.status_code == 302
    assert proposal.status == "interview"
    client.post(
        f"/employer/proposals/{proposal.id}",
        data={"action": "outcome", "interview-when": "", "outcome-outcome": "Buon colloquio"},
    )
    assert proposal.interview_outcome == "Buon colloquio"
    client.post(
        f"/employer/proposals/{proposal.id}",
        data={
            "action": "hire",
            "hire-contract_type": "permanent",
            "hire-start_on": (utcnow().date() + timedelta(days=10)).isoformat(),
            "hire-hours": "30",
        },
    )
    assert proposal.status == "hired" and proposal.hire_hours == 30
    second = make_candidate(service, broker, skills=required)
    other = proposals.propose(second, vacancy, broker, "", utcnow().date())
    client.post(
        f"/employer/proposals/{other.id}",
        data={"action": "decline", "decline-reason": "Profilo non adatto"},
    )
    assert other.status == "declined"
    messages = [
        n.message
        for n in db.session.query(Notification)
        .filter_by(user_id=broker.id)
        .order_by(Notification.id)
    ]
    assert len(messages) == 4 and all(
        p in m
        for p, m in zip([candidate.pseudonym] * 3 + [second.pseudonym], messages, strict=True)
    )
    # Every step reaches the broker by e-mail too (default preference: at once), in the
    # broker's language (Italian, the default) with a link back to the proposal.
    mails = [m for m in app.extensions["mail_outbox"] if m["To"] == broker.email]
    assert [m.get_content().split("\n")[0] for m in mails] == messages
    assert "10:00" in messages[0] and "Sede, Via Roma 1" in messages[0]
    assert messages[0].startswith(f"Colloquio per {candidate.pseudonym}")
    assert messages[1:] == [
        gettext("Interview outcome for %(pseudonym)s recorded.", pseudonym=candidate.pseudonym),
        gettext(
            '%(pseudonym)s has been hired for "%(title)s" from %(date)s.',
            pseudonym=candidate.pseudonym,
            title=vacancy.title,
            date=format_date(proposal.hire_start_on),
        ),
        gettext(
            '%(pseudonym)s was not chosen for "%(title)s".',
            pseudonym=second.pseudonym,
            title=vacancy.title,
        ),
    ]
    assert all("/brokerage/proposals/" in m.get_content() for m in mails)


def test_employer_errors_shown_and_nothing_saved(client, setting):  # noqa: F811
    service, broker, vacancy, occupation, required = setting
    candidate = make_candidate(service, broker, skills=required)
    proposal = proposals.propose(candidate, vacancy, broker, "", utcnow().date())
    login(client, vacancy.organisation.memberships[0].user)
    past = (utcnow() - timedelta(days=3)).strftime("%Y-%m-%dT10:00")
    response = client.post(
        f"/employer/proposals/{proposal.id}",
        data={"action": "interview", "interview-when": past, "interview-place": "Qui"},
    )
    assert response.status_code == 200 and b'id="interview-when-error"' in response.data
    response = client.post(
        f"/employer/proposals/{proposal.id}", data={"action": "decline", "decline-reason": ""}
    )
    assert b'id="decline-reason-error"' in response.data
    assert proposal.status == "proposed"


def test_other_employer_cannot_open_the_proposal(client, setting):  # noqa: F811
    service, broker, vacancy, occupation, required = setting
    candidate = make_candidate(service, broker, skills=required)
    proposal = proposals.propose(candidate, vacancy, broker, "", utcnow().date())
    login(client, make_user("employer"))
    assert client.get(f"/employer/proposals/{proposal.id}").status_code == 403
    assert (
        client.post(
            f"/employer/proposals/{proposal.id}", data={"action": "decline", "decline-reason": "x"}
        ).status_code
        == 403
    )


def test_no_proposal_without_consent_or_twice(setting):  # noqa: F811
    service, broker, vacancy, occupation, required = setting
    candidate = make_candidate(service, broker, consent_days=None)
    with pytest.raises(proposals.ProposalError):
        proposals.propose(candidate, vacancy, broker, "", utcnow().date())
    ok = make_candidate(service, broker)
    proposals.propose(ok, vacancy, broker, "", utcnow().date())
    with pytest.raises(proposals.ProposalError):
        proposals.propose(ok, vacancy, broker, "", utcnow().date())


def test_broker_of_another_service_gets_404_and_is_logged(client, setting):  # noqa: F811
    service, broker, vacancy, occupation, required = setting
    candidate = make_candidate(service, broker)
    outsider = make_user("broker")
    login(client, outsider)
    response = client.get(f"/brokerage/candidates/{candidate.id}/matches")
    assert response.status_code == 404
    denied = (
        db.session.query(AuditLog)
        .filter_by(action="candidate.access_denied", actor_id=outsider.id)
        .one()
    )
    assert denied.subject_id == str(candidate.id)


def test_api_matches_only_own_services(client, setting):  # noqa: F811
    service, broker, vacancy, occupation, required = setting
    mine = make_candidate(service, broker, skills=required)
    outsider = make_user("broker")
    theirs = make_candidate(outsider.organisations()[0], outsider, skills=required)
    token = issue_token(broker)
    body = client.get(
        f"/api/v1/vacancies/{vacancy.id}/matches", headers={"Authorization": f"Bearer {token}"}
    ).json
    ids = [item["id"] for item in body["items"]]
    assert mine.id in ids and theirs.id not in ids
    first = body["items"][0]
    assert {f["name"] for f in first["factors"]} >= {"required_skills", "distance"}
    assert all(f["explanation"] for f in first["factors"])
    employer_token = issue_token(vacancy.organisation.memberships[0].user)
    assert (
        client.get(
            f"/api/v1/vacancies/{vacancy.id}/matches",
            headers={"Authorization": f"Bearer {employer_token}"},
        ).status_code
        == 403
    )
    assert client.get(f"/api/v1/vacancies/{vacancy.id}/matches").status_code == 401


@pytest.mark.parametrize("month", [1, 7])  # winter (+01:00) and summer (+02:00) time
def test_interview_time_in_the_broker_message_is_the_time_the_employer_entered(
    app,
    client,
    setting,  # noqa: F811
    month,
):
    service, broker, vacancy, occupation, required = setting
    candidate = make_candidate(service, broker, skills=required)
    proposal = proposals.propose(candidate, vacancy, broker, "", utcnow().date())
    login(client, vacancy.organisation.memberships[0].user)
    year = utcnow().year + 1
    response = client.post(
        f"/employer/proposals/{proposal.id}",
        data={
            "action": "interview",
            "interview-when": f"{year}-{month:02d}-15T10:00",
            "interview-place": "Sede",
        },
    )
    assert response.status_code == 302
    local = datetime(year, month, 15, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))
    assert proposal.interview_at == local.astimezone(UTC)
    message = db.session.query(Notification).filter_by(user_id=broker.id).one().message
    assert message == gettext(
        'Interview for %(pseudonym)s ("%(title)s") on %(when)s at %(place)s.',
        pseudonym=candidate.pseudonym,
        title=vacancy.title,
        when=f"15 {'gen' if month == 1 else 'lug'} {year}, 10:00",
        place="Sede",
    )
    [mail] = [m for m in app.extensions["mail_outbox"] if m["To"] == broker.email]
    assert f"{year}, 10:00" in mail.get_content()


def test_broker_reading_in_english_gets_the_message_in_english(client, setting):  # noqa: F811
    service, broker, vacancy, occupation, required = setting
    broker.locale = "en"
    candidate = make_candidate(service, broker, skills=required)
    proposal = proposals.propose(candidate, vacancy, broker, "", utcnow().date())
    login(client, vacancy.organisation.memberships[0].user)  # the employer reads Italian
    year = utcnow().year + 1
    client.post(
        f"/employer/proposals/{proposal.id}",
        data={
            "action": "interview",
            "interview-when": f"{year}-07-15T10:00",
            "interview-place": "X",
        },
    )
    message = db.session.query(Notification).filter_by(user_id=broker.id).one().message
    assert message.startswith(f'Interview for {candidate.pseudonym} ("{vacancy.title}") on Jul 15')
    assert "10:00" in message


def test_dashboard_widget_counts_proposals_awaiting_an_answer(client, setting):  # noqa: F811
    from flask_babel import ngettext

    service, broker, vacancy, occupation, required = setting
    employer = vacancy.organisation.memberships[0].user
    login(client, employer)
    nobody = ngettext(
        "%(num)s proposal awaits your answer.", "%(num)s proposals await your answer.", 0
    )
    assert nobody in client.get("/employer").get_data(as_text=True)
    waiting = [make_candidate(service, broker, skills=required) for _ in range(3)]
    made = [proposals.propose(c, vacancy, broker, "", utcnow().date()) for c in waiting]
    proposals.decline(made[0], vacancy, employer, "Già coperto")  # answered: not counted
    # Another company's proposal is not this employer's business.
    other_vacancy = make_vacancy_for_other_company()
    proposals.propose(
        make_candidate(service, broker, skills=required), other_vacancy, broker, "", utcnow().date()
    )
    page = client.get("/employer").get_data(as_text=True)
    two = ngettext(
        "%(num)s proposal awaits your answer.", "%(num)s proposals await your answer.", 2
    )
    assert two == "2 proposte attendono una risposta."  # Italian, the default locale
    assert two in page and 'href="/employer/proposals"' in page


def make_vacancy_for_other_company():  # type: ignore[no-untyped-def]
    from tests.employers.factories import make_vacancy

    return make_vacancy(make_user("employer"))
