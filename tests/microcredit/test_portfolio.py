"""Portfolio quality on crafted portfolios: PAR1/30/90, on-time collection, arrears,
write-offs, per officer, centre and product, on any date; CSV and XLSX exports."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from flask_babel import gettext as _

from microcredit import portfolio, services
from microcredit.portfolio import ratio
from tests.microcredit.factories import (
    days_ago,
    make_loan,
    make_member,
    make_officer,
    make_product,
    org_of,
    today,
)

D = Decimal


def pay_when_due(loan, officer, until_number: int) -> None:
    for slot in loan.installments[:until_number]:
        if slot.due_date <= today():
            services.repay(loan, slot.total, slot.due_date, officer)


def crafted():
    """Interest-free monthly loans of 1,200 (100 a month), so every figure is by hand.

    A: disbursed 200 days ago, every instalment paid on its due date  -> not at risk
    B: disbursed 150 days ago, nothing paid (first due ~120 days ago) -> PAR1, 30, 90
    C: disbursed 45 days ago, nothing paid (first due ~15 days ago)   -> PAR1 only
    D: disbursed 100 days ago, nothing paid (first due ~70 days ago)  -> PAR1, 30
    E: disbursed 300 days ago, two instalments paid, written off 10 days ago.
    A and B are the first officer's, the others the second's.
    """
    first = make_officer()
    second = make_officer(org_of(first))
    product = make_product(first, interest_rate=D("0"), max_principal=D("5000"))
    other = make_product(first, interest_rate=D("0"), max_principal=D("5000"))

    def loan(officer, days, prod=product):
        return make_loan(
            officer,
            make_member(first),
            prod,
            principal="1200.00",
            repayments=12,
            disbursed=days_ago(days),
        )

    a, b = loan(first, 200), loan(first, 150)
    c, d, e = loan(second, 45, other), loan(second, 100, other), loan(second, 300, other)
    pay_when_due(a, first, 12)
    pay_when_due(e, second, 2)
    services.write_off(e, days_ago(10), second, "Irreperibile")
    return first, second, product, other, {"A": a, "B": b, "C": c, "D": d, "E": e}


def test_par_on_a_crafted_portfolio(db_session):
    first, second, product, other, loans = crafted()
    a_outstanding = D("1200.00") - D(100) * sum(
        1 for s in loans["A"].installments if s.due_date <= today()
    )
    report = portfolio.portfolio_report(loans["A"].organisation_id, today())
    total = report.total
    gross = a_outstanding + D("3600.00")
    assert total.gross == gross and total.loans == 4
    assert total.at_risk == {1: D("3600.00"), 30: D("2400.00"), 90: D("1200.00")}
    assert total.par(1) == ratio(D("3600.00"), gross)
    assert total.par(30) == ratio(D("2400.00"), gross)
    assert total.par(90) == ratio(D("1200.00"), gross)
    assert total.loans_at_risk == {1: 3, 30: 2, 90: 1}
    # Principal past due: B, C and D's instalments due before today, all unpaid.
    overdue = sum(
        (s.principal for k in "BCD" for s in loans[k].installments if s.due_date < today()), D(0)
    )
    assert total.overdue_principal == overdue
    assert total.arrears_rate == ratio(overdue, gross)
    # Written off: E's principal left after two instalments.
    assert total.written_off == D("1000.00") and total.write_off_ratio > 0

    by_officer = {row.key: row for row in report.by["officer"]}
    assert by_officer[first.id].at_risk[30] == D("1200.00")  # B
    assert by_officer[second.id].at_risk[30] == D("1200.00")  # D
    assert by_officer[second.id].at_risk[1] == D("2400.00")  # C and D
    assert by_officer[first.id].label == first.display_name
    by_product = {row.key: row for row in report.by["product"]}
    assert by_product[product.id].gross == a_outstanding + D("1200.00")
    assert by_product[other.id].par(90) == D("0.00")
    assert [row.label for row in report.by["centre"]] == [_("Individual loans, no centre")]


def test_on_time_collection_rate(db_session):
    _first, _second, _product, _other, loans = crafted()
    report = portfolio.portfolio_report(loans["A"].organisation_id, today())
    window = today() - timedelta(days=30)

    def fell_due(key):
        # A written-off loan's instalments count until it was closed.
        until = loans[key].closed_on or today()
        return sum((s.total for s in loans[key].installments if window < s.due_date <= until), D(0))

    due = sum(fell_due(k) for k in "ABCDE")
    assert report.total.fell_due == due
    assert report.total.paid_on_time == fell_due("A")
    assert report.total.on_time_rate == ratio(fell_due("A"), due)


def test_late_payment_is_not_on_time(db_session):
    officer = make_officer()
    loan = make_loan(
        officer,
        make_member(officer),
        make_product(officer, interest_rate=D("0")),
        principal="1200.00",
        repayments=12,
        disbursed=days_ago(40),
    )
    due = loan.installments[0].due_date
    services.repay(loan, D("100.00"), min(due + timedelta(days=3), today()), officer)
    report = portfolio.portfolio_report(loan.organisation_id, today())
    assert report.total.fell_due == D("100.00") and report.total.paid_on_time == 0
    assert report.total.on_time_rate == D("0.00")


def test_any_date(db_session):
    _first, _second, _product, _other, loans = crafted()
    org_id = loans["A"].organisation_id
    before = portfolio.portfolio_report(org_id, days_ago(400))
    assert before.total.gross == 0 and before.total.par(30) is None
    # 80 days ago: B's first instalment was 30 to 90 days late; C was not disbursed yet;
    # D was, but nothing had fallen due; E was active, its third instalment ~4 months late.
    past = portfolio.portfolio_report(org_id, days_ago(80))
    b_late = (days_ago(80) - loans["B"].installments[0].due_date).days
    assert 30 < b_late <= 90
    assert past.total.at_risk == {1: D("2200.00"), 30: D("2200.00"), 90: D("1000.00")}
    assert past.total.gross == D("1000.00") + D("1200.00") + D("1200.00") + sum(
        (s.principal for s in loans["A"].installments if s.due_date > days_ago(80)), D(0)
    )
    assert past.total.written_off == 0
    assert loans["C"].id not in {r.key for r in past.by["officer"]}


def test_empty_portfolio(db_session):
    officer = make_officer()
    report = portfolio.portfolio_report(org_of(officer).id, today())
    assert report.total.gross == 0 and report.total.on_time_rate is None
    assert all(rows == [] for rows in report.by.values())


def test_exports(db_session):
    _first, _second, _product, _other, loans = crafted()
    report = portfolio.portfolio_report(loans["A"].organisation_id, today())
    text = portfolio.to_csv(report)
    lines = text.splitlines()
    assert _("PAR%(n)d (EUR)", n=30) in lines[1]
    total = lines[2].split(",")
    assert total[2] == "4" and Decimal(total[3]) == report.total.gross
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(portfolio.to_xlsx(report)))
    sheet = book.active
    assert (
        sheet.cell(row=3, column=4).value == float(report.total.gross)
        or Decimal(str(sheet.cell(row=3, column=4).value)) == report.total.gross
    )
    assert sheet.max_row == 2 + 1 + sum(len(rows) for rows in report.by.values())
