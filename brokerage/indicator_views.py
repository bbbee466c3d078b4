"""Indicators pages and exports (brokers, public officers, administrators)."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from flask_login import current_user
from sqlalchemy import select

from brokerage import access, indicators
from brokerage.blueprint import bp, today
from brokerage.models import TARGET_GROUPS
from portal import db, municipalities, spreadsheets
from portal.models import ADMIN, BROKER, PUBLIC_OFFICER, SERVICE, Organisation
from portal.permissions import roles_required

VIEWERS = (BROKER, PUBLIC_OFFICER, ADMIN)


def scope_from_args() -> tuple[indicators.Scope, int | None]:
    now = today()
    years = indicators.years_available(now)
    year = request.args.get("year", type=int)
    year = year if year in years else now.year
    baseline = request.args.get("baseline", type=int)
    baseline = baseline if baseline in years and baseline != year else None
    service = request.args.get("service", "")
    own = access.broker_service_ids(current_user)
    if service == "own" or (service == "" and own and "service" not in request.args):
        service_ids: set[int] | None = own or None
    elif service.isdigit():
        service_ids = {int(service)}
    else:
        service_ids = None
    region = request.args.get("region") or None
    province = (request.args.get("province") or "").upper()[:2] or None
    group = request.args.get("target_group")
    return indicators.Scope(
        year=year,
        region=region,
        province=province,
        service_ids=service_ids,
        target_group=group if group in TARGET_GROUPS else None,
    ), baseline


def build_report() -> indicators.Report:
    scope, baseline = scope_from_args()
    return indicators.report(
        scope,
        baseline,
        today(),
        current_user._get_current_object(),
        access.broker_service_ids(current_user),
    )


@bp.route("/network/indicators")
@roles_required(*VIEWERS)
def indicators_page() -> Any:
    rep = build_report()
    db.session.commit()  # the audit entry for target-group statistics
    services = db.session.execute(
        select(Organisation.id, Organisation.name)
        .where(Organisation.kind == SERVICE, Organisation.verified_at.is_not(None))
        .order_by(Organisation.name)
    ).all()
    return render_template(
        "brokerage/indicators.html",
        rep=rep,
        labels=indicators.INDICATORS,
        people_counts=indicators.PEOPLE_COUNTS,
        years=indicators.years_available(today()),
        services=services,
        own=access.broker_service_ids(current_user),
        regions=municipalities.regions(),
        target_groups=TARGET_GROUPS,
        caseload=indicators.caseload_per_broker(rep.scope.service_ids),
        small_cell=indicators.SMALL_CELL,
        args=request.args,
    )


@bp.route("/network/indicators.csv")
@roles_required(*VIEWERS)
def indicators_csv() -> Any:
    rows = indicators.rows_for_export(build_report())
    db.session.commit()
    return Response(
        spreadsheets.csv_text(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=ponte-indicators.csv"},
    )


@bp.route("/network/indicators.xlsx")
@roles_required(*VIEWERS)
def indicators_xlsx() -> Any:
    from openpyxl import Workbook

    rows = indicators.rows_for_export(build_report())
    db.session.commit()
    book = Workbook()
    sheet = book.active
    sheet.title = "indicators"
    for row in rows:
        spreadsheets.append(sheet, row)
    return Response(
        spreadsheets.xlsx_bytes(book),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=ponte-indicators.xlsx"},
    )


def _register_nav(state: Any) -> None:
    from flask_babel import lazy_gettext as _l

    from portal.layout import add_nav

    add_nav(state.app, _l("Indicators"), "brokerage.indicators_page", VIEWERS)


bp.record_once(_register_nav)
