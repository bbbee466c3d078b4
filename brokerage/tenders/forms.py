"""Forms of social-clause tenders."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
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
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from brokerage.tenders.models import ART4_CATEGORIES, BASES, CATEGORIES, CLAUSE_TYPES, MEASURES
from portal.concurrency import VersionedForm
from portal.forms import FiniteDecimalField, MunicipalityField, options

DATA = Path(__file__).resolve().parents[2] / "portal" / "data"


@lru_cache(maxsize=1)
def premium_measures() -> list[dict[str, str]]:
    """ANAC's premium measures 1–13 (portal/data/premium_measures.json, Italian)."""
    return json.loads((DATA / "premium_measures.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def reserved_codes() -> list[dict[str, str]]:
    """ANAC's reserved participation codes (portal/data/reserved_procurement.json)."""
    return json.loads((DATA / "reserved_procurement.json").read_text(encoding="utf-8"))


def _short(text: str, length: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[:length].rsplit(" ", 1)[0] + "…"


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def reserved_choices() -> list[tuple[str, str]]:
    return options((c["code"], f"{c['code']} – {_short(c['it'])}") for c in reserved_codes())


class LotForm(Form):
    """One lot of the tender form (a plain ``Form``: the tender form's CSRF token covers it).

    A lot of the tender (``lot_id`` set) stays until "remove" is ticked, even untitled (an
    imported lot may have no title); an empty new row is no lot, a filled one needs a title."""

    lot_id = HiddenField()
    # No Optional(): it would stop the chain before validate_title sees an empty title.
    title = StringField(_l("Title of the lot"), validators=[Length(max=300)])
    value_amount = FiniteDecimalField(
        _l("Value of the lot, net of VAT"), places=2, validators=[Optional(), NumberRange(min=0)]
    )
    reserved_participation = SelectField(_l("Reserved participation (ANAC code)"), default="none")
    reserved_execution = BooleanField(_l("Execution reserved to sheltered employment programmes"))
    remove = BooleanField(_l("Remove this lot"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.reserved_participation.choices = reserved_choices()

    @property
    def is_new(self) -> bool:
        return not self.lot_id.data

    def is_empty(self) -> bool:
        """A new row nobody filled in."""
        return (
            self.is_new
            and not (self.title.data or "").strip()
            and self.value_amount.data is None
            and not "".join(self.value_amount.raw_data or []).strip()
            and self.reserved_participation.data in (None, "", "none")
            and not self.reserved_execution.data
        )

    def validate_title(self, field: StringField) -> None:
        if self.is_new and not (field.data or "").strip() and not self.is_empty():
            raise ValidationError(_l("Give the new lot a title, or leave its row empty."))


class TenderForm(VersionedForm, FlaskForm):
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)])
    cpv_codes = StringField(
        _l("CPV codes"),
        validators=[InputRequired(), Length(max=2000)],
        description=_l(
            "8-digit codes separated by commas, e.g. 90910000, 77310000. Start "
            "typing a word to look a code up."
        ),
    )
    main_category = SelectField(_l("Category"), choices=options(CATEGORIES.items()))
    value_amount = FiniteDecimalField(
        _l("Estimated value, net of VAT"), places=2, validators=[Optional(), NumberRange(min=0)]
    )
    value_currency = StringField(
        _l("Currency"), default="EUR", validators=[InputRequired(), Length(min=3, max=3)]
    )
    comune = MunicipalityField(_l("Place of execution"), validators=[Optional()])
    deadline = DateTimeLocalField(
        _l("Deadline for bids"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    contract_start = DateField(_l("Contract start"), validators=[Optional()])
    contract_end = DateField(_l("Contract end"), validators=[Optional()])
    clause_type = SelectField(_l("Social clause"), choices=options(CLAUSE_TYPES.items()))
    threshold = FiniteDecimalField(
        _l("Minimum share of disabled or disadvantaged workers (%)"),
        places=2,
        default=30,
        validators=[Optional(), NumberRange(0, 100)],
        description=_l("Reserved contracts and art. 5 conventions: at least 30%."),
    )
    reserved_participation = SelectField(_l("Reserved participation (ANAC code)"))
    reserved_execution = BooleanField(_l("Execution reserved to sheltered employment programmes"))
    social_standards = TextAreaField(
        _l("Text of the social clause"), validators=[Optional(), Length(max=4000)]
    )
    clause_measure = SelectField(
        _l("The execution clause requires"), choices=options([("", "—"), *MEASURES.items()])
    )
    clause_target = FiniteDecimalField(
        _l("Required share (%) or number of people"),
        places=2,
        validators=[Optional(), NumberRange(min=0)],
    )
    clause_base = SelectField(_l("Measured on"), choices=options([("", "—"), *BASES.items()]))
    premium_measures = CheckboxListField(_l("Premium measures"))
    lots = FieldList(FormField(LotForm), label=_l("Lots"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.reserved_participation.choices = reserved_choices()
        self.premium_measures.choices = options(
            (m["code"], f"{m['code']}. {_short(m['it'])}") for m in premium_measures()
        )


class ImportForm(FlaskForm):
    package = FileField(
        _l("OCDS file (JSON or JSON Lines)"),
        description=_l(
            "Release or record packages, releases or records, OCDS 1.0 or 1.1; any size."
        ),
    )
    text = TextAreaField(_l("…or paste the JSON here"), validators=[Optional()])
    submit = SubmitField(_l("Import"))


def pdf_evidence(description: object) -> FileField:
    """An optional PDF of evidence (checked by its content in ``evidence.py``)."""
    return FileField(_l("Evidence document (PDF, at most 10 MB)"), description=description)


PRIVATE_EVIDENCE = _l(
    "Optional. Only your organisation and the portal's administrators can open it."
)


class ProfileForm(FlaskForm):
    cpv_codes = StringField(
        _l("CPV capabilities"),
        validators=[InputRequired(), Length(max=4000)],
        description=_l(
            "8-digit CPV codes separated by commas. A code covers the codes "
            "below it: 90910000 covers every cleaning service. Start typing a "
            "word to look a code up."
        ),
    )
    provinces = StringField(
        _l("Provinces served"),
        validators=[Optional(), Length(max=400)],
        description=_l(
            "Two-letter codes separated by commas, e.g. PN, UD. Empty: your own province."
        ),
    )
    regions = CheckboxListField(_l("Whole regions served"), validate_choice=False)
    register_enrolled_on = DateField(_l("Enrolled in the register on"), validators=[Optional()])
    register_valid_until = DateField(
        _l("Enrolment valid until"),
        validators=[Optional()],
        description=_l("Leave empty if it does not expire."),
    )
    register_evidence = StringField(
        _l("Evidence of the enrolment (document reference or link)"),
        validators=[Optional(), Length(max=300)],
    )
    register_file = pdf_evidence(PRIVATE_EVIDENCE)
    max_contract_value = FiniteDecimalField(
        _l("Largest contract you can take on (EUR)"),
        places=2,
        validators=[Optional(), NumberRange(min=0)],
    )
    submit = SubmitField(_l("Save"))


def _head_count(label: object) -> FiniteDecimalField:
    return FiniteDecimalField(
        label, places=2, default=0, validators=[Optional(), NumberRange(min=0, max=1_000_000)]
    )


class DeclarationForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(2000, 2100)])
    total_workers = FiniteDecimalField(
        _l("All workers"),
        places=2,
        validators=[InputRequired(), NumberRange(min=0)],
        description=_l(
            "Annual average per head: the mean of the twelve monthly head counts, not hours."
        ),
    )
    disabled = _head_count(ART4_CATEGORIES["disabled"])
    psychiatric = _head_count(ART4_CATEGORIES["psychiatric"])
    addiction = _head_count(ART4_CATEGORIES["addiction"])
    minors = _head_count(ART4_CATEGORIES["minors"])
    prisoners = _head_count(ART4_CATEGORIES["prisoners"])
    other_disadvantaged = _head_count(_l("Other disadvantaged workers (Reg. EU 651/2014)"))
    evidence = StringField(
        _l("Evidence (document reference or link)"), validators=[Optional(), Length(max=300)]
    )
    evidence_file = pdf_evidence(PRIVATE_EVIDENCE)
    submit = SubmitField(_l("Save the declaration"))


class AwardForm(FlaskForm):
    supplier = SelectField(_l("Supplier"), coerce=int, validate_choice=False)
    value_amount = FiniteDecimalField(
        _l("Contract value, net of VAT"), places=2, validators=[InputRequired(), NumberRange(min=0)]
    )
    value_currency = StringField(
        _l("Currency"), default="EUR", validators=[InputRequired(), Length(min=3, max=3)]
    )
    start_date = DateField(_l("Start"), validators=[InputRequired()])
    end_date = DateField(_l("End"), validators=[InputRequired()])
    report_every_months = IntegerField(
        _l("Compliance report every (months)"),
        default=3,
        validators=[InputRequired(), NumberRange(1, 12)],
    )
    submit = SubmitField(_l("Record the award"))


def _people(label: object, required: bool = False) -> IntegerField:
    return IntegerField(
        label,
        default=0,
        validators=[InputRequired() if required else Optional(), NumberRange(0, 100_000)],
    )


class ReportForm(FlaskForm):
    period_start = SelectField(_l("Period"), validate_choice=False)
    workers_total = _people(_l("People employed on the contract"), required=True)
    workers_disadvantaged = _people(
        _l("…of whom disadvantaged (L. 381/1991 art. 4 or Reg. EU 651/2014)")
    )
    workers_disabled = _people(_l("…of whom disabled (not counted above)"))
    hours_total = FiniteDecimalField(
        _l("Hours worked on the contract"),
        places=2,
        default=0,
        validators=[Optional(), NumberRange(min=0)],
    )
    hours_disadvantaged = FiniteDecimalField(
        _l("…of which by disadvantaged or disabled people"),
        places=2,
        default=0,
        validators=[Optional(), NumberRange(min=0)],
    )
    new_hires_total = _people(_l("New hires for the contract"))
    new_hires_disadvantaged = _people(_l("…of whom disadvantaged or disabled"))
    new_hires_from_caseload = _people(_l("…of whom proposed by the network's services"))
    evidence = StringField(
        _l("Evidence (payroll extract, document reference or link)"),
        validators=[Optional(), Length(max=300)],
    )
    evidence_file = pdf_evidence(
        _l(
            "Optional. Only your organisation, the buyer's officers and the portal's "
            "administrators can open it."
        )
    )
    submit = SubmitField(_l("File the report"))


class ReviewForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=options([("accepted", _l("Accept")), ("flagged", _l("Flag"))]),
        validators=[InputRequired()],
    )
    comment = TextAreaField(
        _l("Comment"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Needed to flag. The supplier reads it; it is not public."),
    )
    submit = SubmitField(_l("Save the review"))
