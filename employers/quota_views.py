"""L. 68/1999 quota: the employer's calculator page, the public JSON calculator and the
dashboard widget. The rules themselves live in :mod:`employers.quota`."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import BooleanField, DecimalField, IntegerField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from employers import api, quota, views
from employers.forms import FiniteDecimalField
from employers.models import CompanyProfile
from employers.quota import (
    MAX_EMPLOYEES,
    MAX_ORDER_VALUE,
    QuotaFigures,
    QuotaInputError,
    QuotaPolicy,
    QuotaResult,
)
from employers.services import VACANCY_ROLES
from portal import db, municipalities
from portal.api import ApiError, doc, json_body
from portal.bounds import length
from portal.models import COOPERATIVE_B, Organisation
from portal.permissions import public, roles_required

DEFAULT_RADIUS_KM = 50
NEARBY_LIMIT = 10


def current_policy() -> QuotaPolicy:
    return QuotaPolicy.from_config(current_app.config)


# --- The page ----------------------------------------------------------------------------


#: The part-time hours box: lines such as "20/40", one a worker (a domain rule: the
#: quota's own limits on head counts keep real input far below it).
PART_TIME_LINES_MAX = 20_000


class QuotaForm(FlaskForm):
    """The figures (sent by GET: a calculator changes nothing, and results can be linked).
    The exclusion fields are added per policy by :func:`make_quota_form`."""

    class Meta:
        csrf = False

    employees = IntegerField(
        _l("Employees (head count)"),
        validators=[
            InputRequired(_l("Give the number of employees.")),
            NumberRange(0, MAX_EMPLOYEES, _l("Give a number from 0 to 1,000,000.")),
        ],
        description=_l("Everyone on the payroll, part-time workers included."),
    )
    part_time_hours = TextAreaField(
        _l("Weekly hours of each part-time worker"),
        # One short line a worker: room for a large firm's part-time staff.
        validators=[Optional(), length(PART_TIME_LINES_MAX)],
        description=_l("One worker per line as hours/full-time hours, for example 20/40."),
    )
    part_time_workers = IntegerField(
        _l("Number of part-time workers"),
        validators=[
            Optional(),
            NumberRange(0, MAX_EMPLOYEES, _l("Give a number from 0 to 1,000,000.")),
        ],
        description=_l("Instead of the hours: how many part-time workers there are…"),
    )
    part_time_fte = FiniteDecimalField(
        _l("Their total full-time equivalent"),
        places=2,
        validators=[
            Optional(),
            NumberRange(0, MAX_EMPLOYEES, _l("Give a number from 0 to 1,000,000.")),
        ],
        description=_l("…and what they add up to in full-time workers, for example 2.5."),
    )
    disabled_employed = IntegerField(
        _l("Disabled workers already employed (art. 3)"),
        default=0,
        validators=[
            Optional(),
            NumberRange(0, MAX_EMPLOYEES, _l("Give a number from 0 to 1,000,000.")),
        ],
    )
    art18_employed = IntegerField(
        _l("Art. 18 category workers already employed"),
        default=0,
        validators=[
            Optional(),
            NumberRange(0, MAX_EMPLOYEES, _l("Give a number from 0 to 1,000,000.")),
        ],
        description=_l(
            "Orphans and surviving spouses of people who died at work, in war or "
            "in service, refugees and assimilated categories."
        ),
    )
    suspended = BooleanField(
        _l("A redundancy procedure or extraordinary wage guarantee (CIGS) is in progress")
    )
    submit = SubmitField(_l("Calculate the quota"))

    def exclusion_fields(self) -> list[tuple[quota.ExclusionCategory, Any]]:
        return [(c, self[f"excluded_{c.code}"]) for c in self.policy.exclusions]


def make_quota_form(policy: QuotaPolicy, formdata: Any) -> QuotaForm:
    attrs = {
        f"excluded_{c.code}": IntegerField(
            c.label,
            default=0,
            description=c.source,
            validators=[
                Optional(),
                NumberRange(0, MAX_EMPLOYEES, _l("Give a number from 0 to 1,000,000.")),
            ],
        )
        for c in policy.exclusions
    }
    form_class = type("PolicyQuotaForm", (QuotaForm,), attrs)
    form = form_class(formdata=formdata)
    form.policy = policy
    return form


def _check_order_value(form: FlaskForm, field: DecimalField) -> None:
    if field.data is not None and field.data != field.data.quantize(Decimal("0.01")):
        raise ValidationError(_l("Give an amount in euros with at most two decimals."))


class OrderForm(FlaskForm):
    class Meta:
        csrf = False

    order_value = FiniteDecimalField(
        _l("Yearly value of the work orders (EUR)"),
        places=2,
        validators=[
            InputRequired(_l("Give the yearly value of the orders.")),
            NumberRange(
                0, MAX_ORDER_VALUE, _l("Give an amount from 0 to 1,000,000,000,000 euros.")
            ),
            _check_order_value,
        ],
    )
    show_order = SubmitField(_l("Show the positions covered"))


_HOURS = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*/\s*(\d+(?:[.,]\d+)?)\s*$")


def parse_hours(text: str) -> list[tuple[Decimal, Decimal]]:
    """ "20/40" per line (or separated by semicolons); a decimal comma is accepted."""
    pairs = []
    for item in re.split(r"[;\n]", text or ""):
        if not item.strip():
            continue
        match = _HOURS.match(item)
        if match is None:
            raise ValueError(item.strip())
        pairs.append((Decimal(match[1].replace(",", ".")), Decimal(match[2].replace(",", "."))))
    return pairs


def add_error(field: Any, message: Any) -> None:
    field.errors = [*field.errors, str(message)]


def figures_from_form(form: QuotaForm) -> QuotaFigures | None:
    """The figures, or None after putting the problems next to the fields."""
    ok = True
    try:
        hours = parse_hours(form.part_time_hours.data or "")
    except ValueError as error:
        add_error(
            form.part_time_hours,
            _(
                "Write each worker as hours/full-time hours, for example 20/40 (not “%(item)s”).",
                item=str(error)[:40],
            ),
        )
        hours, ok = [], False
    if len(hours) > MAX_EMPLOYEES:
        add_error(form.part_time_hours, _("Too many lines."))
        return None
    workers = form.part_time_workers.data or 0
    fte = form.part_time_fte.data
    if fte is not None and not hours and workers == 0 and fte > 0:
        add_error(
            form.part_time_workers,
            _("Say how many part-time workers this full-time equivalent covers."),
        )
        ok = False
    if workers and not hours and fte is None:
        add_error(
            form.part_time_fte,
            _("Give the hours or the full-time equivalent of the part-time workers."),
        )
        ok = False
    employees = form.employees.data or 0
    disabled = form.disabled_employed.data or 0
    art18 = form.art18_employed.data or 0
    if disabled + art18 > employees:
        target = form.art18_employed if art18 else form.disabled_employed
        add_error(target, _("The workers already employed cannot be more than the employees."))
        ok = False
    if not ok:
        return None
    return QuotaFigures(
        employees=Decimal(employees),
        part_time_workers=workers,
        part_time_hours=tuple(hours),
        part_time_fte=fte,
        excluded={c.code: Decimal(f.data or 0) for c, f in form.exclusion_fields()},
        disabled_employed=disabled,
        art18_employed=art18,
        suspended=bool(form.suspended.data),
    )


def show_figure_errors(form: QuotaForm, errors: dict[str, Any]) -> None:
    exclusion_fields = form.exclusion_fields()
    for key, message in errors.items():
        if key == "excluded":  # the total: next to the first exclusion given
            target = next((f for _c, f in exclusion_fields if f.data), exclusion_fields[0][1])
        elif key.startswith("excluded."):
            target = form[f"excluded_{key.split('.', 1)[1]}"]
        else:
            target = getattr(form, key, None)
            if target is None:
                target = form.employees
        add_error(target, message)


def nearby_cooperatives(
    org: Organisation, radius_km: float, limit: int = NEARBY_LIMIT
) -> list[tuple[Organisation, float]]:
    """Verified type-B cooperatives within ``radius_km`` of the company, nearest first."""
    origin = org.municipality
    if origin is None or origin.lat is None or origin.lon is None:
        return []
    codes = municipalities.within_radius(origin, radius_km)
    found = (
        db.session.execute(
            select(Organisation).where(
                Organisation.kind == COOPERATIVE_B,
                Organisation.verified_at.is_not(None),
                Organisation.comune_code.in_(codes),
                Organisation.id != org.id,
            )
        )
        .scalars()
        .all()
    )
    ranked = []
    for coop in found:
        distance = municipalities.distance_between(origin, coop.municipality)
        if distance is not None and distance <= radius_km:
            ranked.append((coop, distance))
    ranked.sort(key=lambda pair: (pair[1], pair[0].name))
    return ranked[:limit]


@views.bp.route("/employer/quota", endpoint="quota")
@roles_required(*VACANCY_ROLES)
def quota_page() -> Any:
    org = views.my_organisation()
    policy = current_policy()
    profile = db.session.get(CompanyProfile, org.id)
    submitted = "employees" in request.args
    form = make_quota_form(policy, request.args if submitted else None)
    result: QuotaResult | None = None
    from_profile = False
    if submitted:
        if form.validate():
            figures = figures_from_form(form)
            if figures is not None:
                errors = quota.validate_figures(figures, policy)
                if errors:
                    show_figure_errors(form, errors)
                else:
                    result = quota.compute_quota(figures, policy)
    elif profile is not None and profile.employees is not None:
        form.employees.data = profile.employees
        try:
            result = quota.compute_quota(QuotaFigures(employees=Decimal(profile.employees)), policy)
            from_profile = True
        except QuotaInputError:
            result = None
    order_given = "order_value" in request.args
    order_form = OrderForm(formdata=request.args if order_given else None)
    coverage = None
    if result is not None and order_given and order_form.validate():
        coverage = quota.order_coverage(
            order_form.order_value.data, policy, result.disabled_required
        )
    radius = current_app.config.get("L68_COOPERATIVE_RADIUS_KM", DEFAULT_RADIUS_KM)
    cooperatives = (
        nearby_cooperatives(org, radius) if result is not None and result.disabled_gap > 0 else []
    )
    carried = [
        (k, v)
        for k, v in request.args.items(multi=True)
        if k not in ("order_value", "show_order", "lang")
    ]
    if from_profile:
        carried.append(("employees", str(profile.employees)))  # type: ignore[union-attr]
    return render_template(
        "employers/quota.html",
        org=org,
        form=form,
        result=result,
        from_profile=from_profile,
        policy=policy,
        order_form=order_form,
        coverage=coverage,
        cooperatives=cooperatives,
        radius=radius,
        carried=carried,
        articles=quota.ARTICLES,
        cap=quota.convention_cap(result.disabled_required, policy) if result else 0,
    )


# --- The JSON calculator --------------------------------------------------------------------


def _number(
    data: dict[str, Any],
    name: str,
    fields: dict[str, str],
    *,
    integer: bool = False,
    required: bool = False,
) -> Any:
    """A count from JSON: an integer, or (``integer=False``) also a decimal number or string."""
    if data.get(name) is None:
        if required:
            fields[name] = "is required"
        return None
    value = data[name]
    if isinstance(value, bool):
        fields[name] = "must be an integer" if integer else "must be a number"
        return None
    if integer:
        if isinstance(value, int):
            return value
        fields[name] = "must be an integer"
        return None
    if isinstance(value, int):
        return Decimal(value)
    try:
        if isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidOperation
            return Decimal(str(value))
        if isinstance(value, str):
            parsed = Decimal(value.strip())
            if not parsed.is_finite():
                raise InvalidOperation
            return parsed
    except InvalidOperation:
        pass
    fields[name] = "must be a number or a decimal string"
    return None


def _pairs(data: dict[str, Any], fields: dict[str, str]) -> list[tuple[Decimal, Decimal]]:
    value = data.get("part_time")
    if value is None:
        return []
    pairs: list[tuple[Decimal, Decimal]] = []
    if not isinstance(value, list) or len(value) > MAX_EMPLOYEES:
        fields["part_time"] = "must be a list of {hours, full_time_hours}"
        return []
    for item in value:
        if isinstance(item, list) and len(item) == 2:
            item = {"hours": item[0], "full_time_hours": item[1]}
        if not isinstance(item, dict):
            fields["part_time"] = "must be a list of {hours, full_time_hours}"
            return []
        local: dict[str, str] = {}
        hours = _number(item, "hours", local, required=True)
        full_time = _number(item, "full_time_hours", local, required=True)
        if local:
            fields["part_time"] = "each item needs numeric hours and full_time_hours"
            return []
        pairs.append((hours, full_time))
    return pairs


def figures_from_json(data: dict[str, Any], policy: QuotaPolicy) -> QuotaFigures:
    fields: dict[str, str] = {}
    employees = _number(data, "employees", fields, required=True)
    part_time_workers = _number(data, "part_time_workers", fields, integer=True)
    part_time_fte = _number(data, "part_time_fte", fields)
    part_time = _pairs(data, fields)
    excluded_raw = data.get("excluded")
    excluded: dict[str, Decimal] = {}
    if isinstance(excluded_raw, dict):
        for code in excluded_raw:
            local: dict[str, str] = {}
            count = _number(excluded_raw, code, local)
            if local:
                fields[f"excluded.{code}"] = local[code]
            elif count is not None:
                excluded[str(code)] = count
    elif excluded_raw is not None:
        count = _number(data, "excluded", fields)
        if count is not None:
            excluded["other"] = count
            if policy.exclusion("other") is None:
                fields["excluded"] = "give an object of categories"
    disabled = _number(data, "disabled_employed", fields, integer=True)
    art18 = _number(data, "art18_employed", fields, integer=True)
    suspended = data.get("suspended", False)
    if suspended is None:
        suspended = False
    if not isinstance(suspended, bool):
        fields["suspended"] = "must be true or false"
    if fields:
        raise ApiError(422, "invalid", "The quota figures are not valid.", fields)
    return QuotaFigures(
        employees=employees,
        part_time_workers=part_time_workers or 0,
        part_time_hours=tuple(part_time),
        part_time_fte=part_time_fte,
        excluded=excluded,
        disabled_employed=disabled or 0,
        art18_employed=art18 or 0,
        suspended=suspended,
    )


def order_value_from_json(data: dict[str, Any]) -> Decimal | None:
    value = data.get("order_value")
    if value is None:
        return None
    problem = 'must be a decimal string such as "45000.00"'
    try:
        if isinstance(value, bool | float):
            raise InvalidOperation
        if isinstance(value, int | str):
            return quota.check_order_value(Decimal(str(value).strip()))
        raise InvalidOperation
    except InvalidOperation:
        pass
    except ValueError as error:
        problem = str(error)
    raise ApiError(422, "invalid", "The quota figures are not valid.", {"order_value": problem})


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def result_json(
    result: QuotaResult, figures: QuotaFigures, policy: QuotaPolicy, order_value: Decimal | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "employees": str(figures.employees),
        "base": result.base,
        "base_exact": str(result.base_exact),
        "part_time": {
            "workers": figures.part_time_heads,
            "fte": str(result.part_time_fte),
            "units": result.part_time_units,
            "added": figures.part_time_added,
        },
        "excluded": str(result.excluded_total),
        "disabled_required": result.disabled_required,
        "disabled_exact": None if result.disabled_exact is None else str(result.disabled_exact),
        "disabled_employed": result.disabled_employed,
        "disabled_gap": result.disabled_gap,
        "art18_required": result.art18_required,
        "art18_exact": None if result.art18_exact is None else str(result.art18_exact),
        "art18_employed": result.art18_employed,
        "art18_gap": result.art18_gap,
        "suspended": result.suspended,
        "required_without_suspension": {
            "disabled": result.disabled_required_unsuspended,
            "art18": result.art18_required_unsuspended,
        },
        "rule": result.rule,
        "art18_rule": result.art18_rule,
        "explanation": str(result.explanation),
        "art18_explanation": str(result.art18_explanation),
        "articles": [{"ref": a.ref, "text": str(a.text)} for a in result.articles],
        "notes": [str(n) for n in result.notes],
        "convention": {
            "coefficient": money(policy.convention_coefficient),
            "max_share": str(policy.convention_max_share),
            "cap": quota.convention_cap(result.disabled_required, policy),
            "currency": "EUR",
        },
        "currency": "EUR",
    }
    if order_value is not None:
        coverage = quota.order_coverage(order_value, policy, result.disabled_required)
        body["order_value"] = money(coverage.order_value)
        body["positions_covered_by_order"] = coverage.positions
        body["positions_before_cap"] = coverage.uncapped
    return body


_COUNT = {
    "oneOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": r"^\d+(\.\d+)?$"}]
}
QUOTA_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["employees"],
    "properties": {
        "employees": {
            **_COUNT,
            "description": "Head count, or the computable base in full-time equivalents (a decimal "
            "is rounded: a fraction above 0.50 counts as one). Part-time workers "
            "given by `part_time` or `part_time_workers` are among them.",
        },
        "part_time": {
            "type": "array",
            "description": "One item per part-time worker (among `employees`).",
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["hours", "full_time_hours"],
                        "properties": {"hours": _COUNT, "full_time_hours": _COUNT},
                    },
                    {
                        "type": "array",
                        "description": "[hours, full_time_hours]",
                        "items": _COUNT,
                        "minItems": 2,
                        "maxItems": 2,
                    },
                ]
            },
        },
        "part_time_workers": {
            "type": "integer",
            "minimum": 0,
            "description": "How many of `employees` are part-time workers whose total FTE "
            "is `part_time_fte`; 0 or absent: the FTE is added to "
            "`employees`.",
        },
        "part_time_fte": {
            **_COUNT,
            "description": "Total full-time equivalent of the part-time workers; the total "
            "is rounded (a fraction above 0.50 counts as one).",
        },
        "excluded": {
            "oneOf": [_COUNT, {"type": "object", "additionalProperties": _COUNT}],
            "description": "Workers outside the base (L. 68/1999 art. 4 and 5): "
            "a number, or an object by category: "
            + ", ".join(c.code for c in quota.DEFAULT_EXCLUSIONS),
        },
        "disabled_employed": {"type": "integer", "minimum": 0},
        "art18_employed": {"type": "integer", "minimum": 0},
        "suspended": {
            "type": "boolean",
            "description": "Redundancy procedure or CIGS in progress (art. 3 c.5).",
        },
        "order_value": {
            "type": "string",
            "pattern": r"^\d+(\.\d{1,2})?$",
            "description": "Yearly value (EUR) of work orders to type-B cooperatives "
            "(D.Lgs. 276/2003 art. 14).",
        },
    },
}
QUOTA_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "base",
        "disabled_required",
        "art18_required",
        "disabled_gap",
        "art18_gap",
        "rule",
        "explanation",
        "currency",
    ],
    "properties": {
        "employees": {"type": "string"},
        "base": {"type": "integer", "description": "Computable base (art. 4)."},
        "base_exact": {"type": "string"},
        "part_time": {
            "type": "object",
            "properties": {
                "workers": {"type": "integer"},
                "fte": {"type": "string"},
                "units": {"type": "integer"},
                "added": {"type": "boolean"},
            },
        },
        "excluded": {"type": "string"},
        "disabled_required": {"type": "integer"},
        "disabled_exact": {"type": "string", "nullable": True},
        "disabled_employed": {"type": "integer"},
        "disabled_gap": {"type": "integer", "minimum": 0},
        "art18_required": {"type": "integer"},
        "art18_exact": {"type": "string", "nullable": True},
        "art18_employed": {"type": "integer"},
        "art18_gap": {"type": "integer", "minimum": 0},
        "suspended": {"type": "boolean"},
        "required_without_suspension": {
            "type": "object",
            "properties": {"disabled": {"type": "integer"}, "art18": {"type": "integer"}},
        },
        "rule": {
            "type": "string",
            "enum": [
                quota.RULE_BELOW_THRESHOLD,
                quota.RULE_ONE,
                quota.RULE_TWO,
                quota.RULE_PERCENT,
                quota.RULE_SUSPENDED,
            ],
        },
        "art18_rule": {
            "type": "string",
            "enum": [
                quota.ART18_NONE,
                quota.ART18_FIXED,
                quota.ART18_PERCENT,
                quota.RULE_SUSPENDED,
            ],
        },
        "explanation": {"type": "string"},
        "art18_explanation": {"type": "string"},
        "articles": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"ref": {"type": "string"}, "text": {"type": "string"}},
            },
        },
        "notes": {"type": "array", "items": {"type": "string"}},
        "convention": {
            "type": "object",
            "properties": {
                "coefficient": {"type": "string"},
                "max_share": {"type": "string"},
                "cap": {"type": "integer"},
                "currency": {"type": "string", "enum": ["EUR"]},
            },
        },
        "order_value": {"type": "string"},
        "positions_covered_by_order": {"type": "integer"},
        "positions_before_cap": {"type": "integer"},
        "currency": {"type": "string", "enum": ["EUR"]},
    },
}


@api.bp.route("/employers/quota", methods=["POST"], endpoint="quota")
@public
@doc(
    "Calculate the L. 68/1999 hiring quota (arts. 3, 4, 18) and, with an order value, the "
    "positions a D.Lgs. 276/2003 art. 14 work-order convention would cover.",
    tags=["employers"],
    request_body={
        "required": True,
        "content": {
            "application/json": {
                "schema": QUOTA_INPUT_SCHEMA,
                "example": {
                    "employees": 60,
                    "excluded": {"fixed_term_6m": 2},
                    "disabled_employed": 1,
                    "order_value": "45000.00",
                },
            }
        },
    },
    responses={
        "200": {
            "description": "The obligation, with the rule applied.",
            "content": {"application/json": {"schema": QUOTA_RESULT_SCHEMA}},
        },
        "400": {"$ref": "#/components/responses/Error"},
        "422": {"$ref": "#/components/responses/Error"},
    },
)
def quota_api() -> Any:
    data = json_body()
    policy = current_policy()
    figures = figures_from_json(data, policy)
    order_value = order_value_from_json(data)
    errors = quota.validate_figures(figures, policy)
    if errors:
        raise ApiError(
            422,
            "invalid",
            "The quota figures are not valid.",
            {k: str(v) for k, v in errors.items()},
        )
    result = quota.compute_quota(figures, policy)
    return jsonify(result_json(result, figures, policy, order_value))


# --- The dashboard widget -------------------------------------------------------------------


def quota_widget(org: Organisation) -> Markup | None:
    """The quota status on /employer, from the company profile's head count."""
    profile = db.session.get(CompanyProfile, org.id)
    employees = profile.employees if profile is not None else None
    result = None
    if employees is not None:
        try:
            result = quota.compute_quota(
                QuotaFigures(employees=Decimal(employees)), current_policy()
            )
        except (QuotaInputError, ValueError, TypeError):
            result = None
    return Markup(  # noqa: S704 - a rendered (auto-escaped) template
        render_template(
            "employers/quota_widget.html",
            org=org,
            employees=employees,
            result=result,
            quota_url=url_for("employers.quota", org=org.id),
        )
    )


def _register(state: Any) -> None:
    QuotaPolicy.from_config(state.app.config)  # a misconfigured convention fails at start
    state.app.extensions.setdefault("ponte_employer_widgets", []).append(quota_widget)


views.bp.record_once(_register)
