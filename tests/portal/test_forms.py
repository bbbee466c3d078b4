"""Rules every form of every package follows."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField

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
