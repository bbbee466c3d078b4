"""The placement pathway (PRODUCT.md "Placement pathway", seeds 001 and 003).

referral → intake and orientation → training plan and training → work experience
(tirocinio, borsa lavoro, or an observation-evaluation lab of 3–6 months with at least
monthly structured observations) → hiring → follow-up at 1, 3, 6 and 12 months → closed.

Plain functions: the views pass the user and today's date; changes are audit-logged and
the caller commits. Stage notes are encrypted at rest (PathwayStage.notes), and so are
the notes of the lab's observations (inside ``details``).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import format_date, to_user_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from brokerage import access
from brokerage.access import acting_service, require_holding
from brokerage.consents import PATHWAY, require_consent
from brokerage.errors import CaseloadError
from brokerage.models import (
    ACTIVE,
    CLOSE_REASONS,
    CLOSED,
    PLACED,
    STAGES,
    WORK_EXPERIENCE_KINDS,
    Candidate,
    CaseHolding,
    PathwayStage,
    Proposal,
)
from employers.models import CONTRACT_TYPES, Vacancy
from portal import audit, db
from portal.crypto import fernet
from portal.models import (
    BROKER,
    COMPANY,
    COOPERATIVE_B,
    SOCIAL_FARM_KIND,
    Membership,
    Organisation,
    User,
)

STAGE_ORDER = list(STAGES)
FOLLOW_UP_MONTHS = (1, 3, 6, 12)
#: Observation-evaluation labs last 3 to 6 months (seed 001, objective 9).
LAB_MIN_MONTHS, LAB_MAX_MONTHS = 3, 6
OBSERVATION_LAB = "observation_lab"
OBSERVATION_CRITERIA = {
    "punctuality": _l("Punctuality"),
    "autonomy": _l("Autonomy"),
    "relations": _l("Relations with colleagues"),
    "task_quality": _l("Quality of the work"),
}
EMPLOYER_KINDS = (COMPANY, COOPERATIVE_B, SOCIAL_FARM_KIND)
#: How far ahead a stage may be planned (a hiring with a start date next month).
MAX_DAYS_AHEAD = 180


class PathwayError(CaseloadError):
    """A pathway rule was broken; ``fields`` maps form fields to messages."""


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def stages_of(candidate: Candidate) -> list[PathwayStage]:
    return list(
        db.session.execute(
            select(PathwayStage)
            .where(PathwayStage.candidate_id == candidate.id)
            .order_by(PathwayStage.started_on, PathwayStage.id)
        ).scalars()
    )


def latest(stages: list[PathwayStage], name: str) -> PathwayStage | None:
    found = [s for s in stages if s.stage == name]
    return found[-1] if found else None


def current_stage(stages: list[PathwayStage]) -> PathwayStage | None:
    """The stage the person is in: the last one that is not a follow-up."""
    main = [s for s in stages if s.stage != "follow_up"]
    return main[-1] if main else None


# --- Follow-up ----------------------------------------------------------------------------


def follow_up_schedule(hiring_start: date) -> dict[int, date]:
    """Follow-up due dates: 1, 3, 6 and 12 months after the hiring start."""
    return {m: add_months(hiring_start, m) for m in FOLLOW_UP_MONTHS}


@dataclass
class FollowUp:
    month: int
    due_on: date
    done_on: date | None

    def overdue(self, today: date) -> bool:
        return self.done_on is None and self.due_on < today


def follow_ups(stages: list[PathwayStage]) -> list[FollowUp]:
    """The follow-ups of the latest hiring (none when there is no hiring)."""
    hiring = latest(stages, "hiring")
    if hiring is None:
        return []
    done = {
        int(s.details.get("month", 0)): s.started_on
        for s in stages
        if s.stage == "follow_up"
        and s.started_on >= hiring.started_on
        and s.id is not None
        and s.id > hiring.id
    }
    return [
        FollowUp(m, due, done.get(m)) for m, due in follow_up_schedule(hiring.started_on).items()
    ]


@dataclass
class Reminder:
    """Something due on a case: a follow-up or a lab observation."""

    candidate: Candidate
    kind: str  # "follow_up" or "observation"
    due_on: date
    month: int | None = None


def overdue_for(user: User, today: date, limit: int = 100) -> list[Reminder]:
    """Overdue follow-ups and lab observations in the user's caseload (oldest first)."""
    held = (
        access.caseload_query(user)
        .where(Candidate.status != CLOSED)
        .with_only_columns(Candidate.id)
    )
    rows = (
        db.session.execute(
            select(PathwayStage)
            .where(
                PathwayStage.candidate_id.in_(held),
                PathwayStage.stage.in_(("hiring", "follow_up", "work_experience")),
            )
            .order_by(PathwayStage.candidate_id, PathwayStage.started_on, PathwayStage.id)
        )
        .scalars()
        .all()
    )
    by_candidate: dict[int, list[PathwayStage]] = {}
    for stage in rows:
        by_candidate.setdefault(stage.candidate_id, []).append(stage)
    due: list[tuple[int, date, str, int | None]] = []
    for candidate_id, stages in by_candidate.items():
        hiring = latest(stages, "hiring")
        if hiring is not None and hiring.ended_on is None:
            due.extend(
                (candidate_id, f.due_on, "follow_up", f.month)
                for f in follow_ups(stages)
                if f.overdue(today)
            )
        for stage in stages:
            next_on = observation_due(stage, today)
            if next_on is not None and next_on < today:
                due.append((candidate_id, next_on, "observation", None))
    due.sort(key=lambda d: d[1])
    due = due[:limit]
    candidates = {
        c.id: c
        for c in db.session.execute(
            select(Candidate).where(Candidate.id.in_({d[0] for d in due}))
        ).scalars()
    }
    return [Reminder(candidates[c], kind, on, month) for c, on, kind, month in due]


