"""The public network indicators page: providers, small-cell suppression, charts readable
without colour beside accessible tables, CSV/XLSX, the yearly PDF report."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from portal.network import indicators
from portal.network.indicators import EXTENSION, Cell, Row, Section


def fake_provider(year: int):
    return [
        Section(
            key="placements",
            title=f"Inserimenti {year}",
            columns=[str(year), "baseline"],
            rows=[
                Row("Pordenone", [Cell(12, people=12), Cell(9, people=9)]),
                Row("Frosinone", [Cell(3, people=3), Cell(7, people=7)]),  # 3 is suppressed
            ],
            chart_columns=[0, 1],
            source="prova",
        ),
        {  # a dict works too
            "key": "tenders",
            "title": "Appalti con clausole sociali",
            "columns": ["Appalti", "Conformi (%)"],
            "rows": [{"label": "Comune di Pordenone", "cells": [4, 75.0]}],
        },
    ]


def broken_provider(year: int):
    raise RuntimeError("the package is half-finished")


@pytest.fixture
def providers(app):
    saved = list(app.extensions.get(EXTENSION, []))
    indicators.register_provider(app, fake_provider)
    indicators.register_provider(app, broken_provider)
    yield
    app.extensions[EXTENSION] = saved


def test_cells_below_five_people_are_suppressed():
    section = indicators.normalise(fake_provider(2026)[0])
    frosinone = section.rows[1].cells
    assert frosinone[0].suppressed and frosinone[0].value is None and frosinone[0].shown == "<5"
    assert not frosinone[1].suppressed and frosinone[1].shown == "7"
    # A provider that says it suppressed a cell is believed even without a count.
    assert indicators._cell(Cell(40, suppressed=True)).value is None
    assert indicators._cell(Cell(0, people=0)).shown == "0"


def test_page_shows_each_section_as_chart_and_table(client, db_session, providers):
    page = client.get("/indicators?year=2026")
    assert page.status_code == 200
    html = page.text
    assert "Inserimenti 2026" in html and "Appalti con clausole sociali" in html
    assert "<caption>Inserimenti 2026" in html and 'scope="row"' in html
    assert 'role="img"' in html and "<title id=" in html
    assert 'patternTransform="rotate(45)"' in html, "the second series is hatched, not coloured"
    assert "<abbr" in html and "&lt;5" in html
    # The broken provider is left out, the core's own sections are there.
    assert "Network events held in 2026" in html or "Eventi" in html


def test_page_without_domain_providers_still_works(app, client, db_session):
    saved = list(app.extensions.get(EXTENSION, []))
    app.extensions[EXTENSION] = []
    try:
        page = client.get("/indicators")
        assert page.status_code == 200
    finally:
        app.extensions[EXTENSION] = saved


def test_csv_and_xlsx_exports(client, db_session, providers):
    response = client.get("/indicators.csv?year=2026")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    frosinone = [r for r in rows if r["row"] == "Frosinone"]
    assert [r["value"] for r in frosinone] == ["<5", "7"]
    assert {r["year"] for r in rows} == {"2026"}
    book = load_workbook(io.BytesIO(client.get("/indicators.xlsx?year=2026").data))
    assert "placements" in book.sheetnames and "tenders" in book.sheetnames
    sheet = book["placements"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert ["Frosinone", "<5", 7] in values and ["Pordenone", 12, 9] in values


def test_yearly_pdf_report(client, db_session, providers):
    from portal.db import utcnow

    year = utcnow().year
    response = client.get(f"/indicators/report-{year}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-") and b"%%EOF" in response.data[-1024:]
    assert client.get("/indicators/report-1990.pdf").status_code == 404


def test_network_life_counts_events_practices_and_agreements(db_session):
    from portal.db import utcnow
    from tests.factories import make_org
    from tests.portal.test_network_support import make_agreement, make_event, make_practice

    org = make_org("service")
    year = utcnow().year
    event = make_event(org, days=0, kind="operator_training")
    event.starts_at = utcnow().replace(month=1, day=15)
    make_practice(org, themes=["training"])
    make_agreement(org, kind="partnership")
    sections = {s.key: s for s in map(indicators.normalise, indicators.network_life(year))}
    training = next(
        r
        for r in sections["network_events"].rows
        if "operator" in r.label.lower() or "operatori" in r.label.lower()
    )
    assert training.cells[0].value >= 1
    practices = next(
        r
        for r in sections["good_practices"].rows
        if "training" in r.label.lower() or "formazione" in r.label.lower()
    )
    assert practices.cells[0].value >= 1
    assert any(r.cells[0].value >= 1 for r in sections["agreements"].rows)


def long_label_provider(year: int):
    long = "Imprese, divisione ATECO 31 – Fabbricazione di mobili e di parti di essi"
    return [
        Section(
            key="sectors",
            title="Inserimenti per settore",
            columns=["Inserimenti"],
            rows=[
                Row(long, [Cell(12, people=12)]),
                Row("Cooperative sociali di tipo B", [Cell(2, people=2)]),
                Row("Datore di lavoro non registrato", [Cell(None, withheld=True)]),
            ],
        ),
        Section(
            key="plain",
            title="Senza celle nascoste",
            columns=["Eventi"],
            rows=[Row("Pordenone", [Cell(8, people=8)])],
        ),
    ]


def test_long_labels_wrap_and_hidden_cells_are_explained(app, client, db_session):
    saved = list(app.extensions.get(EXTENSION, []))
    indicators.register_provider(app, long_label_provider)
    try:
        html = client.get("/indicators?year=2026&lang=en").text
    finally:
        app.extensions[EXTENSION] = saved
    long = "Imprese, divisione ATECO 31 – Fabbricazione di mobili e di parti di essi"
    # The chart wraps the label on several lines and keeps the whole text in a <title>.
    assert f"<title>{long}</title>" in html
    assert (
        "<tspan" in html and "…" not in html.split('id="chart-sectors-title"')[1].split("</svg>")[0]
    )
    sectors = html.split('id="section-sectors"')[1].split("</section>")[0]
    assert 'aria-describedby="section-sectors-legend"' in sectors
    legend = sectors.split('id="section-sectors-legend"')[1]
    assert "fewer than 5 people" in legend and "derivable by subtraction" in legend
    assert "<strong>c</strong>" in legend and "<strong>&lt;5</strong>" in legend
    plain = html.split('id="section-plain"')[1].split("</section>")[0]
    assert "legend" not in plain  # nothing hidden, no legend
    assert 'class="col-xl-6"' not in html  # tables no longer squeezed beside the chart
