"""Sections of the public network indicators page from brokerage: the seed indicators
against the baseline and by province, placements by sector, tenders with social clauses
and their compliance. Every count passes through the small-cell suppression, and where
a breakdown (by province, by sector) stands beside the network's total, through the
complementary suppression too (:mod:`portal.disclosure`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time

from flask import Flask, current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import func, select

from brokerage import indicators
from brokerage.models import PathwayStage
from portal import db
from portal.db import utcnow
from portal.disclosure import protect_cells
from portal.models import ORG_KIND_LABELS, Organisation
from portal.network.indicators import Row, Section, register_provider


def _baseline(year: int) -> int:
    return int(current_app.config.get("NETWORK_BASELINE_YEAR") or year - 1)


def seed_indicators(year: int) -> list[Section]:
    today = utcnow().date()
    base_year = _baseline(year)
    now = indicators.suppress(indicators.compute(indicators.Scope(year=year), today))
    base = indicators.suppress(indicators.compute(indicators.Scope(year=base_year), today))
    counts = [k for k in indicators.INDICATORS if k in indicators.PEOPLE_COUNTS]
    medians = [k for k in indicators.INDICATORS if k not in indicators.PEOPLE_COUNTS]
    columns = [str(year), _("Baseline %(year)d", year=base_year)]
    source = _("Ponte: placement pathways of the network's services")
    rows = []
    for province in indicators._provinces_in(indicators.Scope(year=year), today):
        cells = indicators.suppress(
            indicators.compute(indicators.Scope(year=year, province=province), today)
        )
        rows.append(Row(province, [cells[k] for k in counts]))
    # The provinces add up to the network's totals shown above them, and the sectors to
    # its placements: no suppressed cell may be the total minus the visible ones.
    for i, key in enumerate(counts):
        if not now[key].suppressed and protect_cells(
            [row.cells[i] for row in rows], indicators.SMALL_CELL
        ):
            now[key] = indicators.withheld_cell(now[key])
    if not now["placements"].suppressed and protect_cells(
        [row.cells[0] for row in _sector_rows(year)], indicators.SMALL_CELL
    ):
        now["placements"] = indicators.withheld_cell(now["placements"])
    sections = [
        Section(
            key="seed_indicators",
            title=_("Result indicators %(year)d against the baseline", year=year),
            description=_("The indicators of the area plan (seed 001), whole network."),
            columns=columns,
            rows=[Row(str(indicators.INDICATORS[k]), [now[k], base[k]]) for k in counts],
            chart_columns=[0, 1],
            source=source,
        ),
        Section(
            key="ips_measures",
            title=_("Supported employment (IPS) measures %(year)d", year=year),
            columns=columns,
            rows=[Row(str(indicators.INDICATORS[k]), [now[k], base[k]]) for k in medians],
            chart_columns=[],
            source=source,
        ),
    ]
    if rows:
        sections.append(
            Section(
                key="seed_indicators_by_province",
                title=_("Result indicators %(year)d by province", year=year),
                columns=[str(indicators.INDICATORS[k]) for k in counts],
                rows=rows,
                chart_columns=[0],
                source=source,
            )
        )
    return sections


def _division_title(code: str) -> str | None:
    import ateco

    for edition in ("2025", "2022"):
        node = ateco.lookup(code, edition=edition)
        if node is not None and node.level == "division" and node.title:
            return str(node.title)
    return None


def _division_label(code: str) -> str:
    """ "Companies, ATECO division 31 – Fabbricazione di mobili": the division's official
    (Italian) title from the ``ateco`` package, the code alone when it has none."""
    title = _division_title(code)
    if title:
        return _("Companies, ATECO division %(code)s – %(title)s", code=code, title=title)
    return _("Companies, ATECO division %(code)s", code=code)


def _division_label_html(code: str) -> Markup | None:
    """The label for pages in another language than Italian: ISTAT publishes ATECO titles
    in Italian only, so the title is marked ``lang="it"`` (screen readers switch voice)."""
    title = _division_title(code)
    if not title or str(get_locale() or "it") == "it":
        return None
    text = _("Companies, ATECO division %(code)s – %(title)s", code=code, title="\x00")
    before, _sep, after = text.partition("\x00")
    return escape(before) + Markup('<span lang="it">%s</span>') % title + escape(after)


def _sector_rows(year: int) -> list[Row]:
    """Placements started in the year by kind of employer (companies by ATECO division),
    small cells suppressed."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    stages = db.session.execute(
        select(PathwayStage.candidate_id, PathwayStage.details).where(
            PathwayStage.stage.in_(indicators.PLACEMENT_STAGES),
            PathwayStage.started_on >= first,
            PathwayStage.started_on <= last,
        )
    ).all()
    employer_ids = {d.get("employer_org_id") for _c, d in stages if d.get("employer_org_id")}
    sector_of: dict[int, str] = {}
    marked: dict[str, Markup | None] = {}
    if employer_ids:
        from employers.models import CompanyProfile

        orgs = db.session.execute(
            select(Organisation.id, Organisation.kind).where(Organisation.id.in_(employer_ids))
        ).all()
        atecos = dict(
            db.session.execute(
                select(CompanyProfile.organisation_id, CompanyProfile.ateco_code).where(
                    CompanyProfile.organisation_id.in_(employer_ids)
                )
            ).all()
        )
        for org_id, kind in orgs:
            code = (atecos.get(org_id) or "")[:2]
            sector_of[org_id] = (
                _division_label(code)
                if kind == "company" and code.isdigit()
                else str(ORG_KIND_LABELS.get(kind, kind))
            )
            if kind == "company" and code.isdigit():
                marked[sector_of[org_id]] = _division_label_html(code)
    placements: dict[str, int] = defaultdict(int)
    people: dict[str, set[int]] = defaultdict(set)
    unknown = _("Employer not recorded")
    for candidate_id, details in stages:
        sector = sector_of.get(details.get("employer_org_id"), unknown)
        placements[sector] += 1
        people[sector].add(candidate_id)
    rows = [
        Row(
            sector,
            [
                indicators.suppress(
                    {"n": indicators.Cell(placements[sector], len(people[sector]))}
                )["n"]
            ],
            label_html=marked.get(sector),
        )
        # Largest first, by name among equals; the unknown employer always last.
        for sector in sorted(placements, key=lambda s: (s == unknown, -placements[s], s))
    ]
    return rows