# --- Observation lab ---------------------------------------------------------------------


@dataclass
class Observation:
    on: date
    scores: dict[str, int]
    notes: str
    by: str

    def as_json(self) -> dict[str, Any]:
        return {"on": self.on.isoformat(), **self.scores, "notes": self.notes, "by": self.by}


def is_lab(stage: PathwayStage) -> bool:
    return stage.stage == "work_experience" and (stage.details or {}).get("kind") == OBSERVATION_LAB


def lab_end(stage: PathwayStage) -> date | None:
    planned = (stage.details or {}).get("planned_end")
    return stage.ended_on or (date.fromisoformat(planned) if planned else None)


def observations(stage: PathwayStage) -> list[Observation]:
    result = []
    for entry in (stage.details or {}).get("observations", []):
        token = entry.get("notes") or ""
        by = db.session.get(User, entry.get("by")) if entry.get("by") else None
        result.append(
            Observation(
                on=date.fromisoformat(entry["on"]),
                scores={k: int(entry.get(k, 0)) for k in OBSERVATION_CRITERIA},
                notes=fernet().decrypt(token.encode()).decode() if token else "",
                by=by.display_name if by else "",
            )
        )
    return result


def observation_due(stage: PathwayStage, today: date) -> date | None:
    """When the next monthly observation of an ongoing lab is due (None: not a running
    lab). At least one entry a month from the start."""
    if not is_lab(stage) or stage.started_on > today:
        return None
    end = lab_end(stage)
    if stage.ended_on is not None and stage.ended_on <= today:
        return None
    entries = [date.fromisoformat(e["on"]) for e in stage.details.get("observations", [])]
    due = add_months(max(entries, default=stage.started_on), 1)
    if end is not None and due > end:
        return None if entries and max(entries) >= add_months(end, -1) else end
    return due


def add_observation(
    stage: PathwayStage,
    user: User,
    on: date | None,
    scores: dict[str, int | None],
    notes: str,
    today: date,
) -> None:
    """A structured observation: punctuality, autonomy, relations, task quality, 1–5."""
    candidate = db.session.get(Candidate, stage.candidate_id)
    assert candidate is not None
    require_holding(user, candidate, "observation")
    require_consent(candidate, PATHWAY, today)
    errors = {}
    if not is_lab(stage):
        errors["on"] = _("Observations belong to an observation and evaluation lab.")
    elif on is None:
        errors["on"] = _("Write the date of the observation.")
    elif on < stage.started_on or on > today or (lab_end(stage) and on > lab_end(stage)):
        errors["on"] = _("The date must fall within the lab and not in the future.")
    clean: dict[str, int] = {}
    for key in OBSERVATION_CRITERIA:
        value = scores.get(key)
        if value is None or not 1 <= int(value) <= 5:
            errors[key] = _("Give a score from 1 to 5.")
        else:
            clean[key] = int(value)
    notes = (notes or "").strip()
    if len(notes) > 2000:
        errors["notes"] = _("At most %(num)d characters.", num=2000)
    if errors:
        raise PathwayError(errors)
    assert on is not None
    entry = {
        "on": on.isoformat(),
        **clean,
        "by": user.id,
        "notes": fernet().encrypt(notes.encode()).decode() if notes else "",
    }
    entries = [*stage.details.get("observations", []), entry]
    entries.sort(key=lambda e: e["on"])
    stage.details = {**stage.details, "observations": entries}  # a new dict: JSON change
    audit.record("pathway.observation", stage, actor=user, subject=candidate)


