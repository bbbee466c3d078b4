"""The placement market end to end: an employer posts a vacancy and finds it in public
search; a broker finds candidates for it, reads the explanation, proposes one, and the
employer sees the proposal in the inbox."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ALL_ADJUSTMENTS = (
    "Quiet place to work",
    "Step-free access",
    "Accessible toilets",
    "Flexible hours",
    "Part-time hours",
    "On-site tutor",
    "Gradual start",
    "Written, step-by-step instructions",
    "Extra short breaks",
    "Adapted workstation",
    "Assistive technology",
    "Reachable by public transport",
)


def sign_in(page, t, email: str) -> None:
    page.goto("/login")
    page.get_by_label(t("E-mail"), exact=True).fill(email)
    page.get_by_label(t("Password"), exact=True).fill("Ponte-demo-2026")
    page.get_by_role("button", name=t("Sign in")).click()


def sign_out(page, t) -> None:
    page.get_by_role("button", name=t("Sign out")).click()


def post_vacancy(page, t, title: str) -> str:
    """As the demo employer: create, publish; returns the vacancy page's path."""
    sign_in(page, t, "employer@ponte.demo")
    page.goto("/employer")
    page.get_by_role("link", name=t("New vacancy")).click()
    page.get_by_label(t("Job title"), exact=True).fill(title)
    page.get_by_label(t("Description"), exact=True).fill("Movimentazione merci e inventario.")
    page.get_by_label(t("Workplace municipality"), exact=True).fill("Pordenone (PN)")
    page.get_by_label(t("Contract type"), exact=True).select_option("fixed_term")
    page.get_by_label(t("Hours per week"), exact=True).fill("20")
    for label in ALL_ADJUSTMENTS:
        page.get_by_label(t(label), exact=True).check(force=True)
    page.get_by_role("button", name=t("Save"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    page.get_by_role("button", name=t("Publish")).click()
    expect(page.get_by_text(t("The vacancy is published."))).to_be_visible()
    return re.sub(r"^https?://[^/]+", "", page.url)


def test_employer_posts_a_vacancy_and_finds_it_in_public_search(page, t, axe):
    title = f"Magazziniere {uuid.uuid4().hex[:6]}"
    post_vacancy(page, t, title)
    sign_out(page, t)
    page.goto("/vacancies")
    page.get_by_label(t("Words"), exact=True).fill(title)
    page.get_by_role("button", name=t("Apply filters")).click()
    expect(page.get_by_role("link", name=title)).to_be_visible()
    page.get_by_role("link", name=title).click()
    expect(page.locator('script[type="application/ld+json"]')).to_have_count(1)
    axe(page)


def test_broker_proposes_a_candidate_that_the_employer_then_sees(page, t):
    title = f"Addetto logistica {uuid.uuid4().hex[:6]}"
    path = post_vacancy(page, t, title)
    sign_out(page, t)

    sign_in(page, t, "broker@ponte.demo")
    page.goto(path)
    page.get_by_role("link", name=t("Find candidates of my services")).click()
    first = page.locator("ol li.card").first
    expect(first).to_be_visible()
    # The explanation: one row per factor, in plain words.
    expect(first.get_by_role("table")).to_contain_text(t("Distance"))
    pseudonym = first.get_by_role("heading").inner_text().split(" ")[0]
    first.get_by_role("link", name=re.compile(re.escape(pseudonym))).last.click()
    page.get_by_label(t("Note for the employer"), exact=True).fill("Affidabile e puntuale.")
    page.get_by_role("button", name=t("Propose to the employer")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(pseudonym)
    sign_out(page, t)

    sign_in(page, t, "employer@ponte.demo")
    page.goto("/employer/proposals")
    page.get_by_role("link", name=pseudonym).first.click()
    expect(page.get_by_text("Affidabile e puntuale.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text(pseudonym)


def test_case_and_pathway_pages_are_accessible(page, t, axe):
    sign_in(page, t, "broker@ponte.demo")
    page.goto("/brokerage/caseload")
    axe(page)
    page.locator("main table a[href^='/brokerage/candidates/']").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        t("Case %(pseudonym)s", pseudonym="").strip()
    )
    axe(page)
    page.get_by_role("link", name=t("Open the timeline")).click()
    expect(page.get_by_role("heading", level=2, name=t("Next step"))).to_be_visible()
    edits = page.get_by_role("link", name=re.compile("^" + re.escape(t("Edit the stage"))))
    names = [edits.nth(i).evaluate("e => e.textContent.trim()") for i in range(edits.count())]
    assert names and len(set(names)) == len(names), "each edit link says which stage"
    axe(page)
