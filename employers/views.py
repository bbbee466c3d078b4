"""Employers' pages: public vacancies, the employer area."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select

from employers import services
from employers.forms import CloseForm, CompanyProfileForm, VacancyForm
from employers.models import (
    CONTRACT_TYPES,
    PUBLISHED,
    CompanyProfile,
    Vacancy,
)
from employers.services import VACANCY_ROLES, VacancyData, VacancyError, VacancyFilters
from portal import audit, concurrency, db, memo, provinces
from portal.db import utcnow
from portal.forms import ConfirmForm
from portal.i18n import translated
from portal.layout import HomeAction
from portal.permissions import public, require, roles_required
from portal.taxonomy import (
    ADJUSTMENTS,
    Occupation,
    resolve_occupation,
    skill_options,
    suggested_skills,
)
from portal.views import page_arg

bp = Blueprint("employers", __name__, template_folder="templates")


def today() -> date:
    return utcnow().date()


def int_arg(name: str, low: int, high: int) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and low <= int(value) <= high else None


def filters_from_args() -> VacancyFilters:
    radius = request.args.get("radius_km", "")
    return VacancyFilters(
        q=(request.args.get("q") or "").strip()[:200],
        comune=(request.args.get("comune") or "").strip() or None,
        radius_km=float(radius) if radius.isdigit() and 0 < int(radius) <= 300 else None,
        province=province
        if (province := (request.args.get("province") or "").upper()) in provinces.names()
        else None,
        occupation_id=int_arg("occupation", 1, 10**9),
        contract_type=request.args.get("contract")
        if request.args.get("contract") in CONTRACT_TYPES
        else None,
        min_hours=int_arg("min_hours", 1, 48),
        max_hours=int_arg("max_hours", 1, 48),
        adjustments=[a for a in request.args.getlist("adjustment") if a in ADJUSTMENTS],
    )


def resolve_comune_arg(filters: VacancyFilters) -> None:
    """Accept "Name (PR)" in the filter as the picker writes it."""
    if filters.comune and not filters.comune.isdigit():
        from portal.municipalities import resolve_municipality

        found = resolve_municipality(filters.comune)
        filters.comune = found.istat_code if found else "000000"


@bp.route("/vacancies")
@public
def vacancy_list() -> Any:
    filters = filters_from_args()
    resolve_comune_arg(filters)
    ranked = services.ranked_vacancy_ids(filters.q)
    day = today()

    def ids() -> Any:
        return services.public_vacancies(filters, day, ranked).with_only_columns(Vacancy.id)

    # Every page of a listing, and every reader, shares one COUNT while nothing
    # searchable changed (the day is in the key: vacancies expire at midnight).
    key = ("vacancies", repr(filters), day, None if ranked is None else tuple(ranked))
    if ranked is None:
        page = db.paginate(
            ids(),
            page_arg(),
            current_app.config["PER_PAGE"],
            count_limit=current_app.config["LISTING_COUNT_LIMIT"],
            count_key=key,
        )
    else:  # at most a thousand matches: filtered and ordered once, then sliced
        matches = memo.remember(key, lambda: tuple(db.session.scalars(ids())))
        page = db.page_of(matches, page_arg(), current_app.config["PER_PAGE"])
    page.items = services.vacancy_cards(page.items)
    return render_template(
        "employers/vacancy_list.html",
        page=page,
        filters=filters,
        contract_types=translated(CONTRACT_TYPES),
        adjustments=translated(ADJUSTMENTS),
        comune_label=request.args.get("comune", ""),
        province_choices=provinces.choices(),
        feed_url=url_for("employers.vacancy_feed", **feed_args()),
    )


def feed_args() -> dict[str, Any]:
    """The list's query string, for the feed of the same vacancies (no page)."""
    return {k: v for k, v in request.args.to_dict(flat=False).items() if k not in ("page", "lang")}


