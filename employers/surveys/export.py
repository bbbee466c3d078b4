"""The survey results as files: the CSV and the XLSX workbook (with a sheet of notes on
the round and on confidentiality), the same rows as the results page with the
suppressed cells marked.
"""

from __future__ import annotations

import io
from typing import Any

from flask_babel import gettext as _

from employers.surveys.results import MIN_CELL_COMPANIES, Results
from employers.surveys.vocabulary import OCCUPATION_LEVELS, TERRITORY_LEVELS
from portal import spreadsheets
from portal.db import utcnow


def export_header() -> list[str]:
    return [
        _("Territory code"),
        _("Territory"),
        _("Occupation code"),
        _("Occupation"),
        _("Responding companies"),
        _("Planned hires"),
        _("Internships offered"),
        _("Companies offering on-the-job training"),
        _("Note"),
    ]


def export_rows(results: Results) -> list[list[Any]]:
    """The aggregated table as exported: "<3" and empty values where suppressed."""
    small = _("Fewer than %(min)s companies: figures withheld.", min=MIN_CELL_COMPANIES)
    rows: list[list[Any]] = []
    for cell in results.cells:
        names = [cell.territory, cell.territory_label, cell.occupation, cell.occupation_label]
        if cell.small:
            rows.append([*names, f"<{MIN_CELL_COMPANIES}", None, None, None, small])
        elif cell.withheld:
            rows.append([*names, None, None, None, None, _("Withheld to protect a small cell.")])
        else:
            rows.append(
                [
                    *names,
                    len(cell.companies),
                    cell.hires,
                    cell.internships,
                    len(cell.on_the_job),
                    "",
                ]
            )
    names = ["", _("Total"), "", ""]
    if results.respondents is None:
        rows.append([*names, f"<{MIN_CELL_COMPANIES}", None, None, None, small])
    elif results.total_hires is None:
        rows.append([*names, results.respondents, None, None, None, small])
    else:
        rows.append(
            [
                *names,
                results.respondents,
                results.total_hires,
                results.total_internships,
                results.total_training_companies,
                "",
            ]
        )
    return rows


def export_filename(results: Results, extension: str) -> str:
    return (
        f"needs-survey-{results.survey_round.year}-{results.survey_round.id}-"
        f"{results.territory_level}-{results.occupation_level}.{extension}"
    )


def to_csv(results: Results) -> str:
    return spreadsheets.csv_text([export_header(), *export_rows(results)])


def to_xlsx(results: Results) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = _("Needs survey")[:31]
    spreadsheets.append(sheet, export_header())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in export_rows(results):
        spreadsheets.append(sheet, row)
    sheet[f"A{sheet.max_row}"].font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHI", (12, 30, 14, 50, 14, 14, 14, 18, 40), strict=True):
        sheet.column_dimensions[column].width = width
    notes = book.create_sheet(_("Notes")[:31])
    survey_round = results.survey_round
    for line in (
        [_("Survey round"), survey_round.title],
        [_("Year"), survey_round.year],
        [_("Open from"), survey_round.opens_on.isoformat()],
        [_("Open until"), survey_round.closes_on.isoformat()],
        [
            _("Grouped by"),
            str(TERRITORY_LEVELS[results.territory_level]),
            str(OCCUPATION_LEVELS[results.occupation_level]),
        ],
        [_("Exported on"), utcnow().date().isoformat()],
        [
            _("Confidentiality"),
            _(
                "Cells with fewer than %(min)s companies are shown as <%(min)s and their "
                "figures are withheld; some other cells are withheld so that they cannot be "
                "worked out by subtraction.",
                min=MIN_CELL_COMPANIES,
            ),
        ],
    ):
        spreadsheets.append(notes, line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
