"""Forms of network life: good practices, events, registrations, agreements."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    URL,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.concurrency import VersionedForm
from portal.forms import CHOOSE, CHOOSE_MESSAGE, MunicipalityField, options
from portal.network.models import (
    AGREEMENT_KINDS,
    AGREEMENT_STATUSES,
    EVENT_KINDS,
    EVENT_MODES,
    IN_PERSON,
    ONLINE,
    TARGET_GROUPS,
    THEMES,
)

ROME = ZoneInfo("Europe/Rome")


def to_utc(local: datetime | None, fold: int = 0) -> datetime | None:
    """A wall-clock time typed in Italy as an aware UTC datetime; ``fold`` picks the second
    of the two times that share a wall clock when clocks go back (PEP 495)."""
    if local is None:
        return None
    return local.replace(tzinfo=ROME, fold=fold).astimezone(UTC)


GAP, TWICE = "gap", "twice"


def clock_change(local: datetime) -> str | None:
    """Whether a wall-clock time in Italy does not exist (clocks go forward: 02:00-02:59 on
    the last Sunday of March) or happens twice (clocks go back in October)."""
    first, second = local.replace(tzinfo=ROME, fold=0), local.replace(tzinfo=ROME, fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    back = first.astimezone(UTC).astimezone(ROME).replace(tzinfo=None)
    return GAP if back != local else TWICE


CLOCK_CHOICES = [
    ("", CHOOSE),
    ("summer", _l("The first one, still summer time (UTC+2)")),
    ("winter", _l("The second one, already winter time (UTC+1)")),
]


def to_local(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(ROME).replace(tzinfo=None)


class PracticeForm(VersionedForm, FlaskForm):
    organisation_id = SelectField(_l("Author organisation"), coerce=int)
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    summary = TextAreaField(
        _l("Summary"),
        validators=[InputRequired(), Length(max=600)],
        description=_l("Two or three sentences: what was done, with whom, what changed."),
    )
    body = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=20000)],
        description=_l(
            "The context, the steps, the partners, the results and what others "
            "need to repeat it. Blank lines separate paragraphs."
        ),
    )
    region = SelectField(_l("Region"), validators=[Optional()])
    province_code = StringField(
        _l("Province (two letters)"),
        validators=[Optional(), Length(min=2, max=2)],
        description=_l("Leave empty if the practice covers the whole region."),
    )
    themes = SelectMultipleField(_l("Themes"), choices=options(THEMES.items()))
    target_groups = SelectMultipleField(_l("Target groups"), choices=options(TARGET_GROUPS.items()))
    submit = SubmitField(_l("Save the draft"))

    def validate_province_code(self, field: StringField) -> None:
        if field.data:
            field.data = field.data.strip().upper()
            if not field.data.isalpha():
                raise ValidationError(_l("Use the two letters of the province, e.g. PN."))


class DocumentForm(FlaskForm):
    title = StringField(_l("Document title"), validators=[Optional(), Length(max=200)])
    file = FileField(
        _l("PDF file"),
        description=_l("A PDF of at most 10 MB."),
    )
    upload = SubmitField(_l("Attach the document"))


class ReviewForm(FlaskForm):
    comment = TextAreaField(
        _l("Comment for the authors"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Needed when you send the practice back for changes."),
    )
    publish = SubmitField(_l("Publish"))
    send_back = SubmitField(_l("Send back for changes"))


class EventForm(VersionedForm, FlaskForm):
    organisation_id = SelectField(_l("Organiser"), coerce=int)
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    kind = SelectField(
        _l("Kind of event"),
        choices=options([("", CHOOSE), *EVENT_KINDS.items()]),
        validators=[InputRequired(message=CHOOSE_MESSAGE)],
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10000)])
    starts_at = DateTimeLocalField(
        _l("Starts"),
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired()],
        description=_l("Italian time."),
    )
    ends_at = DateTimeLocalField(_l("Ends"), format="%Y-%m-%dT%H:%M", validators=[InputRequired()])
    #: Asked only for a time that happens twice when the clocks go back.
    starts_at_clock = SelectField(
        _l("Which start time?"), choices=options(CLOCK_CHOICES), default=""
    )
    ends_at_clock = SelectField(_l("Which end time?"), choices=options(CLOCK_CHOICES), default="")
    mode = SelectField(_l("Where"), choices=options(EVENT_MODES.items()))
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    comune = MunicipalityField(_l("Municipality"), validators=[Optional()])
    online_url = URLField(
        _l("Link to join online"), validators=[Optional(), URL(), Length(max=300)]
    )
    capacity = IntegerField(
        _l("Seats"),
        validators=[Optional(), NumberRange(1, 100_000)],
        description=_l(
            "Leave empty for no limit. When the seats are taken, people join a waiting list."
        ),
    )
    registration_open = BooleanField(_l("Registrations are open"), default=True)
    submit = SubmitField(_l("Save"))

    def validate_ends_at(self, field: DateTimeLocalField) -> None:
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("The end must come after the start."))

    def fold(self, name: str) -> int:
        """0 or 1 (PEP 495) for the time in field ``name``, as the organiser chose."""
        return 1 if self[f"{name}_clock"].data == "winter" else 0

    def asks_clock(self, name: str) -> bool:
        """Whether the page must ask which of two equal wall-clock times is meant."""
        value = self[name].data
        return bool(self[f"{name}_clock"].data) or (
            value is not None and clock_change(value) == TWICE
        )

    def _check_clock_changes(self) -> bool:
        valid = True
        for name in ("starts_at", "ends_at"):
            value = self[name].data
            change = clock_change(value) if value is not None else None
            if change == GAP:
                self[name].errors = [
                    *self[name].errors,
                    _l(
                        "This time does not exist in Italy: that night the clocks go forward "
                        "from 02:00 to 03:00. Choose a time before 02:00 or from 03:00."
                    ),
                ]
                valid = False
            elif change == TWICE and not self[f"{name}_clock"].data:
                self[f"{name}_clock"].errors = [
                    *self[f"{name}_clock"].errors,
                    _l(
                        "That night the clocks go back from 03:00 to 02:00, so this time "
                        "happens twice: say which one."
                    ),
                ]
                valid = False
        return valid

    def validate(self, extra_validators: Any = None) -> bool:
        # Optional() ends a field's own chain when it is empty: these rules span fields.
        valid = super().validate(extra_validators)
        valid = self._check_clock_changes() and valid
        if self.mode.data != ONLINE and not self.comune.data and not self.comune.errors:
            self.comune.errors = [
                *self.comune.errors,
                _l("Choose the municipality where the event takes place."),
            ]
            valid = False
        url = (self.online_url.data or "").strip()
        if self.mode.data != IN_PERSON and not url and not self.online_url.errors:
            self.online_url.errors = [*self.online_url.errors, _l("Give the link to join online.")]
            valid = False
        if url and not url.lower().startswith(("https://", "http://")):
            self.online_url.errors = [
                *self.online_url.errors,
                _l("The link must start with https://"),
            ]
            valid = False
        return valid


class GuestRegistrationForm(FlaskForm):
    name = StringField(
        _l("Name and surname"),
        validators=[InputRequired(), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("E-mail"),
        validators=[InputRequired(), Email(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    organisation_name = StringField(
        _l("Organisation (optional)"),
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "organization"},
    )
    privacy = BooleanField(
        _l("I have read the privacy notice: my name and e-mail are used only for this event"),
        validators=[InputRequired(message=_l("You must accept the privacy notice."))],
    )
    submit = SubmitField(_l("Register"))


class UserRegistrationForm(FlaskForm):
    submit = SubmitField(_l("Register"))


class AgreementForm(VersionedForm, FlaskForm):
    organisation_id = SelectField(_l("Recorded by"), coerce=int)
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=200)])
    kind = SelectField(
        _l("Type of agreement"),
        choices=options([("", CHOOSE), *AGREEMENT_KINDS.items()]),
        validators=[InputRequired(message=CHOOSE_MESSAGE)],
    )
    description = TextAreaField(
        _l("Purpose and content"), validators=[Optional(), Length(max=10000)]
    )
    party_ids = SelectMultipleField(
        _l("Other parties in the network"),
        coerce=int,
        choices=[],
        validate_choice=False,
        description=_l("Hold Ctrl (or Cmd) to choose more than one."),
    )
    other_parties = TextAreaField(
        _l("Other parties outside the portal"),
        validators=[Optional(), Length(max=2000)],
        description=_l("One per line."),
    )
    signed_on = DateField(_l("Signed on"), validators=[Optional()])
    starts_on = DateField(_l("In force from"), validators=[Optional()])
    ends_on = DateField(_l("In force until"), validators=[Optional()])
    renewal_notice_days = IntegerField(
        _l("Remind the parties this many days before the end"),
        default=60,
        validators=[InputRequired(), NumberRange(1, 365)],
    )
    status = SelectField(_l("Status"), choices=options(AGREEMENT_STATUSES.items()))
    submit = SubmitField(_l("Save"))

    def validate_ends_on(self, field: DateField) -> None:
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The end cannot come before the start."))


class AttendanceForm(FlaskForm):
    submit = SubmitField(_l("Save the attendance register"))


class EditorForm(FlaskForm):
    email = EmailField(_l("E-mail of the user"), validators=[InputRequired(), Email()])
    submit = SubmitField(_l("Make editor"))