#: New vacancies in the feed: the most recent, as feed readers expect.
FEED_SIZE = 50


@bp.route("/vacancies/feed.atom")
@public
def vacancy_feed() -> Any:
    """Atom (RFC 4287) feed of the newest public vacancies, filtered with the list's own query
    string (province, occupation, municipality and radius, contract, hours, words)."""
    from feedgen.feed import FeedGenerator

    filters = filters_from_args()
    resolve_comune_arg(filters)
    ranked = services.ranked_vacancy_ids(filters.q)
    vacancies = (
        db.session.execute(services.public_vacancies(filters, today(), ranked).limit(FEED_SIZE))
        .unique()
        .scalars()
        .all()
    )
    list_url = url_for("employers.vacancy_list", _external=True, **feed_args())
    feed = FeedGenerator()
    feed.id(url_for("employers.vacancy_feed", _external=True, **feed_args()))
    feed.title(_("Ponte – new vacancies"))
    feed.subtitle(
        _(
            "Jobs, apprenticeships and internships offered by the companies and social "
            "enterprises of the network."
        )
    )
    feed.link(href=list_url, rel="alternate", type="text/html")
    feed.link(href=feed.id(), rel="self", type="application/atom+xml")
    feed.language(str(get_locale() or "it"))
    newest = max((v.published_at or v.updated_at for v in vacancies), default=None)
    feed.updated(_aware(newest or utcnow()))
    for vacancy in reversed(vacancies):  # feedgen puts the last added first
        entry = feed.add_entry()
        url = url_for("employers.vacancy_detail", vacancy_id=vacancy.id, _external=True)
        entry.id(url)
        entry.link(href=url, rel="alternate", type="text/html")
        entry.title(vacancy.title)
        entry.author({"name": vacancy.organisation.name})
        entry.published(_aware(vacancy.published_at or vacancy.created_at))
        entry.updated(_aware(vacancy.updated_at))
        entry.summary(
            " · ".join(
                [
                    vacancy.organisation.name,
                    vacancy.municipality.label,
                    vacancy.contract_label,
                    _("%(hours)s hours a week", hours=vacancy.hours_per_week),
                ]
            )
        )
        if vacancy.occupation:
            entry.category(term=vacancy.occupation.isco_code, label=vacancy.occupation.label)
    return current_app.response_class(feed.atom_str(pretty=False), mimetype="application/atom+xml")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@bp.route("/vacancies/<int:vacancy_id>")
@public
def vacancy_detail(vacancy_id: int) -> Any:
    vacancy = db.session.get(Vacancy, vacancy_id)
    if vacancy is None:
        abort(404)
    manager = services.can_manage(current_user, vacancy)
    if not (vacancy.is_public(today()) or manager):
        abort(404)
    public = vacancy.is_public(today())
    apply_url = apply_url_for(vacancy) if public else None
    return render_template(
        "employers/vacancy_detail.html",
        vacancy=vacancy,
        manager=manager,
        edit_refusal=services.edit_refusal(vacancy, today()) if manager else None,
        json_ld=job_posting_json_ld(vacancy, apply_url) if public else None,
        apply_url=apply_url,
        adjustments=ADJUSTMENTS,
    )


#: The kind of contract as Google's JobPosting guidelines name it; the working time
#: (FULL_TIME or PART_TIME) comes from the hours (employment_types).
CONTRACT_KINDS = {
    "internship": ["INTERN"],  # a tirocinio is training, not employment
    "fixed_term": ["TEMPORARY"],
    "social_coop_placement": ["OTHER"],
}
#: Weekly hours from which a job is full time. D.Lgs. 66/2003 art. 3 sets 40 hours as the
#: legal normal week and lets collective agreements set less (36 in the public sector and
#: in many CCNL); part time is any week shorter than the full one (D.Lgs. 81/2015 art. 4).
FULL_TIME_HOURS = 36