# --- Stages ------------------------------------------------------------------------------


@dataclass
class StageInput:
    stage: str
    started_on: date | None
    ended_on: date | None = None
    tutor: str = ""
    notes: str = ""
    broker_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


#: Stages that may follow themselves: another course, another work experience, a new job.
REPEATABLE = ("training", "work_experience", "hiring")


def job_ended(stages: list[PathwayStage], today: date | None = None) -> bool:
    """Whether the latest hiring is over: ended, or a later follow-up found the person
    no longer employed."""
    hiring = latest(stages, "hiring")
    if hiring is None:
        return False
    if hiring.ended_on is not None and (today is None or hiring.ended_on <= today):
        return True
    checks = [
        s
        for s in stages
        if s.stage == "follow_up" and s.started_on >= hiring.started_on and s.id is not None
    ]
    return bool(checks) and not (checks[-1].details or {}).get("still_employed", True)


def allowed_next(stages: list[PathwayStage]) -> list[str]:
    """Stages that may be recorded now. The pathway moves forward from its current stage
    (training, work experience and hiring may repeat): nothing before the referral,
    nothing after closing, training after a training plan, follow-ups after a hiring.
    Once a job has ended, a new training plan or work experience may start."""
    if not stages:
        return ["referral"]
    names = {s.stage for s in stages}
    if "closed" in names:
        return []
    current = current_stage(stages)
    position = STAGE_ORDER.index(current.stage) if current else 0
    allowed = set(STAGE_ORDER[position + 1 :]) - {"follow_up"}
    if current is not None and current.stage in REPEATABLE:
        allowed.add(current.stage)
    if current is not None and current.stage == "hiring" and job_ended(stages):
        allowed |= {"training_plan", "training", "work_experience"}
    if "training_plan" not in names:
        allowed.discard("training")
    if any(f.done_on is None for f in follow_ups(stages)):
        allowed.add("follow_up")
    return [s for s in STAGE_ORDER if s in allowed]


def likely_next(stages: list[PathwayStage], allowed: list[str]) -> str | None:
    """The step most likely to come next, offered first: the next stage in order (a
    training after its plan), a follow-up or the closing after a hiring."""
    if not allowed:
        return None
    current = current_stage(stages)
    if current is not None and current.stage == "hiring":
        return "follow_up" if "follow_up" in allowed else "closed"
    if current is not None:
        for name in STAGE_ORDER[STAGE_ORDER.index(current.stage) + 1 :]:
            if name in allowed and name != "closed":
                return name
    return "closed" if "closed" in allowed else allowed[0]


def brokers_of(service_ids: set[int]) -> list[User]:
    if not service_ids:
        return []
    return list(
        db.session.execute(
            select(User)
            .join(Membership)
            .where(Membership.organisation_id.in_(service_ids), Membership.role == BROKER)
            .order_by(User.full_name)
            .distinct()
        ).scalars()
    )


def employer_by_name(name: str) -> Organisation | None:
    from portal.accounts import find_organisation

    org = find_organisation(name) if name and name.strip() else None
    return org if org is not None and org.kind in EMPLOYER_KINDS and org.is_verified else None


