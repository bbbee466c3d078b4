"""The public network indicators for a year: the page, its CSV and XLSX files and
the printable PDF report (sections come from portal.network.indicators providers)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, render_template, request

from portal.network import indicators, report_pdf, services
from portal.network.views.base import bp
from portal.permissions import public


def _year() -> int:
    today = services.today()
    year = request.args.get("year", type=int)
    return year if year in indicators.years(today) else today.year


@bp.route("/indicators")
@public
def indicators_page() -> Any:
    year = _year()
    return render_template(
        "network/indicators.html",
        year=year,
        years=indicators.years(services.today()),
        sections=indicators.sections(year),
        small_cell=indicators.SMALL_CELL,
        suppressed_text=indicators.SUPPRESSED_TEXT,
        withheld_text=indicators.WITHHELD_TEXT,
    )


@bp.route("/indicators.csv")
@public
def indicators_csv() -> Any:
    year = _year()
    return Response(
        indicators.to_csv(year, indicators.sections(year)),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=ponte-network-{year}.csv"},
    )


@bp.route("/indicators.xlsx")
@public
def indicators_xlsx() -> Any:
    year = _year()
    return Response(
        indicators.to_xlsx(year, indicators.sections(year)),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename=ponte-network-{year}.xlsx"},
    )


@bp.route("/indicators/report-<int:year>.pdf")
@public
def indicators_report(year: int) -> Any:
    today = services.today()
    if year not in indicators.years(today):
        abort(404)
    body = report_pdf.build(year, indicators.sections(year), today, request.host_url)
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"inline; filename=ponte-network-report-{year}.pdf"},
    )
