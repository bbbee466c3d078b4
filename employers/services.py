"""Vacancy rules: who may manage them, their lifecycle, the public listing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app, url_for
from flask_babel import force_locale, format_date, format_decimal
from flask_babel import gettext as _
from sqlalchemy import Select, exists, select

from employers.models import (
    CLOSE_REASONS,
    CLOSED,
    CONTRACT_TYPES,
    DRAFT,
    EXPIRED,
    PAY_PERIODS,
    PUBLISHED,
    SHIFT_PATTERNS,
    Vacancy,
    VacancyAdjustment,
    VacancySkill,
)
from portal import audit, db, mail, municipalities
from portal.bounds import LONG_TEXT_MAX, column_length, too_long
from portal.db import utcnow
from portal.models import COOPERATIVE, EMPLOYER, SOCIAL_FARM, Municipality, Organisation, User
from portal.notifications import notify
from portal.taxonomy import ADJUSTMENTS, Occupation, Skill

#: Roles that post vacancies: companies, and cooperatives and social farms too.
VACANCY_ROLES = (EMPLOYER, COOPERATIVE, SOCIAL_FARM)
DEFAULT_VALIDITY_DAYS = 60
REMINDER_DAYS_BEFORE_EXPIRY = 7
MAX_VALIDITY_DAYS = 365
MAX_HOURS_PER_WEEK = 48  # D.Lgs. 66/2003 art. 4: average weekly limit incl. overtime
MAX_POSITIONS = 500
#: The limits of a vacancy's texts and pay, shared by the form, these rules and the API.
TITLE_MAX = column_length(Vacancy.title)
DESCRIPTION_MAX = LONG_TEXT_MAX
PAY_MAX = Decimal("1000000")


class VacancyError(ValueError):
    """Bad vacancy data; ``fields`` maps field names to messages."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def owner_organisations(user: User) -> list[Organisation]:
    return user.organisations(*VACANCY_ROLES)


def can_manage(user: Any, vacancy: Vacancy) -> bool:
    return bool(user and user.is_authenticated) and vacancy.organisation in owner_organisations(
        user
    )


@dataclass
class VacancyData:
    """Validated vacancy fields, from a form or the API."""

    title: str
    description: str
    comune_code: str
    contract_type: str
    hours_per_week: int
    shift_pattern: str = "day"
    positions: int = 1
    occupation_id: int | None = None
    pay_min: Decimal | None = None
    pay_max: Decimal | None = None
    pay_period: str = "month"
    expires_on: date | None = None
    onsite_tutor: bool = False
    inclusion_open: bool = True
    counts_toward_quota: bool = False
    adjustments: list[str] = field(default_factory=list)
    required_skill_ids: list[int] = field(default_factory=list)
    preferred_skill_ids: list[int] = field(default_factory=list)


def check(data: VacancyData, today: date) -> None:
    """Every rule at once, so a person sees all problems together."""
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = _("Give the vacancy a title.")
    elif message := too_long(data.title, TITLE_MAX):
        errors["title"] = message
    if message := too_long(data.description, DESCRIPTION_MAX):
        errors["description"] = message
    if municipalities.get(data.comune_code) is None:
        errors["comune"] = _("Choose a municipality from the list.")
    if data.contract_type not in CONTRACT_TYPES:
        errors["contract_type"] = _("Choose a contract type.")
    if data.shift_pattern not in SHIFT_PATTERNS:
        errors["shift_pattern"] = _("Choose a working pattern.")
    if not 1 <= data.hours_per_week <= MAX_HOURS_PER_WEEK:
        errors["hours_per_week"] = _(
            "Hours per week must be between 1 and %(max)d.", max=MAX_HOURS_PER_WEEK
        )
    if not 1 <= data.positions <= MAX_POSITIONS:
        errors["positions"] = _("Positions must be between 1 and %(max)d.", max=MAX_POSITIONS)
    for name in ("pay_min", "pay_max"):
        value = getattr(data, name)
        if value is None:
            continue
        if not value.is_finite():  # NaN and infinities break every comparison below
            errors[name] = _("Give an amount in euros with at most two decimals.")
        elif value < 0:
            errors[name] = _("Pay cannot be negative.")
        elif value > PAY_MAX:
            errors[name] = _("Pay cannot be more than %(max)s euros.", max=format_decimal(PAY_MAX))
        elif value != value.quantize(Decimal("0.01")):
            errors[name] = _("Give an amount in euros with at most two decimals.")
    if (
        data.pay_min is not None
        and data.pay_max is not None
        and "pay_min" not in errors
        and "pay_max" not in errors
        and data.pay_min > data.pay_max
    ):
        errors["pay_max"] = _("The maximum pay cannot be lower than the minimum.")
    if data.pay_period not in PAY_PERIODS:
        errors["pay_period"] = _("Choose a pay period.")
    if data.expires_on is not None:
        if data.expires_on < today:
            errors["expires_on"] = _("The expiry date cannot be in the past.")
        elif data.expires_on > today + timedelta(days=MAX_VALIDITY_DAYS):
            errors["expires_on"] = _("A vacancy can stay open for at most one year.")
    if data.occupation_id is not None and db.session.get(Occupation, data.occupation_id) is None:
        errors["occupation"] = _("Choose an occupation from the list.")
    unknown = [a for a in data.adjustments if a not in ADJUSTMENTS]
    if unknown:
        errors["adjustments"] = _("Unknown adjustment: %(codes)s", codes=", ".join(unknown))
    skill_ids = set(data.required_skill_ids) | set(data.preferred_skill_ids)
    if skill_ids:
        found = set(db.session.execute(select(Skill.id).where(Skill.id.in_(skill_ids))).scalars())
        if found != skill_ids:
            errors["skills"] = _("Choose skills from the list.")
    if errors:
        raise VacancyError(errors)


