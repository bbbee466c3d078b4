"""Italian identifiers: VAT number (partita IVA) and fiscal code (codice fiscale)."""

from __future__ import annotations

import re

_ODD = {  # DM 23/12/1976: values of characters in odd positions of the fiscal code
    **dict(zip("0123456789", [1, 0, 5, 7, 9, 13, 15, 17, 19, 21], strict=True)),
    **dict(
        zip(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            [
                1,
                0,
                5,
                7,
                9,
                13,
                15,
                17,
                19,
                21,
                2,
                4,
                18,
                20,
                11,
                3,
                6,
                8,
                12,
                14,
                16,
                10,
                22,
                25,
                24,
                23,
            ],
            strict=True,
        )
    ),
}


def vat_number_is_valid(value: str) -> bool:
    """Partita IVA: 11 digits, the last a Luhn-style check digit (DPR 633/1972 art. 35)."""
    value = value.strip()
    if not re.fullmatch(r"\d{11}", value) or value == "0" * 11:
        return False
    digits = [int(c) for c in value]
    odd = sum(digits[0:10:2])
    even = sum((d * 2) - 9 if d * 2 > 9 else d * 2 for d in digits[1:10:2])
    return (10 - (odd + even) % 10) % 10 == digits[10]


def fiscal_code_is_valid(value: str) -> bool:
    """Codice fiscale: a company's 11-digit number or a person's 16 characters
    with the check letter (DM 23/12/1976)."""
    value = value.strip().upper()
    if re.fullmatch(r"\d{11}", value):
        return vat_number_is_valid(value)
    if not re.fullmatch(
        r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]", value
    ):
        return False
    total = 0
    for position, char in enumerate(value[:15]):
        if position % 2 == 0:
            total += _ODD[char]
        else:
            total += int(char) if char.isdigit() else ord(char) - ord("A")
    return chr(ord("A") + total % 26) == value[15]
