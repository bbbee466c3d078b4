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

Two queries feed everything. The first sums each loan's ledger up to the date and the
cumulative amounts fallen due, decides in SQL whether the loan is at risk, and adds the
loans up per (officer, centre, product); the second does the same for each instalment's
payment by its due date. Amounts travel as whole cents; Python only rolls a few hundred
rows up into the three dimensions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from flask_babel import gettext as _
from sqlalchemy import BigInteger, Date, Integer, and_, case, cast, func, literal, or_, select

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
from portal import db, spreadsheets
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


Triple = tuple[int | None, int | None, int]


def _clamp(value: object, high: object) -> object:
    """``value`` within 0 … ``high``, with ``value`` written once (a CASE would repeat
    it, and with it a correlated subquery)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        return func.min(high, func.max(0, value))
    if dialect == "postgresql":
        return func.least(high, func.greatest(0, value))
    return case((value <= 0, 0), (value >= high, high), else_=value)  # type: ignore[operator]


def _sample_weight(as_of: date, step: int, count: int) -> object:
    """How many of the ``count`` sample dates ``as_of − step·k`` fall on or after an
    entry's date: ``min(count, days // step + 1)``, with ``days = as_of − on_date``.

    Date arithmetic differs between databases; it is about three times cheaper per ledger
    row than comparing the date with every sample, which is the fallback elsewhere.
    """
    t = LoanTransaction
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        days = cast(func.julianday(as_of.isoformat()) - func.julianday(t.on_date), Integer)
        return func.min(count, days // step + 1)
    if dialect == "postgresql":
        return func.least(count, cast(literal(as_of, Date) - t.on_date, Integer) // step + 1)
    samples = [as_of - timedelta(days=step * k) for k in range(count)]
    return case(
        *((t.on_date > point, k) for k, point in enumerate(samples[1:], start=1)),
        else_=count,
    )


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
    weight = _sample_weight(as_of, step, len(samples))
    principal_effect = case(
        (t.kind == DISBURSEMENT, t.principal), (t.kind.in_(SETTLING), -t.principal), else_=0
    )
    in_scope = and_(
        Loan.organisation_id == org_id,
        Loan.status.in_(DISBURSED_STATES),
        Loan.disbursed_on <= as_of,
    )
    # Each loan's ledger up to the date, in whole cents. Grouped by loan alone, so the
    # (loan_id, on_date, …) index gives the order and every column without the table.
    ledger = (
        select(
            t.loan_id.label("loan_id"),
            signed([DISBURSEMENT], t.principal).label("disbursed"),
            signed(SETTLING, t.principal).label("p_settled"),
            signed(SETTLING, t.principal + t.interest).label("pi_settled"),
            signed([WRITE_OFF], t.principal, t.on_date > window_start).label("written_off"),
            cents(func.sum(t.sign * principal_effect * weight)).label("weighted"),
        )
        .where(t.loan_id.in_(select(Loan.id).where(in_scope)), t.on_date <= as_of)
        .group_by(t.loan_id)
        .subquery("ledger")
    )
    # What had fallen due: the cumulative totals of the last instalment before each cut-off
    # (an instalment due before as_of − n is more than n days late if still unsettled).
    cutoffs = [as_of - timedelta(days=n) for n in par_days]
    due = (
        select(
            i.loan_id.label("loan_id"),
            cents(func.max(i.cumulative_principal)).label("principal_due"),
            *(
                cents(func.max(case((i.due_date < cut, i.cumulative_total), else_=None))).label(
                    f"due_{k}"
                )
                for k, cut in enumerate(cutoffs)
            ),
        )
        .where(
            i.loan_id.in_(
                select(Loan.id).where(
                    in_scope, or_(Loan.closed_on.is_(None), Loan.closed_on > as_of)
                )
            ),
            i.due_date < as_of,
        )
        .group_by(i.loan_id)
        .subquery("due")
    )
    # Per loan: the gross portfolio, and whether it is at risk, all in SQL; then summed
    # per (officer, centre, product), so Python only sees a few hundred rows.
    gross = ledger.c.disbursed - ledger.c.p_settled
    open_ = gross > 0
    arrears = due.c.principal_due - ledger.c.p_settled
    late = [
        and_(open_, due.c[f"due_{k}"].is_not(None), due.c[f"due_{k}"] > ledger.c.pi_settled)
        for k in range(len(par_days))
    ]
    dimensions = (Loan.officer_id, Loan.centre_id, Loan.product_id)
    rows: dict[Triple, Row] = {}
    for officer_id, centre_id, product_id, *sums in db.session.execute(
        select(
            *dimensions,
            func.sum(case((open_, 1), else_=0)),
            func.sum(gross),
            func.sum(
                case(
                    (and_(open_, due.c.loan_id.is_not(None), arrears > 0), arrears),
                    else_=0,
                )
            ),
            func.sum(ledger.c.written_off),
            func.sum(ledger.c.weighted),
            *(func.sum(case((condition, gross), else_=0)) for condition in late),
            *(func.sum(case((condition, 1), else_=0)) for condition in late),
        )
        .select_from(Loan)
        .join(ledger, ledger.c.loan_id == Loan.id)
        .outerjoin(due, due.c.loan_id == Loan.id)
        .group_by(*dimensions)
    ):
        count, gross_c, overdue_c, written_off_c, weighted_c = sums[:5]
        at_risk_c, late_count = sums[5 : 5 + len(par_days)], sums[5 + len(par_days) :]
        rows[(officer_id, centre_id, product_id)] = Row(
            key=None,
            label="",
            loans=int(count or 0),
            gross=euros(gross_c),
            overdue_principal=euros(overdue_c),
            written_off=euros(written_off_c),
            average_gross=euros(weighted_c) / len(samples),
            at_risk={n: euros(c) for n, c in zip(par_days, at_risk_c, strict=True)},
            loans_at_risk={n: int(c or 0) for n, c in zip(par_days, late_count, strict=True)},
        )

    # On-time collection: each instalment that fell due in the window, and how much of it
    # was paid by its due date (repayments fill the instalments in order). Instalments of
    # loans closed before they fell due (paid off early, written off) do not count.
    paid_by_due = func.coalesce(
        cents(
            select(func.sum(t.sign * (t.principal + t.interest)))
            .where(t.loan_id == i.loan_id, t.kind == REPAYMENT, t.on_date <= i.due_date)
            .scalar_subquery()
        ),
        0,
    )
    total = cents(i.principal + i.interest)
    ahead = paid_by_due - (cents(i.cumulative_total) - total)  # paid beyond earlier ones
    for officer_id, centre_id, product_id, fell_due, on_time in db.session.execute(
        select(
            *dimensions,
            func.sum(total),
            func.sum(_clamp(ahead, total)),
        )
        .select_from(i)
        .join(Loan, Loan.id == i.loan_id)
        .where(
            in_scope,
            i.due_date > collection_start,
            i.due_date <= as_of,
            or_(Loan.closed_on.is_(None), Loan.closed_on >= i.due_date),
            # as above, only loans with ledger entries up to the date
            select(t.loan_id).where(t.loan_id == Loan.id, t.on_date <= as_of).exists(),
        )
        .group_by(*dimensions)
    ):
        row = rows.get((officer_id, centre_id, product_id))
        if row is not None:
            row.fell_due += euros(fell_due)
            row.paid_on_time += euros(on_time)

    labels = _labels(org_id)
    by: dict[str, list[Row]] = {}
    report_total = Row(key=None, label=_("Whole portfolio"))
    for row in rows.values():
        report_total.add(row)
    for position, dimension in enumerate(DIMENSIONS):
        groups: dict[int | None, Row] = {}
        for triple, row in rows.items():
            key = triple[position]
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
            groups[key].add(row)
        by[dimension] = sorted(groups.values(), key=lambda r: (r.label.lower(), r.key or 0))
    for row in [report_total, *(r for rows_ in by.values() for r in rows_)]:
        for n in par_days:
            row.at_risk.setdefault(n, ZERO)
            row.loans_at_risk.setdefault(n, 0)
    return Report(as_of=as_of, par_days=par_days, total=report_total, by=by)


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
    title = [_("Portfolio quality on %(date)s", date=report.as_of.isoformat())]
    rows = [[round(v, 2) if isinstance(v, Decimal) else v for v in r] for r in export_rows(report)]
    return spreadsheets.csv_text([title, _headers(report), *rows])


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "PAR"
    spreadsheets.append(sheet, [_("Portfolio quality on %(date)s", date=report.as_of.isoformat())])
    sheet["A1"].font = Font(bold=True)
    spreadsheets.append(sheet, _headers(report))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for values in export_rows(report):
        spreadsheets.append(sheet, values)  # names typed by officers: text, never formulas
    sheet.freeze_panes = "C3"
    return spreadsheets.xlsx_bytes(book)
