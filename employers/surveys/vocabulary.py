"""The survey's vocabulary: the limits of the questionnaire, the ATECO 2025 sections a
company answers with, the ISCO-08 groups and the levels the results are grouped by.

Plain data and lookups, no database: the models, the rules and the results all read
them from here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# --- Limits (plausibility, not law) -----------------------------------------------------

MAX_HIRES = 10_000
MAX_INTERNSHIPS = 1_000
MAX_LINES = 50
MAX_SKILLS_PER_LINE = 20
MAX_COMMENTS = 4_000

#: ATECO 2025 sections (the NACE Rev. 2.1 sections ISTAT adopted from 1 January 2025).
SECTORS = {
    "A": _l("Agriculture, forestry and fishing"),
    "B": _l("Mining and quarrying"),
    "C": _l("Manufacturing"),
    "D": _l("Electricity, gas, steam and air conditioning supply"),
    "E": _l("Water supply, sewerage, waste management and remediation"),
    "F": _l("Construction"),
    "G": _l("Wholesale and retail trade"),
    "H": _l("Transportation and storage"),
    "I": _l("Accommodation and food service activities"),
    "J": _l("Publishing, broadcasting, content production and distribution"),
    "K": _l("Telecommunications, computer programming and information services"),
    "L": _l("Financial and insurance activities"),
    "M": _l("Real estate activities"),
    "N": _l("Professional, scientific and technical activities"),
    "O": _l("Administrative and support service activities"),
    "P": _l("Public administration and defence; compulsory social security"),
    "Q": _l("Education"),
    "R": _l("Human health and social work activities"),
    "S": _l("Arts, sports and recreation"),
    "T": _l("Other service activities"),
    "U": _l("Activities of households as employers"),
    "V": _l("Activities of extraterritorial organisations and bodies"),
}

#: ISCO-08 major groups (ILO).
ISCO_MAJOR_GROUPS = {
    "0": _l("Armed forces occupations"),
    "1": _l("Managers"),
    "2": _l("Professionals"),
    "3": _l("Technicians and associate professionals"),
    "4": _l("Clerical support workers"),
    "5": _l("Service and sales workers"),
    "6": _l("Skilled agricultural, forestry and fishery workers"),
    "7": _l("Craft and related trades workers"),
    "8": _l("Plant and machine operators and assemblers"),
    "9": _l("Elementary occupations"),
}

#: ISCO-08 sub-major groups of the major groups 4–9 (the ESCO subset the portal ships).
ISCO_SUB_MAJOR_GROUPS = {
    "41": _l("General and keyboard clerks"),
    "42": _l("Customer services clerks"),
    "43": _l("Numerical and material recording clerks"),
    "44": _l("Other clerical support workers"),
    "51": _l("Personal service workers"),
    "52": _l("Sales workers"),
    "53": _l("Personal care workers"),
    "54": _l("Protective services workers"),
    "61": _l("Market-oriented skilled agricultural workers"),
    "62": _l("Market-oriented skilled forestry, fishery and hunting workers"),
    "63": _l("Subsistence farmers, fishers, hunters and gatherers"),
    "71": _l("Building and related trades workers, excluding electricians"),
    "72": _l("Metal, machinery and related trades workers"),
    "73": _l("Handicraft and printing workers"),
    "74": _l("Electrical and electronic trades workers"),
    "75": _l("Food processing, wood working, garment and other craft workers"),
    "81": _l("Stationary plant and machine operators"),
    "82": _l("Assemblers"),
    "83": _l("Drivers and mobile plant operators"),
    "91": _l("Cleaners and helpers"),
    "92": _l("Agricultural, forestry and fishery labourers"),
    "93": _l("Labourers in mining, construction, manufacturing and transport"),
    "94": _l("Food preparation assistants"),
    "95": _l("Street and related sales and service workers"),
    "96": _l("Refuse workers and other elementary workers"),
}

TERRITORY_LEVELS = {"region": _l("Region"), "province": _l("Province")}
OCCUPATION_LEVELS = {
    "isco1": _l("ISCO major group"),
    "isco2": _l("ISCO sub-major group"),
    "esco": _l("ESCO occupation"),
}


def sector_of(ateco_code: str | None) -> str:
    """The ATECO section of a company's activity code ("" when it is not known)."""
    import ateco

    code = (ateco_code or "").strip()
    if not code:
        return ""
    for edition in ("2025", "2022"):
        node = ateco.lookup(code, edition=edition)
        while node is not None and node.level != "section" and node.parent:
            node = ateco.lookup(node.parent, edition=edition)
        # Sections A–I kept their letters in ATECO 2025; later ones moved.
        if node is not None and node.level == "section" and (edition == "2025" or node.code <= "I"):
            return node.code
    return ""


def isco_label(code: str) -> str:
    table = ISCO_MAJOR_GROUPS if len(code) == 1 else ISCO_SUB_MAJOR_GROUPS
    label = table.get(code)
    return f"{code} – {label}" if label else f"ISCO {code}"