#: What a vacancy says about the job, set from the form or the API and kept by a copy.
POSTING_FIELDS = (
    "title",
    "description",
    "comune_code",
    "contract_type",
    "hours_per_week",
    "shift_pattern",
    "positions",
    "occupation_id",
    "pay_min",
    "pay_max",
    "pay_period",
    "onsite_tutor",
    "inclusion_open",
    "counts_toward_quota",
)


def _apply(vacancy: Vacancy, data: VacancyData) -> None:
    for name in (*POSTING_FIELDS, "expires_on"):
        setattr(vacancy, name, getattr(data, name))
    vacancy.title = vacancy.title.strip()
    vacancy.adjustments = data.adjustments
    required = set(data.required_skill_ids)
    wanted = {**{sid: False for sid in data.preferred_skill_ids}, **{sid: True for sid in required}}
    vacancy.skills = [VacancySkill(skill_id=sid, required=req) for sid, req in wanted.items()]


def create_vacancy(org: Organisation, author: User, data: VacancyData, today: date) -> Vacancy:
    check(data, today)
    vacancy = Vacancy(organisation=org, created_by=author, status=DRAFT)
    _apply(vacancy, data)
    db.session.add(vacancy)
    db.session.flush()
    audit.record("vacancy.create", vacancy, actor=author)
    return vacancy


def is_expired(vacancy: Vacancy, today: date) -> bool:
    """Published but past its expiry date: expired, even before ``flask employers expire``
    closes it."""
    return (
        vacancy.status == PUBLISHED
        and vacancy.expires_on is not None
        and vacancy.expires_on < today
    )


def edit_refusal(vacancy: Vacancy, today: date) -> str | None:
    """Why ``vacancy`` cannot be edited any more, or None if it can."""
    if vacancy.status == CLOSED:
        return _("A closed vacancy cannot be edited: duplicate it.")
    if is_expired(vacancy, today):
        return _("This vacancy has expired and cannot be edited: duplicate it.")
    return None


def update_vacancy(vacancy: Vacancy, author: User, data: VacancyData, today: date) -> None:
    refusal = edit_refusal(vacancy, today)
    if refusal:
        raise VacancyError({"status": refusal})
    if vacancy.status == PUBLISHED and data.expires_on is None:
        data.expires_on = vacancy.expires_on  # a published vacancy always has an expiry
    check(data, today)
    if data.expires_on != vacancy.expires_on:
        vacancy.reminder_sent_at = None  # a new date deserves a new reminder before it
    # Rebuilding the skill rows must not collide with the old ones in one flush.
    vacancy.skills = []
    db.session.flush()
    _apply(vacancy, data)
    vacancy.updated_at = utcnow()  # also when only skills or adjustments changed
    audit.record("vacancy.update", vacancy, actor=author)


