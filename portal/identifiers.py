"""Identifiers of the Italian and European registers, checked with python-stdnum.

The library holds the rules (DM 23/12/1976 for the codice fiscale with its birth date and
check letter; DPR 633/1972 art. 35 for the partita IVA with its tax-office code; ISO 13616
and each country's national checks for IBANs; the EU VAT numbers of every member state).
Ponte adds only what is its own: which part of a refused code is wrong, in words a person
can act on, and that a company's codice fiscale is its partita IVA.

Every function takes what a person typed (spaces, dots, the ``IT`` prefix, lower case),
returns the compact form to store, and raises :class:`IdentifierError` otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from stdnum import iban as _iban
from stdnum import numdb
from stdnum.eu import vat as _eu_vat
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.it import codicefiscale as _cf
from stdnum.it import iva as _iva


class IdentifierError(ValueError):
    """A refused identifier; ``message`` says which part is wrong (translatable)."""

    def __init__(self, message: object) -> None:
        super().__init__(message)
        self.message = message


_MONTHS = "ABCDEHLMPRST"  # DM 23/12/1976: the birth month letters, January to December


#: Surname, name, year, month, day, place, check; digits may be letters in homocodes.
_PERSON_PATTERN = re.compile(r"[A-Z]{6}[0-9L-V]{2}[A-Z][0-9L-V]{2}[A-Z][0-9L-V]{3}[A-Z]")


def _person_code_problem(code: str) -> object:
    """Which part of a 16-character fiscal code is wrong (stdnum says only that one is)."""
    if not _PERSON_PATTERN.fullmatch(code):
        return _l("A fiscal code has letters and digits in the pattern of DM 23/12/1976.")
    if code[8] not in _MONTHS:
        return _l("The month letter (the 9th character) must be one of A B C D E H L M P R S T.")
    try:
        _cf.get_birth_date(code)
    except (InvalidComponent, ValueError, KeyError):
        return _l("The birth day (characters 10 and 11) is not a real day of that month.")
    return _l("The fiscal code has an invalid format.")


def fiscal_code(value: str) -> str:
    """A person's codice fiscale (16 characters) or a company's (its 11-digit partita IVA)."""
    code = _cf.compact(value or "")
    if code.isdigit():
        return vat_number(code)
    try:
        return _cf.validate(code)
    except InvalidLength as error:
        raise IdentifierError(
            _l("A fiscal code has 16 characters (11 digits for a company).")
        ) from error
    except InvalidChecksum as error:
        raise IdentifierError(
            _l("The check letter (the last character) does not match: look for a typing error.")
        ) from error
    except (InvalidFormat, InvalidComponent) as error:
        if len(code) == 16 and code.isalnum():
            raise IdentifierError(_person_code_problem(code)) from error
        raise IdentifierError(
            _l("A fiscal code has letters and digits in the pattern of DM 23/12/1976.")
        ) from error


def person_fiscal_code(value: str) -> str:
    """A natural person's codice fiscale (16 characters, homocodes included)."""
    code = fiscal_code(value)
    if code.isdigit():
        raise IdentifierError(
            _l("This is a company's fiscal code: give the person's 16 characters.")
        )
    return code


def vat_number(value: str) -> str:
    """A partita IVA: 11 digits with the office code (digits 8–10) and the check digit."""
    number = _iva.compact(value or "")
    try:
        return _iva.validate(number)
    except InvalidLength as error:
        raise IdentifierError(_l("A VAT number has 11 digits.")) from error
    except InvalidFormat as error:
        if number.isdigit() and len(number) == 11:
            raise IdentifierError(_l("A VAT number cannot be all zeros.")) from error
        raise IdentifierError(_l("A VAT number has 11 digits, nothing else.")) from error
    except InvalidComponent as error:
        raise IdentifierError(
            _l("Digits 8 to 10 are the tax office code, and this office does not exist.")
        ) from error
    except InvalidChecksum as error:
        raise IdentifierError(
            _l("The check digit (the last one) does not match: look for a typing error.")
        ) from error


