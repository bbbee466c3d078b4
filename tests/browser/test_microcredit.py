"""A centre meeting in the browser: the loan officer opens today's collection sheet, sees
an amount refused next to its field, fills the sheet in and saves it once; the sheet is
then recorded. Checked with axe-core, on a phone and in print."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import open_menu_entry

pytestmark = pytest.mark.browser

OFFICER = "microcredit@ponte.demo"
PASSWORD = "Ponte-demo-2026"
CENTRE = "Centro Borgomeduna"  # the demo centre that meets today (microcredit/demo.py)


def sign_in(page, t, email: str) -> None:
    page.goto("/login")
    page.get_by_label(t("E-mail"), exact=True).fill(email)
    page.get_by_label(t("Password"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=t("Sign in")).click()
    expect(page.get_by_role("button", name=t("Sign out"))).to_be_visible()


def prefix(t, msgid: str, **values: str) -> re.Pattern[str]:
    """The start of a translated label, up to its first placeholder."""
    text = t(msgid, **{k: "\x00" for k in values})
    return re.compile("^" + re.escape(text.split("\x00")[0]))


def test_a_centre_meeting(page, t, axe):
    sign_in(page, t, OFFICER)
    open_menu_entry(page, t, "My area", "Microcredit")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Microcredit"))
    axe(page)

    # Today's meeting of the centre, from the overview.
    row = page.get_by_role("row").filter(has_text=CENTRE)
    row.get_by_role("link").nth(1).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Collection sheet"))
    expect(page.get_by_text(t("Not recorded yet"), exact=True)).to_be_visible()
    axe(page)

    collected = page.get_by_role(
        "textbox", name=prefix(t, "Collected from %(who)s for loan %(id)s", who="", id="")
    )
    assert collected.count() >= 5
    first = collected.first
    due = first.input_value()
    assert re.fullmatch(r"\d+[.,]\d{2}", due), due  # the amount due is filled in

    # A bad amount: refused next to its field, nothing recorded.
    first.fill("12,345")
    page.get_by_role("button", name=t("Save the collection sheet")).click()
    expect(first).to_have_attribute("aria-invalid", "true")
    field_id = first.get_attribute("id")
    error = page.locator(f"#{field_id}-error")
    expect(error).to_have_text(t("Use at most two decimals."))
    expect(page.get_by_text(t("Not recorded yet"), exact=True)).to_be_visible()
    axe(page)

    # Corrected, one member absent, a savings deposit: saved once.
    first.fill("5,00")
    page.get_by_role(
        "combobox", name=prefix(t, "Attendance of %(who)s", who="")
    ).last.select_option(label=t("Absent"))
    page.get_by_role("textbox", name=prefix(t, "Savings from %(who)s", who="")).first.fill("2,00")
    page.get_by_role("button", name=t("Save the collection sheet")).click()
    flash = page.locator(".flashes")
    expect(flash).to_contain_text(
        t(
            "Collection sheet saved: %(n)d repayments, %(total)s collected.", n=0, total="\x00"
        ).split("0")[0]
    )
    expect(page.get_by_text(t("Recorded"), exact=True)).to_be_visible()
    expect(
        page.get_by_text(
            re.compile(re.escape(t("Recorded: %(amount)s", amount="\x00").split("\x00")[0]))
        ).first
    ).to_be_visible()
    # Once recorded, the sheet no longer pre-fills amounts: saving twice cannot double-count.
    expect(first).to_have_value("")
    axe(page)

    # In print: no header, no buttons, the sheet only.
    page.emulate_media(media="print")
    expect(page.locator("header.it-header-wrapper")).to_be_hidden()
    expect(page.get_by_role("button", name=t("Save the collection sheet"))).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.emulate_media(media="screen")

    # On a phone: labels visible above each input, nothing scrolls sideways.
    page.set_viewport_size({"width": 375, "height": 740})
    page.reload()
    expect(page.locator("label.mc-sm-label").first).to_be_visible()
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the sheet is {overflow}px wider than the phone"
    axe(page)


def test_the_schedule_calculator_is_public(page, t, axe):
    page.goto("/microcredit/calculator")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Repayment schedule calculator"))
    page.get_by_label(t("Amount (EUR)"), exact=True).fill("1000,00")
    page.get_by_label(t("Interest rate (%)"), exact=True).fill("12")
    page.get_by_label(t("Number of repayments"), exact=True).fill("12")
    page.get_by_role("button", name=t("Calculate")).click()
    table = page.get_by_role("table", name=t("Instalments"))
    expect(table.get_by_role("row")).to_have_count(13)
    axe(page)


def test_a_group_applies_at_once(page, t, axe):
    """The group application: one line per member, the 2-2-1 tranches shown, a bad amount
    refused next to its field with nothing saved; then the bulk approval, and a bulk
    disbursement of every tranche at once refused loan by loan."""
    sign_in(page, t, OFFICER)
    page.goto("/microcredit/groups")
    page.get_by_role("link", name="Le Farfalle", exact=True).click()
    page.get_by_role("link", name=t("Loan applications for the group")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Loan applications for the group"))
    expect(
        page.get_by_role(
            "heading", name=t("Staggered first disbursement (%(pattern)s)", pattern="2-2-1")
        )
    ).to_be_visible()
    axe(page)

    # Each apply checkbox: the whole cell is its label, a large hit area.
    applies = page.get_by_role("checkbox", name=prefix(t, "Apply"))
    expect(applies).to_have_count(5)
    label = page.locator(f"label[for='{applies.first.get_attribute('id')}']")
    box = label.bounding_box()
    assert box is not None and box["width"] >= 44 and box["height"] >= 44
    expect(applies.first).to_be_checked()
    label.click(position={"x": box["width"] - 4, "y": box["height"] - 4})
    expect(applies.first).not_to_be_checked()
    label.click(position={"x": 4, "y": 4})
    expect(applies.first).to_be_checked()

    amounts = page.get_by_role("textbox", name=prefix(t, "Amount for %(who)s (EUR)", who=""))
    expect(amounts).to_have_count(5)
    for k in range(5):
        amounts.nth(k).fill("1.000,00")
    first = amounts.first
    first.fill("12,345")
    page.get_by_role("button", name=t("Submit the applications")).click()
    expect(first).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{first.get_attribute('id')}-error")).to_have_text(
        t("Use at most two decimals.")
    )
    expect(
        page.get_by_text(t("Nothing has been saved: correct the fields marked below."))
    ).to_be_visible()
    axe(page)

    first.fill("1.000,00")
    page.get_by_role("button", name=t("Submit the applications")).click()
    expect(page.locator(".flashes")).to_contain_text(
        t("%(n)d applications have been submitted.", n=5)
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(t("The group's applications"))
    axe(page)

    page.get_by_role("button", name=t("Approve the selected applications")).click()
    expect(page.locator(".flashes")).to_contain_text(t("%(n)d loans have been approved.", n=5))

    # Every tranche on the same day: refused, the reasons next to the loans, nothing paid out.
    boxes = page.get_by_role("checkbox", name=prefix(t, "Loan %(id)s of %(who)s", id="", who=""))
    expect(boxes).to_have_count(5)
    for k in range(5):
        boxes.nth(k).check()
    page.get_by_role("button", name=t("Disburse the selected loans")).click()
    expect(
        page.get_by_text(t("Nothing has been saved: see the loans marked below."))
    ).to_be_visible()
    expect(boxes.nth(2)).to_have_attribute("aria-invalid", "true")
    axe(page)
