"""Demo data for microcredit (idempotent), for "Microcredito Solidale Friuli".

Small scale: three centres in the province of Pordenone with groups in every state,
thirty weeks of meetings replayed through the real services (collection sheets, 2-2-1
first disbursements, penalties, a reschedule, write-offs) so loans carry histories of
on-time, late and missed repayments, and individual borrowers with loans in the remaining
states. The first centre meets today, and today's sheet is left to fill in.

Large scale adds 10,000 group loans (250 centres of 8 groups of 5) written in bulk, for
the PAR30 benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from microcredit.demo.cast import CENTRES, OFFICER_EMAIL, ORG_NAME
from microcredit.demo.large import seed_large
from microcredit.demo.story import Story
from microcredit.models import Centre
from portal import accounts, db

__all__ = ["OFFICER_EMAIL", "ORG_NAME", "seed"]


def seed(scale: str, echo: Callable[[str], Any]) -> None:
    org = accounts.find_organisation(ORG_NAME)
    officer = accounts.find_user(OFFICER_EMAIL)
    if org is None or officer is None:
        return
    if (
        db.session.execute(
            select(Centre.id).where(
                Centre.organisation_id == org.id, Centre.name == CENTRES[0].name
            )
        ).first()
        is None
    ):
        Story(org, officer).run()
        db.session.commit()
        echo("Microcredit: centres, groups, members and loans with their histories added.")
    if scale == "large":
        seed_large(org, officer, echo)
