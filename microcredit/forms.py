"""Microcredit forms. Amounts are typed in euros, with a decimal comma or point; more
than two decimals is an error shown next to the field, never a silent rounding."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
    widgets,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from microcredit.models import (
    FREQUENCY_LABELS,
    GROUP_ROLES,
    KIND_LABELS,
    SAVINGS_KINDS,
    SERVICES,
)
from microcredit.money import AmountError, parse_amount
from portal.concurrency import VersionedForm
from portal.forms import MunicipalityField, options

AMOUNT_MESSAGES = {
    "invalid": _l("Enter an amount in euros, e.g. 1250,50."),
    "too_many_decimals": _l("Use at most two decimals."),
    "not_positive": _l("The amount must be more than zero."),
    "negative": _l("The amount cannot be negative."),
    "too_large": _l("The amount is too large."),
    "required": _l("Enter an amount in euros, e.g. 1250,50."),
}

INTEREST_METHOD_LABELS = {
    "declining_balance": _l("Declining balance"),
    "flat": _l("Flat"),
}
AMORTIZATION_LABELS = {
    "equal_installments": _l("Equal instalments"),
    "equal_principal": _l("Equal principal payments"),
}
RATE_PERIOD_LABELS = {"year": _l("per year"), "month": _l("per month")}
CALCULATION_LABELS = {
    "same_as_repayment_period": _l("Same as the repayment period"),
    "daily": _l("By days (actual days of each period)"),
}
DAYS_IN_YEAR_LABELS = {
    "364": _l("364 days (weeks: rate × 7/364)"),
    "365": _l("365 days"),
    "360": _l("360 days"),
}


class MoneyField(StringField):
    """Euros as typed (``1.234,50``, ``1234.50``); ``data`` is a ``Decimal`` or None."""

    def __init__(self, *args: Any, allow_zero: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {}).setdefault("inputmode", "decimal")
        super().__init__(*args, **kwargs)
        self.allow_zero = allow_zero

    def process_formdata(self, valuelist: list[str]) -> None:
        text = valuelist[0] if valuelist else ""
        self.data = None
        if not text.strip():
            return
        try:
            self.data = parse_amount(text, localized=True, allow_zero=self.allow_zero)
        except AmountError as error:
            raise ValueError(AMOUNT_MESSAGES[error.code]) from error

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data:.2f}".replace(".", ",")


class RateField(MoneyField):
    """A percentage with up to six decimals."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, allow_zero=True, **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        text = valuelist[0] if valuelist else ""
        self.data = None
        if not text.strip():
            return
        try:
            self.data = parse_amount(
                text.replace("%", ""),
                places=6,
                localized=True,
                allow_zero=True,
                maximum=parse_amount("999"),
            )
        except AmountError as error:
            message = (
                _l("Use at most six decimals.")
                if error.code == "too_many_decimals"
                else _l("Enter a rate in percent, e.g. 7,5.")
            )
            raise ValueError(message) from error

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else format(self.data.normalize(), "f").replace(".", ",")


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class CentreForm(VersionedForm, FlaskForm):
    name = StringField(_l("Name of the centre"), validators=[InputRequired(), Length(max=120)])
    meeting_place = StringField(
        _l("Meeting place"),
        validators=[Optional(), Length(max=200)],
        description=_l("For example: parish hall, Via Roma 3."),
    )
    comune = MunicipalityField(_l("Municipality"), validators=[Optional()])
    first_meeting_on = DateField(
        _l("Date of the first meeting"),
        validators=[InputRequired()],
        description=_l("Its weekday is the meeting day."),
    )
    meeting_time = TimeField(_l("Meeting time"), validators=[InputRequired()])
    meeting_frequency = SelectField(
        _l("Meetings"), choices=options(FREQUENCY_LABELS.items()), default="weekly"
    )
    officer = SelectField(_l("Loan officer"), coerce=int, choices=[])
    move_non_working_days = BooleanField(
        _l("Hold a meeting that falls on a Sunday or a public holiday on the next working day"),
        default=True,
    )
    patron_day = StringField(
        _l("Patron saint's day (local public holiday)"),
        description=_l("Month and day, e.g. 12-07 for Saint Ambrose in Milan."),
        validators=[Optional(), Length(max=5)],
    )
    submit = SubmitField(_l("Save"))


class GroupForm(VersionedForm, FlaskForm):
    name = StringField(_l("Name of the group"), validators=[InputRequired(), Length(max=120)])
    centre = SelectField(
        _l("Centre"), coerce=int, choices=[], description=_l("Where the group meets.")
    )
    submit = SubmitField(_l("Save"))


