"""The officer's dashboard and the next steps on the portal home: counts by state,
portfolio quality at a glance, the centres' last and next meetings.
"""

from __future__ import annotations

from typing import Any

from flask import (
    render_template,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func, select

from microcredit import collection, portfolio
from microcredit.access import officer_organisations
from microcredit.centres import last_meeting, meeting_dates, next_meetings
from microcredit.models import (
    Centre,
    Group,
    Loan,
)
from microcredit.views.common import (
    bp,
    current_org,
    officer_only,
    today,
)
from portal import db
from portal.layout import HomeAction


@bp.route("/")
@officer_only
def dashboard() -> Any:
    org = current_org()
    group_counts = dict(
        db.session.execute(
            select(Group.status, func.count())
            .where(Group.organisation_id == org.id)
            .group_by(Group.status)
        ).all()
    )
    loan_counts = dict(
        db.session.execute(
            select(Loan.status, func.count())
            .where(Loan.organisation_id == org.id)
            .group_by(Loan.status)
        ).all()
    )
    report = portfolio.portfolio_report(org.id, today())
    centres = (
        db.session.execute(
            select(Centre)
            .where(Centre.organisation_id == org.id, Centre.active.is_(True))
            .order_by(Centre.name)
            .limit(20)
        )
        .scalars()
        .all()
    )
    meetings = [(c, last_meeting(c, today()), next_meetings(c, today(), 1)) for c in centres]
    return render_template(
        "microcredit/dashboard.html",
        org=org,
        group_counts=group_counts,
        loan_counts=loan_counts,
        report=report,
        meetings=meetings,
        today=today(),
    )


def officer_home_actions(user: Any) -> list[HomeAction]:
    """A microcredit officer's next steps: today's centre meetings, loans in arrears."""
    orgs = officer_organisations(user)
    if not orgs:
        return []
    day = today()
    centres = (
        db.session.execute(
            select(Centre).where(Centre.organisation_id == orgs[0].id, Centre.active.is_(True))
        )
        .scalars()
        .all()
    )
    meeting_today = [c for c in centres if meeting_dates(c, day, day) == [day]]
    actions = [
        HomeAction(
            _("Centre meetings today"),
            url_for("microcredit.sheet", centre_id=meeting_today[0].id, on=day.isoformat())
            if len(meeting_today) == 1
            else url_for("microcredit.dashboard", _anchor="meetings-title"),
            len(meeting_today),
        ),
        HomeAction(
            _("Loans in arrears"),
            url_for("microcredit.arrears"),
            len(collection.late_loan_ids(orgs[0].id, day)),
        ),
    ]
    return actions
