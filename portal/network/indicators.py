"""The public network indicators page: sections from providers, small cells suppressed.

The core does not import the domain packages. Each package that has something to show
registers a *provider* in its ``init_app``::

    from portal.network.indicators import register_provider
    register_provider(app, my_provider)   # my_provider(year: int) -> list[Section]

A provider returns :class:`Section` objects (or dicts with the same keys). A provider that
fails is logged and left out, so the page shows what the others have. Every cell that
says how many people it rests on (``people``) is suppressed below :data:`SMALL_CELL`
here as well, whatever the provider did.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from portal import db, spreadsheets
from portal.network.models import (
    ACTIVE,
    AGREEMENT_KINDS,
    CONFIRMED,
    EVENT_KINDS,
    PUBLISHED,
    TERMINATED,
    THEMES,
    Agreement,
    Event,
    GoodPractice,
    PracticeTheme,
    Registration,
)

logger = logging.getLogger(__name__)

EXTENSION = "ponte_network_indicators"
#: Cells resting on fewer people than this are not shown (as in brokerage.indicators).
SMALL_CELL = 5
SUPPRESSED_TEXT = f"<{SMALL_CELL}"
#: A cell withheld so that a suppressed one cannot be worked out from a total
#: (complementary suppression, portal.disclosure); "c" as Eurostat's "confidential".
WITHHELD_TEXT = "c"

Number = int | float | Decimal


@dataclass
class Cell:
    value: Number | None
    #: How many people the value rests on, when it is about people.
    people: int | None = None
    suppressed: bool = False
    withheld: bool = False

    @property
    def shown(self) -> str:
        """The cell as exports write it: ``<5`` when suppressed, ``c`` when withheld,
        "" when there is no data."""
        if self.withheld:
            return WITHHELD_TEXT
        if self.suppressed:
            return SUPPRESSED_TEXT
        if self.value is None:
            return ""
        if isinstance(self.value, float) and not self.value.is_integer():
            return f"{self.value:.1f}"
        if isinstance(self.value, float):
            return str(int(self.value))
        return str(self.value)

    @property
    def number(self) -> float | None:
        return None if self.suppressed or self.value is None else float(self.value)


@dataclass
class Row:
    label: str
    cells: list[Any]
    #: The label for the page when part of it is in another language than the page's
    #: (an ATECO title is Italian only): marked ``lang`` there; ``label`` stays plain text.
    label_html: Any = None


@dataclass
class Section:
    """One block of the page: a table (rows × columns) and a bar chart of some columns."""

    key: str
    title: str
    columns: list[str]
    rows: list[Row]
    description: str = ""
    unit: str = ""
    source: str = ""
    #: Indexes of the columns the chart shows (at most two: solid and hatched bars).
    chart_columns: list[int] = field(default_factory=lambda: [0])
    notes: list[str] = field(default_factory=list)

    @property
    def has_suppressed(self) -> bool:
        return any(c.suppressed for r in self.rows for c in r.cells)

    @property
    def has_withheld(self) -> bool:
        return any(c.withheld for r in self.rows for c in r.cells)

    def chart(self) -> Chart | None:
        columns = [i for i in self.chart_columns if 0 <= i < len(self.columns)][:2]
        if not columns or not self.rows:
            return None
        values = [[row.cells[i].number for row in self.rows] for i in columns]
        flat = [v for series in values for v in series if v is not None]
        if not flat or min(flat) < 0:
            return None
        return Chart(
            title=self.title,
            labels=[r.label for r in self.rows],
            series=[self.columns[i] for i in columns],
            values=values,
            max=max(flat),
            cells=[[row.cells[i] for row in self.rows] for i in columns],
        )


@dataclass
class Chart:
    title: str
    labels: list[str]
    series: list[str]
    values: list[list[float | None]]
    max: float
    cells: list[list[Cell]]

    def missing_text(self, row: int, series: int) -> str:
        cell = self.cells[series][row]
        if cell.withheld:
            return _("withheld so that a hidden figure cannot be worked out from the total")
        return (
            _("fewer than %(n)d people: not shown", n=SMALL_CELL)
            if cell.suppressed
            else _("no data")
        )


Provider = Callable[[int], Iterable[Section | dict[str, Any]]]


def register_provider(app: Flask, provider: Provider) -> None:
    """Domain packages call this in ``init_app``."""
    providers = app.extensions.setdefault(EXTENSION, [])
    if provider not in providers:
        providers.append(provider)


def _cell(value: Any) -> Cell:
    if isinstance(value, Cell):
        cell = Cell(value.value, value.people, value.suppressed, value.withheld)
    elif isinstance(value, dict):
        cell = Cell(
            value.get("value"),
            value.get("people"),
            bool(value.get("suppressed") or value.get("withheld")),
            bool(value.get("withheld")),
        )
    elif hasattr(value, "value") and hasattr(value, "people"):  # brokerage.indicators.Cell
        withheld = bool(getattr(value, "withheld", False))
        cell = Cell(
            value.value,
            value.people,
            bool(getattr(value, "suppressed", False)) or withheld,
            withheld,
        )
    elif value is None or isinstance(value, int | float | Decimal):
        cell = Cell(value)
    else:
        raise TypeError(f"not a cell: {value!r}")
    if cell.people is not None and 0 < cell.people < SMALL_CELL:
        cell = Cell(None, cell.people, True)
    if cell.suppressed:
        cell.value = None
    return cell


def normalise(raw: Section | dict[str, Any]) -> Section:
    """A provider's section, checked, with every cell a suppressed-if-small Cell."""
    if isinstance(raw, dict):
        raw = Section(
            key=str(raw["key"]),
            title=str(raw["title"]),
            columns=[str(c) for c in raw["columns"]],
            rows=[
                Row(str(r["label"]), list(r["cells"])) if isinstance(r, dict) else r
                for r in raw["rows"]
            ],
            description=str(raw.get("description", "")),
            unit=str(raw.get("unit", "")),
            source=str(raw.get("source", "")),
            chart_columns=list(raw.get("chart_columns", [0])),
            notes=[str(n) for n in raw.get("notes", [])],
        )
    rows = []
    for row in raw.rows:
        cells = [_cell(v) for v in row.cells]
        if len(cells) != len(raw.columns):
            raise ValueError(f"section {raw.key}: row {row.label!r} has {len(cells)} cells")
        rows.append(Row(str(row.label), cells, getattr(row, "label_html", None)))
    return Section(
        key=raw.key,
        title=str(raw.title),
        columns=[str(c) for c in raw.columns],
        rows=rows,
        description=str(raw.description),
        unit=str(raw.unit),
        source=str(raw.source),
        chart_columns=list(raw.chart_columns),
        notes=[str(n) for n in raw.notes],
    )


