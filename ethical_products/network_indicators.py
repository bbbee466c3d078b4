"""Ethical-product sales to producers for the public network indicators page."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import func, select

from ethical_products.models import SOLD_STATES, SubOrder
from portal import db
from portal.models import ORG_KIND_LABELS, Organisation
from portal.network.indicators import Row, Section, register_provider


def sales_to_producers(year: int) -> list[Section]:
    start = datetime.combine(date(year, 1, 1), time.min, UTC)
    end = datetime.combine(date(year, 12, 31), time.max, UTC)
    rows = db.session.execute(
        select(
            Organisation.kind,
            func.count(func.distinct(SubOrder.producer_id)),
            func.count(SubOrder.id),
            func.sum(SubOrder.subtotal),
        )
        .join(Organisation, Organisation.id == SubOrder.producer_id)
        .where(SubOrder.status.in_(SOLD_STATES), SubOrder.paid_at >= start, SubOrder.paid_at <= end)
        .group_by(Organisation.kind)
    ).all()
    table = [
        Row(str(ORG_KIND_LABELS.get(kind, kind)), [producers, orders, round(float(total or 0), 2)])
        for kind, producers, orders, total in rows
    ]
    if not table:
        return []
    return [
        Section(
            key="ethical_product_sales",
            title=_("Ethical-product sales to producers %(year)d", year=year),
            description=_(
                "Orders paid in the year to social farms and type-B cooperatives "
                "(VAT included), whatever the payment method."
            ),
            columns=[_("Producers who sold"), _("Orders"), _("Sales (EUR)")],
            rows=table,
            chart_columns=[2],
            unit="EUR",
            source=_("Ponte: ethical products shop"),
        )
    ]


def register(app: Flask) -> None:
    register_provider(app, sales_to_producers)
