"""Network life in the browser: publishing a good practice (member drafts, admin publishes),
registering for an event (as a member and as a guest confirming by e-mail), and the public
pages of indicators, agreements and open data, each checked with axe-core."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PASSWORD = "Ponte-demo-2026"


def sign_in(page, t, email: str) -> None:
    page.goto("/login")
    page.get_by_label(t("E-mail"), exact=True).fill(email)
    page.get_by_label(t("Password"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=t("Sign in")).click()
    expect(page.get_by_role("button", name=t("Sign out"))).to_be_visible()


def test_a_member_drafts_a_good_practice_and_the_admin_publishes_it(page, t, axe):
    title = f"Orti condivisi {uuid.uuid4().hex[:6]}"
    sign_in(page, t, "cooperative@ponte.demo")
    page.goto("/my/network")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Your network content"))
    page.get_by_role("link", name=t("Write a good practice")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("New good practice"))
    axe(page)

    # Submitting an empty form shows the errors next to the fields.
    page.get_by_role("button", name=t("Save the draft")).click()
    title_field = page.get_by_label(t("Title"), exact=True)
    expect(title_field).to_have_attribute("aria-invalid", "true")
    axe(page)

    title_field.fill(title)
    page.get_by_label(t("Summary"), exact=True).fill(
        "Orti coltivati insieme da persone in percorso e volontari del quartiere."
    )
    page.get_by_label(t("Description"), exact=True).fill("Come è nato.\n\nCosa ha cambiato.")
    page.get_by_label(t("Region"), exact=True).select_option("Friuli-Venezia Giulia")
    page.get_by_label(t("Province (two letters)"), exact=True).fill("pn")
    page.get_by_role("group", name=t("Themes")).get_by_label(t("Social agriculture")).check(
        force=True
    )
    page.get_by_role("group", name=t("Target groups")).get_by_label(
        t("People in mental-health pathways")
    ).check(force=True)
    page.get_by_role("button", name=t("Save the draft")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Edit the good practice"))
    axe(page)

    # The draft is not public.
    page.get_by_role("button", name=t("Submit for review")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("note")).to_contain_text(t("Awaiting review"))

    page.context.clear_cookies()
    page.goto("/good-practices")
    expect(page.get_by_role("link", name=title)).to_have_count(0)

    sign_in(page, t, "admin@ponte.demo")
    page.goto("/my/network")
    queue = page.get_by_role("region", name=t("Awaiting review"))
    queue.get_by_role("link", name=title).click()
    axe(page)
    page.get_by_role("button", name=t("Publish"), exact=True).click()
    expect(page.locator(".flashes")).to_contain_text(t("The good practice is published."))

    page.context.clear_cookies()
    page.goto("/good-practices")
    page.get_by_role("group", name=t("Themes")).get_by_label(
        re.compile(re.escape(t("Social agriculture")))
    ).check(force=True)
    page.get_by_role("button", name=t("Apply filters")).click()
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_label(t("Link to this page"))).to_have_value(
        re.compile(r"/good-practices/\d+-")
    )
    axe(page)


def test_a_member_registers_for_an_event_and_a_guest_confirms_by_email(page, t, axe, live_app):
    page.goto("/events")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Events"))
    axe(page)
    page.get_by_role(
        "link", name="Incontro con le imprese: assumere con il collocamento mirato"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Incontro con le imprese")
    axe(page)

    # A guest: the form, then the link in the e-mail, then a button to confirm.
    email = f"ospite-{uuid.uuid4().hex[:6]}@example.it"
    form = page.get_by_role("form", name=t("Register as a guest"))
    form.get_by_label(t("Name and surname")).fill("Maria Ospite")
    form.get_by_label(t("E-mail"), exact=True).fill(email)
    form.get_by_label(
        t("I have read the privacy notice: my name and e-mail are used only for this event")
    ).check(force=True)
    form.get_by_role("button", name=t("Register")).click()
    expect(page.locator(".flashes")).to_contain_text(
        t(
            "Almost done: we have sent you an e-mail. Open the link in it to confirm your "
            "registration."
        )
    )
    mails = [m for m in live_app.extensions["mail_outbox"] if m["To"] == email]
    assert mails, "the confirmation e-mail was sent"
    link = re.search(r"https?://\S+/events/registrations/confirm/\S+", mails[-1].get_content())
    assert link
    page.goto("/events/registrations/confirm/" + link.group(0).rsplit("/", 1)[1])
    axe(page)
    page.get_by_role("button", name=t("Confirm the registration")).click()
    expect(page.locator(".flashes")).to_contain_text(
        t("Your registration is confirmed: see you there.")
    )

    # A member registers at once and can download the event for the calendar.
    sign_in(page, t, "broker@ponte.demo")
    page.goto("/events")
    page.get_by_role(
        "link", name="Incontro con le imprese: assumere con il collocamento mirato"
    ).click()
    page.get_by_role("button", name=t("Register"), exact=True).click()
    expect(page.locator(".flashes")).to_contain_text(
        t("You are registered: your seat is confirmed.")
    )
    expect(page.get_by_role("button", name=t("Cancel my registration"))).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name=t("Add to your calendar (.ics)")).click()
    assert download.value.suggested_filename.endswith(".ics")
    axe(page)


def test_public_network_pages_are_accessible(page, t, axe):
    for path, heading in (
        ("/indicators", None),
        ("/agreements", t("Network agreements")),
        ("/open-data", t("Open data")),
    ):
        page.goto(path)
        if heading:
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        axe(page)
    page.goto("/indicators")
    expect(page.get_by_role("img").first).to_be_visible()
    expect(page.get_by_role("table").first).to_be_visible()


def test_notification_settings_are_accessible(page, t, axe):
    sign_in(page, t, "employer@ponte.demo")
    page.goto("/notifications/preferences")
    group = page.get_by_role("group", name=t("E-mail copies of notifications"))
    group.get_by_label(t("Send me one e-mail a day with a digest")).check(force=True)
    axe(page)
    page.get_by_role("button", name=t("Save")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Notifications"))
    expect(page.get_by_role("main")).to_contain_text(t("Send me one e-mail a day with a digest"))
    axe(page)