def sections(year: int) -> list[Section]:
    """Every provider's sections for ``year``; a failing provider is left out."""
    found: list[Section] = []
    providers = current_app.extensions.get(EXTENSION, [])
    # The domain packages' indicators first, the core's network-life counts last.
    for provider in sorted(providers, key=lambda p: p is network_life):
        try:
            found.extend(normalise(s) for s in provider(year))
        except Exception:
            db.session.rollback()
            logger.exception("network indicators: provider %r failed", provider)
    return found


def years(today: date, back: int = 5) -> list[int]:
    return list(range(today.year, today.year - back - 1, -1))


# --- The core's own provider: network life ----------------------------------------------------


def network_life(year: int) -> list[Section]:
    """Events held, people who attended, good practices published, agreements in force."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    from datetime import UTC, datetime, time

    start = datetime.combine(first, time.min, UTC)
    end = datetime.combine(last, time.max, UTC)
    events = dict(
        db.session.execute(
            select(Event.kind, func.count())
            .where(Event.status == PUBLISHED, Event.starts_at >= start, Event.starts_at <= end)
            .group_by(Event.kind)
        ).all()
    )
    attendance: dict[str, list[int]] = {}
    for kind, registered, attended in db.session.execute(
        select(
            Event.kind,
            func.count(Registration.id),
            func.count(Registration.id).filter(Registration.attended.is_(True)),
        )
        .join(Registration, Registration.event_id == Event.id)
        .where(
            Event.status == PUBLISHED,
            Event.starts_at >= start,
            Event.starts_at <= end,
            Registration.status == CONFIRMED,
        )
        .group_by(Event.kind)
    ):
        attendance[kind] = [registered, attended]
    event_rows = [
        Row(str(label), [events.get(kind, 0), *attendance.get(kind, [0, 0])])
        for kind, label in EVENT_KINDS.items()
    ]
    practices = dict(
        db.session.execute(
            select(PracticeTheme.code, func.count())
            .join(GoodPractice, GoodPractice.id == PracticeTheme.practice_id)
            .where(
                GoodPractice.status == PUBLISHED,
                GoodPractice.published_at >= start,
                GoodPractice.published_at <= end,
            )
            .group_by(PracticeTheme.code)
        ).all()
    )
    agreements = dict(
        db.session.execute(
            select(Agreement.kind, func.count())
            .where(
                Agreement.status.in_((ACTIVE, TERMINATED)),
                or_(Agreement.starts_on.is_(None), Agreement.starts_on <= last),
                or_(Agreement.ends_on.is_(None), Agreement.ends_on >= first),
            )
            .group_by(Agreement.kind)
        ).all()
    )
    source = _("Ponte: events, good practices and agreements registries")
    return [
        Section(
            key="network_events",
            title=_("Network events held in %(year)d", year=year),
            description=_(
                "Meetings with enterprises, trainings for operators and network tables "
                "(seeds 001 and 003), with confirmed registrations and recorded attendance."
            ),
            columns=[_("Events"), _("Confirmed registrations"), _("People present")],
            rows=event_rows,
            source=source,
            chart_columns=[0],
        ),
        Section(
            key="good_practices",
            title=_("Good practices published in %(year)d, by theme", year=year),
            description=_("A practice can have more than one theme."),
            columns=[_("Good practices")],
            rows=[Row(str(label), [practices.get(code, 0)]) for code, label in THEMES.items()],
            source=source,
        ),
        Section(
            key="agreements",
            title=_("Network agreements in force in %(year)d, by type", year=year),
            columns=[_("Agreements")],
            rows=[
                Row(str(label), [agreements.get(kind, 0)])
                for kind, label in AGREEMENT_KINDS.items()
            ],
            source=source,
        ),
    ]


# --- Exports -----------------------------------------------------------------------------------


def to_csv(year: int, found: list[Section]) -> str:
    """Long format, one line per cell: section, row, column, value (``<5`` if suppressed)."""
    out = io.StringIO()
    writer = spreadsheets.CsvWriter(out)
    writer.writerow(["year", "section", "section_title", "row", "column", "value", "unit"])
    for section in found:
        for row in section.rows:
            for column, cell in zip(section.columns, row.cells, strict=True):
                writer.writerow(
                    [year, section.key, section.title, row.label, column, cell.shown, section.unit]
                )
    return out.getvalue()


def to_xlsx(year: int, found: list[Section]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    about = book.active
    about.title = _("About")[:31]
    spreadsheets.append(about, [_("Ponte network indicators %(year)d", year=year)])
    about["A1"].font = Font(bold=True)
    spreadsheets.append(about, [_("Licence: Creative Commons Attribution 4.0 (CC BY 4.0)")])
    spreadsheets.append(
        about,
        [
            _(
                "Cells resting on fewer than %(n)d people are shown as %(text)s.",
                n=SMALL_CELL,
                text=SUPPRESSED_TEXT,
            )
        ],
    )
    used: set[str] = {about.title}
    for section in found:
        name = _sheet_name(section.key, used)
        sheet = book.create_sheet(name)
        spreadsheets.append(sheet, [section.title])
        sheet["A1"].font = Font(bold=True)
        spreadsheets.append(sheet, ["", *section.columns])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in section.rows:
            spreadsheets.append(
                sheet, [row.label, *[c.shown if c.suppressed else c.value for c in row.cells]]
            )
        if section.source:
            spreadsheets.append(sheet, [])
            spreadsheets.append(sheet, [_("Source: %(source)s", source=section.source)])
        sheet.column_dimensions["A"].width = 48
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(key: str, used: set[str]) -> str:
    base = "".join(c for c in key if c not in "[]:*?/\\")[:28] or "section"
    name, n = base, 2
    while name in used:
        name, n = f"{base[:26]}_{n}", n + 1
    used.add(name)
    return name
