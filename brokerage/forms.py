"""Forms for proposals (broker and employer sides)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional

from brokerage.models import ReferralRequest, ServiceDesk
from employers.models import CONTRACT_TYPES
from portal.bounds import column_length, length
from portal.forms import options


class ProposeForm(FlaskForm):
    note = TextAreaField(
        _l("Note for the employer"),
        validators=[Optional(), Length(max=2000)],
        description=_l(
            "What the person can do and how the placement desk will support the "
            "placement. Never write health or social conditions here."
        ),
    )
    submit = SubmitField(_l("Propose to the employer"))


class InterviewForm(FlaskForm):
    when = DateTimeLocalField(
        _l("Date and time"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()]
    )
    place = StringField(_l("Place"), validators=[InputRequired(), Length(max=200)])
    submit = SubmitField(_l("Arrange the interview"))


class OutcomeForm(FlaskForm):
    outcome = TextAreaField(
        _l("How did the interview go?"), validators=[InputRequired(), Length(max=500)]
    )
    submit = SubmitField(_l("Record the outcome"))


class HireForm(FlaskForm):
    contract_type = SelectField(_l("Contract type"), choices=options(CONTRACT_TYPES.items()))
    start_on = DateField(_l("Start date"), validators=[InputRequired()])
    hours = IntegerField(_l("Hours per week"), validators=[InputRequired(), NumberRange(1, 48)])
    submit = SubmitField(_l("Record the hire"))


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Why not?"), validators=[InputRequired(), Length(max=500)])
    submit = SubmitField(_l("Decline"))


class ReferralRequestForm(FlaskForm):
    """'Apply through the network': who to contact and how, nothing about health or
    social conditions (the desk asks, with the caseload's consent, at the interview)."""

    desk = SelectField(_l("Service desk"), coerce=int, validators=[InputRequired()])
    full_name = StringField(
        _l("Name and surname"),
        validators=[InputRequired(), length(column_length(ReferralRequest.full_name))],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("E-mail"),
        validators=[InputRequired(), Email(), length(column_length(ReferralRequest.email))],
        render_kw={"autocomplete": "email"},
    )
    phone = StringField(
        _l("Telephone (optional)"),
        validators=[Optional(), length(column_length(ReferralRequest.phone))],
        render_kw={"autocomplete": "tel", "type": "tel"},
    )
    consent = BooleanField(
        _l("I agree to be contacted by the service desk about this vacancy"),
        validators=[InputRequired()],
    )
    submit = SubmitField(_l("Send the request"))


class ServiceDeskForm(FlaskForm):
    """The public desk of a SIL or job centre, shown to people applying for vacancies."""

    accepts_candidacies = BooleanField(_l("The desk takes candidacies from public vacancies"))
    address = StringField(
        _l("Desk address"),
        validators=[InputRequired(), length(column_length(ServiceDesk.address))],
    )
    opening_hours = StringField(
        _l("Opening hours"),
        validators=[InputRequired(), length(column_length(ServiceDesk.opening_hours))],
        description=_l("For example: Monday and Wednesday 9:00–12:30; Thursday 14:30–17:00"),
    )
    phone = StringField(
        _l("Telephone"),
        validators=[InputRequired(), length(column_length(ServiceDesk.phone))],
    )
    email = EmailField(
        _l("Desk e-mail"),
        validators=[Optional(), Email(), length(column_length(ServiceDesk.email))],
    )
    submit = SubmitField(_l("Save"))
