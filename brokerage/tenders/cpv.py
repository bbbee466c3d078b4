"""CPV 2008 codes (Commission Regulation (EC) No 213/2008), Italian and English labels,
from portal/data/cpv_2008.csv: 8-digit codes without the check digit."""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

CSV_PATH = Path(__file__).resolve().parents[2] / "portal" / "data" / "cpv_2008.csv"

_LOOSE = re.compile(r"^(\d{7,8})(?:\.0+)?(?:-\d)?$")


@lru_cache(maxsize=1)
def codes() -> dict[str, tuple[str, str]]:
    """Every CPV code: code -> (Italian label, English label)."""
    with CSV_PATH.open(encoding="utf-8", newline="") as fh:
        return {row["code"]: (row["label_it"], row["label_en"]) for row in csv.DictReader(fh)}


def normalise(raw: object) -> str | None:
    """An 8-digit CPV code from what publishers write, or None when it is not one.

    Accepted: "45000000", "45000000-7" (check digit), "45000000.0" (a spreadsheet's
    number), spaces anywhere, an integer, and 7 digits whose leading zero a spreadsheet
    dropped ("3000000" -> "03000000").
    """
    if isinstance(raw, bool) or raw is None:
        return None
    text = re.sub(r"\s+", "", str(raw))
    if text.endswith(".0") and "-" in text:  # "45000000-7.0" is not a thing; be strict
        return None
    match = _LOOSE.match(text)
    if match is None:
        return None
    return match.group(1).zfill(8)


def is_known(code: str) -> bool:
    return code in codes()


def label(code: str, lang: str = "it") -> str:
    found = codes().get(code)
    if found is None:
        return code
    return found[1] if lang == "en" and found[1] else found[0]


def ancestors(code: str) -> list[str]:
    """The code's parents in the hierarchy that exist in the list, nearest last."""
    significant = code.rstrip("0")
    found = []
    for length in range(2, len(significant)):
        parent = significant[:length].ljust(8, "0")
        if parent != code and parent in codes():
            found.append(parent)
    return found


def suggest(text: str, lang: str = "it", limit: int = 20) -> list[tuple[str, str]]:
    """Codes whose number starts with, or whose label contains, ``text``."""
    text = text.strip().lower()
    if len(text) < 2:
        return []
    digits = re.sub(r"\D", "", text)
    found = []
    for code, (it, en) in codes().items():
        if (digits and digits == text.replace(" ", "") and code.startswith(digits)) or (
            not digits and (text in it.lower() or text in en.lower())
        ):
            found.append((code, en if lang == "en" and en else it))
            if len(found) >= limit:
                break
    return found