def employment_types(contract_type: str, hours_per_week: int) -> list[str]:
    """JobPosting ``employmentType``: the kind of contract, then full or part time."""
    kinds = list(CONTRACT_KINDS.get(contract_type, []))
    if contract_type == "internship":
        return kinds
    full = hours_per_week >= FULL_TIME_HOURS and contract_type != "part_time"
    return [*kinds, "FULL_TIME" if full else "PART_TIME"]


UNIT_TEXT = {"hour": "HOUR", "month": "MONTH", "year": "YEAR"}


ROME = ZoneInfo("Europe/Rome")


def valid_through(expires_on: date) -> str:
    """The last second of ``expires_on`` in Italy, with that day's offset (+01:00 in
    winter, +02:00 in summer time)."""
    return datetime.combine(expires_on, time(23, 59, 59), tzinfo=ROME).isoformat()


def apply_url_for(vacancy: Vacancy) -> str | None:
    """Where a person applies for ``vacancy`` on the portal: the brokerage module's "apply
    through the network" page when it is loaded and a desk takes candidacies, else None."""
    provider = current_app.extensions.get("ponte_vacancy_apply")
    return provider(vacancy) if provider else None


def job_posting_json_ld(vacancy: Vacancy, apply_url: str | None = None) -> Markup:
    """schema.org JobPosting, with Google's required and recommended properties.

    ``directApply`` is true only when the portal itself takes the candidacy (``apply_url``):
    the network's request form, not a redirect elsewhere."""
    place = vacancy.municipality
    employment = employment_types(vacancy.contract_type, vacancy.hours_per_week)
    data: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "JobPosting",
        "title": vacancy.title,
        "description": vacancy.description or vacancy.title,
        "identifier": {
            "@type": "PropertyValue",
            "name": vacancy.organisation.name,
            "value": str(vacancy.id),
        },
        # The day in Italy: a vacancy published at 00:30 in Rome is dated that day.
        "datePosted": (vacancy.published_at or vacancy.created_at)
        .astimezone(ROME)
        .date()
        .isoformat(),
        "validThrough": valid_through(vacancy.expires_on) if vacancy.expires_on else None,
        "employmentType": employment,
        "hiringOrganization": {
            "@type": "Organization",
            "name": vacancy.organisation.name,
            "sameAs": url_for(
                "portal.organisation_detail",
                org_id=vacancy.organisation.id,
                slug=vacancy.organisation.slug,
                _external=True,
            ),
        },
        "jobLocation": {
            "@type": "Place",
            "address": {
                "@type": "PostalAddress",
                "addressLocality": place.name,
                "addressRegion": place.province_code,
                "addressCountry": "IT",
            },
        },
        "workHours": f"{vacancy.hours_per_week} h/week",
        "url": url_for("employers.vacancy_detail", vacancy_id=vacancy.id, _external=True),
        "directApply": apply_url is not None,
    }
    if vacancy.occupation:
        data["occupationalCategory"] = vacancy.occupation.isco_code
    if vacancy.pay_min is not None or vacancy.pay_max is not None:
        value: dict[str, Any] = {
            "@type": "QuantitativeValue",
            "unitText": UNIT_TEXT[vacancy.pay_period],
        }
        if vacancy.pay_min is not None:
            value["minValue"] = float(vacancy.pay_min)
        if vacancy.pay_max is not None:
            value["maxValue"] = float(vacancy.pay_max)
        data["baseSalary"] = {"@type": "MonetaryAmount", "currency": "EUR", "value": value}
    data = {k: v for k, v in data.items() if v is not None}
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return Markup(text)  # noqa: S704 - JSON with "</" escaped, inside <script>


# --- Employer area ---------------------------------------------------------------------


def managed_vacancy(vacancy_id: int) -> Vacancy:
    vacancy = db.session.get(Vacancy, vacancy_id)
    if vacancy is None:
        abort(404)
    require(services.can_manage(current_user, vacancy))
    return vacancy