def _validate_details(
    data: StageInput, stages: list[PathwayStage], today: date
) -> tuple[dict[str, Any], dict[str, str]]:
    d, errors, out = data.details, {}, {}
    start = data.started_on
    if data.stage in ("training_plan", "training"):
        title = str(d.get("title") or "").strip()
        if len(title) > 200:
            errors["title"] = _("At most %(num)d characters.", num=200)
        out["title"] = title
    elif data.stage == "work_experience":
        kind = d.get("kind")
        if kind not in WORK_EXPERIENCE_KINDS:
            errors["kind"] = _("Choose the kind of work experience.")
        planned = d.get("planned_end")
        if kind == OBSERVATION_LAB and start is not None:
            if planned is None:
                errors["planned_end"] = _("A lab needs its planned end date.")
            elif (
                not add_months(start, LAB_MIN_MONTHS)
                <= planned
                <= add_months(start, LAB_MAX_MONTHS)
            ):
                errors["planned_end"] = _(
                    "An observation lab lasts from %(low)d to %(high)d months: plan its end "
                    "between %(first)s and %(last)s.",
                    low=LAB_MIN_MONTHS,
                    high=LAB_MAX_MONTHS,
                    first=format_date(add_months(start, LAB_MIN_MONTHS)),
                    last=format_date(add_months(start, LAB_MAX_MONTHS)),
                )
        elif planned is not None and start is not None and planned < start:
            errors["planned_end"] = _("The end cannot come before the start.")
        host = str(d.get("host") or "").strip()
        if len(host) > 200:
            errors["host"] = _("At most %(num)d characters.", num=200)
        out.update(
            kind=kind,
            host=host,
            observations=[],
            planned_end=planned.isoformat() if planned else None,
        )
    elif data.stage == "hiring":
        if d.get("contract_type") not in CONTRACT_TYPES:
            errors["contract_type"] = _("Choose a contract type.")
        hours = d.get("hours")
        if hours is None or not 1 <= int(hours) <= 48:
            errors["hours"] = _("Between %(low)d and %(high)d hours a week.", low=1, high=48)
        employer = employer_by_name(str(d.get("employer") or ""))
        if employer is None:
            errors["employer"] = _("Choose a verified employer of the network from the list.")
        out.update(
            contract_type=d.get("contract_type"),
            hours=hours,
            employer_org_id=employer.id if employer else None,
            employer=employer.name if employer else "",
        )
    elif data.stage == "follow_up":
        month = d.get("month")
        pending = {f.month: f for f in follow_ups(stages) if f.done_on is None}
        hiring = latest(stages, "hiring")
        if month not in pending:
            errors["month"] = _("Choose a follow-up not recorded yet.")
        if hiring is not None and start is not None and start < hiring.started_on:
            errors["started_on"] = _(
                "A follow-up comes after the hiring start (%(date)s).",
                date=format_date(hiring.started_on),
            )
        out.update(month=month, still_employed=bool(d.get("still_employed")))
        if d.get("hours"):
            out["hours"] = d.get("hours")
    elif data.stage == "closed":
        if d.get("reason") not in CLOSE_REASONS:
            errors["reason"] = _("Choose why the pathway closes.")
        out["reason"] = d.get("reason")
    return out, errors


def add_stage(candidate: Candidate, user: User, data: StageInput, today: date) -> PathwayStage:
    """Record the next stage, in order. Earlier open stages end when a new one starts
    (follow-ups are events and end nothing); hiring places the person, closing is final."""
    require_holding(user, candidate, "pathway")
    service = acting_service(user, candidate)
    stages = stages_of(candidate)
    errors: dict[str, str] = {}
    if data.stage not in STAGES:
        raise PathwayError({"stage": _("Unknown stage.")})
    if data.stage != "closed":
        # Recording the pathway needs its consent; closing does not, so that a case
        # whose consent was revoked can still be closed (reason "withdrew").
        require_consent(candidate, PATHWAY, today)
    if data.stage not in allowed_next(stages):
        if "closed" in {s.stage for s in stages}:
            errors["stage"] = _("The pathway is closed: nothing can follow.")
        elif data.stage == "referral":
            errors["stage"] = _("The pathway already starts with a referral.")
        elif not stages:
            errors["stage"] = _("A pathway starts with the referral.")
        elif data.stage == "training":
            errors["stage"] = _("Record the training plan before the training.")
        else:
            errors["stage"] = _("Record a hiring before its follow-ups.")
        raise PathwayError(errors)
    start = data.started_on
    referral = stages[0] if stages else None
    if start is None:
        errors["started_on"] = _("Write the start date.")
    elif referral is not None and start < referral.started_on:
        errors["started_on"] = _(
            "Nothing comes before the referral (%(date)s).", date=format_date(referral.started_on)
        )
    elif data.stage in ("follow_up", "closed", "referral") and start > today:
        errors["started_on"] = _("The date cannot be in the future.")
    elif start > today + timedelta(days=MAX_DAYS_AHEAD):
        errors["started_on"] = _("At most %(num)d days ahead.", num=MAX_DAYS_AHEAD)
    elif data.stage == "closed" and stages and start < max(s.started_on for s in stages):
        errors["started_on"] = _("The pathway closes after its last stage.")
    if data.ended_on is not None and start is not None and data.ended_on < start:
        errors["ended_on"] = _("The end cannot come before the start.")
    tutor, notes = (data.tutor or "").strip(), (data.notes or "").strip()
    if len(tutor) > 200:
        errors["tutor"] = _("At most %(num)d characters.", num=200)
    if len(notes) > 4000:
        errors["notes"] = _("At most %(num)d characters.", num=4000)
    broker_id = data.broker_id or user.id
    if broker_id not in {b.id for b in brokers_of(candidate.holding_service_ids)}:
        errors["broker"] = _("Choose a broker of a service holding the case.")
    details, detail_errors = _validate_details(data, stages, today)
    errors.update(detail_errors)
    if errors:
        raise PathwayError(errors)
    assert start is not None
    ended_on = data.ended_on
    if data.stage in ("follow_up", "closed"):
        ended_on = start
    if data.stage != "follow_up":
        for stage in stages:
            if stage.ended_on is None:
                stage.ended_on = max(stage.started_on, start)
    stage = PathwayStage(
        candidate_id=candidate.id,
        stage=data.stage,
        started_on=start,
        ended_on=ended_on,
        service_id=service.id,
        broker_id=broker_id,
        tutor=tutor,
        notes=notes,
        details=details,
    )
    db.session.add(stage)
    if data.stage == "hiring":
        candidate.status = PLACED
    elif data.stage == "closed":
        candidate.status = CLOSED
    elif data.stage != "follow_up":
        candidate.status = ACTIVE
    db.session.flush()
    audit.record("pathway.stage", stage, actor=user, subject=candidate, stage=data.stage)
    return stage


