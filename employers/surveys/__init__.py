"""Needs surveys: what local companies plan to hire and the training they would host.

Seed 002 (Piemonte) asks for a structured survey of the local companies, seed 003
(Relatium) for the monitoring of the companies' training and job needs. An
administrator or a public officer opens a *round* (title, year, open and close dates);
each company answers once per round for its own organisation, or a broker fills the
answers in during a visit to the company. The network reads only aggregated,
anonymised results: cells with fewer than :data:`MIN_CELL_COMPANIES` companies are
suppressed, and further cells are withheld when a suppressed cell could otherwise be
worked out by subtracting the visible ones from a total (see :func:`protect`).

The package keeps one concept per module: ``vocabulary`` (limits, ATECO sections, ISCO
groups), ``models`` (the tables), ``access`` (who answers, visits, reads), ``services``
(rounds and answers), ``results`` (aggregation and disclosure control), ``export`` (CSV
and XLSX) and ``demo`` (demo data). The pages are in ``employers.survey_views``. The
names below are the package's public surface.
"""

from employers.surveys.access import (
    RESPONDENT_KINDS,
    RESPONDENT_ROLES,
    RESULTS_ROLES,
    ROUND_ROLES,
    SURVEY_ROLES,
    broker_may_fill,
    broker_services,
    can_answer_for,
    can_read_response,
    respondent_organisations,
    visitable,
    visitable_companies,
)
from employers.surveys.export import export_filename, export_header, export_rows, to_csv, to_xlsx
from employers.surveys.models import SurveyNeed, SurveyNeedSkill, SurveyResponse, SurveyRound
from employers.surveys.results import (
    CHART_BAR_AREA,
    CHART_ROW,
    CHART_WIDTH,
    MIN_CELL_COMPANIES,
    Bar,
    Cell,
    Results,
    aggregate,
    chart_bars,
    protect,
)
from employers.surveys.services import (
    NeedData,
    ResponseData,
    RoundData,
    SurveyError,
    all_rounds,
    occupation_choices,
    occupation_from_text,
    open_rounds,
    response_for,
    response_problems,
    round_problems,
    save_response,
    save_round,
)
from employers.surveys.vocabulary import (
    ISCO_MAJOR_GROUPS,
    ISCO_SUB_MAJOR_GROUPS,
    MAX_COMMENTS,
    MAX_HIRES,
    MAX_INTERNSHIPS,
    MAX_LINES,
    MAX_SKILLS_PER_LINE,
    OCCUPATION_LEVELS,
    SECTORS,
    TERRITORY_LEVELS,
    isco_label,
    sector_of,
)

__all__ = [
    "CHART_BAR_AREA",
    "CHART_ROW",
    "CHART_WIDTH",
    "ISCO_MAJOR_GROUPS",
    "ISCO_SUB_MAJOR_GROUPS",
    "MAX_COMMENTS",
    "MAX_HIRES",
    "MAX_INTERNSHIPS",
    "MAX_LINES",
    "MAX_SKILLS_PER_LINE",
    "MIN_CELL_COMPANIES",
    "OCCUPATION_LEVELS",
    "RESPONDENT_KINDS",
    "RESPONDENT_ROLES",
    "RESULTS_ROLES",
    "ROUND_ROLES",
    "SECTORS",
    "SURVEY_ROLES",
    "TERRITORY_LEVELS",
    "Bar",
    "Cell",
    "NeedData",
    "ResponseData",
    "Results",
    "RoundData",
    "SurveyError",
    "SurveyNeed",
    "SurveyNeedSkill",
    "SurveyResponse",
    "SurveyRound",
    "aggregate",
    "all_rounds",
    "broker_may_fill",
    "broker_services",
    "can_answer_for",
    "can_read_response",
    "chart_bars",
    "export_filename",
    "export_header",
    "export_rows",
    "isco_label",
    "occupation_choices",
    "occupation_from_text",
    "open_rounds",
    "protect",
    "respondent_organisations",
    "response_for",
    "response_problems",
    "round_problems",
    "save_response",
    "save_round",
    "sector_of",
    "to_csv",
    "to_xlsx",
    "visitable",
    "visitable_companies",
]
