"""Microcredit portfolio quality for the public network indicators page (PAR30, on-time
collection, write-offs), as of the end of the year or today."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select

from microcredit.models import Loan
from microcredit.portfolio import Row as PortfolioRow
from microcredit.portfolio import portfolio_report
from portal import db
from portal.db import utcnow
from portal.models import Organisation
from portal.network.indicators import Cell, Row, Section, register_provider


def _row(label: str, r: PortfolioRow) -> Row:
    # Loans stand for borrowers: a portfolio of fewer than 5 is not shown.
    people = r.loans
    return Row(
        label,
        [
            Cell(r.loans, people=people),
            Cell(float(r.gross), people=people),
            Cell(None if r.par(30) is None else float(r.par(30)), people=people),
            Cell(None if r.on_time_rate is None else float(r.on_time_rate), people=people),
            Cell(None if r.write_off_ratio is None else float(r.write_off_ratio), people=people),
        ],
    )


def portfolio_quality(year: int) -> list[Section]:
    as_of = min(date(year, 12, 31), utcnow().date())
    orgs = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_(select(Loan.organisation_id).distinct()))
        .order_by(Organisation.name)
    ).all()
    if not orgs:
        return []
    total = PortfolioRow(key=None, label=_("Whole network"))
    rows = []
    for org_id, name in orgs:
        report = portfolio_report(org_id, as_of)
        total.add(report.total)
        rows.append(_row(name, report.total))
    rows.append(_row(str(total.label), total))
    return [
        Section(
            key="microcredit_portfolio",
            title=_("Microcredit portfolio quality on %(date)s", date=as_of.isoformat()),
            description=_(
                "PAR30: unpaid principal of loans with an instalment more than 30 days "
                "late over the gross loan portfolio. On-time collection: amounts paid "
                "when due over amounts fallen due."
            ),
            columns=[
                _("Active loans"),
                _("Gross loan portfolio (EUR)"),
                _("PAR30 (%)"),
                _("On-time collection rate (%)"),
                _("Write-off ratio (%)"),
            ],
            rows=rows,
            chart_columns=[2],
            source=_("Ponte: microcredit ledger"),
        )
    ]


def register(app: Flask) -> None:
    register_provider(app, portfolio_quality)
