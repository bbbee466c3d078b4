"""Compliance with a contract's social clause: reporting periods, the share of
disadvantaged workers a report shows against the clause's target, filing reports and
their review by the buyer's officer.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _

from brokerage.tenders.models import (
    ACCEPTED,
    CONVENTION,
    COUNT,
    DEFAULT_THRESHOLD,
    FLAGGED,
    HOURS,
    NEW_HIRES,
    RESERVED,
    SOCIAL_CLAUSE,
    SUBMITTED,
    ComplianceReport,
    Contract,
    Tender,
    percent,
)
from brokerage.tenders.services.access import can_edit, holds_contract
from brokerage.tenders.services.base import REPORT_GRACE_DAYS, TenderError
from portal import audit, db
from portal.db import utcnow
from portal.models import User


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def periods(contract: Contract, until: date | None = None) -> list[tuple[date, date]]:
    """Reporting periods: every ``report_every_months`` from the start, the last one
    cut at the contract's end; only those started by ``until``."""
    found = []
    start, n = contract.start_date, 0
    while start <= contract.end_date and (until is None or start <= until):
        n += 1
        next_start = add_months(contract.start_date, n * contract.report_every_months)
        found.append((start, min(contract.end_date, next_start - timedelta(days=1))))
        start = next_start
    return found


def overdue_periods(contract: Contract, today: date) -> list[tuple[date, date]]:
    filed = {r.period_start for r in contract.reports}
    return [
        (s, e)
        for s, e in periods(contract, today)
        if s not in filed and e + timedelta(days=REPORT_GRACE_DAYS) < today
    ]


def open_periods(contract: Contract, today: date) -> list[tuple[date, date]]:
    """Periods the supplier can report on now: started, without a report (or flagged)."""
    taken = {r.period_start for r in contract.reports if r.status != FLAGGED}
    return [(s, e) for s, e in periods(contract, today) if s not in taken]


@dataclass
class ReportData:
    period_start: date | None
    workers_total: int | None
    workers_disadvantaged: int = 0
    workers_disabled: int = 0
    hours_total: Decimal | None = Decimal(0)
    hours_disadvantaged: Decimal | None = Decimal(0)
    new_hires_total: int = 0
    new_hires_disadvantaged: int = 0
    new_hires_from_caseload: int = 0
    evidence: str = ""


def compute_compliance(
    tender: Tender, report: ComplianceReport | ReportData
) -> tuple[Decimal | None, bool | None]:
    """The measured value and whether the clause is kept (None: no computable target).

    Reserved contracts and conventions: disabled and disadvantaged people among those
    employed on the contract, per head, at least the threshold (art. 61; L. 381 art. 4).
    Social execution clause (art. 57): the share of the chosen base, or the number of
    disabled/disadvantaged people hired for the contract.
    """
    inclusive = Decimal((report.workers_disadvantaged or 0) + (report.workers_disabled or 0))
    if tender.clause_type in (RESERVED, CONVENTION):
        share = percent(inclusive, Decimal(report.workers_total or 0))
        required = tender.required_share or DEFAULT_THRESHOLD
        return share, (share is not None and share >= required)
    if tender.clause_type == SOCIAL_CLAUSE and tender.clause_target is not None:
        if tender.clause_measure == COUNT:
            hired = Decimal(report.new_hires_disadvantaged or 0)
            return hired, hired >= tender.clause_target
        if tender.clause_base == HOURS:
            share = percent(
                report.hours_disadvantaged or Decimal(0), report.hours_total or Decimal(0)
            )
        elif tender.clause_base == NEW_HIRES:
            share = percent(
                Decimal(report.new_hires_disadvantaged or 0), Decimal(report.new_hires_total or 0)
            )
        else:
            share = percent(inclusive, Decimal(report.workers_total or 0))
        return share, (share is not None and share >= tender.clause_target)
    return None, None


