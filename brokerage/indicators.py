"""Network indicators (seed 001, objectives 8 and 9) and IPS fidelity measures.

Per year, territory, service and target group, against a baseline year:
people placed in work settings, placements, placements with social-inclusion goals,
placements in sheltered settings (type-B cooperatives, social farms), people with an
inclusion or work pathway; days from referral to first employer contact, days to first
job, job tenure, caseload per broker (IPS: evidence-based supported employment).

Small cells (fewer than 5 people) are suppressed in anything shown outside the holding
service, so no person can be singled out; where a total is shown beside a breakdown (by
service, by province), further cells are withheld so that a suppressed cell cannot be
worked out by subtraction (complementary suppression, :mod:`portal.disclosure`).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from brokerage.models import Candidate, CaseHolding, PathwayStage, Proposal, SensitiveRecord
from portal import audit, db
from portal.disclosure import protect_cells
from portal.models import COOPERATIVE_B, SOCIAL_FARM_KIND, Municipality, Organisation, User

SMALL_CELL = 5
INCLUSION_KINDS = {"borsa_lavoro", "observation_lab"}
PLACEMENT_STAGES = {"work_experience", "hiring"}

INDICATORS = {
    "people_placed": _l("People placed in work settings"),
    "placements": _l("Placements"),
    "placements_inclusion": _l("Placements with social-inclusion goals"),
    "placements_sheltered": _l(
        "Placements in sheltered settings (type-B cooperatives, social farms)"
    ),
    "people_with_pathway": _l("People with an inclusion or work pathway"),
    "days_to_first_contact": _l(
        "Days from referral to first employer contact (median; IPS target ≤ 30)"
    ),
    "days_to_first_job": _l("Days from referral to first job (median)"),
    "job_tenure_days": _l("Job tenure in days (median)"),
}
#: Indicators that count people: they are suppressed below SMALL_CELL.
PEOPLE_COUNTS = {
    "people_placed",
    "placements",
    "placements_inclusion",
    "placements_sheltered",
    "people_with_pathway",
}


@dataclass
class Scope:
    """What to count: a year, optional territory, services and target group."""

    year: int
    region: str | None = None
    province: str | None = None
    service_ids: set[int] | None = None
    target_group: str | None = None


@dataclass
class Cell:
    value: float | int | None
    people: int
    suppressed: bool = False
    #: Not small itself, but withheld so that a small cell cannot be derived from a total.
    withheld: bool = False


@dataclass
class Report:
    scope: Scope
    baseline_year: int | None
    values: dict[str, Cell] = field(default_factory=dict)
    baseline: dict[str, Cell] = field(default_factory=dict)
    by_service: list[tuple[str, dict[str, Cell]]] = field(default_factory=list)
    by_province: list[tuple[str, dict[str, Cell]]] = field(default_factory=list)


@dataclass
class _Stage:
    candidate_id: int
    stage: str
    started_on: date
    ended_on: date | None
    service_id: int
    details: dict


def _stages(scope: Scope, until: date) -> list[_Stage]:
    stmt = (
        select(
            PathwayStage.candidate_id,
            PathwayStage.stage,
            PathwayStage.started_on,
            PathwayStage.ended_on,
            PathwayStage.service_id,
            PathwayStage.details,
        )
        .join(Candidate, Candidate.id == PathwayStage.candidate_id)
        .join(Municipality, Municipality.istat_code == Candidate.comune_code)
        .where(PathwayStage.started_on <= until)
    )
    if scope.region:
        stmt = stmt.where(Municipality.region == scope.region)
    if scope.province:
        stmt = stmt.where(Municipality.province_code == scope.province)
    if scope.service_ids is not None:
        stmt = stmt.where(PathwayStage.service_id.in_(scope.service_ids))
    rows = [_Stage(*row) for row in db.session.execute(stmt)]
    if scope.target_group:
        wanted = candidates_in_group({r.candidate_id for r in rows}, scope.target_group)
        rows = [r for r in rows if r.candidate_id in wanted]
    return rows


def candidates_in_group(candidate_ids: set[int], group: str) -> set[int]:
    """Decrypts target groups for statistics only; the caller audit-logs the purpose."""
    found = set()
    ids = list(candidate_ids)
    for start in range(0, len(ids), 5000):
        for cid, target in db.session.execute(
            select(SensitiveRecord.candidate_id, SensitiveRecord.target_group).where(
                SensitiveRecord.candidate_id.in_(ids[start : start + 5000])
            )
        ):
            if target == group:
                found.add(cid)
    return found


def _median(values: list[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def compute(scope: Scope, today: date) -> dict[str, Cell]:
    """Every indicator for ``scope`` (unsuppressed)."""
    first, last = date(scope.year, 1, 1), date(scope.year, 12, 31)
    stages = _stages(scope, min(last, today))
    in_year = [s for s in stages if first <= s.started_on <= last]
    placements = [s for s in in_year if s.stage in PLACEMENT_STAGES]
    inclusion = [
        s
        for s in placements
        if s.stage == "work_experience" and s.details.get("kind") in INCLUSION_KINDS
    ]
    sheltered_orgs = _sheltered_org_ids(
        {s.details.get("employer_org_id") for s in placements if s.details.get("employer_org_id")}
    )
    sheltered = [s for s in placements if s.details.get("employer_org_id") in sheltered_orgs]
    active = {
        s.candidate_id
        for s in stages
        if s.started_on <= last
        and (s.ended_on is None or s.ended_on >= first)
        and s.stage != "closed"
    }
    referral = _first_by_candidate(s for s in stages if s.stage == "referral")
    hires = _first_by_candidate(s for s in stages if s.stage == "hiring")
    contacts = _first_contacts(set(referral))

    def days_between(later: dict[int, date], earlier: dict[int, date]) -> list[int]:
        return [
            (later[c] - earlier[c]).days
            for c in later
            if c in earlier and first <= later[c] <= last and later[c] >= earlier[c]
        ]

    closings = _first_by_candidate(s for s in stages if s.stage == "closed")
    tenure = [
        ((closings.get(c) or min(today, last)) - start).days
        for c, start in hires.items()
        if first <= start <= last
    ]
    cells = {
        "people_placed": _count({s.candidate_id for s in placements}),
        "placements": Cell(len(placements), len({s.candidate_id for s in placements})),
        "placements_inclusion": Cell(len(inclusion), len({s.candidate_id for s in inclusion})),
        "placements_sheltered": Cell(len(sheltered), len({s.candidate_id for s in sheltered})),
        "people_with_pathway": _count(active),
    }
    for key, values in (
        ("days_to_first_contact", days_between(contacts, referral)),
        ("days_to_first_job", days_between(hires, referral)),
        ("job_tenure_days", [t for t in tenure if t >= 0]),
    ):
        cells[key] = Cell(_median(values), len(values))
    return cells


def _count(people: set[int]) -> Cell:
    return Cell(len(people), len(people))


def _first_by_candidate(stages: Iterable[_Stage]) -> dict[int, date]:
    first: dict[int, date] = {}
    for s in stages:
        if s.candidate_id not in first or s.started_on < first[s.candidate_id]:
            first[s.candidate_id] = s.started_on
    return first


def _first_contacts(candidate_ids: set[int]) -> dict[int, date]:
    if not candidate_ids:
        return {}
    rows = db.session.execute(
        select(Proposal.candidate_id, func.min(Proposal.first_contact_at))
        .where(Proposal.candidate_id.in_(candidate_ids))
        .group_by(Proposal.candidate_id)
    )
    return {cid: at.date() for cid, at in rows if at is not None}


def _sheltered_org_ids(org_ids: set[int]) -> set[int]:
    if not org_ids:
        return set()
    return set(
        db.session.execute(
            select(Organisation.id).where(
                Organisation.id.in_(org_ids),
                Organisation.kind.in_((COOPERATIVE_B, SOCIAL_FARM_KIND)),
            )
        ).scalars()
    )


def suppress(cells: dict[str, Cell]) -> dict[str, Cell]:
    """Hide counts and medians that rest on fewer than SMALL_CELL people."""
    return {
        k: Cell(None, c.people, True) if 0 < c.people < SMALL_CELL else c for k, c in cells.items()
    }


def report(
    scope: Scope, baseline_year: int | None, today: date, viewer: User, own_service_ids: set[int]
) -> Report:
    """The indicators page's content. Unsuppressed only when the scope is the viewer's
    own services (the holding services); suppressed everywhere else."""
    inside = bool(scope.service_ids) and scope.service_ids <= own_service_ids
    finish = (lambda cells: cells) if inside else suppress
    if scope.target_group:
        audit.record(
            "indicators.target_group",
            None,
            actor=viewer,
            reason="aggregate statistics",
            target_group=scope.target_group,
            year=scope.year,
        )
    result = Report(scope=scope, baseline_year=baseline_year, values=finish(compute(scope, today)))
    if baseline_year:
        base_scope = Scope(**{**scope.__dict__, "year": baseline_year})
        result.baseline = finish(compute(base_scope, today))
    own_flags = []
    for service_id, name in _services_in(scope):
        sub = Scope(**{**scope.__dict__, "service_ids": {service_id}})
        own = service_id in own_service_ids
        own_flags.append(own)
        cells = compute(sub, today)
        result.by_service.append((name, cells if own else suppress(cells)))
    for province in _provinces_in(scope, today):
        sub = Scope(**{**scope.__dict__, "province": province})
        result.by_province.append((province, finish(compute(sub, today))))
    protect_breakdown(
        result.values,
        [cells for _name, cells in result.by_service],
        locked=own_flags,
    )
    protect_breakdown(result.values, [cells for _province, cells in result.by_province])
    return result


def withheld_cell(cell: Cell) -> Cell:
    return Cell(None, cell.people, True, True)


def protect_breakdown(
    total: dict[str, Cell], parts: list[dict[str, Cell]], locked: list[bool] | None = None
) -> None:
    """Complementary suppression of the people counts of a breakdown shown beside its
    ``total`` (in place): a suppressed part must not be the total minus the visible ones.
    ``locked`` parts are known to the reader (their own service) and cannot be withheld;
    when nothing else can be, the total is withheld instead. Medians do not add up and
    are left as they are."""
    if not parts:
        return
    for key in PEOPLE_COUNTS:
        if total[key].suppressed:
            continue  # no published total to subtract from
        if protect_cells([p[key] for p in parts], SMALL_CELL, locked):
            total[key] = withheld_cell(total[key])


def _services_in(scope: Scope) -> list[tuple[int, str]]:
    stmt = (
        select(Organisation.id, Organisation.name)
        .where(Organisation.id.in_(select(PathwayStage.service_id).distinct()))
        .order_by(Organisation.name)
    )
    if scope.service_ids is not None:
        stmt = stmt.where(Organisation.id.in_(scope.service_ids))
    return list(db.session.execute(stmt).all())


def _provinces_in(scope: Scope, today: date) -> list[str]:
    stmt = (
        select(Municipality.province_code)
        .distinct()
        .join(Candidate, Candidate.comune_code == Municipality.istat_code)
        .order_by(Municipality.province_code)
    )
    if scope.region:
        stmt = stmt.where(Municipality.region == scope.region)
    if scope.province:
        stmt = stmt.where(Municipality.province_code == scope.province)
    return list(db.session.execute(stmt).scalars())


def caseload_per_broker(service_ids: set[int] | None) -> list[tuple[str, int]]:
    """Open cases per broker (IPS best practice: at most 20)."""
    stmt = (
        select(User.full_name, User.email, func.count(CaseHolding.id))
        .join(CaseHolding, CaseHolding.broker_id == User.id)
        .where(CaseHolding.until.is_(None))
        .group_by(User.id, User.full_name, User.email)
        .order_by(User.full_name)
    )
    if service_ids is not None:
        stmt = stmt.where(CaseHolding.service_id.in_(service_ids))
    return [(name or email, n) for name, email, n in db.session.execute(stmt)]


def years_available(today: date) -> list[int]:
    first = db.session.execute(select(func.min(PathwayStage.started_on))).scalar()
    start = first.year if first else today.year
    return list(range(today.year, start - 1, -1))


def rows_for_export(rep: Report) -> list[list[object]]:
    """One table: indicator, year value, baseline value, change — suppressed as shown."""
    header = ["indicator", str(rep.scope.year)]
    if rep.baseline_year:
        header += [str(rep.baseline_year), "change"]
    rows: list[list[object]] = [header]
    for key, label in INDICATORS.items():
        cell = rep.values[key]
        row: list[object] = [str(label), _shown(cell)]
        if rep.baseline_year:
            base = rep.baseline[key]
            row += [_shown(base), _change(cell, base)]
        rows.append(row)
    return rows


WITHHELD_TEXT = "c"  # as Eurostat's flag for confidential figures


def _shown(cell: Cell) -> object:
    if cell.withheld:
        return WITHHELD_TEXT
    if cell.suppressed:
        return f"<{SMALL_CELL}"
    return "" if cell.value is None else cell.value


def _change(cell: Cell, base: Cell) -> object:
    if cell.suppressed or base.suppressed or cell.value is None or base.value is None:
        return ""
    return round(cell.value - base.value, 1)
