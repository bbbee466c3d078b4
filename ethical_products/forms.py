"""Forms of the shop."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
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
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ethical_products.models import (
    ART2_ACTIVITIES,
    BUYER_TYPES,
    CATEGORIES,
    FULFILMENT,
    UNITS,
    VAT_RATES,
    Order,
)
from portal import identifiers
from portal.bounds import column_length, length
from portal.concurrency import VersionedForm
from portal.forms import FiniteDecimalField, MunicipalityField, checked, options

MONTHS = [("", "—")] + [(str(m), str(m)) for m in range(1, 13)]


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class AddToCartForm(FlaskForm):
    variant_id = IntegerField(_l("Variant"), validators=[InputRequired()])
    quantity = IntegerField(
        _l("Quantity"), default=1, validators=[InputRequired(), NumberRange(1, 999)]
    )
    submit = SubmitField(_l("Add to cart"))


class MembersForm(FlaskForm):
    members = TextAreaField(
        _l("Members of the purchasing group"),
        validators=[Optional(), Length(max=4000)],
        description=_l(
            "One name per line. Each member then gets a quantity on every line; "
            "the group receives one delivery."
        ),
    )
    submit = SubmitField(_l("Save the members"))


class CheckoutForm(FlaskForm):
    idempotency_key = HiddenField()
    fingerprint = HiddenField()
    buyer_type = RadioField(
        _l("Who is buying?"), choices=options(BUYER_TYPES.items()), default="person"
    )
    name = StringField(_l("Full name"), validators=[InputRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[InputRequired(), Email(), Length(max=254)])
    phone = StringField(_l("Telephone"), validators=[Optional(), Length(max=40)])
    fulfilment = RadioField(
        _l("Pickup or delivery"), choices=options(FULFILMENT.items()), default="pickup"
    )
    address = StringField(_l("Delivery address"), validators=[Optional(), Length(max=300)])
    comune = MunicipalityField(_l("Delivery municipality"), validators=[Optional()])
    notes = TextAreaField(_l("Notes for the producers"), validators=[Optional(), Length(max=1000)])
    gas_name = StringField(
        _l("Name of the purchasing group"), validators=[Optional(), Length(max=200)]
    )
    invoice_entity = StringField(
        _l("Public body to invoice"), validators=[Optional(), Length(max=200)]
    )
    invoice_tax_code = StringField(
        _l("Fiscal code or VAT number of the body"), validators=[Optional(), Length(max=16)]
    )
    invoice_sdi_code = StringField(
        _l("Office code for the electronic invoice (codice univoco ufficio)"),
        validators=[Optional(), Length(max=7)],
    )
    invoice_pec = EmailField(
        _l("Certified e-mail (PEC)"),
        validators=[Optional(), Email(), length(column_length(Order.invoice_pec))],
    )
    invoice_cig = StringField(
        _l("Tender code (CIG), if any"), validators=[Optional(), Length(max=10)]
    )
    payment_method = RadioField(_l("Payment"), choices=[], validate_choice=False)
    submit = SubmitField(_l("Confirm the order"))

    #: Fields that belong to one buyer type only: shown, kept and checked only for it.
    TYPE_FIELDS = {
        "gas": ("gas_name",),
        "canteen": (
            "invoice_entity",
            "invoice_tax_code",
            "invoice_sdi_code",
            "invoice_pec",
            "invoice_cig",
        ),
    }

    def other_types_fields(self) -> list[str]:
        return [
            name
            for buyer_type, names in self.TYPE_FIELDS.items()
            if buyer_type != self.buyer_type.data
            for name in names
        ]

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        # What a buyer typed for another buyer type, then left, is neither checked nor kept.
        for name in self.other_types_fields():
            self[name].errors = []
        return not any(field.errors for field in self) and not self.form_errors


class ProfileForm(VersionedForm, FlaskForm):
    active = BooleanField(_l("The shop is open"), default=True)
    story = TextAreaField(_l("Our story (Italian)"), validators=[Optional(), Length(max=8000)])
    story_en = TextAreaField(_l("Our story (English)"), validators=[Optional(), Length(max=8000)])
    pickup_points = TextAreaField(
        _l("Pickup points"),
        validators=[Optional(), Length(max=2000)],
        description=_l("One per line: place, address and opening times."),
    )
    delivery_radius_km = IntegerField(
        _l("We deliver within (km)"),
        default=0,
        validators=[Optional(), NumberRange(0, 300)],
        description=_l("0: no delivery, pickup only."),
    )
    delivery_notes = StringField(_l("Delivery notes"), validators=[Optional(), Length(max=500)])
    accepts_bank_transfer = BooleanField(_l("We accept bank transfers"))
    iban = StringField(_l("IBAN for bank transfers"), validators=[Optional(), Length(max=42)])
    accepts_pay_on_pickup = BooleanField(_l("We accept payment on pickup"))
    art2_activities = CheckboxListField(
        _l("Social agriculture activities we carry out (L. 141/2015 art. 2)"),
        choices=options(ART2_ACTIVITIES.items()),
    )
    inclusion_hours_share = FiniteDecimalField(
        _l("Share of work hours done by people in inclusion pathways (%)"),
        places=1,
        validators=[Optional(), NumberRange(0, 100)],
        description=_l("Your declaration: it is shown on the label with its date."),
    )
    inclusion_declared_on = DateField(_l("Date of the declaration"), validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def validate_iban(self, field: StringField) -> None:
        if field.data:
            field.data = checked(identifiers.iban, field.data)
        if self.accepts_bank_transfer.data and not field.data:
            raise ValidationError(_l("Give the IBAN to accept bank transfers."))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if (self.inclusion_hours_share.data is None) != (self.inclusion_declared_on.data is None):
            self.inclusion_declared_on.errors = [
                *self.inclusion_declared_on.errors,
                _l("Give both the share and the date of the declaration."),
            ]
            ok = False
        return ok


class ProductForm(VersionedForm, FlaskForm):
    name = StringField(_l("Name (Italian)"), validators=[InputRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=200)])
    description = TextAreaField(
        _l("Description (Italian)"), validators=[Optional(), Length(max=8000)]
    )
    description_en = TextAreaField(
        _l("Description (English)"), validators=[Optional(), Length(max=8000)]
    )
    category = SelectField(_l("Category"), choices=options(CATEGORIES.items()))
    comune = MunicipalityField(_l("Origin municipality"), validators=[InputRequired()])
    season_from = SelectField(_l("In season from month"), choices=options(MONTHS), default="")
    season_to = SelectField(_l("In season until month"), choices=options(MONTHS), default="")
    organic_body = StringField(
        _l("Organic control body (code)"),
        validators=[Optional(), Length(max=40)],
        description=_l(
            "For example IT-BIO-006. Leave empty if the product is not certified organic."
        ),
    )
    organic_number = StringField(
        _l("Organic certificate number"), validators=[Optional(), Length(max=60)]
    )
    active = BooleanField(_l("On sale"), default=True)
    submit = SubmitField(_l("Save"))

    def validate(self, extra_validators: Any = None) -> bool:
        """Pairs of fields: both given or neither (Optional() stops field validators)."""
        ok = super().validate(extra_validators)
        body = (self.organic_body.data or "").strip()
        if bool(body) != bool((self.organic_number.data or "").strip()):
            self.organic_number.errors = [
                *self.organic_number.errors,
                _l("Give both the control body and the certificate number."),
            ]
            ok = False
        if bool(self.season_from.data) != bool(self.season_to.data):
            self.season_to.errors = [
                *self.season_to.errors,
                _l("Give both months, or neither for all year."),
            ]
            ok = False
        return ok


class VariantForm(VersionedForm, FlaskForm):
    label = StringField(
        _l("Variant"),
        validators=[InputRequired(), Length(max=120)],
        description=_l("For example: jar of 250 g"),
    )
    unit = SelectField(_l("Unit"), choices=options(UNITS.items()))
    weight_grams = IntegerField(_l("Weight (g)"), validators=[Optional(), NumberRange(1, 100000)])
    price = FiniteDecimalField(
        _l("Price in euros, VAT included"),
        places=2,
        validators=[InputRequired(), NumberRange(min=0.01, max=100000)],
    )
    vat_rate = SelectField(
        _l("VAT rate"), choices=options((str(r), f"{r:.0f}%") for r in VAT_RATES), default="4.00"
    )
    stock = IntegerField(
        _l("Units in stock"),
        validators=[Optional(), NumberRange(0, 1000000)],
        description=_l("Leave empty for products made or picked on demand."),
    )
    active = BooleanField(_l("On sale"), default=True)
    submit = SubmitField(_l("Save the variant"))

    def validate_price(self, field: FiniteDecimalField) -> None:
        if field.data is not None and field.data != field.data.quantize(Decimal("0.01")):
            raise ValidationError(_l("Use at most two decimals."))


class PhotoForm(FlaskForm):
    photo = FileField(_l("Photo (JPEG, PNG or WebP, up to 5 MB)"), validators=[FileRequired()])
    alt = StringField(_l("What the photo shows"), validators=[InputRequired(), Length(max=200)])
    submit = SubmitField(_l("Upload"))


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Confirm"))


class ConfirmReasonForm(FlaskForm):
    """A step that cannot be undone (a producer cancels or refunds its part): the reason
    is required (the buyer receives it, the audit log keeps it) and so is an explicit
    confirmation."""

    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(_l("Give the reason: the buyer receives it.")), Length(max=500)],
        description=_l("The buyer receives it by e-mail; it is kept in the order's history."),
    )
    confirm = BooleanField(
        _l("I confirm: this cannot be undone"),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Confirm"))
