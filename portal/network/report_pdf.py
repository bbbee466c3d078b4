"""The yearly accountability report of the network as a printable PDF.

fpdf2 (pure Python, no system libraries) draws it: WeasyPrint would render the HTML page
but needs Pango and Cairo on every machine, which a fresh machine of this project does not
have. Text uses Titillium Web (the Italian public administration's typeface, shipped with
Bootstrap Italia) when present, else a core font with the text reduced to Latin-1.
Charts are horizontal bars with the number printed on each bar: the first series solid,
the second outlined, so they read in black and white.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.fonts import FontFace

from portal.network.indicators import SMALL_CELL, SUPPRESSED_TEXT, WITHHELD_TEXT, Section

FONT_DIR = Path("static") / "vendor" / "bootstrap-italia" / "fonts" / "Titillium_Web"
FONTS = {
    "": "titillium-web-v10-latin-ext_latin-regular.ttf",
    "B": "titillium-web-v10-latin-ext_latin-700.ttf",
    "I": "titillium-web-v10-latin-ext_latin-italic.ttf",
}
REPLACEMENTS = {
    "≤": "<=",
    "≥": ">=",
    "–": "-",
    "—": "-",
    "’": "'",
    "“": '"',
    "”": '"',
    "…": "...",
    "€": "EUR",
    "×": "x",
}


class ReportPDF(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(format="A4")
        self.report_title = title
        self.family = self._fonts()
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)

    def _fonts(self) -> str:
        folder = Path(current_app.root_path) / FONT_DIR
        if all((folder / name).is_file() for name in FONTS.values()):
            for style, name in FONTS.items():
                self.add_font("Titillium", style, str(folder / name))
            self.unicode = True
            return "Titillium"
        self.unicode = False
        return "Helvetica"

    def text_of(self, value: str) -> str:
        for old, new in REPLACEMENTS.items():
            value = value.replace(old, new)
        if not self.unicode:
            value = value.encode("latin-1", "replace").decode("latin-1")
        return value

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(self.family, "I", 9)
        self.cell(0, 6, self.text_of(self.report_title), align="L")
        self.ln(8)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(self.family, "", 9)
        self.cell(0, 6, self.text_of(_("Page %(n)d", n=self.page_no())), align="C")


def build(year: int, found: list[Section], today: date, site: str) -> bytes:
    title = _("Network accountability report %(year)d", year=year)
    pdf = ReportPDF(title)
    pdf.set_title(title)
    pdf.set_author("Ponte")
    pdf.set_subject(_("Work inclusion network: result indicators"))
    pdf.set_creator("Ponte")
    pdf.set_lang("it")
    t = pdf.text_of

    pdf.add_page()
    pdf.set_font(pdf.family, "B", 22)
    _para(pdf, 0, 11, t(title))
    pdf.ln(4)
    pdf.set_font(pdf.family, "", 11)
    intro = _(
        "The network of health services, social services, job centres, training bodies, "
        "social cooperatives, social farms and companies accounts each year for what it "
        "did together for the work inclusion of disadvantaged people. The figures below are "
        "aggregated: no person can be recognised. Cells resting on fewer than %(n)d people "
        "are shown as %(text)s.",
        n=SMALL_CELL,
        text=SUPPRESSED_TEXT,
    )
    _para(pdf, 0, 6, t(intro))
    pdf.ln(2)
    _para(
        pdf,
        0,
        6,
        t(
            _(
                "Produced on %(date)s from %(site)s. Licence: Creative Commons Attribution 4.0 "
                "(CC BY 4.0).",
                date=format_date(today, "long"),
                site=site,
            )
        ),
    )
    if not found:
        pdf.ln(4)
        _para(pdf, 0, 6, t(_("No indicator is available for this year.")))
    pdf.ln(4)
    pdf.set_font(pdf.family, "B", 13)
    pdf.cell(0, 8, t(_("Contents")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family, "", 11)
    for number, section in enumerate(found, 1):
        pdf.cell(0, 6, t(f"{number}. {section.title}"), new_x="LMARGIN", new_y="NEXT")

    for number, section in enumerate(found, 1):
        pdf.add_page()
        pdf.start_section(t(section.title))
        pdf.set_font(pdf.family, "B", 15)
        _para(pdf, 0, 8, t(f"{number}. {section.title}"))
        pdf.ln(1)
        pdf.set_font(pdf.family, "", 10)
        if section.description:
            _para(pdf, 0, 5, t(section.description))
            pdf.ln(2)
        _chart(pdf, section)
        _table(pdf, section)
        pdf.set_font(pdf.family, "I", 9)
        for note in section.notes:
            _para(pdf, 0, 5, t(note))
        if section.has_suppressed:
            _para(
                pdf,
                0,
                5,
                t(
                    _(
                        "%(text)s: fewer than %(n)d people, not shown.",
                        text=SUPPRESSED_TEXT,
                        n=SMALL_CELL,
                    )
                ),
            )
        if section.has_withheld:
            _para(
                pdf,
                0,
                5,
                t(
                    _(
                        "Cells shown as %(text)s are withheld so that a hidden figure cannot be "
                        "worked out from the total.",
                        text=WITHHELD_TEXT,
                    )
                ),
            )
        if section.source:
            _para(pdf, 0, 5, t(_("Source: %(source)s", source=section.source)))
    return bytes(pdf.output())


def _para(pdf: ReportPDF, w: float, h: float, text: str) -> None:
    """A paragraph; the next one starts on the left margin below it."""
    pdf.multi_cell(w, h, text, new_x="LMARGIN", new_y="NEXT")


def _table(pdf: ReportPDF, section: Section) -> None:
    t = pdf.text_of
    pdf.set_font(pdf.family, "", 9)
    widths = [70] + [max(18, (174 - 70) / max(1, len(section.columns)))] * len(section.columns)
    with pdf.table(
        col_widths=widths,
        text_align=["LEFT"] + ["RIGHT"] * len(section.columns),
        headings_style=FontFace(emphasis="BOLD"),
        line_height=5,
        width=min(174, sum(widths)),
        align="LEFT",
    ) as table:
        head = table.row()
        head.cell(t(section.unit or ""))
        for column in section.columns:
            head.cell(t(column))
        for row in section.rows:
            line = table.row()
            line.cell(t(row.label))
            for cell in row.cells:
                line.cell(t(cell.shown or "—"))
    pdf.ln(3)


def _chart(pdf: ReportPDF, section: Section) -> None:
    chart = section.chart()
    if chart is None or len(chart.labels) > 20:
        return
    t = pdf.text_of
    label_w, plot_w, bar_h = 62, 90, 4.2
    x0 = pdf.l_margin
    needed = 8 + len(chart.labels) * (bar_h * len(chart.series) + 2)
    if pdf.get_y() + needed > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.set_font(pdf.family, "", 8)
    # Legend: solid for the first series, outlined for the second.
    y = pdf.get_y()
    for index, name in enumerate(chart.series):
        lx = x0 + label_w + index * 50
        pdf.set_draw_color(0)
        pdf.set_fill_color(40 if index == 0 else 255)
        pdf.rect(lx, y + 1, 4, 3, style="DF")
        pdf.set_xy(lx + 5, y)
        pdf.cell(44, 5, t(name))
    y += 7
    for row_index, label in enumerate(chart.labels):
        pdf.set_xy(x0, y)
        pdf.cell(label_w - 2, bar_h * len(chart.series), t(label[:48]), align="R")
        for series_index in range(len(chart.series)):
            value = chart.values[series_index][row_index]
            by = y + series_index * bar_h
            if value is None:
                pdf.set_xy(x0 + label_w, by)
                pdf.cell(plot_w, bar_h, t(chart.missing_text(row_index, series_index)))
                continue
            width = max(0.4, value / chart.max * plot_w) if chart.max else 0.4
            pdf.set_fill_color(40 if series_index == 0 else 255)
            pdf.rect(x0 + label_w, by + 0.4, width, bar_h - 0.8, style="DF")
            pdf.set_xy(x0 + label_w + width + 1, by)
            shown = chart.cells[series_index][row_index].shown
            pdf.cell(20, bar_h, t(shown))
        y += bar_h * len(chart.series) + 2
    pdf.set_y(y + 3)