def iban(value: str) -> str:
    """An IBAN of any SEPA country, with its length and national checks."""
    number = _iban.compact(value or "")
    expected = _iban_length(number[:2])
    if expected and len(number) != expected:
        raise IdentifierError(_l("An IBAN of this country has %(n)d characters.", n=expected))
    try:
        return _iban.validate(number, check_country=True)
    except InvalidLength as error:
        raise IdentifierError(_l("This IBAN has the wrong length for its country.")) from error
    except InvalidComponent as error:
        raise IdentifierError(
            _l("The bank details inside this IBAN (its national check) are not valid.")
        ) from error
    except InvalidChecksum as error:
        if number[:2].isalpha() and not _known_iban_country(number[:2]):
            raise IdentifierError(
                _l("This IBAN does not begin with a known country code.")
            ) from error
        raise IdentifierError(
            _l("The check digits do not match: look for a typing error.")
        ) from error
    except (InvalidFormat, ValidationError) as error:
        raise IdentifierError(
            _l("An IBAN has a country code, two digits, then letters and digits.")
        ) from error


def _iban_length(country: str) -> int | None:
    """The IBAN length of a country, from the registry's BBAN structure ("5!n12!c")."""
    spec = numdb.get("iban").info(country)[0][1].get("bban") if len(country) == 2 else None
    return 4 + sum(int(n) for n in re.findall(r"(\d+)!", spec)) if spec else None


def _known_iban_country(country: str) -> bool:
    """Whether the IBAN registry that python-stdnum ships knows the country code."""
    return bool(numdb.get("iban").info(country)[0][1])


def eu_vat(value: str) -> str:
    """An EU VAT number with its country prefix (``IT…``, ``DE…``, ``EL…``), as VIES has it."""
    try:
        return _eu_vat.validate(value or "")
    except InvalidComponent as error:
        raise IdentifierError(_l("Start with the country code of an EU member state.")) from error
    except InvalidLength as error:
        raise IdentifierError(
            _l("This VAT number has the wrong length for its country.")
        ) from error
    except InvalidChecksum as error:
        raise IdentifierError(
            _l("The check digits do not match: look for a typing error.")
        ) from error
    except (InvalidFormat, ValidationError) as error:
        raise IdentifierError(_l("This is not a VAT number of that country.")) from error


def format_iban(compact: str) -> str:
    """Groups of four, as banks print it."""
    return _iban.format(compact) if compact else ""


def is_valid(check: object, value: str) -> bool:
    """``check`` is one of the functions above."""
    try:
        check(value)  # type: ignore[operator]
    except IdentifierError:
        return False
    return True


# --- Stored identifiers: checked by a report, never silently rewritten -------------------

#: (what, model, attribute, check) for every column that stores an identifier.
STORED: list[tuple[str, Any, str, Callable[[str], str]]] = []


def register_stored(what: str, model: Any, attribute: str, check: Callable[[str], str]) -> None:
    """Declare a column holding an identifier (each package, next to its models)."""
    STORED.append((what, model, attribute, check))


def stored_problems(session: Any) -> Iterator[tuple[str, Any, str, str]]:
    """(what, row id, stored value, problem) for every stored identifier that the checks
    refuse or would store differently (not in compact form). Rows are read in batches."""
    for what, model, attribute, check in STORED:
        column = getattr(model, attribute)
        key_column = sa_inspect(model).primary_key[0]
        query = select(key_column, column).where(column.is_not(None))
        for key, value in session.execute(query.execution_options(yield_per=500)):
            if not value:  # not given (encrypted columns are compared after decryption)
                continue
            try:
                compact = check(value)
            except IdentifierError as error:
                yield what, key, value, str(error.message)
                continue
            if compact != value:
                yield what, key, value, f"stored as {value!r}, compact form {compact!r}"