def my_organisation():  # type: ignore[no-untyped-def]
    orgs = services.owner_organisations(current_user)
    chosen = request.args.get("org", type=int)
    for org in orgs:
        if chosen is None or org.id == chosen:
            return org
    abort(404)


@bp.route("/employer")
@roles_required(*VACANCY_ROLES)
def dashboard() -> Any:
    org = my_organisation()
    counts = dict(
        db.session.execute(
            select(Vacancy.status, func.count())
            .where(Vacancy.organisation_id == org.id)
            .group_by(Vacancy.status)
        ).all()
    )
    page = db.paginate(
        select(Vacancy)
        .where(Vacancy.organisation_id == org.id)
        .order_by(Vacancy.updated_at.desc()),
        page_arg(),
        current_app.config["PER_PAGE"],
    )
    widgets = [
        provider(org) for provider in current_app.extensions.get("ponte_employer_widgets", [])
    ]
    return render_template(
        "employers/dashboard.html",
        org=org,
        page=page,
        counts=counts,
        widgets=[w for w in widgets if w],
        form=ConfirmForm(),
        today=today(),
    )


def home_actions(user: Any) -> list[HomeAction]:
    """Next steps of an organisation that posts vacancies."""
    orgs = services.owner_organisations(user)
    if not orgs:
        return []
    published = db.session.execute(
        select(func.count())
        .select_from(Vacancy)
        .where(Vacancy.organisation_id == orgs[0].id, Vacancy.status == PUBLISHED)
    ).scalar_one()
    return [
        HomeAction(_("Your published vacancies"), url_for("employers.dashboard"), published),
        HomeAction(_("Post a vacancy"), url_for("employers.vacancy_new")),
    ]


def occupation_from_text(text: str | None) -> Occupation | None:
    """The occupation typed or picked (label in either language, ISCO code, or the start
    of a single label); None when there is none or it is not clear which."""
    return resolve_occupation(text)[0]


def occupation_error(text: str, close: list[Occupation]) -> str:
    if close:
        return _(
            "No single occupation matches “%(text)s”. Choose one from the list, for "
            "example: %(options)s.",
            text=text,
            options="; ".join(o.label for o in close[:5]),
        )
    return _(
        "No occupation matches “%(text)s”: type a few letters of the job and choose from the list.",
        text=text,
    )


def fill_skill_choices(
    form: VacancyForm, occupation: Occupation | None, vacancy: Vacancy | None = None
) -> None:
    choices: dict[int, str] = {}
    essential_ids: list[int] = []
    if occupation is not None:
        essential, optional = suggested_skills(occupation)
        essential_ids = [s.id for s in essential]
        for skill in essential + optional:
            choices[skill.id] = skill.label
    if vacancy is not None:
        for row in vacancy.skills:
            choices.setdefault(row.skill_id, row.skill.label)
    form.required_skills.choices = skill_options(choices, sort=False)
    form.preferred_skills.choices = skill_options(choices, sort=False)
    if form.suggest.data:  # fresh suggestion: essential ones required, none preferred
        form.required_skills.data = essential_ids
        form.preferred_skills.data = []


def vacancy_data(form: VacancyForm, occupation: Occupation | None) -> VacancyData:
    required = list(form.required_skills.data or [])
    return VacancyData(
        title=form.title.data or "",
        description=form.description.data or "",
        comune_code=form.comune.data or "",
        contract_type=form.contract_type.data,
        hours_per_week=form.hours_per_week.data or 0,
        shift_pattern=form.shift_pattern.data,
        positions=form.positions.data or 1,
        occupation_id=occupation.id if occupation else None,
        pay_min=form.pay_min.data,
        pay_max=form.pay_max.data,
        pay_period=form.pay_period.data,
        expires_on=form.expires_on.data,
        onsite_tutor=form.onsite_tutor.data,
        inclusion_open=form.inclusion_open.data,
        counts_toward_quota=form.counts_toward_quota.data,
        adjustments=list(form.adjustments.data or []),
        required_skill_ids=required,
        preferred_skill_ids=[s for s in form.preferred_skills.data or [] if s not in required],
    )