def publish(vacancy: Vacancy, author: User, today: date) -> None:
    if vacancy.status != DRAFT:
        raise VacancyError({"status": _("Only a draft can be published.")})
    if not vacancy.organisation.is_verified:
        raise VacancyError(
            {
                "status": _(
                    "Your organisation must be verified by an administrator before its vacancies "
                    "can be published."
                )
            }
        )
    if vacancy.expires_on is None:
        vacancy.expires_on = today + timedelta(days=DEFAULT_VALIDITY_DAYS)
    elif vacancy.expires_on < today:
        raise VacancyError({"expires_on": _("The expiry date cannot be in the past.")})
    vacancy.status = PUBLISHED
    vacancy.published_at = utcnow()
    audit.record("vacancy.publish", vacancy, actor=author)


def close(vacancy: Vacancy, author: User | None, reason: str) -> None:
    if reason not in CLOSE_REASONS:
        raise VacancyError({"reason": _("Choose why the vacancy is closed.")})
    if vacancy.status == CLOSED:
        raise VacancyError({"status": _("The vacancy is already closed.")})
    vacancy.status = CLOSED
    vacancy.close_reason = reason
    vacancy.closed_at = utcnow()
    audit.record("vacancy.close", vacancy, actor=author, reason=reason)


def duplicate(vacancy: Vacancy, author: User) -> Vacancy:
    copy = Vacancy(organisation=vacancy.organisation, created_by=author, status=DRAFT)
    for name in POSTING_FIELDS:  # a copy starts without an expiry date of its own
        setattr(copy, name, getattr(vacancy, name))
    copy.adjustments = vacancy.adjustments
    copy.skills = [VacancySkill(skill_id=s.skill_id, required=s.required) for s in vacancy.skills]
    db.session.add(copy)
    db.session.flush()
    audit.record("vacancy.duplicate", copy, actor=author, source=vacancy.id)
    return copy


def expire_due(today: date) -> int:
    """Close published vacancies whose expiry date has passed (they leave search too)."""
    due = (
        db.session.execute(
            select(Vacancy).where(Vacancy.status == PUBLISHED, Vacancy.expires_on < today)
        )
        .scalars()
        .all()
    )
    for vacancy in due:
        close(vacancy, None, EXPIRED)
    return len(due)


def send_expiry_reminders(today: date) -> int:
    """Tell the author of each vacancy that expires within a week, once per expiry date,
    through the notifications centre (in the portal, by e-mail as they prefer)."""
    soon = (
        db.session.execute(
            select(Vacancy).where(
                Vacancy.status == PUBLISHED,
                Vacancy.reminder_sent_at.is_(None),
                Vacancy.expires_on <= today + timedelta(days=REMINDER_DAYS_BEFORE_EXPIRY),
                Vacancy.expires_on >= today,
            )
        )
        .scalars()
        .all()
    )
    for vacancy in soon:
        _remind(vacancy)
        vacancy.reminder_sent_at = utcnow()
    return len(soon)


def _expiry_message(vacancy: Vacancy) -> tuple[str, str]:
    """Subject and message of the reminder, in the current locale."""
    assert vacancy.expires_on is not None
    return (
        _("Your vacancy expires soon: %(title)s", title=vacancy.title),
        _(
            'The vacancy "%(title)s" expires on %(date)s. Extend it or close it '
            "from your dashboard.",
            title=vacancy.title,
            date=format_date(vacancy.expires_on, "long"),
        ),
    )


def _remind(vacancy: Vacancy) -> None:
    author = vacancy.created_by
    if author is not None and author.active and vacancy.organisation in owner_organisations(author):
        recipients = [author]
    else:  # the author left: whoever manages the organisation's vacancies now
        recipients = list(
            {
                m.user.id: m.user
                for m in vacancy.organisation.memberships
                if m.user.active and m.role in VACANCY_ROLES
            }.values()
        )
    link = _path("employers.vacancy_edit", vacancy_id=vacancy.id)
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    for user in recipients:
        with force_locale(user.locale or default):
            subject, message = _expiry_message(vacancy)
            notify(user, message, link, subject=subject)
    if not recipients and vacancy.organisation.email:
        with force_locale(default):
            subject, message = _expiry_message(vacancy)
        mail.send(vacancy.organisation.email, subject, message)


def _path(endpoint: str, **values: Any) -> str:
    """A portal path, also from the command line (no request, maybe no SERVER_NAME)."""
    try:
        return url_for(endpoint, **values, _external=False)
    except RuntimeError:
        with current_app.test_request_context():
            return url_for(endpoint, **values, _external=False)


@dataclass
class VacancyFilters:
    q: str = ""
    comune: str | None = None
    radius_km: float | None = None
    province: str | None = None
    occupation_id: int | None = None
    contract_type: str | None = None
    min_hours: int | None = None
    max_hours: int | None = None
    adjustments: list[str] = field(default_factory=list)


