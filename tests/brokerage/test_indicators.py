"""Indicators: hand-counted pathways, baseline, small-cell suppression, exports."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook

from brokerage import indicators
from brokerage.models import PathwayStage, SensitiveRecord
from portal import db
from portal.db import utcnow
from portal.models import AuditLog
from tests.brokerage.test_matching import make_candidate
from tests.conftest import login
from tests.factories import make_org, make_user

YEAR = utcnow().date().year - 1


def stage(candidate, service, name, on, **details):
    db.session.add(
        PathwayStage(
            candidate_id=candidate.id,
            stage=name,
            started_on=on,
            service_id=service.id,
            details=details,
        )
    )


@pytest.fixture
def network(db_session):
    service = make_org("service", service_type="sil")
    broker = make_user("broker", org=service)
    coop = make_org("cooperative_b")
    company = make_org("company")
    people = []
    for n in range(6):
        c = make_candidate(service, broker)
        stage(c, service, "referral", date(YEAR, 1, 10))
        if n < 5:  # five placed: 3 in a company, 2 in a cooperative
            stage(c, service, "work_experience", date(YEAR, 2, 1), kind="observation_lab")
            stage(
                c,
                service,
                "hiring",
                date(YEAR, 3, 1) + timedelta(days=n),
                employer_org_id=(coop if n < 2 else company).id,
                contract_type="permanent",
                hours=30,
            )
        people.append(c)
    db.session.add(SensitiveRecord(candidate_id=people[0].id, target_group="poverty"))
    db.session.flush()
    return service, broker, people


def test_counts_by_hand(network):
    service, broker, people = network
    cells = indicators.compute(indicators.Scope(year=YEAR), utcnow().date())
    assert cells["people_placed"].value == 5
    assert cells["placements"].value == 10  # 5 labs + 5 hirings
    assert cells["placements_inclusion"].value == 5
    assert cells["placements_sheltered"].value == 2
    assert cells["people_with_pathway"].value == 6
    assert cells["days_to_first_job"].value == 50 + 2  # median of 50..54 days
    assert (
        indicators.compute(indicators.Scope(year=YEAR - 1), utcnow().date())["placements"].value
        == 0
    )


def test_small_cells_suppressed_outside_the_service(network):
    service, broker, people = network
    officer = make_user("public_officer")
    network_wide = indicators.report(
        indicators.Scope(year=YEAR), None, utcnow().date(), officer, set()
    )
    assert network_wide.values["people_placed"].value == 5  # five people: shown
    assert network_wide.values["placements_sheltered"].suppressed  # two people: hidden
    own = indicators.report(
        indicators.Scope(year=YEAR, service_ids={service.id}),
        None,
        utcnow().date(),
        broker,
        {service.id},
    )
    assert own.values["placements_sheltered"].value == 2


def test_target_group_statistics_are_audited(network):
    service, broker, people = network
    rep = indicators.report(
        indicators.Scope(year=YEAR, target_group="poverty"),
        None,
        utcnow().date(),
        broker,
        {service.id},
    )
    assert rep.values["people_with_pathway"].suppressed  # one person, network-wide
    assert db.session.query(AuditLog).filter_by(action="indicators.target_group").count() == 1


def test_page_and_exports(client, network):
    service, broker, people = network
    login(client, broker)
    page = client.get(f"/network/indicators?year={YEAR}&baseline={YEAR - 1}&service=own")
    assert page.status_code == 200 and b"<svg" in page.data
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/network/indicators.csv?year={YEAR}&service=all").get_data(
                    as_text=True
                )
            )
        )
    )
    by_label = {r[0]: r[1] for r in rows[1:]}
    assert by_label[str(indicators.INDICATORS["people_placed"])] == "5"
    assert by_label[str(indicators.INDICATORS["placements_sheltered"])] == "<5"
    book = load_workbook(
        io.BytesIO(client.get(f"/network/indicators.xlsx?year={YEAR}&service=all").data)
    )
    assert book.active.max_row == len(rows)
    login(client, make_user("employer"))
    assert client.get("/network/indicators").status_code == 403