def show_errors(form: VacancyForm, error: VacancyError) -> None:
    for name, message in error.fields.items():
        target = {
            "comune": "comune",
            "occupation": "occupation",
            "skills": "required_skills",
            "status": "title",
            "reason": "title",
        }.get(name, name)
        getattr(form, target, form.title).errors = [*getattr(form, target).errors, message]


def save_vacancy_form(
    form: VacancyForm,
    vacancy: Vacancy | None,
    current_form: Callable[[], VacancyForm] | None = None,
) -> Vacancy | None:
    typed = " ".join((form.occupation.data or "").split())
    occupation, close = resolve_occupation(typed)
    if occupation is not None and request.method == "POST":
        form.occupation.data = occupation.label  # as the list shows it
    fill_skill_choices(form, occupation, vacancy)
    unknown = bool(typed) and occupation is None and request.method == "POST"
    if form.suggest.data or not form.validate_on_submit():
        if unknown:
            form.occupation.errors = [occupation_error(typed, close)]
        elif form.suggest.data and occupation is None and request.method == "POST":
            form.occupation.errors = [_("Choose an occupation first.")]
        return None
    if unknown:
        form.occupation.errors = [occupation_error(typed, close)]
        return None
    stale = vacancy is not None and current_form is not None
    if stale and not concurrency.unchanged_since(form, vacancy, current_form):
        return None
    data = vacancy_data(form, occupation)
    try:
        if vacancy is None:
            vacancy = services.create_vacancy(my_organisation(), current_user, data, today())
        else:
            services.update_vacancy(vacancy, current_user, data, today())
    except VacancyError as error:
        db.session.rollback()
        show_errors(form, error)
        return None
    db.session.commit()
    return vacancy


@bp.route("/employer/vacancies/new", methods=["GET", "POST"])
@roles_required(*VACANCY_ROLES)
def vacancy_new() -> Any:
    org = my_organisation()
    form = VacancyForm()
    if request.method == "GET":
        if org.municipality:
            form.comune.data = org.municipality.label
        # The quota page links here to hire toward the L. 68/1999 obligation.
        form.counts_toward_quota.data = bool(request.args.get("counts_toward_quota"))
    vacancy = save_vacancy_form(form, None)
    if vacancy is not None:
        flash(_("The vacancy has been saved as a draft."), "success")
        return redirect(url_for("employers.vacancy_detail", vacancy_id=vacancy.id))
    return render_template("employers/vacancy_form.html", form=form, org=org, vacancy=None)


@bp.route("/employer/vacancies/<int:vacancy_id>/edit", methods=["GET", "POST"])
@roles_required(*VACANCY_ROLES)
def vacancy_edit(vacancy_id: int) -> Any:
    vacancy = managed_vacancy(vacancy_id)
    refusal = services.edit_refusal(vacancy, today())  # closed, or past its expiry date
    if refusal:
        flash(refusal, "danger")
        return redirect(url_for("employers.vacancy_detail", vacancy_id=vacancy.id))

    def build(**kwargs: Any) -> VacancyForm:
        form = VacancyForm(obj=vacancy, **kwargs)
        if request.method == "GET" or kwargs:
            form.comune.data = vacancy.municipality.label
            form.occupation.data = vacancy.occupation.label if vacancy.occupation else ""
            form.adjustments.data = vacancy.adjustments
            form.required_skills.data = [s.skill_id for s in vacancy.skills if s.required]
            form.preferred_skills.data = [s.skill_id for s in vacancy.skills if not s.required]
        if kwargs:
            fill_skill_choices(form, vacancy.occupation, vacancy)
        return form

    form = build()
    saved = save_vacancy_form(form, vacancy, lambda: build(formdata=None))
    if request.method == "GET":
        concurrency.stamp(form, vacancy)
    if saved is not None:
        flash(_("The vacancy has been saved."), "success")
        return redirect(url_for("employers.vacancy_detail", vacancy_id=vacancy.id))
    return render_template(
        "employers/vacancy_form.html", form=form, org=vacancy.organisation, vacancy=vacancy
    ), concurrency.status()


