"""Ponte's verdict on identifiers equals python-stdnum's, on generated valid, mutated and
malformed values (portal.identifiers); the message names the part that is wrong."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.eu import vat as std_eu_vat
from stdnum.it import codicefiscale as std_cf
from stdnum.it import iva as std_iva

from portal import identifiers
from portal.identifiers import IdentifierError

MONTHS = "ABCDEHLMPRST"
OMOCODE = "LMNPQRSTUV"  # digits replaced in homocodes (DM 23/12/1976, as amended)
OFFICES = [f"{n:03d}" for n in range(1, 101)] + ["120", "121", "888", "999"]
SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def person_codes(draw: st.DrawFn) -> str:
    letters = st.text(string.ascii_uppercase, min_size=1, max_size=1)
    name = "".join(draw(letters) for _ in range(6))
    year = f"{draw(st.integers(0, 99)):02d}"
    month = draw(st.sampled_from(MONTHS))
    day = draw(st.integers(1, 28)) + draw(st.sampled_from([0, 40]))
    place = draw(letters) + f"{draw(st.integers(0, 999)):03d}"
    body = f"{name}{year}{month}{day:02d}{place}"
    return body + std_cf.calc_check_digit(body)


@st.composite
def vat_numbers(draw: st.DrawFn) -> str:
    body = f"{draw(st.integers(0, 9_999_999)):07d}" + draw(st.sampled_from(OFFICES))
    return body + luhn.calc_check_digit(body)


@st.composite
def italian_ibans(draw: st.DrawFn) -> str:
    cin = draw(st.text(string.ascii_uppercase, min_size=1, max_size=1))
    digits = "".join(draw(st.sampled_from(string.digits)) for _ in range(22))
    bban = cin + digits
    return "IT" + std_iban.calc_check_digits("IT00" + bban) + bban


def mutated(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid value with one character replaced, dropped or doubled."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        value = draw(strategy)
        i = draw(st.integers(0, len(value) - 1))
        how = draw(st.sampled_from(["replace", "drop", "double"]))
        if how == "drop":
            return value[:i] + value[i + 1 :]
        if how == "double":
            return value[: i + 1] + value[i:]
        return (
            value[:i]
            + draw(st.sampled_from(string.ascii_uppercase + string.digits))
            + value[i + 1 :]
        )

    return build()


MALFORMED = st.text(string.ascii_letters + string.digits + " .-/", max_size=40)


def ponte_accepts(check, value: str) -> bool:
    return identifiers.is_valid(check, value)


@SETTINGS
@given(st.one_of(person_codes(), mutated(person_codes()), MALFORMED))
def test_person_fiscal_codes_agree_with_stdnum(value):
    assert ponte_accepts(identifiers.person_fiscal_code, value) == std_cf.is_valid(value)


@SETTINGS
@given(st.one_of(vat_numbers(), mutated(vat_numbers()), MALFORMED))
def test_vat_numbers_agree_with_stdnum(value):
    assert ponte_accepts(identifiers.vat_number, value) == std_iva.is_valid(value)
    # A company's codice fiscale is its partita IVA.
    if std_iva.compact(value).isdigit():
        assert ponte_accepts(identifiers.fiscal_code, value) == std_iva.is_valid(value)


@SETTINGS
@given(st.one_of(italian_ibans(), mutated(italian_ibans()), MALFORMED))
def test_ibans_agree_with_stdnum(value):
    assert ponte_accepts(identifiers.iban, value) == std_iban.is_valid(value, check_country=True)


@SETTINGS
@given(st.one_of(vat_numbers().map(lambda v: "IT" + v), MALFORMED.map(lambda v: "DE" + v)))
def test_eu_vat_numbers_agree_with_stdnum(value):
    assert ponte_accepts(identifiers.eu_vat, value) == std_eu_vat.is_valid(value)


@pytest.mark.parametrize(
    ("check", "value", "part"),
    [
        (identifiers.fiscal_code, "CSBIQS95J46W042X", "month letter"),
        (identifiers.fiscal_code, "EXIBGZ96T39E294C", "birth day"),
        (identifiers.fiscal_code, "ECOXYL35B30J029Z", "birth day"),  # 30 February
        (identifiers.fiscal_code, "RSSMRA85T10A562T", "check letter"),
        (identifiers.fiscal_code, "RSSMRA85T10A56", "16 characters"),
        (identifiers.vat_number, "89972406378", "tax office code"),
        (identifiers.vat_number, "00000000018", "all zeros"),
        (identifiers.vat_number, "00743110158", "check digit"),
        (identifiers.iban, "IT60X05428111010000001234567", "27 characters"),
        (identifiers.iban, "XX60X0542811101000000123456", "country code"),
        (identifiers.iban, "ES9121000418450200051333", "check digits"),
    ],
)
def test_the_error_says_which_part_is_wrong(app, check, value, part):
    with app.test_request_context("/?lang=en"), pytest.raises(IdentifierError) as refused:
        check(value)
    assert part in str(refused.value.message)


@pytest.mark.parametrize(
    ("check", "typed", "stored"),
    [
        (identifiers.fiscal_code, "vcjrnm 58l56 d741v", "VCJRNM58L56D741V"),
        (identifiers.vat_number, "IT 58159410644", "58159410644"),
        (identifiers.vat_number, "IT58159410644", "58159410644"),
        (identifiers.iban, "it60 x054 2811 1010 0000 0123 456", "IT60X0542811101000000123456"),
        (identifiers.eu_vat, "de 136 695 976", "DE136695976"),
    ],
)
def test_typed_forms_are_normalised_to_the_compact_one(app, check, typed, stored):
    with app.test_request_context():
        assert check(typed) == stored


def test_a_company_code_is_not_a_persons(app):
    with app.test_request_context(), pytest.raises(IdentifierError):
        identifiers.person_fiscal_code("00743110157")


def test_stored_identifiers_are_reported_not_rewritten(app, db_session):
    from employers.models import CompanyProfile
    from portal import db
    from tests.factories import make_org

    good, bad = make_org("company"), make_org("company")
    db.session.add_all(
        [
            CompanyProfile(organisation_id=good.id, legal_name="Buona", vat_number="00743110157"),
            CompanyProfile(organisation_id=bad.id, legal_name="Vecchia", vat_number="89972406378"),
        ]
    )
    db.session.flush()
    found = [(what, key) for what, key, _v, _p in identifiers.stored_problems(db.session)]
    assert ("company VAT number", bad.id) in found
    assert ("company VAT number", good.id) not in found
    assert db.session.get(CompanyProfile, bad.id).vat_number == "89972406378"  # unchanged
