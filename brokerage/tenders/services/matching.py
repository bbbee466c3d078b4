"""Matching cooperatives and social farms to tenders at scale: the supplier index and the
SQL prefilters on CPV prefixes, the ranking of eligible suppliers for a tender, the open
tenders a supplier may bid for, and notifying the eligible suppliers of new tenders.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, false, func, insert, or_, select

from brokerage.tenders.models import (
    ACCEPTED,
    CONVENTION,
    FLAGGED,
    PROVINCE,
    PUBLISHED,
    REGION,
    ComplianceReport,
    Contract,
    SupplierCapability,
    SupplierProfile,
    SupplierTerritory,
    Tender,
    TenderCpv,
    TenderNotice,
    WorkforceDeclaration,
    cpv_prefix,
    percent,
)
from brokerage.tenders.services.base import SUPPLIER_KINDS, SUPPLIER_ROLES, link
from brokerage.tenders.services.eligibility import (
    Eligibility,
    SupplierFacts,
    TenderFacts,
    evaluate,
    is_eligible,
)
from brokerage.tenders.services.suppliers import current_declaration_year
from portal import db
from portal.db import utcnow
from portal.models import COOPERATIVE_B, Membership, Municipality, Organisation, User


class SupplierIndex:
    """Every supplier's facts, loaded once, with CPV prefix maps: many tenders (an import)
    are checked against thousands of suppliers without a query per tender."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.suppliers = {s.org_id: s for s in load_suppliers(today)}
        self.covering: dict[str, set[int]] = defaultdict(set)  # capability prefix -> orgs
        self.below: dict[str, set[int]] = defaultdict(set)  # any code prefix -> orgs
        for supplier in self.suppliers.values():
            for code in supplier.capabilities:
                self.covering[cpv_prefix(code)].add(supplier.org_id)
                for n in range(2, 9):
                    self.below[code[:n]].add(supplier.org_id)

    def candidates(self, codes: list[str]) -> list[SupplierFacts]:
        if not codes:
            return list(self.suppliers.values())
        found: set[int] = set()
        for code in codes:
            for n in range(2, 9):
                found |= self.covering.get(code[:n], set())
            found |= self.below.get(cpv_prefix(code), set())
        return [self.suppliers[i] for i in found]

    def eligible(self, tender: Tender) -> list[int]:
        facts = TenderFacts.of(tender)
        return [s.org_id for s in self.candidates(facts.codes) if is_eligible(facts, s, self.today)]


def _candidate_filter(codes: list[str]) -> Any:
    """SQL condition on SupplierCapability: related to any of ``codes`` by prefix."""
    conditions = []
    prefixes = {code[:n] for code in codes for n in range(2, 9)}
    if prefixes:
        conditions.append(SupplierCapability.prefix.in_(sorted(prefixes)))
    for code in codes:
        significant = cpv_prefix(code)
        upper = str(int(significant) + 1).zfill(len(significant))
        conditions.append(
            and_(
                SupplierCapability.cpv_code >= significant.ljust(8, "0"),
                SupplierCapability.cpv_code < upper.ljust(8, "0"),
            )
        )
    return or_(*conditions)


