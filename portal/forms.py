"""Forms of the core: accounts, organisations, settings."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from babel.numbers import NumberFormatError, format_decimal, parse_decimal
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    Email,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import TextInput

from portal.bounds import column_length, length
from portal.concurrency import VersionedForm
from portal.identifiers import IdentifierError
from portal.models import (
    BROKER,
    BUYER,
    COOPERATIVE,
    EMPLOYER,
    MICROCREDIT_OFFICER,
    PUBLIC_OFFICER,
    ROLE_LABELS,
    SERVICE_TYPE_LABELS,
    SERVICE_TYPES,
    SOCIAL_FARM,
    Organisation,
)
from portal.municipalities import resolve_municipality


class FiniteDecimalField(DecimalField):
    """A DecimalField typed the way people write numbers in the current language.

    Italian: "75.000" is seventy-five thousand, "1.234,56" and "2,5" are decimals;
    English: "75,000" and "2.5". The plain machine form "1234.56" is accepted in both
    (what scripts and ``<input type=number>`` send) when the locale's reading fails, so
    "1.234" in Italian is one thousand two hundred and thirty-four. Rendered as a text
    input (``inputmode=decimal``): a number input would let the browser re-read the digits
    by its own locale. NaN and infinities are refused (``Decimal`` parses them, and
    comparing a signalling NaN, as ``NumberRange`` does, raises). Every decimal field of
    the portal uses this one (a test checks).
    """

    widget = TextInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        render_kw = dict(kwargs.pop("render_kw", None) or {})
        render_kw.setdefault("inputmode", "decimal")
        super().__init__(*args, render_kw=render_kw, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if not valuelist:
            return
        text = str(valuelist[0]).strip().replace("\u00a0", "").replace(" ", "")
        if not text:
            return
        number = parse_user_decimal(text)
        if number is None:
            raise ValueError(_l("Enter a number, for example %(example)s.", example=_example()))
        self.data = number

    def pre_validate(self, form: FlaskForm) -> None:
        # One message per field: not "Enter a number" followed by NumberRange's complaint
        # about the missing value.
        if self.process_errors:
            raise StopValidation()

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        value = self.data if isinstance(self.data, Decimal) else Decimal(str(self.data))
        if self.places is not None:
            value = value.quantize(Decimal(1).scaleb(-self.places), rounding=self.rounding)
        return format_decimal(value, format="0.##########", locale=_locale())


_MACHINE_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _locale() -> str:
    try:
        return str(get_locale() or "it")
    except RuntimeError:  # outside a request
        return "it"


def _example() -> str:
    return format_decimal(Decimal("1234.5"), format="#,##0.00", locale=_locale())


#: Every decimal the portal accepts (forms and JSON) is below this in magnitude and has at
#: most ``DECIMAL_MAX_PLACES`` decimals: money, hours and shares all fit, and rounding to
#: cents stays within Decimal's 28-digit precision ("1e30" used to raise InvalidOperation).
MAX_POWER = 15
DECIMAL_MAX_ABS = Decimal(10) ** MAX_POWER
DECIMAL_MAX_PLACES = 12


def bounded_decimal(number: Decimal) -> bool:
    """Finite, below ``DECIMAL_MAX_ABS`` and with at most ``DECIMAL_MAX_PLACES`` decimals."""
    # adjusted(): the power of ten of the leading digit, with no arithmetic that could
    # itself overflow (abs() of 1E+999999999 does).
    if not number.is_finite() or (not number.is_zero() and number.adjusted() >= MAX_POWER):
        return False
    exponent = number.as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -DECIMAL_MAX_PLACES


def parse_user_decimal(text: str, locale: str | None = None) -> Decimal | None:
    """A finite ``Decimal`` from a number as typed in ``locale`` (default: the current one),
    else from the machine form ``1234.56``; None when it is neither."""
    number: Decimal | None
    try:
        number = parse_decimal(text, locale=locale or _locale(), strict=True)
    except (NumberFormatError, ValueError):
        number = Decimal(text) if _MACHINE_DECIMAL.match(text) else None
    if number is None or not bounded_decimal(number):
        return None
    return number


#: Roles a person may choose when registering (administrators are appointed).
SELF_SERVICE_ROLES = (
    EMPLOYER,
    COOPERATIVE,
    SOCIAL_FARM,
    BROKER,
    PUBLIC_OFFICER,
    MICROCREDIT_OFFICER,
    BUYER,
)


def options(pairs: object) -> list[SelectChoice]:
    """Choices for a SelectField from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]  # type: ignore[attr-defined]


#: The empty first option of a select a person must choose in (no silent default), and the
#: message when they do not.
CHOOSE = _l("— choose —")
CHOOSE_MESSAGE = _l("Choose one of the options.")

LANGUAGE_CHOICES = options([("it", "Italiano"), ("en", "English")])