class MemberForm(VersionedForm, FlaskForm):
    full_name = StringField(_l("Full name"), validators=[InputRequired(), Length(max=200)])
    fiscal_code = StringField(_l("Fiscal code"), validators=[Optional(), Length(max=16)])
    phone = StringField(_l("Telephone"), validators=[Optional(), Length(max=40)])
    comune = MunicipalityField(_l("Municipality of residence"), validators=[Optional()])
    candidate = StringField(
        _l("Candidate code (optional)"),
        validators=[Optional(), Length(max=12)],
        description=_l(
            "The code of the person's record in the network, as the person or "
            "their service gave it."
        ),
    )
    group_role = SelectField(
        _l("Role in the group"), choices=options(GROUP_ROLES.items()), default="member"
    )
    joined_on = DateField(_l("Joined on"), validators=[Optional()])
    consent = BooleanField(
        _l("The person has given explicit consent to the processing of their data for microcredit")
    )
    consent_on = DateField(_l("Consent given on"), validators=[Optional()])
    consent_purpose = StringField(
        _l("Purpose of the consent"),
        validators=[Optional(), Length(max=300)],
        default=_l("Microcredit: assessment, loan management, tutoring and monitoring."),
    )
    consent_until = DateField(
        _l("Consent valid until"),
        validators=[Optional()],
        description=_l("Leave empty for five years."),
    )
    submit = SubmitField(_l("Save"))


class TrainingForm(FlaskForm):
    held_on = DateField(_l("Date of the session"), validators=[InputRequired()])
    topic = StringField(_l("Topic"), validators=[Optional(), Length(max=200)])
    attendees = CheckboxListField(_l("Who attended"), coerce=int, choices=[])
    submit = SubmitField(_l("Record the session"))


class SavingsForm(FlaskForm):
    member = SelectField(_l("Account"), coerce=int, choices=[])
    kind = SelectField(_l("Movement"), choices=options(SAVINGS_KINDS.items()))
    amount = MoneyField(_l("Amount (EUR)"), validators=[InputRequired()])
    on_date = DateField(_l("Date"), validators=[InputRequired()])
    nonce = HiddenField()
    submit = SubmitField(_l("Record"))


