"""Forms of the caseload, consent, pathway and handover pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from brokerage.models import (
    CLOSE_REASONS,
    CONSENT_PURPOSES,
    EDUCATION_LEVELS,
    TARGET_GROUPS,
    WORK_EXPERIENCE_KINDS,
)
from employers.models import CONTRACT_TYPES
from portal.concurrency import VersionedForm
from portal.forms import MunicipalityField, options
from portal.taxonomy import ADJUSTMENTS

NO_SENSITIVE = _l("Never write health or social conditions here.")


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ExperienceForm(Form):
    occupation = StringField(_l("Occupation (ESCO)"), validators=[Optional(), Length(max=300)])
    months = IntegerField(_l("Months"), validators=[Optional(), NumberRange(0, 600)])
    description = StringField(_l("What the person did"), validators=[Optional(), Length(max=500)])


class ProfileForm(VersionedForm, FlaskForm):
    full_name = StringField(
        _l("Full name"),
        validators=[InputRequired(), Length(max=200)],
        description=_l("Encrypted; seen only by the brokers of the services holding the case."),
    )
    comune = MunicipalityField(_l("Municipality of residence"), validators=[InputRequired()])
    max_commute_km = IntegerField(
        _l("Longest commute (km)"), default=20, validators=[InputRequired(), NumberRange(0, 300)]
    )
    hours_min = IntegerField(
        _l("Hours a week, at least"), default=10, validators=[InputRequired(), NumberRange(1, 48)]
    )
    hours_max = IntegerField(
        _l("Hours a week, at most"), default=40, validators=[InputRequired(), NumberRange(1, 48)]
    )
    education_level = SelectField(
        _l("Education"), default="lower_secondary", choices=options(EDUCATION_LEVELS.items())
    )
    driving_licence = BooleanField(_l("Driving licence"))
    languages = StringField(
        _l("Languages spoken"),
        validators=[Optional(), Length(max=400)],
        description=_l("Separate them with commas, e.g. Italian, English"),
    )
    summary = TextAreaField(
        _l("Summary for matching"),
        validators=[Optional(), Length(max=2000)],
        description=NO_SENSITIVE,
    )
    occupations = FieldList(
        StringField(_l("Desired occupation (ESCO)"), validators=[Optional(), Length(max=300)]),
        min_entries=3,
        max_entries=10,
    )
    skills = CheckboxListField(_l("Skills (ESCO)"), choices=[], coerce=int, validate_choice=False)
    skill_search = StringField(
        _l("Find a skill"),
        validators=[Optional(), Length(max=200)],
        description=_l("Type a few letters, then press “Find skills”."),
    )
    find_skills = SubmitField(_l("Find skills"))
    suggest = SubmitField(_l("Suggest skills for the desired occupations"))
    experiences = FieldList(FormField(ExperienceForm), min_entries=2, max_entries=30)
    adjustments = CheckboxListField(
        _l("Workplace adjustments that help"), choices=options(ADJUSTMENTS.items())
    )
    submit = SubmitField(_l("Save"))


def origin_choices(services: list) -> list:  # type: ignore[type-arg]
    return options([(0, "—")] + [(s.id, s.name) for s in services])


class SensitiveFields:
    """The sensitive part, on the creation form and on its own edit form."""

    target_group = SelectField(
        _l("Target group"),
        default="",
        choices=options([("", _l("Not recorded")), *TARGET_GROUPS.items()]),
    )
    disability_percentage = IntegerField(
        _l("Disability percentage"), validators=[Optional(), NumberRange(0, 100)]
    )
    origin_service = SelectField(
        _l("Referring service"), coerce=int, default=0, choices=[], validate_choice=False
    )
    sensitive_notes = TextAreaField(
        _l("Confidential notes"), validators=[Optional(), Length(max=4000)]
    )


class CandidateCreateForm(ProfileForm, SensitiveFields):
    service = SelectField(
        _l("Service taking charge of the case"), coerce=int, choices=[], validate_choice=False
    )


class SensitiveForm(FlaskForm, SensitiveFields):
    reason = HiddenField(validators=[InputRequired(), Length(min=3, max=500)])
    save = SubmitField(_l("Save the sensitive data"))


class ReasonForm(FlaskForm):
    reason = StringField(
        _l("Why do you need to see them?"),
        validators=[InputRequired(), Length(min=3, max=500)],
        description=_l("Recorded in the access log, which the person can be shown."),
    )
    submit = SubmitField(_l("Show sensitive data"))


class ExportForm(FlaskForm):
    reason = StringField(
        _l("Request"),
        validators=[InputRequired(), Length(min=3, max=500)],
        description=_l("For example: request of the person of 3 March (GDPR art. 15 and 20)."),
    )
    submit = SubmitField(_l("Download everything (JSON)"))


class EraseForm(FlaskForm):
    pseudonym = StringField(
        _l("Type the pseudonym to confirm"), validators=[InputRequired(), Length(max=12)]
    )
    reason = StringField(
        _l("Request"),
        validators=[InputRequired(), Length(min=3, max=500)],
        description=_l("For example: request of the person of 3 March (GDPR art. 17)."),
    )
    submit = SubmitField(_l("Erase for ever"))


class ConsentForm(FlaskForm):
    purpose = SelectField(_l("Purpose"), choices=options(CONSENT_PURPOSES.items()))
    given_on = DateField(_l("Given on"), validators=[InputRequired()])
    expires_on = DateField(_l("Valid until"), validators=[InputRequired()])
    document = FileField(
        _l("Signed form (PDF, JPEG or PNG, at most 5 MB)"),
        validators=[FileRequired(_l("Upload the signed form."))],
    )
    submit = SubmitField(_l("Record the consent"))


class RevokeForm(FlaskForm):
    reason = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Revoke the consent"))


SCORES = options((str(n), str(n)) for n in range(1, 6))


class StageForm(FlaskForm):
    started_on = DateField(_l("Start date"), validators=[InputRequired()])
    ended_on = DateField(_l("End date"), validators=[Optional()])
    broker = SelectField(_l("Responsible broker"), coerce=int, choices=[], validate_choice=False)
    tutor = StringField(_l("Tutor"), validators=[Optional(), Length(max=200)])
    notes = TextAreaField(
        _l("Notes"),
        validators=[Optional(), Length(max=4000)],
        description=_l("Encrypted; seen only by the services holding the case."),
    )
    # Training plan and training
    title = StringField(_l("Course or plan"), validators=[Optional(), Length(max=200)])
    # Work experience
    # Stage-specific choices are checked by brokerage.pathway for the stage at hand.
    kind = SelectField(
        _l("Kind of work experience"),
        validate_choice=False,
        choices=options(WORK_EXPERIENCE_KINDS.items()),
    )
    planned_end = DateField(
        _l("Planned end"),
        validators=[Optional()],
        description=_l("An observation lab lasts 3 to 6 months."),
    )
    host = StringField(_l("Host organisation"), validators=[Optional(), Length(max=200)])
    # Hiring
    contract_type = SelectField(
        _l("Contract type"), validate_choice=False, choices=options(CONTRACT_TYPES.items())
    )
    hours = IntegerField(_l("Hours per week"), validators=[Optional(), NumberRange(1, 48)])
    employer = StringField(
        _l("Employer"),
        validators=[Optional(), Length(max=200)],
        description=_l("The name of a verified organisation of the network."),
    )
    # Follow-up
    month = SelectField(_l("Follow-up"), coerce=int, choices=[], validate_choice=False)
    still_employed = BooleanField(_l("Still employed"), default=True)
    # Closing
    reason = SelectField(
        _l("Why does the pathway close?"),
        validate_choice=False,
        choices=options(CLOSE_REASONS.items()),
    )
    submit = SubmitField(_l("Record the stage"))


class StageEditForm(VersionedForm, FlaskForm):
    ended_on = DateField(_l("End date"), validators=[Optional()])
    broker = SelectField(_l("Responsible broker"), coerce=int, choices=[], validate_choice=False)
    tutor = StringField(_l("Tutor"), validators=[Optional(), Length(max=200)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)])
    submit = SubmitField(_l("Save"))


class ObservationForm(FlaskForm):
    on = DateField(_l("Date of the observation"), validators=[InputRequired()])
    punctuality = RadioField(
        _l("Punctuality"),
        choices=SCORES,
        validators=[InputRequired(_l("Give a score from 1 to 5."))],
    )
    autonomy = RadioField(
        _l("Autonomy"), choices=SCORES, validators=[InputRequired(_l("Give a score from 1 to 5."))]
    )
    relations = RadioField(
        _l("Relations with colleagues"),
        choices=SCORES,
        validators=[InputRequired(_l("Give a score from 1 to 5."))],
    )
    task_quality = RadioField(
        _l("Quality of the work"),
        choices=SCORES,
        validators=[InputRequired(_l("Give a score from 1 to 5."))],
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Record the observation"))


class HandoverForm(FlaskForm):
    to_service = SelectField(
        _l("Hand the case to"),
        coerce=int,
        choices=[],
        validate_choice=False,
        validators=[InputRequired()],
    )
    note = TextAreaField(
        _l("Note for the audit log"),
        validators=[Optional(), Length(max=500)],
        description=NO_SENSITIVE,
    )
    submit = SubmitField(_l("Hand over the case"))