def check_report(data: ReportData) -> dict[str, str]:
    errors: dict[str, str] = {}
    ints = (
        "workers_total",
        "workers_disadvantaged",
        "workers_disabled",
        "new_hires_total",
        "new_hires_disadvantaged",
        "new_hires_from_caseload",
    )
    for name in ints:
        value = getattr(data, name)
        if value is None and name == "workers_total":
            errors[name] = _("Give the number of people employed on the contract.")
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            errors[name] = _("Give a whole number.")
        elif value is not None and not 0 <= value <= 100_000:
            errors[name] = _("The number cannot be negative.")
    for name in ("hours_total", "hours_disadvantaged"):
        value = getattr(data, name)
        if value is not None and (
            value < 0 or value > 10_000_000 or value != value.quantize(Decimal("0.01"))
        ):
            errors[name] = _("Give hours of at least zero with at most two decimals.")
    if errors:
        return errors
    if data.workers_disadvantaged + data.workers_disabled > (data.workers_total or 0):
        errors["workers_disadvantaged"] = _(
            "Disadvantaged and disabled people cannot be more than all people employed on "
            "the contract: count each person once."
        )
    if (data.hours_disadvantaged or 0) > (data.hours_total or 0):
        errors["hours_disadvantaged"] = _("Cannot be more than all hours worked.")
    if data.new_hires_disadvantaged > data.new_hires_total:
        errors["new_hires_disadvantaged"] = _("Cannot be more than all new hires.")
    if data.new_hires_from_caseload > data.new_hires_total:
        errors["new_hires_from_caseload"] = _("Cannot be more than all new hires.")
    if data.new_hires_total > (data.workers_total or 0):
        errors["new_hires_total"] = _("New hires are among the people employed on the contract.")
    return errors


def file_report(contract: Contract, user: User, data: ReportData, today: date) -> ComplianceReport:
    """A supplier files the report of one period; a flagged report may be filed again."""
    if not holds_contract(user, contract):
        raise TenderError({"contract": _("Your organisation does not hold this contract.")})
    errors = check_report(data)
    allowed = {s: e for s, e in open_periods(contract, today)}
    if data.period_start is None or data.period_start not in allowed:
        errors["period_start"] = _(
            "Choose a reporting period of this contract that has started and has no report yet."
        )
    if errors:
        raise TenderError(errors)
    report = next((r for r in contract.reports if r.period_start == data.period_start), None)
    if report is None:
        report = ComplianceReport(
            contract=contract, period_start=data.period_start, period_end=allowed[data.period_start]
        )  # type: ignore[index]
        db.session.add(report)
    for name in (
        "workers_total",
        "workers_disadvantaged",
        "workers_disabled",
        "new_hires_total",
        "new_hires_disadvantaged",
        "new_hires_from_caseload",
    ):
        setattr(report, name, getattr(data, name) or 0)
    report.hours_total = data.hours_total or Decimal(0)
    report.hours_disadvantaged = data.hours_disadvantaged or Decimal(0)
    report.evidence = data.evidence.strip()[:300]
    measured, compliant = compute_compliance(contract.tender, report)
    report.measured = measured.quantize(Decimal("0.01")) if measured is not None else None
    report.compliant = compliant
    report.status, report.review_comment = SUBMITTED, ""
    report.reviewed_at, report.reviewed_by_id = None, None
    report.filed_by_id, report.filed_at = user.id, utcnow()
    db.session.flush()
    audit.record("compliance_report.file", report, actor=user, contract=contract.id)
    return report


def review(report: ComplianceReport, user: User, decision: str, comment: str) -> None:
    if not can_edit(user, report.contract.tender):
        raise TenderError({"decision": _("Only the buyer's officers review its reports.")})
    comment = (comment or "").strip()
    if decision not in (ACCEPTED, FLAGGED):
        raise TenderError({"decision": _("Accept or flag the report.")})
    if decision == FLAGGED and not comment:
        raise TenderError({"comment": _("Say why the report is flagged.")})
    if len(comment) > 2000:
        raise TenderError({"comment": _("Use at most 2000 characters.")})
    report.status, report.review_comment = decision, comment
    report.reviewed_by_id, report.reviewed_at = user.id, utcnow()
    audit.record(f"compliance_report.{decision}", report, actor=user)
