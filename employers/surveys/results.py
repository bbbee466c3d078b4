"""Aggregated, anonymised survey results: planned hires, internships and companies per
territory and occupation, with statistical disclosure control (:func:`protect`), and the
geometry of the results page's bar chart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    func,
    select,
)

from employers.surveys.models import SurveyNeed, SurveyResponse, SurveyRound
from employers.surveys.vocabulary import OCCUPATION_LEVELS, TERRITORY_LEVELS, isco_label
from portal import db
from portal.models import (
    Municipality,
)
from portal.taxonomy import Occupation, localized

#: Statistical disclosure control: a cell needs at least this many companies.
MIN_CELL_COMPANIES = 3


@dataclass
class Cell:
    """Territory × occupation: what the companies there plan, or why it is withheld."""

    territory: str
    territory_label: str
    occupation: str
    occupation_label: str
    territory_parent: str | None = None
    occupation_parent: str | None = None
    companies: set[int] = field(default_factory=set)
    on_the_job: set[int] = field(default_factory=set)
    hires: int = 0
    internships: int = 0
    #: Fewer than MIN_CELL_COMPANIES companies (primary suppression).
    small: bool = False
    #: Enough companies, but withheld so a small cell cannot be worked out by subtraction.
    withheld: bool = False

    @property
    def hidden(self) -> bool:
        return self.small or self.withheld

    @property
    def company_count(self) -> int | None:
        return None if self.hidden else len(self.companies)

    @property
    def training_companies(self) -> int | None:
        return None if self.hidden else len(self.on_the_job)

    @property
    def planned_hires(self) -> int | None:
        return None if self.hidden else self.hires

    @property
    def internships_offered(self) -> int | None:
        return None if self.hidden else self.internships

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.territory_label.lower(), self.occupation)


@dataclass
class Results:
    survey_round: SurveyRound
    territory_level: str
    occupation_level: str
    cells: list[Cell]
    #: Responding organisations (also those that plan no hires); None if fewer than the minimum.
    respondents: int | None
    total_hires: int | None
    total_internships: int | None
    total_training_companies: int | None

    @property
    def max_value(self) -> int:
        values = [c.hires for c in self.cells if not c.hidden]
        values += [c.internships for c in self.cells if not c.hidden]
        return max(values, default=0)


def protect(cells: Iterable[Cell], minimum: int = MIN_CELL_COMPANIES) -> None:
    """Statistical disclosure control, in place.

    Primary suppression: a cell with fewer than ``minimum`` companies is shown as "<3".
    Secondary suppression: a total minus the visible cells would give away the hidden
    ones, so within every group that adds up to a published figure (the whole table, and
    the parent region or ISCO group of each cell, which other tables publish) the hidden
    cells together must hold no company or at least ``minimum`` companies; otherwise the
    visible cell with the fewest companies is withheld too, until that holds.
    """
    cells = list(cells)
    for cell in cells:
        cell.small = len(cell.companies) < minimum
    # The smallest groups first: what they withhold often protects the larger ones too.
    groupings: list[Callable[[Cell], Any]] = [
        lambda c: (c.territory_parent, c.occupation) if c.territory_parent else None,
        lambda c: (c.territory, c.occupation_parent) if c.occupation_parent else None,
        lambda c: "table",  # the whole table: its grand total is published
    ]
    changed = True
    while changed:
        changed = False
        for grouping in groupings:
            groups: dict[Any, list[Cell]] = defaultdict(list)
            for cell in cells:
                key = grouping(cell)
                if key is not None:  # None: that level has no parent in this table
                    groups[key].append(cell)
            for members in groups.values():
                hidden: set[int] = set()
                for cell in members:
                    if cell.hidden:
                        hidden |= cell.companies
                if 0 < len(hidden) < minimum:
                    visible = [c for c in members if not c.hidden]
                    if visible:
                        chosen = min(
                            visible,
                            key=lambda c: (len(c.companies), c.hires, c.internships, c.sort_key),
                        )
                        chosen.withheld = True
                        changed = True


def aggregate(
    survey_round: SurveyRound, territory_level: str = "region", occupation_level: str = "isco1"
) -> Results:
    """Planned hires, internships and companies per territory and occupation, protected."""
    if territory_level not in TERRITORY_LEVELS:
        territory_level = "region"
    if occupation_level not in OCCUPATION_LEVELS:
        occupation_level = "isco1"
    rows = db.session.execute(
        select(
            SurveyResponse.organisation_id,
            Municipality.province_code,
            Municipality.region,
            Occupation.id,
            Occupation.isco_code,
            Occupation.label_it,
            Occupation.label_en,
            SurveyNeed.hires,
            SurveyNeed.internships,
            SurveyNeed.on_the_job_training,
        )
        .join(SurveyNeed, SurveyNeed.response_id == SurveyResponse.id)
        .join(Municipality, Municipality.istat_code == SurveyResponse.comune_code)
        .join(Occupation, Occupation.id == SurveyNeed.occupation_id)
        .where(SurveyResponse.round_id == survey_round.id)
    ).all()
    cells: dict[tuple[str, str], Cell] = {}
    for (
        org_id,
        province,
        region,
        occ_id,
        isco,
        label_it,
        label_en,
        hires,
        internships,
        on_the_job,
    ) in rows:
        if territory_level == "province":
            territory, territory_label, territory_parent = (
                province,
                f"{province} ({region})",
                region,
            )
        else:
            territory, territory_label, territory_parent = region, region, None
        if occupation_level == "esco":
            occupation = f"{isco}/{occ_id}"
            occupation_label = localized(label_it, label_en)
            occupation_parent: str | None = isco[:2]
        elif occupation_level == "isco2":
            occupation, occupation_parent = isco[:2], isco[:1]
            occupation_label = isco_label(occupation)
        else:
            occupation, occupation_parent = isco[:1], None
            occupation_label = isco_label(occupation)
        cell = cells.get((territory, occupation))
        if cell is None:
            cell = cells[(territory, occupation)] = Cell(
                territory=territory,
                territory_label=territory_label,
                occupation=occupation,
                occupation_label=occupation_label,
                territory_parent=territory_parent,
                occupation_parent=occupation_parent,
            )
        cell.companies.add(org_id)
        cell.hires += hires
        cell.internships += internships
        if on_the_job:
            cell.on_the_job.add(org_id)
    protect(cells.values())
    respondents = db.session.execute(
        select(func.count())
        .select_from(SurveyResponse)
        .where(SurveyResponse.round_id == survey_round.id)
    ).scalar_one()
    enough = respondents >= MIN_CELL_COMPANIES
    # The totals come from the companies that gave lines of needs: they must be enough
    # too (the others only say they plan nothing).
    contributors = len({r.organisation_id for r in rows})
    figures = enough and (contributors == 0 or contributors >= MIN_CELL_COMPANIES)
    return Results(
        survey_round=survey_round,
        territory_level=territory_level,
        occupation_level=occupation_level,
        cells=sorted(cells.values(), key=lambda c: c.sort_key),
        respondents=respondents if enough else None,
        total_hires=sum(r.hires for r in rows) if figures else None,
        total_internships=sum(r.internships for r in rows) if figures else None,
        total_training_companies=len({r.organisation_id for r in rows if r.on_the_job_training})
        if figures
        else None,
    )


@dataclass
class Bar:
    cell: Cell
    y: int
    hires_width: float
    internships_width: float


CHART_WIDTH = 560
CHART_BAR_AREA = 380
CHART_ROW = 66


def chart_bars(cells: list[Cell], max_value: int) -> list[Bar]:
    """Geometry of the SVG bar chart: a label, then a bar per measure with its number."""
    bars = []
    for n, cell in enumerate(cells):
        scale = CHART_BAR_AREA / max_value if max_value else 0
        bars.append(
            Bar(
                cell=cell,
                y=n * CHART_ROW,
                hires_width=0 if cell.hidden else round(cell.hires * scale, 1),
                internships_width=0 if cell.hidden else round(cell.internships * scale, 1),
            )
        )
    return bars