def load_suppliers(today: date, org_ids: Any = None) -> list[SupplierFacts]:
    """Facts of every supplier (or of ``org_ids``: a list or a subquery) in five queries."""
    stmt = (
        select(
            Organisation.id,
            Organisation.name,
            Organisation.slug,
            Organisation.kind,
            Organisation.verified_at,
            Organisation.register_number,
            Organisation.regional_register,
            Organisation.comune_code,
            Municipality.province_code,
            Municipality.region,
            SupplierProfile.register_valid_until,
        )
        .join(SupplierProfile, SupplierProfile.organisation_id == Organisation.id)
        .outerjoin(Municipality, Municipality.istat_code == Organisation.comune_code)
        .where(Organisation.kind.in_(SUPPLIER_KINDS))
    )
    if org_ids is not None:
        stmt = stmt.where(Organisation.id.in_(org_ids))
    facts: dict[int, SupplierFacts] = {}
    for row in db.session.execute(stmt):
        facts[row.id] = SupplierFacts(
            org_id=row.id,
            name=row.name,
            slug=row.slug,
            kind=row.kind,
            verified=row.verified_at is not None,
            register_reference=row.register_number or row.regional_register or "",
            register_valid_until=row.register_valid_until,
            comune_code=row.comune_code,
            province=row.province_code,
            region=row.region,
        )
    if not facts:
        return []
    scope = org_ids if org_ids is not None else list(facts)

    def restrict(column: Any) -> Any:
        return column.in_(scope)

    for org_id, code in db.session.execute(
        select(SupplierCapability.organisation_id, SupplierCapability.cpv_code).where(
            restrict(SupplierCapability.organisation_id)
        )
    ):
        if org_id in facts:
            facts[org_id].capabilities.append(code)
    for org_id, scope_name, value in db.session.execute(
        select(
            SupplierTerritory.organisation_id, SupplierTerritory.scope, SupplierTerritory.value
        ).where(restrict(SupplierTerritory.organisation_id))
    ):
        if org_id in facts:
            facts[org_id].territories.add((scope_name, value))
    d = WorkforceDeclaration
    declarations = db.session.execute(
        select(
            d.organisation_id,
            d.year,
            d.total_workers,
            d.disabled,
            d.psychiatric,
            d.addiction,
            d.minors,
            d.prisoners,
            d.other_disadvantaged,
        )
        .where(
            restrict(d.organisation_id),
            d.year >= current_declaration_year(today),
            d.year <= today.year,
        )
        .order_by(d.year)
    )
    for org_id, year, total, *counts, other in declarations:  # the latest year wins
        supplier = facts.get(org_id)
        if supplier is not None:
            art4 = sum((c or Decimal(0) for c in counts), Decimal(0))
            supplier.declaration_year = year
            supplier.l381_share = percent(art4, total)
            supplier.art61_share = percent(art4 + (other or Decimal(0)), total)
    for org_id, status, count in db.session.execute(
        select(Contract.supplier_org_id, ComplianceReport.status, func.count())
        .join(ComplianceReport, ComplianceReport.contract_id == Contract.id)
        .where(restrict(Contract.supplier_org_id), ComplianceReport.status.in_((ACCEPTED, FLAGGED)))
        .group_by(Contract.supplier_org_id, ComplianceReport.status)
    ):
        if org_id in facts:
            if status == ACCEPTED:
                facts[org_id].accepted_reports = count
            else:
                facts[org_id].flagged_reports = count
    return list(facts.values())


def rank(
    tender: Tender, today: date, *, include_ineligible: bool = False, explain: bool = False
) -> list[Eligibility]:
    """Suppliers for ``tender``, eligible first, by fit.

    Only suppliers with a CPV capability related to the tender's codes are considered.
    Without ``include_ineligible`` the database first narrows them to those that may be
    eligible (kind, share, territory), then every criterion is checked exactly here.
    Without ``explain`` the reasons are left empty: see :func:`explain`.
    """
    facts = TenderFacts.of(tender)
    if include_ineligible:
        org_ids = (
            None
            if not facts.codes
            else list(
                db.session.execute(
                    select(SupplierCapability.organisation_id)
                    .where(_candidate_filter(facts.codes))
                    .distinct()
                ).scalars()
            )
        )
    else:
        org_ids = list(db.session.execute(_prefilter(facts, today)).scalars())
    suppliers = load_suppliers(today, org_ids)
    if not include_ineligible:
        suppliers = [s for s in suppliers if is_eligible(facts, s, today)]
    results = [evaluate(facts, supplier, today, explain) for supplier in suppliers]
    results.sort(key=lambda r: (not r.eligible, -r.score, r.supplier.name))
    return results


def _prefilter(facts: TenderFacts, today: date) -> Any:
    """Ids of the suppliers that may be eligible: a superset, checked exactly afterwards
    (amounts are compared with a small tolerance, as SQLite keeps NUMERIC as REAL)."""
    from sqlalchemy import exists, literal

    kinds = (COOPERATIVE_B,) if facts.clause_type == CONVENTION else SUPPLIER_KINDS
    stmt = (
        select(Organisation.id)
        .join(SupplierProfile, SupplierProfile.organisation_id == Organisation.id)
        .where(Organisation.kind.in_(kinds), Organisation.verified_at.is_not(None))
    )
    if facts.codes:
        stmt = stmt.where(
            Organisation.id.in_(
                select(SupplierCapability.organisation_id).where(_candidate_filter(facts.codes))
            )
        )
    if facts.required_share is not None:
        d = WorkforceDeclaration
        counted = d.disabled + d.psychiatric + d.addiction + d.minors + d.prisoners
        if facts.clause_type != CONVENTION:
            counted = counted + d.other_disadvantaged
        stmt = stmt.where(
            exists().where(
                d.organisation_id == Organisation.id,
                d.year >= current_declaration_year(today),
                d.year <= today.year,
                counted * 100 >= d.total_workers * literal(float(facts.required_share)) - 0.001,
            )
        )
    if facts.comune_code:
        t = SupplierTerritory
        declared = exists().where(t.organisation_id == Organisation.id)
        matching = exists().where(
            t.organisation_id == Organisation.id,
            or_(
                and_(t.scope == PROVINCE, t.value == (facts.province or "")),
                and_(t.scope == REGION, t.value == (facts.region or "")),
            ),
        )
        own_province = Organisation.comune_code.in_(
            select(Municipality.istat_code).where(
                Municipality.province_code == (facts.province or "")
            )
        )
        stmt = stmt.where(
            or_(
                Organisation.comune_code == facts.comune_code,
                matching,
                and_(~declared, own_province),
            )
        )
    return stmt


