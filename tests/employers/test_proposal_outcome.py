"""The employer's proposal page keeps what was decided: the hire's terms, or why not."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import format_date

from brokerage import proposals
from portal.db import utcnow
from tests.brokerage.test_matching import make_candidate, setting  # noqa: F401 (fixture)
from tests.conftest import login


def test_the_hire_and_the_decline_reason_stay_on_the_page(client, setting):  # noqa: F811
    service, broker, vacancy, _occupation, required = setting
    hired = proposals.propose(
        make_candidate(service, broker, skills=required), vacancy, broker, "", utcnow().date()
    )
    declined = proposals.propose(
        make_candidate(service, broker, skills=required), vacancy, broker, "", utcnow().date()
    )
    login(client, vacancy.organisation.memberships[0].user)
    start = utcnow().date() + timedelta(days=10)
    response = client.post(
        f"/employer/proposals/{hired.id}?lang=en",
        data={
            "action": "hire",
            "hire-contract_type": "apprenticeship",
            "hire-start_on": start.isoformat(),
            "hire-hours": "32",
        },
    )
    assert response.status_code == 302 and hired.status == "hired"
    html = client.get(f"/employer/proposals/{hired.id}").get_data(as_text=True)
    summary = html[html.index('id="hired-title"') :].split("</section>")[0]
    assert ">Hired</h2>" in summary
    assert "Apprenticeship" in summary and "32" in summary
    with client.application.test_request_context("/?lang=en"):
        assert format_date(start) in summary
    assert 'action" value="hire"' not in html  # the forms are gone

    client.post(
        f"/employer/proposals/{declined.id}",
        data={"action": "decline", "decline-reason": "Profilo non adatto"},
    )
    html = client.get(f"/employer/proposals/{declined.id}").get_data(as_text=True)
    summary = html[html.index('id="declined-title"') :].split("</section>")[0]
    assert "Declined" in summary and "Profilo non adatto" in summary
    assert 'id="hired-title"' not in html
