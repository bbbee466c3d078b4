"""The public schedule calculator: any visitor works out a loan's instalments from
its terms, within the limits of the policy, without signing in.
"""

from __future__ import annotations

from typing import Any

from flask import (
    render_template,
    request,
)
from flask_babel import lazy_gettext as _l

from microcredit.forms import (
    CalculatorForm,
)
from microcredit.policy import policy
from microcredit.schedule import TermsError, build_schedule, parse_terms
from microcredit.views.common import (
    bp,
    today,
)
from portal.permissions import public

TERMS_MESSAGES = {
    "required": _l("This field is required."),
    "invalid": _l("Enter a number, e.g. 1250,50."),
    "too_many_decimals": _l("Use at most two decimals."),
    "not_positive": _l("The amount must be more than zero."),
    "negative": _l("The amount cannot be negative."),
    "too_large": _l("The amount is too large."),
    "choice": _l("Choose one of the options."),
    "whole_number": _l("Enter a whole number."),
    "range": _l("The number is out of range."),
    "grace": _l("The grace must be shorter than the repayments."),
    "multiple": _l("The multiple cannot be more than the amount."),
    "date": _l("Enter a valid date."),
    "date_range": _l("Enter a date between 1990 and 2100."),
    "rate_too_high": _l("The rate is too high."),
    "boolean": _l("Choose one of the options."),
}


@bp.route("/calculator")
@public
def calculator() -> Any:
    form = CalculatorForm(request.args)
    schedule = None
    if request.args.get("principal") is not None:
        rules = policy()
        data = {
            name: request.args.get(name)
            for name in (
                "principal",
                "interest_rate",
                "interest_rate_period",
                "repayments",
                "frequency",
                "interest_method",
                "amortization",
                "grace_on_principal",
                "in_multiples_of",
                "disbursement_date",
                "interest_calculation",
                "days_in_year",
                "move_non_working_days",
            )
        }
        try:
            schedule = build_schedule(
                parse_terms(
                    data,
                    today=today(),
                    max_principal=rules.max_principal,
                    max_repayments=rules.max_repayments,
                    max_annual_rate=rules.max_annual_rate,
                    rounding=rules.rounding,
                    days_in_year=rules.days_in_year,
                    localized=True,
                )
            )
        except TermsError as error:
            if error.codes.get("interest_rate") == "too_many_decimals":
                error.codes["interest_rate"] = "invalid"
            for name, code in error.codes.items():
                field = getattr(form, name)
                field.errors = [*field.errors, str(TERMS_MESSAGES[code])]
    elif not request.args:
        form.disbursement_date.data = today()
    return render_template("microcredit/calculator.html", form=form, schedule=schedule)