class ProductForm(VersionedForm, FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    kind = SelectField(_l("Kind"), choices=options(KIND_LABELS.items()))
    min_principal = MoneyField(_l("Smallest loan (EUR)"), validators=[InputRequired()])
    max_principal = MoneyField(_l("Largest loan (EUR)"), validators=[InputRequired()])
    interest_rate = RateField(_l("Interest rate (%)"), validators=[InputRequired()])
    interest_rate_period = SelectField(
        _l("Rate period"), choices=options(RATE_PERIOD_LABELS.items())
    )
    frequency = SelectField(
        _l("Repayment frequency"), choices=options(FREQUENCY_LABELS.items()), default="weekly"
    )
    min_repayments = IntegerField(
        _l("Fewest repayments"), default=1, validators=[InputRequired(), NumberRange(1, 520)]
    )
    default_repayments = IntegerField(
        _l("Usual number of repayments"),
        default=50,
        validators=[InputRequired(), NumberRange(1, 520)],
    )
    max_repayments = IntegerField(
        _l("Most repayments"), default=52, validators=[InputRequired(), NumberRange(1, 520)]
    )
    interest_method = SelectField(
        _l("Interest method"), choices=options(INTEREST_METHOD_LABELS.items())
    )
    amortization = SelectField(_l("Amortisation"), choices=options(AMORTIZATION_LABELS.items()))
    interest_calculation = SelectField(
        _l("Interest calculation"), choices=options(CALCULATION_LABELS.items())
    )
    days_in_year = SelectField(
        _l("Days in the year"), choices=options(DAYS_IN_YEAR_LABELS.items()), default="364"
    )
    grace_on_principal = IntegerField(
        _l("Grace on principal (repayments)"),
        default=0,
        validators=[InputRequired(), NumberRange(0, 519)],
        description=_l("The first repayments pay interest only."),
    )
    in_multiples_of = MoneyField(
        _l("Round instalments to multiples of (EUR)"), validators=[Optional()]
    )
    allocation_order = StringField(
        _l("Repayment allocation order"),
        default="penalty,fee,interest,principal",
        validators=[InputRequired(), Length(max=60)],
        description=_l("penalty, fee, interest and principal, in the order a repayment pays them."),
    )
    disbursement_fee = MoneyField(
        _l("Disbursement fee (EUR)"), allow_zero=True, validators=[Optional()]
    )
    late_penalty = MoneyField(
        _l("Late payment penalty per instalment (EUR)"), allow_zero=True, validators=[Optional()]
    )
    penalty_after_days = IntegerField(
        _l("Penalty after (days late)"),
        default=7,
        validators=[InputRequired(), NumberRange(0, 365)],
    )
    group_lending = BooleanField(_l("Lends to members of solidarity groups"), default=True)
    enforce_221 = BooleanField(
        _l("Staggered first disbursement in each group (2-2-1, leader last)"), default=True
    )
    move_non_working_days = BooleanField(
        _l(
            "Move an instalment due on a Sunday or a public holiday to the next working day "
            "(the amounts stay the same)"
        ),
        default=True,
    )
    active = BooleanField(_l("Open to new applications"), default=True)
    submit = SubmitField(_l("Save"))


class LoanForm(FlaskForm):
    product = SelectField(_l("Product"), coerce=int, choices=[])
    principal = MoneyField(_l("Amount (EUR)"), validators=[InputRequired()])
    repayments = IntegerField(
        _l("Number of repayments"), validators=[InputRequired(), NumberRange(1, 520)]
    )
    expected_disbursement_on = DateField(
        _l("Expected disbursement date"), validators=[InputRequired()]
    )
    purpose = StringField(_l("Purpose of the loan"), validators=[Optional(), Length(max=300)])
    officer = SelectField(_l("Loan officer"), coerce=int, choices=[])
    submit = SubmitField(_l("Submit the application"))


class ActionForm(FlaskForm):
    on_date = DateField(_l("Date"), validators=[InputRequired()])
    principal = MoneyField(_l("Approved amount (EUR)"), validators=[Optional()])
    repayments = IntegerField(
        _l("Number of repayments"), validators=[Optional(), NumberRange(1, 520)]
    )
    reason = StringField(_l("Reason or note"), validators=[Optional(), Length(max=300)])
    nonce = HiddenField()
    submit = SubmitField(_l("Confirm"))


class RepaymentForm(FlaskForm):
    amount = MoneyField(_l("Amount paid (EUR)"), validators=[InputRequired()])
    on_date = DateField(_l("Date of payment"), validators=[InputRequired()])
    nonce = HiddenField()
    submit = SubmitField(_l("Record the repayment"))


class ReverseForm(FlaskForm):
    reason = StringField(_l("Why is it reversed?"), validators=[InputRequired(), Length(max=300)])
    submit = SubmitField(_l("Reverse the entry"))


class ServiceForm(FlaskForm):
    kind = SelectField(_l("Service"), choices=options(SERVICES.items()))
    provider = StringField(_l("Provided by"), validators=[Optional(), Length(max=200)])
    planned_on = DateField(_l("Planned for"), validators=[Optional()])
    delivered_on = DateField(_l("Delivered on"), validators=[Optional()])
    notes = StringField(_l("Notes"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Add the service"))


class CalculatorForm(FlaskForm):
    class Meta:
        csrf = False

    principal = StringField(_l("Amount (EUR)"), render_kw={"inputmode": "decimal"})
    interest_rate = StringField(_l("Interest rate (%)"), render_kw={"inputmode": "decimal"})
    interest_rate_period = SelectField(
        _l("Rate period"), choices=options(RATE_PERIOD_LABELS.items())
    )
    repayments = StringField(_l("Number of repayments"), render_kw={"inputmode": "numeric"})
    frequency = SelectField(
        _l("Repayment frequency"), choices=options(FREQUENCY_LABELS.items()), default="monthly"
    )
    interest_method = SelectField(
        _l("Interest method"), choices=options(INTEREST_METHOD_LABELS.items())
    )
    amortization = SelectField(_l("Amortisation"), choices=options(AMORTIZATION_LABELS.items()))
    grace_on_principal = StringField(
        _l("Grace on principal (repayments)"), default="0", render_kw={"inputmode": "numeric"}
    )
    in_multiples_of = StringField(
        _l("Round instalments to multiples of (EUR)"), render_kw={"inputmode": "decimal"}
    )
    disbursement_date = DateField(_l("Disbursement date"), validators=[Optional()])
    interest_calculation = SelectField(
        _l("Interest calculation"), choices=options(CALCULATION_LABELS.items())
    )
    days_in_year = SelectField(
        _l("Days in the year"), choices=options(DAYS_IN_YEAR_LABELS.items()), default="364"
    )
    move_non_working_days = BooleanField(
        _l("Move due dates on Sundays and public holidays to the next working day")
    )
    submit = SubmitField(_l("Calculate"))


class AsOfForm(FlaskForm):
    class Meta:
        csrf = False

    as_of = DateField(_l("On date"), validators=[Optional()])
    submit = SubmitField(_l("Show"))


class GroupLoansForm(FlaskForm):
    """The shared part of a group application; each member's line is read by the view."""

    product = HiddenField()
    expected_disbursement_on = DateField(
        _l("Expected disbursement date of the first tranche"), validators=[InputRequired()]
    )
    officer = SelectField(_l("Loan officer"), coerce=int, choices=[])
    services = CheckboxListField(_l("Support services planned for every loan"), choices=[])
    submit = SubmitField(_l("Submit the applications"))


class GroupLoanActionForm(FlaskForm):
    """Approve or disburse several loans of a group (used with a prefix per action)."""

    loans = CheckboxListField(_l("Loans"), coerce=int, choices=[], validate_choice=False)
    on_date = DateField(_l("Date"), validators=[InputRequired()])
    reason = StringField(_l("Reason or note"), validators=[Optional(), Length(max=300)])
    submit = SubmitField(_l("Confirm"))