def open_tenders_stmt(now: datetime) -> Any:
    return (
        select(Tender)
        .join(Organisation, Organisation.id == Tender.buyer_org_id)
        .where(
            Tender.status == PUBLISHED,
            Organisation.verified_at.is_not(None),
            or_(Tender.deadline.is_(None), Tender.deadline >= now),
        )
    )


def eligible_tenders_for(org: Organisation, today: date) -> list[tuple[Tender, Eligibility]]:
    """Open tenders ``org`` is eligible for, best fit first."""
    suppliers = load_suppliers(today, [org.id])
    if not suppliers:
        return []
    supplier = suppliers[0]
    related = []
    for capability in supplier.capabilities:
        significant = cpv_prefix(capability)
        upper = str(int(significant) + 1).zfill(len(significant))
        related.append(
            and_(TenderCpv.code >= significant.ljust(8, "0"), TenderCpv.code < upper.ljust(8, "0"))
        )
        related.append(TenderCpv.code.in_([capability[:n].ljust(8, "0") for n in range(2, 8)]))
    has_codes = select(TenderCpv.tender_id)
    candidates = open_tenders_stmt(utcnow()).where(
        or_(
            Tender.id.in_(select(TenderCpv.tender_id).where(or_(*related))) if related else false(),
            ~Tender.id.in_(has_codes.distinct()),
        )
    )
    found = []
    for tender in db.session.execute(candidates).scalars().unique():
        result = evaluate(TenderFacts.of(tender), supplier, today)
        if result.eligible:
            found.append((tender, result))
    found.sort(
        key=lambda pair: (
            -pair[1].score,
            pair[0].deadline.timestamp() if pair[0].deadline else float("inf"),
            pair[0].id,
        )
    )
    return found


def notify_eligible(tender: Tender, today: date, index: SupplierIndex | None = None) -> int:
    """Tell each eligible supplier's people about a newly published tender, once."""
    return notify_many([tender], today, index)


def notify_many(tenders: list[Tender], today: date, index: SupplierIndex | None = None) -> int:
    """Tell the eligible suppliers of newly published tenders, once per tender and
    supplier; a fixed number of queries however many tenders (an import)."""
    from portal.notifications import notify

    now = utcnow()
    eligible: dict[int, list[int]] = {}
    for tender in tenders:
        if tender.is_public() and tender.is_open(now):
            found = (
                index.eligible(tender)
                if index is not None
                else [r.supplier.org_id for r in rank(tender, today)]
            )
            if found:
                eligible[tender.id] = found
    if not eligible:
        return 0
    told = {
        (tid, oid)
        for tid, oid in db.session.execute(
            select(TenderNotice.tender_id, TenderNotice.organisation_id).where(
                TenderNotice.tender_id.in_(list(eligible))
            )
        )
    }
    new = {tid: [o for o in orgs if (tid, o) not in told] for tid, orgs in eligible.items()}
    rows = [{"tender_id": tid, "organisation_id": o} for tid, orgs in new.items() for o in orgs]
    if not rows:
        return 0
    db.session.execute(insert(TenderNotice), rows)
    people: dict[int, list[User]] = defaultdict(list)
    for org_id, user in db.session.execute(
        select(Membership.organisation_id, User)
        .join(User, Membership.user_id == User.id)
        .where(
            Membership.organisation_id.in_({r["organisation_id"] for r in rows}),
            Membership.role.in_(SUPPLIER_ROLES),
            User.active.is_(True),
        )
    ):
        people[org_id].append(user)
    by_id = {t.id: t for t in tenders}
    for tender_id, orgs in new.items():
        tender = by_id[tender_id]
        target = link("tenders.tender_detail", f"/tenders/{tender.id}", tender_id=tender.id)
        for user in {u for o in orgs for u in people.get(o, [])}:
            notify(
                user,
                _(
                    "A new tender you are eligible for: %(title)s (%(buyer)s)",
                    title=tender.title,
                    buyer=tender.buyer.name,
                ),
                target,
            )
    return len(rows)
