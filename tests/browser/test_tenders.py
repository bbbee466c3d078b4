"""Social-clause tenders: an officer imports an OCDS package through the upload form and
sees the eligible suppliers, with the reasons."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.support import open_menu_entry

pytestmark = pytest.mark.browser

SAMPLE = (
    Path(__file__).resolve().parents[1]
    / "brokerage"
    / "ocds_samples"
    / "release_package_extensions.json"
)


def sign_in(page, t, email: str) -> None:
    page.goto("/login")
    page.get_by_label(t("E-mail"), exact=True).fill(email)
    page.get_by_label(t("Password"), exact=True).fill("Ponte-demo-2026")
    page.get_by_role("button", name=t("Sign in")).click()


def test_officer_imports_a_package_and_sees_eligible_suppliers(page, t, axe):
    package = json.loads(SAMPLE.read_text(encoding="utf-8"))
    ocid = f"ocds-test01-browser-{uuid.uuid4().hex[:8]}"
    for release in package["releases"]:
        release["ocid"] = ocid
    sign_in(page, t, "officer@ponte.demo")
    open_menu_entry(page, t, "My area", "Tenders area")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Tenders area"))
    page.get_by_role("link", name=t("Import tenders (OCDS)")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Import tenders (OCDS)"))
    axe(page)

    page.get_by_label(t("OCDS file (JSON or JSON Lines)")).set_input_files(
        {
            "name": "gara-verde.json",
            "mimeType": "application/json",
            "buffer": json.dumps(package).encode(),
        }
    )
    page.get_by_role("button", name=t("Import")).click()

    report = page.get_by_role("region", name=t("Import report"))
    expect(report).to_contain_text("Manutenzione del verde pubblico")
    expect(report).to_contain_text("99999999")  # the unknown CPV code is only a warning
    axe(page)

    report.get_by_role("link", name=t("Eligible suppliers")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Eligible suppliers"))
    main = page.get_by_role("main")
    # The demo cooperative of Pordenone covers green maintenance with 40% disabled or
    # disadvantaged workers; La Fenice (29.9%, Turin) is not eligible.
    expect(main.get_by_role("heading", name="Cooperativa Sociale Il Ponte")).to_be_visible()
    expect(main.get_by_role("heading", name="Cooperativa Sociale La Fenice")).to_have_count(0)
    expect(main).to_contain_text(re.compile(r"40[.,]0%"))
    axe(page)

    page.get_by_role(
        "link", name=t("Show also suppliers that are not eligible, with the reasons")
    ).click()
    fenice = main.get_by_role("listitem").filter(
        has=page.get_by_role("heading", name="Cooperativa Sociale La Fenice")
    )
    expect(fenice).to_contain_text(re.compile(r"29[.,]9%"))
    expect(fenice).to_contain_text(t("Not eligible"))


def test_a_large_json_lines_file_shows_its_import_progress(page, t, axe):
    """Over 1 MB the page's script sends the file itself: the upload, then the import as it
    goes, then the same report page."""
    real = Path(__file__).resolve().parents[1] / "brokerage" / "ocds_real" / "uk-contracts-finder"
    base = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((real / "sample" / "releases").glob("*.json"))
    ]
    releases = [r for d in base for r in d.get("releases", [d])]
    run = uuid.uuid4().hex[:8]
    lines = []
    while sum(map(len, lines)) < 1_500_000:
        for release in releases:
            copy = dict(release, ocid=f"ocds-browser-{run}-{len(lines)}")
            lines.append(json.dumps(copy))
    sign_in(page, t, "officer@ponte.demo")
    page.goto("/tenders/import")
    page.get_by_label(t("OCDS file (JSON or JSON Lines)")).set_input_files(
        {
            "name": "bulk.jsonl",
            "mimeType": "application/x-ndjson",
            "buffer": "\n".join(lines).encode(),
        }
    )
    page.get_by_role("button", name=t("Import")).click()
    report = page.get_by_role("region", name=t("Import report"))
    expect(report).to_be_visible(timeout=120_000)
    # Every line was read and imported (the summary gives the count of releases read).
    expect(report).to_contain_text(re.compile(rf"\b{len(lines)}\b"))
    expect(report.get_by_role("listitem")).to_have_count(len(lines))
    axe(page)


def test_officer_creates_a_tender_with_lots_in_the_form(page, t, axe):
    sign_in(page, t, "officer@ponte.demo")
    page.goto("/tenders/new")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("New tender"))
    axe(page)
    title = f"Pulizia degli uffici {uuid.uuid4().hex[:6]}"
    page.get_by_label(t("Title"), exact=True).fill(title)
    page.get_by_label(t("CPV codes"), exact=True).fill("90911200")
    page.get_by_label(t("Estimated value, net of VAT"), exact=True).fill("90000")
    lots = page.get_by_role("group", name=t("New lot"))
    expect(lots).to_have_count(2)
    lots.first.get_by_label(t("Title of the lot")).fill("Sede municipale")
    lots.first.get_by_label(t("Value of the lot, net of VAT")).fill("60000")
    # A value without a title is refused next to the title, and nothing is saved.
    lots.nth(1).get_by_label(t("Value of the lot, net of VAT")).fill("30000")
    page.get_by_role("button", name=t("Save"), exact=True).click()
    second = page.get_by_role("group", name=t("New lot")).nth(1)
    expect(second.get_by_role("alert")).to_have_text(
        t("Give the new lot a title, or leave its row empty.")
    )
    axe(page)
    second.get_by_label(t("Title of the lot")).fill("Biblioteca")
    page.get_by_role("button", name=t("Save"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    main = page.get_by_role("main")
    expect(main.get_by_role("cell", name="Sede municipale")).to_be_visible()
    expect(main.get_by_role("cell", name="Biblioteca")).to_be_visible()