def _transition(vacancy_id: int, action: Any, done: str) -> Any:
    vacancy = managed_vacancy(vacancy_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        result = action(vacancy)
    except VacancyError as error:
        db.session.rollback()
        for message in error.fields.values():
            flash(message, "danger")
        return redirect(url_for("employers.vacancy_detail", vacancy_id=vacancy.id))
    db.session.commit()
    flash(done, "success")
    target = result if isinstance(result, Vacancy) else vacancy
    return redirect(url_for("employers.vacancy_detail", vacancy_id=target.id))


@bp.route("/employer/vacancies/<int:vacancy_id>/publish", methods=["POST"])
@roles_required(*VACANCY_ROLES)
def vacancy_publish(vacancy_id: int) -> Any:
    return _transition(
        vacancy_id,
        lambda v: services.publish(v, current_user, today()),
        _("The vacancy is published."),
    )


@bp.route("/employer/vacancies/<int:vacancy_id>/duplicate", methods=["POST"])
@roles_required(*VACANCY_ROLES)
def vacancy_duplicate(vacancy_id: int) -> Any:
    return _transition(
        vacancy_id,
        lambda v: services.duplicate(v, current_user),
        _("A draft copy of the vacancy has been created."),
    )


@bp.route("/employer/vacancies/<int:vacancy_id>/close", methods=["GET", "POST"])
@roles_required(*VACANCY_ROLES)
def vacancy_close(vacancy_id: int) -> Any:
    vacancy = managed_vacancy(vacancy_id)
    form = CloseForm()
    if form.validate_on_submit():
        try:
            services.close(vacancy, current_user, form.reason.data)
        except VacancyError as error:
            db.session.rollback()
            form.reason.errors = list(error.fields.values())
        else:
            db.session.commit()
            flash(_("The vacancy is closed."), "success")
            return redirect(url_for("employers.vacancy_detail", vacancy_id=vacancy.id))
    return render_template("employers/vacancy_close.html", form=form, vacancy=vacancy)


@bp.route("/employer/profile", methods=["GET", "POST"])
@roles_required(*VACANCY_ROLES)
def company_profile() -> Any:
    org = my_organisation()
    profile = db.session.get(CompanyProfile, org.id) or CompanyProfile(
        organisation_id=org.id, legal_name=org.name
    )

    def build(**kwargs: Any) -> CompanyProfileForm:
        form = CompanyProfileForm(obj=profile, **kwargs)
        if (request.method == "GET" or kwargs) and org.municipality:
            form.comune.data = org.municipality.label
        return form

    form = concurrency.edit_form(build, profile)
    if concurrency.may_save(form, build, profile):
        form.populate_obj(profile)
        profile.fiscal_code = profile.fiscal_code or ""  # both already compact (the form)
        org.comune_code = form.comune.data
        org.fiscal_code = profile.fiscal_code or profile.vat_number
        db.session.add(profile)
        audit.record("company_profile.update", org)
        db.session.commit()
        flash(_("The company profile has been saved."), "success")
        return redirect(url_for("employers.dashboard"))
    return render_template("employers/profile.html", form=form, org=org), concurrency.status()


def sitemap_rows() -> Any:
    """Every public vacancy with its last change, for the sitemap."""
    public = services.public_vacancy_select(today()).subquery()
    return select(public.c.id, public.c.updated_at)


def sitemap_url(row: Any) -> str:
    return url_for("employers.vacancy_detail", vacancy_id=row[0], _external=True)
