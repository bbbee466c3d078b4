"""Italian identifiers of companies: partita IVA and codice fiscale (portal.identifiers,
python-stdnum underneath). Kept for the callers that only need a yes or no."""

from __future__ import annotations

from portal import identifiers


def vat_number_is_valid(value: str) -> bool:
    """Partita IVA: 11 digits, a real tax-office code, the check digit (DPR 633/1972 art. 35)."""
    return identifiers.is_valid(identifiers.vat_number, value)


def fiscal_code_is_valid(value: str) -> bool:
    """Codice fiscale: a company's 11-digit number or a person's 16 characters with a real
    birth date and the check letter (DM 23/12/1976)."""
    return identifiers.is_valid(identifiers.fiscal_code, value)