def update_stage(
    stage: PathwayStage,
    user: User,
    ended_on: date | None,
    tutor: str,
    notes: str,
    broker_id: int | None,
    today: date,
) -> None:
    """Change a stage's end date, responsible broker, tutor and notes."""
    candidate = db.session.get(Candidate, stage.candidate_id)
    assert candidate is not None
    require_holding(user, candidate, "pathway")
    require_consent(candidate, PATHWAY, today)
    errors = {}
    if stage.stage in ("follow_up", "closed"):
        ended_on = stage.started_on
    if ended_on is not None and ended_on < stage.started_on:
        errors["ended_on"] = _("The end cannot come before the start.")
    elif ended_on is not None and ended_on > today + timedelta(days=MAX_DAYS_AHEAD):
        errors["ended_on"] = _("At most %(num)d days ahead.", num=MAX_DAYS_AHEAD)
    tutor, notes = (tutor or "").strip(), (notes or "").strip()
    if len(tutor) > 200:
        errors["tutor"] = _("At most %(num)d characters.", num=200)
    if len(notes) > 4000:
        errors["notes"] = _("At most %(num)d characters.", num=4000)
    broker_id = broker_id or stage.broker_id
    allowed = {b.id for b in brokers_of(candidate.holding_service_ids | {stage.service_id})}
    if broker_id is not None and broker_id not in allowed:
        errors["broker"] = _("Choose a broker of a service holding the case.")
    if errors:
        raise PathwayError(errors)
    stage.ended_on, stage.tutor, stage.notes, stage.broker_id = ended_on, tutor, notes, broker_id
    audit.record("pathway.stage_update", stage, actor=user, subject=candidate, stage=stage.stage)


# --- The timeline ------------------------------------------------------------------------


@dataclass
class TimelineItem:
    on: date
    kind: str  # a stage name, "holding_start" / "holding_end", or "proposal"
    stage: PathwayStage | None = None
    holding: CaseHolding | None = None
    proposal: Proposal | None = None
    vacancy: Vacancy | None = None


def timeline(candidate: Candidate) -> list[TimelineItem]:
    """Stages, changes of service and proposals to employers, in date order."""
    items = [TimelineItem(s.started_on, s.stage, stage=s) for s in stages_of(candidate)]
    for proposal, vacancy in db.session.execute(
        select(Proposal, Vacancy)
        .join(Vacancy, Vacancy.id == Proposal.vacancy_id)
        .where(Proposal.candidate_id == candidate.id)
    ):
        when = to_user_timezone(proposal.created_at).date()
        items.append(TimelineItem(when, "proposal", proposal=proposal, vacancy=vacancy))
    holdings = sorted(candidate.holdings, key=lambda h: (h.since, h.id or 0))
    for i, holding in enumerate(holdings):
        if i > 0:
            items.append(TimelineItem(holding.since, "holding_start", holding=holding))
        if holding.until is not None:
            items.append(TimelineItem(holding.until, "holding_end", holding=holding))
    order = {"holding_end": -2, "holding_start": -1, "proposal": 1}
    items.sort(
        key=lambda i: (
            i.on,
            order.get(i.kind, 0),
            i.stage.id if i.stage and i.stage.id else (i.proposal.id if i.proposal else 0),
        )
    )
    return items
