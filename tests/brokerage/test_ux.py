"""UX walkthrough fixes: locale-formatted scores, case headings, pathway menu and
timeline, matches empty state, ESCO labels in Italian pages."""

from __future__ import annotations

import math
import re

import pytest

from brokerage import proposals
from portal.db import utcnow
from tests.brokerage.test_matching import make_candidate, setting  # noqa: F401 (fixture)
from tests.conftest import login
from tests.factories import make_user


def test_scores_use_the_locale_decimal_comma(client, setting):  # noqa: F811
    service, broker, vacancy, occupation, required = setting
    candidate = make_candidate(service, broker, skills=required[:2])
    login(client, broker)
    page = client.get(f"/brokerage/vacancies/{vacancy.id}/matches?lang=it").get_data(as_text=True)
    assert candidate.pseudonym in page
    assert re.search(r"\b17,5 / 35\b", page)  # 2 of the 4 required skills
    assert not re.search(r"\d\.\d+ / \d", page)
    proposal = proposals.propose(candidate, vacancy, broker, "", utcnow().date())
    employer = vacancy.organisation.memberships[0].user
    login(client, employer)
    inbox = client.get("/employer/proposals?lang=it").get_data(as_text=True)
    score = proposal.card["match"]["score"]
    assert f"{score:.1f}".replace(".", ",").removesuffix(",0") + " / 100" in inbox
    detail = client.get(f"/employer/proposals/{proposal.id}").get_data(as_text=True)
    assert "17,5 / 35" in detail and not re.search(r"\d\.\d+ / \d", detail)
    english = client.get(f"/employer/proposals/{proposal.id}?lang=en").get_data(as_text=True)
    assert "17.5 / 35" in english


# --- Item 1: the pathway's next step, proposals in the timeline, accessible names -------


def next_step_section(page: str) -> str:
    return page[page.index('id="next-title"') : page.index("</section>", page.index("next-title"))]


def test_pathway_offers_only_forward_steps_and_suggests_the_likely_one(client, db_session):
    from brokerage import pathway
    from tests.brokerage.test_pathway import add, days, employer_org, setup_case

    broker, candidate = setup_case()
    stages = pathway.stages_of(candidate)
    assert pathway.likely_next(stages, pathway.allowed_next(stages)) == "intake"
    add(candidate, broker, "intake", days(-390))
    add(candidate, broker, "work_experience", days(-330), kind="tirocinio")
    stages = pathway.stages_of(candidate)
    assert pathway.allowed_next(stages) == ["work_experience", "hiring", "closed"]
    assert pathway.likely_next(stages, pathway.allowed_next(stages)) == "hiring"
    with pytest.raises(pathway.PathwayError):
        add(candidate, broker, "intake", days(-300))  # already passed
    login(client, broker)
    page = client.get(f"/brokerage/candidates/{candidate.id}/pathway?lang=en")
    section = next_step_section(page.get_data(as_text=True))
    assert "/pathway/new/hiring" in section and "/pathway/new/intake" not in section
    assert "/pathway/new/training_plan" not in section
    suggested = section[section.index("Suggested:") :]
    assert suggested.index("/new/hiring") < suggested.index("/new/work_experience")
    add(
        candidate,
        broker,
        "hiring",
        days(-200),
        contract_type="permanent",
        hours=30,
        employer=employer_org().name,
    )
    stages = pathway.stages_of(candidate)
    assert pathway.allowed_next(stages) == ["hiring", "follow_up", "closed"]
    assert pathway.likely_next(stages, pathway.allowed_next(stages)) == "follow_up"
    due = pathway.follow_up_schedule(days(-200))
    add(candidate, broker, "follow_up", due[1], month=1, still_employed=False)
    stages = pathway.stages_of(candidate)  # the job ended: a new start is possible
    assert {"training_plan", "work_experience"} <= set(pathway.allowed_next(stages))


