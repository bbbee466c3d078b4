"""Portfolio quality on any date, by officer, centre and product.

Definitions (PRODUCT.md; CGAP/SEEP "Microfinance Financial Reporting Standards"):

* **Gross loan portfolio**: principal outstanding of the disbursed loans on the date.
* **PAR n** (portfolio at risk): the *entire* principal outstanding of the loans with an
  instalment more than ``n`` days past due ÷ gross loan portfolio. An instalment due on
  day D is more than n days late on date R when R − D > n and the principal and interest
  settled by R do not cover it.
* **On-time collection rate**: of the principal and interest that fell due in the window
  (``collection_window_days`` before the date), the share paid by its due date.
* **Arrears rate**: principal past due and unpaid ÷ gross loan portfolio.
* **Write-off ratio**: principal written off in the window (``write_off_window_days``)
  ÷ average gross loan portfolio over the window (sampled every 30 days).

Three grouped queries feed everything (the ledger up to the date, the cumulative amounts
fallen due, and each instalment's payment by its due date); the rest is arithmetic on
``Decimal``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from flask_babel import gettext as _
from sqlalchemy import BigInteger, and_, case, cast, func, or_, select

from microcredit.ledger import SETTLING
from microcredit.models import (
    DISBURSED_STATES,
    DISBURSEMENT,
    REPAYMENT,
    WRITE_OFF,
    Centre,
    Loan,
    LoanInstallment,
    LoanProduct,
    LoanTransaction,
)
from microcredit.money import ZERO
from microcredit.policy import policy
from portal import db
from portal.models import User

DIMENSIONS = ("officer", "centre", "product")


def cents(expression: object) -> object:
    """An amount as whole cents (an exact integer on every backend: SQLite sums NUMERIC as
    floating point, far below the half-cent that rounding forgives)."""
    return cast(func.round(expression * 100), BigInteger)  # type: ignore[operator]


def euros(value: int | None) -> Decimal:
    return Decimal(value or 0).scaleb(-2)


def ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part / whole`` as a percentage with two decimals (None when ``whole`` is 0)."""
    if not whole:
        return None
    return (Decimal(100) * part / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


@dataclass
class Row:
    key: int | None
    label: str
    loans: int = 0
    gross: Decimal = ZERO
    at_risk: dict[int, Decimal] = field(default_factory=dict)
    loans_at_risk: dict[int, int] = field(default_factory=dict)
    overdue_principal: Decimal = ZERO
    fell_due: Decimal = ZERO
    paid_on_time: Decimal = ZERO
    written_off: Decimal = ZERO
    #: Average gross portfolio over the write-off window (unrounded).
    average_gross: Decimal = ZERO

    def add(self, other: Row) -> None:
        self.loans += other.loans
        self.gross += other.gross
        for n, amount in other.at_risk.items():
            self.at_risk[n] = self.at_risk.get(n, ZERO) + amount
            self.loans_at_risk[n] = self.loans_at_risk.get(n, 0) + other.loans_at_risk.get(n, 0)
        self.overdue_principal += other.overdue_principal
        self.fell_due += other.fell_due
        self.paid_on_time += other.paid_on_time
        self.written_off += other.written_off
        self.average_gross += other.average_gross

    def par(self, days: int) -> Decimal | None:
        return ratio(self.at_risk.get(days, ZERO), self.gross)

    @property
    def arrears_rate(self) -> Decimal | None:
        return ratio(self.overdue_principal, self.gross)

    @property
    def on_time_rate(self) -> Decimal | None:
        return ratio(self.paid_on_time, self.fell_due)

    @property
    def write_off_ratio(self) -> Decimal | None:
        return ratio(self.written_off, self.average_gross)


@dataclass
class Report:
    as_of: date
    par_days: tuple[int, ...]
    total: Row
    by: dict[str, list[Row]]


@dataclass
class _Loan:
    officer_id: int | None
    centre_id: int | None
    product_id: int
    row: Row


def portfolio_report(org_id: int, as_of: date) -> Report:
    rules = policy()
    par_days = rules.par_days
    window_start = as_of - timedelta(days=rules.write_off_window_days)
    collection_start = as_of - timedelta(days=rules.collection_window_days)
    t, i = LoanTransaction, LoanInstallment

    def signed(kinds: Iterable[str], column: object, extra: object = None) -> object:
        condition = t.kind.in_(list(kinds))
        if extra is not None:
            condition = and_(condition, extra)
        return cents(func.sum(case((condition, t.sign * column), else_=0)))  # type: ignore[operator]

    # The average gross portfolio of the write-off ratio, sampled every 30 days of the
    # window (SEEP uses monthly averages), the report date included: each entry weighs as
    # many samples as fall on or after its date.
    step = max(1, rules.write_off_window_days // 12)
    samples = [
        as_of - timedelta(days=step * k) for k in range(rules.write_off_window_days // step + 1)
    ]
    weight = case(
        *((t.on_date > point, k) for k, point in enumerate(samples[1:], start=1)),
        else_=len(samples),
    )
    principal_effect = case(
        (t.kind == DISBURSEMENT, t.principal), (t.kind.in_(SETTLING), -t.principal), else_=0
    )
    in_scope = and_(
        Loan.organisation_id == org_id,
        Loan.status.in_(DISBURSED_STATES),
        Loan.disbursed_on <= as_of,
    )
    dimensions = {
        loan_id: (officer_id, centre_id, product_id)
        for loan_id, officer_id, centre_id, product_id in db.session.execute(
            select(Loan.id, Loan.officer_id, Loan.centre_id, Loan.product_id).where(in_scope)
        )
    }
    # Grouped by loan alone, so the (loan_id, on_date) index gives the order for free.
    ledger_rows = db.session.execute(
        select(
            t.loan_id,
            signed([DISBURSEMENT], t.principal),
            signed(SETTLING, t.principal),
            signed(SETTLING, t.principal + t.interest),
            signed([WRITE_OFF], t.principal, t.on_date > window_start),
            cents(func.sum(t.sign * principal_effect * weight)),
        )
        .where(t.loan_id.in_(select(Loan.id).where(in_scope)), t.on_date <= as_of)
        .group_by(t.loan_id)
    ).all()
    loans: dict[int, _Loan] = {}
    settled: dict[int, tuple[int, int]] = {}
    for loan_id, disbursed, p_settled, pi_settled, written_off, weighted in ledger_rows:
        principal = euros(disbursed - p_settled)
        row = Row(
            key=loan_id,
            label="",
            gross=principal,
            loans=1 if principal > 0 else 0,
            written_off=euros(written_off),
            average_gross=euros(weighted) / len(samples),
        )
        loans[loan_id] = _Loan(*dimensions[loan_id], row)
        settled[loan_id] = (p_settled, pi_settled)

    # What had fallen due: the cumulative totals of the last instalment before each cut-off
    # (an instalment due before as_of − n is more than n days late if still unsettled).
    cutoffs = [as_of - timedelta(days=n) for n in par_days]
    due_columns = [
        cents(func.max(case((i.due_date < cut, i.cumulative_total), else_=None))) for cut in cutoffs
    ]
    due_rows = db.session.execute(
        select(i.loan_id, cents(func.max(i.cumulative_principal)), *due_columns)
        .where(
            i.loan_id.in_(
                select(Loan.id).where(
                    in_scope, or_(Loan.closed_on.is_(None), Loan.closed_on > as_of)
                )
            ),
            i.due_date < as_of,
        )
        .group_by(i.loan_id)
    ).all()
    for loan_id, principal_due, *due_by_cutoff in due_rows:
        entry = loans.get(loan_id)
        if entry is None or entry.row.gross <= 0:
            continue
        row = entry.row
        principal_settled, paid = settled[loan_id]
        for n, due in zip(par_days, due_by_cutoff, strict=True):
            late = due is not None and due > paid
            row.at_risk[n] = row.gross if late else ZERO
            row.loans_at_risk[n] = 1 if late else 0
        row.overdue_principal = euros(max(0, principal_due - principal_settled))

    # On-time collection: each instalment that fell due in the window, and how much of it
    # was paid by its due date (repayments fill the instalments in order). Instalments of
    # loans closed before they fell due (paid off early, written off) do not count.
    paid_by_due = cents(
        select(func.sum(t.sign * (t.principal + t.interest)))
        .where(t.loan_id == i.loan_id, t.kind == REPAYMENT, t.on_date <= i.due_date)
        .scalar_subquery()
    )
    for loan_id, total, cumulative, paid in db.session.execute(
        select(i.loan_id, cents(i.principal + i.interest), cents(i.cumulative_total), paid_by_due)
        .join(Loan, Loan.id == i.loan_id)
        .where(
            in_scope,
            i.due_date > collection_start,
            i.due_date <= as_of,
            or_(Loan.closed_on.is_(None), Loan.closed_on >= i.due_date),
        )
    ):
        entry = loans.get(loan_id)
        if entry is None:
            continue
        before = cumulative - total
        entry.row.fell_due += euros(total)
        entry.row.paid_on_time += euros(min(total, max(0, (paid or 0) - before)))

    labels = _labels(org_id)
    by: dict[str, list[Row]] = {}
    total = Row(key=None, label=_("Whole portfolio"))
    for entry in loans.values():
        total.add(entry.row)
    for dimension in DIMENSIONS:
        groups: dict[int | None, Row] = {}
        for entry in loans.values():
            key = getattr(entry, f"{dimension}_id")
            if key not in groups:
                groups[key] = Row(
                    key=key,
                    label=labels[dimension].get(key)
                    or (
                        _("Individual loans, no centre")
                        if dimension == "centre"
                        else _("Not assigned")
                    ),
                )
            groups[key].add(entry.row)
        by[dimension] = sorted(groups.values(), key=lambda r: (r.label.lower(), r.key or 0))
    for row in [total, *(r for rows in by.values() for r in rows)]:
        for n in par_days:
            row.at_risk.setdefault(n, ZERO)
            row.loans_at_risk.setdefault(n, 0)
    return Report(as_of=as_of, par_days=par_days, total=total, by=by)


def _labels(org_id: int) -> dict[str, dict[int | None, str]]:
    officers = {
        u.id: u.display_name
        for u in db.session.execute(
            select(User).where(
                User.id.in_(select(Loan.officer_id).where(Loan.organisation_id == org_id))
            )
        ).scalars()
    }
    centres = dict(
        db.session.execute(
            select(Centre.id, Centre.name).where(Centre.organisation_id == org_id)
        ).all()
    )
    products = dict(
        db.session.execute(
            select(LoanProduct.id, LoanProduct.name).where(LoanProduct.organisation_id == org_id)
        ).all()
    )
    return {"officer": officers, "centre": centres, "product": products}


# --- Export -------------------------------------------------------------------------------


def _headers(report: Report) -> list[str]:
    headers = [_("Dimension"), _("Name"), _("Active loans"), _("Gross loan portfolio (EUR)")]
    for n in report.par_days:
        headers += [_("PAR%(n)d (EUR)", n=n), _("PAR%(n)d (%%)", n=n)]
    headers += [
        _("Principal in arrears (EUR)"),
        _("Arrears rate (%)"),
        _("Fell due in the window (EUR)"),
        _("Paid on time (EUR)"),
        _("On-time collection rate (%)"),
        _("Written off in the window (EUR)"),
        _("Write-off ratio (%)"),
    ]
    return headers


def dimension_label(dimension: str) -> str:
    return {
        "officer": _("Officer"),
        "centre": _("Centre"),
        "product": _("Product"),
        "total": _("Total"),
    }[dimension]


def _values(report: Report, dimension: str, row: Row) -> list[object]:
    values: list[object] = [dimension_label(dimension), row.label, row.loans, row.gross]
    for n in report.par_days:
        values += [row.at_risk[n], row.par(n)]
    values += [
        row.overdue_principal,
        row.arrears_rate,
        row.fell_due,
        row.paid_on_time,
        row.on_time_rate,
        row.written_off,
        row.write_off_ratio,
    ]
    return values


def export_rows(report: Report) -> list[list[object]]:
    rows = [_values(report, "total", report.total)]
    for dimension in DIMENSIONS:
        rows += [_values(report, dimension, row) for row in report.by[dimension]]
    return rows


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Portfolio quality on %(date)s", date=report.as_of.isoformat())])
    writer.writerow(_headers(report))
    for values in export_rows(report):
        writer.writerow(
            ["" if v is None else (f"{v:.2f}" if isinstance(v, Decimal) else v) for v in values]
        )
    return out.getvalue()


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "PAR"
    sheet.append([_("Portfolio quality on %(date)s", date=report.as_of.isoformat())])
    sheet["A1"].font = Font(bold=True)
    sheet.append(_headers(report))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for values in export_rows(report):
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
    sheet.freeze_panes = "C3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