class MunicipalityField(StringField):
    """A comune typed as "Name (PR)" or its ISTAT code; ``data`` ends as the code."""

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        self.raw_text = self.data or ""

    def pre_validate(self, form: FlaskForm) -> None:
        text = (self.data or "").strip()
        if not text:
            self.data = None
            return
        municipality = resolve_municipality(text)
        if municipality is None:
            raise ValidationError(_l("Choose a municipality from the list."))
        self.data = municipality.istat_code

    def comparable_value(self) -> str | None:
        """The ISTAT code, whether the field holds a typed label or the code already
        (what portal.concurrency compares)."""
        text = (self.data or "").strip()
        municipality = resolve_municipality(text) if text else None
        return municipality.istat_code if municipality else (text or None)


def checked(check: Any, value: str | None) -> str:
    """Run a portal.identifiers check for a form field: the compact form to store, or the
    library's verdict as the field's error (which part is wrong)."""
    try:
        return check(value or "")
    except IdentifierError as error:
        raise ValidationError(str(error.message)) from error


class PasswordRules:
    def __call__(self, form: FlaskForm, field: PasswordField) -> None:
        value = field.data or ""
        if len(value) < 10:
            raise ValidationError(_l("Use at least 10 characters."))
        if value.lower() == value or value.isalpha():
            raise ValidationError(_l("Mix upper and lower case letters with digits or symbols."))


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[InputRequired()])
    remember = BooleanField(_l("Keep me signed in on this device"))
    submit = SubmitField(_l("Sign in"))


class TwoFactorForm(FlaskForm):
    code = StringField(
        _l("Six-digit code from your authenticator app"),
        validators=[InputRequired(), Length(min=6, max=6)],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
    )
    submit = SubmitField(_l("Confirm"))


class RegistrationForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[InputRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), PasswordRules()])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    role = SelectField(
        _l("I register as"),
        choices=options([("", CHOOSE), *((r, ROLE_LABELS[r]) for r in SELF_SERVICE_ROLES)]),
        default="",
        validators=[InputRequired(message=CHOOSE_MESSAGE)],
    )
    org_name = StringField(
        _l("Organisation name"),
        validators=[Length(max=200)],
        description=_l("Not needed for buyers."),
    )
    service_type = SelectField(
        _l("Type of service"),
        choices=options([("", "—")] + [(s, SERVICE_TYPE_LABELS[s]) for s in SERVICE_TYPES]),
        default="",
        description=_l("Brokers only."),
    )
    comune = MunicipalityField(_l("Municipality"), validators=[Optional()])
    register_number = StringField(
        _l("Number in the register of cooperatives"),
        validators=[Optional(), Length(max=40)],
        description=_l("Type-B cooperatives only."),
    )
    regional_register = StringField(
        _l("Enrolment in the regional register of social farms"),
        validators=[Optional(), Length(max=80)],
        description=_l("Social farms only."),
    )
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    privacy = BooleanField(
        _l("I have read the privacy notice"),
        validators=[InputRequired(message=_l("You must accept the privacy notice."))],
    )
    submit = SubmitField(_l("Create account"))

    def validate_org_name(self, field: StringField) -> None:
        if self.role.data != BUYER and not (field.data or "").strip():
            raise ValidationError(_l("Your organisation's name is needed for this role."))

    def validate_service_type(self, field: SelectField) -> None:
        if self.role.data == BROKER and not field.data:
            raise ValidationError(_l("Choose the type of service."))


class PasswordResetRequestForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Email()])
    submit = SubmitField(_l("Send me a reset link"))


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[InputRequired(), PasswordRules()])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Set the new password"))


class AccountForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[InputRequired(), Length(max=200)])
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    submit = SubmitField(_l("Save"))


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[InputRequired()])
    password = PasswordField(_l("New password"), validators=[InputRequired(), PasswordRules()])
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Change password"))


class ConfirmForm(FlaskForm):
    """A bare POST form (CSRF only) for buttons."""

    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Confirm"))


class TwoFactorPolicyForm(FlaskForm):
    roles = SelectMultipleField(
        _l("Require two-factor authentication for"),
        choices=options((r, ROLE_LABELS[r]) for r in ("broker", "public_officer", "admin")),
    )
    submit = SubmitField(_l("Save"))


class OrganisationForm(VersionedForm, FlaskForm):
    description = TextAreaField(_l("Description"), validators=[Optional(), length(4000)])
    comune = MunicipalityField(_l("Municipality"), validators=[Optional()])
    address = StringField(
        _l("Address"), validators=[Optional(), length(column_length(Organisation.address))]
    )
    website = StringField(
        _l("Website"), validators=[Optional(), length(column_length(Organisation.website))]
    )
    email = EmailField(
        _l("Contact e-mail"),
        validators=[Optional(), Email(), length(column_length(Organisation.email))],
    )
    phone = StringField(
        _l("Telephone"), validators=[Optional(), length(column_length(Organisation.phone))]
    )
    register_number = StringField(
        _l("Number in the register of cooperatives"),
        validators=[Optional(), length(column_length(Organisation.register_number))],
    )
    regional_register = StringField(
        _l("Enrolment in the regional register of social farms"),
        validators=[Optional(), length(column_length(Organisation.regional_register))],
    )
    submit = SubmitField(_l("Save"))


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search"))
    next = HiddenField()