def test_timeline_shows_proposals_and_names_each_edit_link(client, setting):  # noqa: F811
    service, broker, vacancy, occupation, required = setting
    candidate = make_candidate(service, broker, skills=required)
    proposals.propose(candidate, vacancy, broker, "", utcnow().date())
    login(client, broker)
    page = client.get(f"/brokerage/candidates/{candidate.id}/pathway?lang=en").get_data(
        as_text=True
    )
    assert f"Proposal: {vacancy.title}" in page
    assert vacancy.organisation.name in page and "Proposed" in page


def test_edit_and_revoke_links_have_distinct_accessible_names(client, db_session):
    from brokerage import pathway
    from tests.brokerage.test_pathway import add, days, setup_case

    broker, candidate = setup_case()
    add(candidate, broker, "intake", days(-390))
    login(client, broker)
    page = client.get(f"/brokerage/candidates/{candidate.id}/pathway?lang=en").get_data(
        as_text=True
    )
    names = re.findall(r'Edit the stage<span class="visually-hidden"> ([^<]+)</span>', page)
    assert len(names) == len(pathway.stages_of(candidate)) == 2
    assert len(set(names)) == 2 and names[1].startswith("Intake and orientation of ")
    detail = client.get(f"/brokerage/candidates/{candidate.id}?lang=en").get_data(as_text=True)
    revokes = re.findall(r'Revoke<span class="visually-hidden"> ([^<]+)</span>', detail)
    assert len(revokes) == 3 and len(set(revokes)) == 3
    assert any(r.startswith("consent: Job matching") for r in revokes)


# --- Item 2: case headings, the overdue list folds ---------------------------------------


def test_case_page_is_headed_as_a_case(client, db_session):
    from tests.brokerage.test_pathway import setup_case

    broker, candidate = setup_case()
    login(client, broker)
    english = client.get(f"/brokerage/candidates/{candidate.id}?lang=en").get_data(as_text=True)
    assert f"<h1>Case {candidate.pseudonym}</h1>" in english
    italian = client.get(f"/brokerage/candidates/{candidate.id}?lang=it").get_data(as_text=True)
    assert f"<h1>Scheda di {candidate.pseudonym}</h1>" in italian
    assert "Candidatura" not in italian
    timeline = client.get(f"/brokerage/candidates/{candidate.id}/pathway").get_data(as_text=True)
    assert f"<h1>Percorso di {candidate.pseudonym}</h1>" in timeline


def test_caseload_shows_five_overdue_items_and_folds_the_rest(client, db_session):
    from tests.brokerage.factories import make_candidate as new_case
    from tests.brokerage.test_pathway import add, days, employer_org

    broker = make_user("broker", locale="en")
    employer = employer_org().name
    for _ in range(7):
        candidate = new_case(broker=broker)
        pathway_stages = candidate  # the referral opened 400 days ago
        from brokerage import pathway

        pathway.stages_of(pathway_stages)[0].started_on = days(-400)
        add(
            candidate,
            broker,
            "hiring",
            days(-100),
            contract_type="permanent",
            hours=30,
            employer=employer,
        )
    login(client, broker)
    page = client.get("/brokerage/caseload?lang=en").get_data(as_text=True)
    due = page[page.index('id="due-title"') : page.index("</section>", page.index("due-title"))]
    shown, folded = due.split("<details", 1)
    assert shown.count("<li>") == 5
    assert "Show 9 more overdue items</summary>" in folded  # 7 cases x 2 follow-ups
    assert folded.count("<li>") == 9


# --- Item 5: ESCO labels in Italian, English ones marked lang="en" ----------------------


