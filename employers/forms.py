"""Forms of the employers package."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, ValidationError

from employers.models import (
    CLOSE_REASONS,
    CONTRACT_TYPES,
    PAY_PERIODS,
    SHIFT_PATTERNS,
    CompanyProfile,
)
from employers.services import (
    DESCRIPTION_MAX,
    MAX_HOURS_PER_WEEK,
    MAX_POSITIONS,
    PAY_MAX,
    TITLE_MAX,
)
from portal import identifiers
from portal.bounds import column_length, length
from portal.concurrency import VersionedForm
from portal.forms import (
    CHOOSE,
    CHOOSE_MESSAGE,
    FiniteDecimalField,
    MunicipalityField,
    checked,
    options,
)
from portal.taxonomy import ADJUSTMENTS


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


#: Pay is never negative (the same rule as ``employers.services.check`` and the API).
PAY_RANGE = NumberRange(min=0, max=PAY_MAX, message=_l("Give an amount from 0 to 1,000,000 euros."))


class VacancyForm(VersionedForm, FlaskForm):
    title = StringField(_l("Job title"), validators=[InputRequired(), length(TITLE_MAX)])
    occupation = StringField(
        _l("Occupation (ESCO)"),
        validators=[Optional(), Length(max=300)],
        description=_l("Start typing and choose from the list: it suggests the skills."),
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), length(DESCRIPTION_MAX)])
    comune = MunicipalityField(_l("Workplace municipality"), validators=[InputRequired()])
    contract_type = SelectField(
        _l("Contract type"),
        choices=options([("", CHOOSE), *CONTRACT_TYPES.items()]),
        default="",
        validators=[InputRequired(message=CHOOSE_MESSAGE)],
    )
    hours_per_week = IntegerField(
        _l("Hours per week"), validators=[InputRequired(), NumberRange(1, MAX_HOURS_PER_WEEK)]
    )
    shift_pattern = SelectField(_l("Working pattern"), choices=options(SHIFT_PATTERNS.items()))
    positions = IntegerField(
        _l("Positions"), default=1, validators=[InputRequired(), NumberRange(1, MAX_POSITIONS)]
    )
    pay_min = FiniteDecimalField(_l("Pay from (EUR)"), places=2, validators=[Optional(), PAY_RANGE])
    pay_max = FiniteDecimalField(
        _l("Pay up to (EUR)"), places=2, validators=[Optional(), PAY_RANGE]
    )
    pay_period = SelectField(_l("Pay period"), choices=options(PAY_PERIODS.items()))
    expires_on = DateField(
        _l("Open until"),
        validators=[Optional()],
        description=_l("Leave empty for 60 days from publication."),
    )
    adjustments = CheckboxListField(
        _l("Workplace adjustments offered"), choices=options(ADJUSTMENTS.items())
    )
    required_skills = CheckboxListField(
        _l("Required skills"), choices=[], coerce=int, validate_choice=False
    )
    preferred_skills = CheckboxListField(
        _l("Preferred skills"), choices=[], coerce=int, validate_choice=False
    )
    onsite_tutor = BooleanField(_l("An on-site tutor follows the new worker"))
    inclusion_open = BooleanField(_l("Open to people in inclusion pathways"), default=True)
    counts_toward_quota = BooleanField(_l("Counts toward the Law 68/1999 quota"))
    suggest = SubmitField(_l("Suggest skills for the occupation"))
    submit = SubmitField(_l("Save"))


class CloseForm(FlaskForm):
    reason = SelectField(
        _l("Why is it closed?"),
        choices=options(
            [("", CHOOSE), *((k, v) for k, v in CLOSE_REASONS.items() if k != "expired")]
        ),
        default="",
        validators=[InputRequired(message=CHOOSE_MESSAGE)],
    )
    submit = SubmitField(_l("Close the vacancy"))


class CompanyProfileForm(VersionedForm, FlaskForm):
    legal_name = StringField(
        _l("Legal name"),
        validators=[InputRequired(), length(column_length(CompanyProfile.legal_name))],
    )
    vat_number = StringField(
        _l("VAT number (partita IVA)"), validators=[InputRequired(), Length(min=11, max=11)]
    )
    fiscal_code = StringField(_l("Fiscal code"), validators=[Optional(), Length(max=16)])
    ateco_code = StringField(
        _l("ATECO sector code"),
        validators=[Optional(), Length(max=10)],
        description=_l("For example 81.21.00"),
    )
    employees = IntegerField(_l("Employees"), validators=[Optional(), NumberRange(0, 1_000_000)])
    comune = MunicipalityField(_l("Municipality"), validators=[InputRequired()])
    contact_name = StringField(
        _l("Contact person"),
        validators=[Optional(), length(column_length(CompanyProfile.contact_name))],
    )
    contact_email = EmailField(
        _l("Contact e-mail"),
        validators=[Optional(), Email(), length(column_length(CompanyProfile.contact_email))],
    )
    contact_phone = StringField(
        _l("Contact telephone"),
        validators=[Optional(), length(column_length(CompanyProfile.contact_phone))],
    )
    step_free_access = BooleanField(_l("Step-free access"))
    accessible_toilets = BooleanField(_l("Accessible toilets"))
    public_transport = BooleanField(_l("Public transport nearby"))
    tutors_available = IntegerField(
        _l("Company tutors available"), default=0, validators=[Optional(), NumberRange(0, 1000)]
    )
    submit = SubmitField(_l("Save"))

    def validate_vat_number(self, field: StringField) -> None:
        field.data = checked(identifiers.vat_number, field.data)

    def validate_fiscal_code(self, field: StringField) -> None:
        if field.data:
            field.data = checked(identifiers.fiscal_code, field.data)

    def validate_ateco_code(self, field: StringField) -> None:
        import ateco

        if field.data and not ateco.validate(field.data.strip()):
            raise ValidationError(_l("Unknown ATECO code."))
