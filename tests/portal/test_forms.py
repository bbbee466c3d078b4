"""Rules every form of every package follows."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField
from wtforms.validators import NumberRange, Optional

from portal.forms import FiniteDecimalField

PACKAGES = ["portal", "employers", "brokerage", "microcredit", "ethical_products"]


def _all_form_classes() -> list[type[FlaskForm]]:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if "migrations" not in module.name:
                importlib.import_module(module.name)
    found, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in PACKAGES:
            found.append(cls)
    return found


def test_every_decimal_field_refuses_nan_and_infinity(app):
    plain = []
    for form in _all_form_classes():
        for name in dir(form):
            unbound = getattr(form, name, None)
            field_class = getattr(unbound, "field_class", None)
            if (
                isinstance(field_class, type)
                and issubclass(field_class, DecimalField)
                and not issubclass(field_class, FiniteDecimalField)
            ):
                plain.append(f"{form.__module__}.{form.__name__}.{name}")
    assert plain == [], "use portal.forms.FiniteDecimalField for: " + ", ".join(plain)


@pytest.mark.parametrize("raw", ["NaN", "sNaN", "Infinity", "-inf"])
def test_finite_decimal_field_gives_a_field_error(app, raw):
    class AmountForm(FlaskForm):
        amount = FiniteDecimalField("Amount")

    with app.test_request_context():
        form = AmountForm(formdata=MultiDict({"amount": raw}), meta={"csrf": False})
        assert not form.validate()
        assert form.amount.errors and form.amount.data is None


LOCALE_NUMBERS = [
    ("it", "75.000", "75000"),
    ("it", "1.234,56", "1234.56"),
    ("it", "2,5", "2.5"),
    ("it", "1234,56", "1234.56"),
    ("it", "1234.56", "1234.56"),  # the machine form
    ("it", "2.5", "2.5"),  # the machine form: "2.5" is no Italian thousands
    ("it", "75000", "75000"),
    ("it", " 1.234,56 ", "1234.56"),
    ("it", "-2,5", "-2.5"),
    ("en", "75,000", "75000"),
    ("en", "1,234.56", "1234.56"),
    ("en", "2.5", "2.5"),
    ("en", "1234.56", "1234.56"),
    ("en", "75000", "75000"),
]


def _amount_form(app, locale, raw):
    from flask import session

    class AmountForm(FlaskForm):
        amount = FiniteDecimalField("Amount", validators=[Optional(), NumberRange(min=-(10**9))])

    with app.test_request_context(f"/?lang={locale}"):
        session["lang"] = locale
        form = AmountForm(formdata=MultiDict({"amount": raw}), meta={"csrf": False})
        valid = form.validate()
        return valid, form.amount.data, list(form.amount.errors), form.amount()


@pytest.mark.parametrize(("locale", "raw", "expected"), LOCALE_NUMBERS)
def test_finite_decimal_field_reads_numbers_as_written_in_the_language(app, locale, raw, expected):
    from decimal import Decimal

    valid, data, errors, html = _amount_form(app, locale, raw)
    assert valid and errors == []
    assert data == Decimal(expected)
    # A text input: a number input would let the browser re-read the digits.
    assert 'type="text"' in html and 'inputmode="decimal"' in html


@pytest.mark.parametrize(
    ("locale", "raw"),
    [
        ("it", "1,5.0"),
        ("it", "1.2.3"),
        ("it", "abc"),
        ("en", "2,5"),  # Italian decimals in English: ambiguous, refused
        ("en", "1.234,56"),
        ("it", "Infinity"),
        ("en", "NaN"),
    ],
)
def test_finite_decimal_field_gives_one_message_for_a_bad_number(app, locale, raw):
    valid, data, errors, _html = _amount_form(app, locale, raw)
    assert not valid and data is None
    assert len(errors) == 1
    example = "1.234,50" if locale == "it" else "1,234.50"
    assert example in errors[0]


def test_finite_decimal_field_shows_a_value_in_the_language(app):
    from decimal import Decimal

    class AmountForm(FlaskForm):
        amount = FiniteDecimalField("Amount", places=2)

    for locale, shown in (("it", "1234,5"), ("en", "1234.5")):
        with app.test_request_context(f"/?lang={locale}"):
            form = AmountForm(data={"amount": Decimal("1234.50")}, meta={"csrf": False})
            assert f'value="{shown}"' in form.amount()
            # A default given as an int or a float (as some forms do) shows too.
            assert 'value="3"' in AmountForm(data={"amount": 3}, meta={"csrf": False}).amount()


def test_skill_choices_mark_english_labels_on_italian_pages(app, db_session):
    from flask import g
    from sqlalchemy import select

    from portal import db
    from portal.taxonomy import Skill, skill_options

    english_only = db.session.execute(
        select(Skill).where(Skill.label_it.is_(None)).limit(1)
    ).scalar_one()
    italian = db.session.execute(
        select(Skill).where(Skill.label_it.is_not(None)).limit(1)
    ).scalar_one()
    with app.test_request_context("/?lang=it"):
        g.pop("_flask_babel", None)
        labels = dict(skill_options([english_only.id, italian.id]))
        assert labels[english_only.id] == f'<span lang="en">{english_only.label_en}</span>'
        assert labels[italian.id] == italian.label_it
    with app.test_request_context("/?lang=en"):
        g.pop("_flask_babel", None)  # the locale cached in the test's shared app context
        assert dict(skill_options([english_only.id]))[english_only.id] == english_only.label_en


@pytest.mark.parametrize("text", ["1e30", "1E+999999999", "9" * 40, "1e-40", "-1e16"])
def test_decimal_fields_refuse_numbers_out_of_bounds(text):
    from portal.forms import parse_user_decimal

    assert parse_user_decimal(text, "en") is None
    assert parse_user_decimal(text, "it") is None


def test_a_variant_price_of_1e30_is_a_form_error_not_a_crash(client, db_session):
    from tests.conftest import login
    from tests.ethical_products.factories import make_producer, make_product

    farm, user = make_producer()
    product, _v = make_product(farm)
    login(client, user)
    response = client.post(
        f"/shop/manage/products/{product.id}/variants",
        data={"label": "Vasetto", "unit": "piece", "price": "1e30", "vat_rate": "4.00"},
    )
    assert response.status_code in (200, 422)
    assert 'id="price-error"' in response.get_data(as_text=True)
