"""Every text a person types into any form of the portal has a limit, declared once
(``portal.bounds``: the column's length or a domain rule) and shown by the field's
counter: a longer text is a field error, never cut. A field may go without a limit only
for a reason written here."""

from __future__ import annotations

import pytest
from flask_wtf import FlaskForm
from wtforms.validators import Length

TEXT_FIELDS = {"StringField", "TextAreaField", "EmailField", "TelField", "URLField", "SearchField"}

#: form.field → why it needs no limit of its own.
UNBOUNDED = {
    "brokerage.tenders.forms.ImportForm.text": "pasted OCDS JSON: the request size limit "
    "bounds it (portal.uploads), the importer streams it",
    "microcredit.forms.CalculatorForm.grace_on_principal": "a number: its parser refuses text",
    "microcredit.forms.CalculatorForm.in_multiples_of": "a number: its parser refuses text",
    "microcredit.forms.CalculatorForm.interest_rate": "a number: its parser refuses text",
    "microcredit.forms.CalculatorForm.principal": "a number: its parser refuses text",
    "microcredit.forms.CalculatorForm.repayments": "a number: its parser refuses text",
    "portal.forms.LoginForm.email": "looked up, never stored",
    "portal.forms.PasswordResetRequestForm.email": "looked up, never stored",
    "portal.forms.SearchForm.q": "never stored; the search reads its first 200 characters",
    "portal.network.forms.EditorForm.email": "looked up among the users, never stored",
}


def every_form() -> list[type[FlaskForm]]:
    found: list[type[FlaskForm]] = []
    pending = list(FlaskForm.__subclasses__())
    while pending:
        form = pending.pop()
        found.append(form)
        pending.extend(form.__subclasses__())
    return sorted(set(found), key=lambda f: f"{f.__module__}.{f.__qualname__}")


def text_fields(app) -> dict[str, object]:
    fields = {}
    with app.test_request_context():
        for form_class in every_form():
            if form_class.__module__.startswith("tests."):
                continue
            form = form_class(meta={"csrf": False})
            for field in form:
                if field.type in TEXT_FIELDS:
                    fields[f"{form_class.__module__}.{form_class.__qualname__}.{field.name}"] = (
                        field
                    )
    return fields


def test_the_portal_s_forms_are_all_seen(app):
    names = text_fields(app)
    assert len(names) > 100
    for expected in (
        "employers.forms.VacancyForm.title",
        "ethical_products.forms.CheckoutForm.invoice_pec",
        "brokerage.forms.ReferralRequestForm.full_name",
    ):
        assert expected in names


def test_every_text_field_has_a_limit_or_a_reason(app):
    unbounded = sorted(
        name
        for name, field in text_fields(app).items()
        if not any(isinstance(v, Length) and v.max and v.max > 0 for v in field.validators)
    )
    assert unbounded == sorted(UNBOUNDED), "give these a portal.bounds.length(...)"


@pytest.mark.parametrize("name", sorted(UNBOUNDED))
def test_every_reason_is_about_a_field_that_exists(app, name):
    assert name in text_fields(app)
