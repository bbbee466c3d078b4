"""Arrears and portfolio quality (PAR), on screen and as CSV or XLSX files."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    render_template,
    request,
)
from sqlalchemy import select

from microcredit import collection, portfolio
from microcredit.forms import (
    AsOfForm,
)
from microcredit.models import (
    Centre,
)
from microcredit.policy import policy
from microcredit.views.common import (
    bp,
    current_org,
    date_arg,
    list_page,
    officer_only,
    today,
)
from portal import db


@bp.route("/arrears")
@officer_only
def arrears() -> Any:
    org = current_org()
    form = AsOfForm(request.args)
    as_of = form.as_of.data if form.validate() and form.as_of.data else today()
    form.as_of.data = as_of
    centre_id = request.args.get("centre", type=int) or None
    rows = collection.arrears(org.id, as_of, centre_id=centre_id)
    centres = (
        db.session.execute(
            select(Centre).where(Centre.organisation_id == org.id).order_by(Centre.name)
        )
        .scalars()
        .all()
    )
    return render_template(
        "microcredit/arrears.html",
        form=form,
        as_of=as_of,
        ageing=collection.ageing(rows),
        page=list_page(rows),
        centres=centres,
        centre_id=centre_id,
    )


@bp.route("/portfolio")
@officer_only
def portfolio_page() -> Any:
    org = current_org()
    form = AsOfForm(request.args)
    as_of = form.as_of.data if form.validate() and form.as_of.data else today()
    form.as_of.data = as_of
    report = portfolio.portfolio_report(org.id, as_of)
    return render_template(
        "microcredit/portfolio.html",
        form=form,
        report=report,
        rules=policy(),
        dimension_label=portfolio.dimension_label,
    )


def _report_for_export() -> tuple[portfolio.Report, str]:
    org = current_org()
    as_of = date_arg()
    return portfolio.portfolio_report(org.id, as_of), f"par-{as_of.isoformat()}"


@bp.route("/portfolio.csv")
@officer_only
def portfolio_csv() -> Any:
    report, name = _report_for_export()
    return Response(
        portfolio.to_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={name}.csv"},
    )


@bp.route("/portfolio.xlsx")
@officer_only
def portfolio_xlsx() -> Any:
    report, name = _report_for_export()
    return Response(
        portfolio.to_xlsx(report),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"},
    )
