"""Italian provinces by name: filters and facets show "Torino", never the bare code "TO"
(codes stay in URLs). Names from ISO 3166-2:IT (pycountry); Valle d'Aosta has no province
and its municipalities carry the code AO."""

from __future__ import annotations

from functools import cache

import pycountry

#: Codes in ISTAT's municipality list that ISO 3166-2 does not list as a province.
EXTRA = {"AO": "Aosta"}


@cache
def names() -> dict[str, str]:
    found = {
        s.code.split("-", 1)[1]: s.name
        for s in pycountry.subdivisions.get(country_code="IT")
        if s.type not in ("Region", "Autonomous region")
    }
    return {**found, **EXTRA}


def name(code: str | None) -> str:
    """The province's name, or the code itself when it is not a province code."""
    if not code:
        return ""
    return names().get(code.upper(), code)


def choices() -> list[tuple[str, str]]:
    """(code, name) of every province, by name."""
    return sorted(names().items(), key=lambda item: item[1])
