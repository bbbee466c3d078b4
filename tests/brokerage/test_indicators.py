"""Indicators: hand-counted pathways, baseline, small-cell suppression, exports."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from flask_babel import gettext
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


# --- IPS measures and breakdowns, counted by hand -----------------------------------------


def test_days_from_referral_to_first_employer_contact(network):
    from datetime import datetime

    from tests.brokerage.factories import make_proposal
    from tests.employers.factories import make_vacancy

    service, broker, people = network
    employer = make_user("employer")
    vacancies = [make_vacancy(employer) for _ in range(3)]
    # Referrals on 10 January. First contacts: 15, 30 and 10 days later; person 2 is
    # proposed again later (only the first contact counts); person 3 only next year.
    contacts = [
        (0, 0, datetime(YEAR, 1, 25, 9)),
        (1, 0, datetime(YEAR, 2, 9, 9)),
        (2, 0, datetime(YEAR, 1, 20, 9)),
        (2, 1, datetime(YEAR, 6, 1, 9)),
        (3, 2, datetime(YEAR + 1, 1, 5, 9)),
    ]
    for person, vacancy, at in contacts:
        make_proposal(people[person], vacancies[vacancy], broker, first_contact_at=at)
    cells = indicators.compute(indicators.Scope(year=YEAR), utcnow().date())
    assert cells["days_to_first_contact"].value == 15.0  # median of 10, 15, 30
    assert cells["days_to_first_contact"].people == 3


def test_job_tenure(network):
    service, broker, people = network
    # Hired on 1, 2, 3, 4, 5 March; the first leaves on 1 May (61 days); the others are
    # still employed at the year's end.
    stage(people[0], service, "closed", date(YEAR, 5, 1), reason="other")
    db.session.flush()
    cells = indicators.compute(indicators.Scope(year=YEAR), utcnow().date())
    # Tenures: 61 and, to 31 December, 304 (2 Mar), 303, 302, 301 days: median 302.
    assert cells["job_tenure_days"].value == 302.0
    assert cells["job_tenure_days"].people == 5


def test_caseload_per_broker(network):
    from tests.brokerage.factories import make_candidate as new_case

    service, broker, people = network
    colleague = make_user("broker", org=service)
    other_service = make_org("service", service_type="dsm")
    stranger = make_user("broker", org=other_service)
    for _ in range(2):
        new_case(service, colleague)
    new_case(other_service, stranger)
    people[5].holdings[0].until = date(YEAR, 6, 1)  # a case no longer open
    db.session.flush()
    assert dict(indicators.caseload_per_broker({service.id})) == {
        broker.full_name: 5,
        colleague.full_name: 2,
    }
    assert dict(indicators.caseload_per_broker(None)) == {
        broker.full_name: 5,
        colleague.full_name: 2,
        stranger.full_name: 1,
    }


def placed_elsewhere(service, broker, comune, count):
    """``count`` people living in ``comune``, referred and hired in YEAR."""
    company = make_org("company")
    for n in range(count):
        c = make_candidate(service, broker, comune=comune)
        stage(c, service, "referral", date(YEAR, 1, 10))
        stage(
            c,
            service,
            "hiring",
            date(YEAR, 4, 1) + timedelta(days=n),
            employer_org_id=company.id,
            contract_type="permanent",
            hours=20,
        )
    db.session.flush()


UDINE = "030129"


def test_breakdowns_by_territory_and_service_with_complementary_suppression(network):
    service, broker, people = network
    # Two more people placed, living in the province of Udine, followed by a DSM.
    dsm = make_org("service", service_type="dsm", name="DSM di prova")
    dsm_broker = make_user("broker", org=dsm)
    placed_elsewhere(dsm, dsm_broker, UDINE, 2)
    officer = make_user("public_officer")
    rep = indicators.report(indicators.Scope(year=YEAR), None, utcnow().date(), officer, set())
    assert rep.values["people_placed"].value == 7  # 5 + 2: shown, a total
    provinces = dict(rep.by_province)
    assert set(provinces) == {"PN", "UD"}
    # Udine rests on 2 people: suppressed; Pordenone (5 people) would give it away as
    # 7 - 5, so it is withheld too (complementary suppression); the total stays.
    assert provinces["UD"]["people_placed"].suppressed
    assert not provinces["UD"]["people_placed"].withheld
    assert provinces["PN"]["people_placed"].withheld
    assert provinces["PN"]["people_placed"].value is None
    # Each part computed by hand before suppression:
    unsuppressed = {
        p: indicators.compute(indicators.Scope(year=YEAR, province=p), utcnow().date())
        for p in ("PN", "UD")
    }
    assert unsuppressed["PN"]["people_placed"].value == 5
    assert unsuppressed["PN"]["placements"].value == 10
    assert unsuppressed["PN"]["people_with_pathway"].value == 6
    assert unsuppressed["UD"]["people_placed"].value == 2
    assert unsuppressed["UD"]["placements"].value == 2
    services = dict(rep.by_service)
    assert services["DSM di prova"]["people_placed"].suppressed
    assert services[service.name]["people_placed"].withheld
    # People with a pathway: 6 in PN, 2 in UD, total 8: the same protection.
    assert provinces["PN"]["people_with_pathway"].withheld
    # The broker of the SIL knows its own figures: they cannot be withheld from them,
    # so the network total is withheld instead (else 7 - 5 = the DSM's 2).
    mine = indicators.report(
        indicators.Scope(year=YEAR), None, utcnow().date(), broker, {service.id}
    )
    own_cells = dict(mine.by_service)[service.name]
    assert own_cells["people_placed"].value == 5 and not own_cells["people_placed"].suppressed
    assert dict(mine.by_service)["DSM di prova"]["people_placed"].suppressed
    assert mine.values["people_placed"].withheld and mine.values["people_placed"].value is None
    rows = indicators.rows_for_export(mine)
    label = str(indicators.INDICATORS["people_placed"])
    assert [r[1] for r in rows if r[0] == label] == [indicators.WITHHELD_TEXT]


def test_no_complementary_suppression_when_nothing_is_small(network):
    service, broker, people = network
    dsm = make_org("service", service_type="dsm")
    placed_elsewhere(dsm, make_user("broker", org=dsm), UDINE, 5)
    rep = indicators.report(
        indicators.Scope(year=YEAR), None, utcnow().date(), make_user("public_officer"), set()
    )
    provinces = dict(rep.by_province)
    assert provinces["PN"]["people_placed"].value == 5
    assert provinces["UD"]["people_placed"].value == 5
    assert rep.values["people_placed"].value == 10


# --- The real provider of the public network indicators page -----------------------------


def test_network_indicators_provider_suppresses_and_compares_with_the_baseline(app, network):
    from brokerage import network_indicators

    service, broker, people = network
    dsm = make_org("service", service_type="dsm")
    placed_elsewhere(dsm, make_user("broker", org=dsm), UDINE, 2)
    # The baseline year (YEAR - 2): six people in a pathway, nobody placed.
    old = make_org("service", service_type="sil")
    old_broker = make_user("broker", org=old)
    for _n in range(6):
        c = make_candidate(old, old_broker)
        stage(c, old, "referral", date(YEAR - 2, 1, 10))
        stage(c, old, "intake", date(YEAR - 2, 2, 10))
    db.session.flush()
    original = app.config.get("NETWORK_BASELINE_YEAR")
    app.config["NETWORK_BASELINE_YEAR"] = YEAR - 2
    try:
        found = {s.key: s for s in network_indicators.seed_indicators(YEAR)}
    finally:
        app.config["NETWORK_BASELINE_YEAR"] = original
    seed = found["seed_indicators"]
    assert seed.columns[1] == gettext("Baseline %(year)d", year=YEAR - 2)
    rows = {r.label: r.cells for r in seed.rows}
    placed = rows[str(indicators.INDICATORS["people_placed"])]
    assert placed[0].value == 7 and not placed[0].suppressed
    assert placed[1].value == 0  # nobody placed in the baseline year
    sheltered = rows[str(indicators.INDICATORS["placements_sheltered"])]
    assert sheltered[0].suppressed and sheltered[0].value is None  # 2 people
    pathway = rows[str(indicators.INDICATORS["people_with_pathway"])]
    assert pathway[1].value == 6  # the baseline year's six people, shown
    by_province = {r.label: r.cells for r in found["seed_indicators_by_province"].rows}
    assert by_province["UD"][0].suppressed
    assert by_province["PN"][0].withheld  # else 7 - 5 = 2
    # What the page really shows after the core's normalisation.
    from portal.network.indicators import WITHHELD_TEXT, normalise

    shown = normalise(found["seed_indicators_by_province"])
    assert {r.label: r.cells[0].shown for r in shown.rows} == {"PN": WITHHELD_TEXT, "UD": "<5"}


def test_placements_by_sector_are_protected_against_the_total(app, network):
    from brokerage import network_indicators
    from portal.models import ORG_KIND_LABELS

    service, broker, people = network
    placed_elsewhere(service, broker, "093033", 3)  # 3 + 3 people hired by companies
    [section] = network_indicators.placements_by_sector(YEAR)
    cells = {r.label: r.cells[0] for r in section.rows}
    coop = cells[str(ORG_KIND_LABELS["cooperative_b"])]
    company = cells[str(ORG_KIND_LABELS["company"])]
    labs = cells[gettext("Employer not recorded")]
    # The cooperative's 2 people are suppressed; the sectors add up to the network's
    # placements shown in the seed indicators, so the smallest visible sector (the labs
    # without an employer, 5 people) is withheld too; the companies' 6 stay.
    assert coop.suppressed and not coop.withheld
    assert labs.withheld and labs.value is None
    assert company.value == 6 and not company.suppressed
    # The unknown employer comes last, whatever its size (5 people, before the 2).
    assert [r.label for r in section.rows][-1] == gettext("Employer not recorded")
    assert section.rows[0].label == str(ORG_KIND_LABELS["company"])


def test_company_sectors_are_named_after_their_ateco_division(app):
    from brokerage.network_indicators import _division_label

    with app.test_request_context("/?lang=it"):
        assert _division_label("31") == "Imprese, divisione ATECO 31 – Fabbricazione di mobili"
        assert _division_label("00") == "Imprese, divisione ATECO 00"  # no such division


def test_ateco_titles_are_marked_italian_on_english_pages(app):
    from brokerage.network_indicators import _division_label_html

    with app.test_request_context("/?lang=en"):
        html = str(_division_label_html("31"))
        assert (
            html == 'Companies, ATECO division 31 – <span lang="it">Fabbricazione di mobili</span>'
        )
    with app.test_request_context("/?lang=it"):
        assert _division_label_html("31") is None  # already in the page's language
