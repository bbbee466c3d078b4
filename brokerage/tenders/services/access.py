"""Who may do what in tenders: a public officer edits only their own body's tenders, a
supplier's people see their organisation's contracts, and a public tender is visible to
all.
"""

from __future__ import annotations

from typing import Any

from brokerage.tenders.models import Contract, Tender
from brokerage.tenders.services.base import SUPPLIER_KINDS, SUPPLIER_ROLES
from portal.models import PUBLIC_BODY, PUBLIC_OFFICER, Organisation

# --- Who may do what -----------------------------------------------------------------------


def officer_bodies(user: Any) -> list[Organisation]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return [o for o in user.organisations(PUBLIC_OFFICER) if o.kind == PUBLIC_BODY]


def can_edit(user: Any, tender: Tender) -> bool:
    """An officer edits only their own body's tenders."""
    return any(o.id == tender.buyer_org_id for o in officer_bodies(user))


def supplier_orgs(user: Any) -> list[Organisation]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return [o for o in user.organisations(*SUPPLIER_ROLES) if o.kind in SUPPLIER_KINDS]


def holds_contract(user: Any, contract: Contract) -> bool:
    return any(o.id == contract.supplier_org_id for o in supplier_orgs(user))


def can_see_tender(user: Any, tender: Tender) -> bool:
    return tender.is_public() or can_edit(user, tender)