def ranked_vacancy_ids(q: str, limit: int = 1000) -> list[int] | None:
    """Vacancy ids matching ``q`` in the search index, best first (None: no words)."""
    if not q:
        return None
    from portal import search

    return [int(i) for i in search.matching_ids(q, doc_types=["vacancy"], limit=limit)]


def public_vacancy_select(today: date) -> Select:
    """Every vacancy anyone may see: published, not expired, of a verified organisation
    (the SQL twin of ``Vacancy.is_public``; listing, search and matching share it)."""
    # EXISTS, not a join: a page of the listing walks the published-date index and checks
    # each row's organisation by its key, where SQLite joined by first filtering all
    # organisations into a Bloom filter on every request.
    verified = exists().where(
        Organisation.id == Vacancy.organisation_id, Organisation.verified_at.is_not(None)
    )
    return select(Vacancy).where(Vacancy.status == PUBLISHED, Vacancy.expires_on >= today, verified)


@dataclass(frozen=True)
class VacancyCard:
    """What the public listing shows of a vacancy: read as plain columns, not as a full
    vacancy with its skills and relations (twenty of those cost more than the page)."""

    id: int
    title: str
    organisation_name: str
    comune_name: str
    province_code: str
    contract_type: str
    hours_per_week: int
    adjustments: tuple[str, ...]

    @property
    def municipality_label(self) -> str:
        return f"{self.comune_name} ({self.province_code})"

    @property
    def contract_label(self) -> str:
        return str(CONTRACT_TYPES.get(self.contract_type, self.contract_type))


def vacancy_cards(ids: list[int]) -> list[VacancyCard]:
    """The listing's cards for ``ids``, in that order (two queries whatever their number)."""
    if not ids:
        return []
    rows = db.session.execute(
        select(
            Vacancy.id,
            Vacancy.title,
            Organisation.name,
            Municipality.name,
            Municipality.province_code,
            Vacancy.contract_type,
            Vacancy.hours_per_week,
        )
        .join(Organisation, Vacancy.organisation_id == Organisation.id)
        .join(Municipality, Vacancy.comune_code == Municipality.istat_code)
        .where(Vacancy.id.in_(ids))
    ).all()
    adjustments: dict[int, list[str]] = {}
    for vacancy_id, code in db.session.execute(
        select(VacancyAdjustment.vacancy_id, VacancyAdjustment.code).where(
            VacancyAdjustment.vacancy_id.in_(ids)
        )
    ):
        adjustments.setdefault(vacancy_id, []).append(code)
    cards = {
        row[0]: VacancyCard(*row, adjustments=tuple(sorted(adjustments.get(row[0], ()))))
        for row in rows
    }
    return [cards[i] for i in ids if i in cards]


def public_vacancies(
    filters: VacancyFilters, today: date, ranked_ids: Iterable[int] | None = None
) -> Select:
    """The public listing, filtered and in its order."""
    stmt = public_vacancy_select(today)
    if filters.comune:
        origin = municipalities.get(filters.comune)
        if origin is not None and filters.radius_km:
            stmt = stmt.where(
                Vacancy.comune_code.in_(municipalities.within_radius(origin, filters.radius_km))
            )
        else:
            stmt = stmt.where(Vacancy.comune_code == filters.comune)
    if filters.province:
        stmt = stmt.where(
            Vacancy.comune_code.in_(
                select(Municipality.istat_code).where(
                    Municipality.province_code == filters.province
                )
            )
        )
    if filters.occupation_id:
        stmt = stmt.where(Vacancy.occupation_id == filters.occupation_id)
    if filters.contract_type:
        stmt = stmt.where(Vacancy.contract_type == filters.contract_type)
    if filters.min_hours:
        stmt = stmt.where(Vacancy.hours_per_week >= filters.min_hours)
    if filters.max_hours:
        stmt = stmt.where(Vacancy.hours_per_week <= filters.max_hours)
    for code in filters.adjustments:
        stmt = stmt.where(
            exists().where(
                VacancyAdjustment.vacancy_id == Vacancy.id, VacancyAdjustment.code == code
            )
        )
    if ranked_ids is not None:
        stmt = stmt.where(Vacancy.id.in_(list(ranked_ids)))
    return stmt.order_by(Vacancy.published_at.desc(), Vacancy.id.desc())
