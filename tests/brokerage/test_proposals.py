"""Proposals: broker proposes, employer answers in the inbox, broker is told."""

from __future__ import annotations

from datetime import timedelta

import pytest

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


def test_employer_interview_hire_notifies_broker(client, setting):  # noqa: F811
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
    messages = [n.message for n in db.session.query(Notification).filter_by(user_id=broker.id)]
    assert len(messages) == 3 and any(candidate.pseudonym in m for m in messages)


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