def test_italian_pages_mark_english_only_esco_labels(client, setting):  # noqa: F811
    from markupsafe import escape

    from portal import db
    from portal.taxonomy import Skill

    service, broker, vacancy, occupation, required = setting
    candidate = make_candidate(
        service, broker, skills=required[:2], occupation_id=occupation.id, months=6
    )
    skills = [db.session.get(Skill, s) for s in required[:2]]
    skills[0].label_it = "competenza in italiano"
    skills[1].label_it = None
    db.session.flush()
    assert occupation.label_it
    login(client, broker)
    page = client.get(f"/brokerage/candidates/{candidate.id}?lang=it").get_data(as_text=True)
    assert f'<span lang="en">{escape(skills[1].label_en)}</span>' in page
    assert "competenza in italiano" in page and skills[0].label_en not in page
    assert str(escape(occupation.label_it)) in page
    english = client.get(f"/brokerage/candidates/{candidate.id}?lang=en").get_data(as_text=True)
    assert 'lang="en">' not in english.split("<main", 1)[1]
    proposal = proposals.propose(candidate, vacancy, broker, "", utcnow().date())
    login(client, vacancy.organisation.memberships[0].user)
    card = client.get(f"/employer/proposals/{proposal.id}?lang=it").get_data(as_text=True)
    assert f'<span lang="en">{escape(skills[1].label_en)}</span>' in card
    assert "competenza in italiano" in card


# --- Item 3: why no vacancy matches ------------------------------------------------------


def town_between(origin, low_km: float, high_km: float) -> str:
    from sqlalchemy import select

    from portal import db
    from portal.models import Municipality
    from portal.municipalities import distance_km

    for code, lat, lon in db.session.execute(
        select(Municipality.istat_code, Municipality.lat, Municipality.lon).where(
            Municipality.lat.between(origin.lat - 0.5, origin.lat + 0.5),
            Municipality.lon.between(origin.lon - 0.6, origin.lon + 0.6),
        )
    ):
        if lat is not None and low_km < distance_km(origin.lat, origin.lon, lat, lon) < high_km:
            return code
    raise AssertionError("no town at that distance")


def test_no_match_page_explains_a_commute_too_short(client, setting):  # noqa: F811
    from brokerage import matching
    from portal import db
    from portal.models import Municipality
    from portal.municipalities import distance_km

    service, broker, vacancy, occupation, required = setting
    there = vacancy.municipality
    town = town_between(there, 15, 40)
    candidate = make_candidate(service, broker, comune=town, commute=5, needed=["quiet_place"])
    home = db.session.get(Municipality, town)
    assert matching.vacancies_for_candidate(candidate, utcnow().date()) == []
    reasons = matching.why_no_match(candidate, utcnow().date())
    km = distance_km(home.lat, home.lon, there.lat, there.lon)
    assert (reasons.public, reasons.too_far, reasons.other_hours) == (1, 1, 0)
    assert reasons.missing_adjustments == 0  # the vacancy offers a quiet place
    assert reasons.nearest_fitting_km == math.ceil(km) and reasons.nearby_hours is None
    login(client, broker)
    page = client.get(f"/brokerage/candidates/{candidate.id}/matches?lang=en").get_data(
        as_text=True
    )
    assert "No open vacancy fits this candidate." in page
    assert "Of the 1 public vacancy open now:" in page
    assert "1 is beyond the commute of 5 km" in page
    assert "0 ask for hours outside 10–40 a week" in page
    assert "0 do not offer every workplace adjustment the person needs" in page
    assert f"about {math.ceil(km)} km from home: widening the commute" in page
    assert f"/brokerage/candidates/{candidate.id}/edit" in page
    italian = client.get(f"/brokerage/candidates/{candidate.id}/matches?lang=it").get_data(
        as_text=True
    )
    assert f"circa {math.ceil(km)} km da casa" in italian


def test_no_match_page_suggests_other_hours(client, setting):  # noqa: F811
    from brokerage import matching

    service, broker, vacancy, occupation, required = setting
    candidate = make_candidate(service, broker, commute=1, hours=(10, 20))
    reasons = matching.why_no_match(candidate, utcnow().date())
    assert (reasons.public, reasons.too_far, reasons.other_hours) == (1, 0, 1)
    assert reasons.nearby_hours == (30, 30) and reasons.nearest_fitting_km is None
    login(client, broker)
    page = client.get(f"/brokerage/candidates/{candidate.id}/matches?lang=en").get_data(
        as_text=True
    )
    assert "1 asks for hours outside 10–20 a week" in page
    assert "vacancies ask for 30 to 30 hours a week: widening the hours" in page
    assert "adjustment" not in page  # the person needs none: not mentioned