def placements_by_sector(year: int) -> list[Section]:
    """Placements started in the year by kind of employer; the sectors add up to the
    network's placements (seed indicators), so small cells are protected from subtraction."""
    rows = _sector_rows(year)
    protect_cells([row.cells[0] for row in rows], indicators.SMALL_CELL)
    if not rows:
        return []
    return [
        Section(
            key="placements_by_sector",
            title=_("Placements %(year)d by sector", year=year),
            columns=[_("Placements")],
            rows=rows,
            source=_("Ponte: placement pathways of the network's services"),
        )
    ]


def tenders_with_social_clauses(year: int) -> list[Section]:
    """Tenders published in the year by clause, awards and compliance of reports filed."""
    from brokerage.tenders.models import (
        CLAUSE_TYPES,
        NONE,
        PUBLIC_STATUSES,
        ComplianceReport,
        Contract,
        Tender,
    )

    start = datetime.combine(date(year, 1, 1), time.min, UTC)
    end = datetime.combine(date(year, 12, 31), time.max, UTC)
    published = dict(
        db.session.execute(
            select(Tender.clause_type, func.count())
            .where(
                Tender.status.in_(PUBLIC_STATUSES),
                Tender.published_at >= start,
                Tender.published_at <= end,
            )
            .group_by(Tender.clause_type)
        ).all()
    )
    awarded = {
        k: (n, v)
        for k, n, v in db.session.execute(
            select(Tender.clause_type, func.count(Contract.id), func.sum(Contract.value_amount))
            .join(Contract, Contract.tender_id == Tender.id)
            .where(Contract.awarded_at >= start, Contract.awarded_at <= end)
            .group_by(Tender.clause_type)
        ).all()
    }
    reports = {
        k: (n, ok)
        for k, n, ok in db.session.execute(
            select(
                Tender.clause_type,
                func.count(ComplianceReport.id),
                func.count(ComplianceReport.id).filter(ComplianceReport.compliant.is_(True)),
            )
            .join(Contract, Contract.tender_id == Tender.id)
            .join(ComplianceReport, ComplianceReport.contract_id == Contract.id)
            .where(
                ComplianceReport.filed_at >= start,
                ComplianceReport.filed_at <= end,
                ComplianceReport.compliant.is_not(None),
            )
            .group_by(Tender.clause_type)
        ).all()
    }
    rows = []
    for clause, label in CLAUSE_TYPES.items():
        if clause == NONE:
            continue
        n_contracts, value = awarded.get(clause, (0, None))
        n_reports, compliant = reports.get(clause, (0, 0))
        rows.append(
            Row(
                str(label),
                [
                    published.get(clause, 0),
                    n_contracts,
                    float(value or 0),
                    n_reports,
                    round(100 * compliant / n_reports, 1) if n_reports else None,
                ],
            )
        )
    return [
        Section(
            key="social_clause_tenders",
            title=_("Tenders with social clauses %(year)d and their compliance", year=year),
            description=_(
                "Reserved contracts (D.Lgs. 36/2023 art. 61), social clauses (art. 57), "
                "conventions (L. 381/1991 art. 5): compliance as checked on the reports "
                "filed by suppliers."
            ),
            columns=[
                _("Tenders published"),
                _("Contracts awarded"),
                _("Value awarded (EUR)"),
                _("Compliance reports"),
                _("Reports meeting the clause (%)"),
            ],
            rows=rows,
            chart_columns=[0],
            source=_("Ponte: tenders and compliance reports"),
        )
    ]


def register(app: Flask) -> None:
    for provider in (seed_indicators, placements_by_sector, tenders_with_social_clauses):
        register_provider(app, provider)
