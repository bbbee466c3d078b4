"""Demo data for the caseload: about 300 candidates held by the demo services, with
consents (most valid, some expired or revoked) and pathways at every stage over the last
three years, so that the indicators look real. Idempotent.

At ``scale == "large"`` the SIL demo service also holds 20,000 candidates, bulk-inserted,
for the matching benchmark. Names are invented; no real person is described.

The pieces are in ``data`` (invented names and texts), ``records`` (one candidate),
``caseloads`` (both scales), ``desks`` and ``proposals``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from brokerage.demo.caseloads import seed_large, seed_small
from brokerage.demo.data import SIL
from brokerage.demo.desks import seed_desks
from brokerage.demo.proposals import seed_proposals
from brokerage.demo.records import demo_services
from brokerage.models import CaseHolding
from portal import db
from portal.db import utcnow


def seed(scale: str, echo: Callable[[str], Any]) -> None:
    services = demo_services()
    if SIL not in services:
        return
    today = utcnow().date()
    already = db.session.execute(
        select(func.count())
        .select_from(CaseHolding)
        .where(CaseHolding.service_id.in_([s.id for s in services.values()]))
    ).scalar_one()
    if not already:
        count = seed_small(services, today)
        db.session.commit()
        echo(f"Added {count} candidates to the demo caseloads.")
    proposed = seed_proposals(services, today)
    if proposed:
        db.session.commit()
        echo(f"Added {proposed} proposals to the demo employer's inbox.")
    desks = seed_desks()
    if desks:
        db.session.commit()
        echo(f"Added {desks} service desks that take candidacies from public vacancies.")
    if scale == "large":
        seed_large(services[SIL], today, echo)


#: Public desks of the demo services that take candidacies (SIL, job centre).
