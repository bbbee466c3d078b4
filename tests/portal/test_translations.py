"""Italian and English are complete, and no template shows an untranslatable string."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    p
    for p in ("portal", "employers", "brokerage", "microcredit", "ethical_products")
    if (ROOT / p).is_dir()
]
METHOD_MAP = [
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2"),
    ("**/templates/**.txt", "jinja2"),
]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "lazy_ngettext": (1, 2),
}


def catalog(lang: str):
    with (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def source_messages() -> set[str]:
    found = set()
    for package in PACKAGES:
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            ROOT / package,
            METHOD_MAP,
            keywords=KEYWORDS,
            options_map={"**/templates/**.html": {"extensions": ""}},
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("lang", ["it", "en"])
def test_catalog_has_no_empty_or_fuzzy_message(lang):
    problems = []
    for message in catalog(lang):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(s.strip() for s in strings):
            problems.append(message.id)
    assert problems == [], f"{lang}: {len(problems)} untranslated: {problems[:20]}"


@pytest.mark.parametrize("lang", ["it", "en"])
def test_catalog_covers_every_string_in_the_code(lang):
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog(lang) if m.id}
    missing = sorted(source_messages() - ids)
    assert missing == [], f"run `make extract-messages`; missing in {lang}: {missing[:20]}"


def test_italian_is_really_italian():
    """A sample of messages must differ from the English source."""
    it = {m.id: m.string for m in catalog("it") if m.id and isinstance(m.id, str)}
    for english in ("Sign in", "Network directory", "Search", "Create an account"):
        assert it[english] and it[english] != english


JINJA = re.compile(r"{#.*?#}|{%-?\s*trans\b.*?endtrans\s*-?%}|{{.*?}}|{%.*?%}", re.S)
TAGS = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->|<[^>]+>", re.S | re.I)
ATTRS = re.compile(r'\b(?:title|alt|placeholder|aria-label)="([^"]*)"', re.I)
ENTITIES = re.compile(r"&#?\w+;")
#: Names and units that read the same in every language.
ALLOWED = {
    "Ponte",
    "doctype",
    "html",
    "—",
    "km",
    "ISCO",
    "ESCO",
    "ATECO",
    "CPV",
    "OCDS",
    "CSV",
    "XLSX",
    "PDF",
    "JSON",
    "ICS",
    "IPS",
    "EUR",
    "PAR",
    "IBAN",
    "GAS",
    "Stripe",
}


def template_files():
    for package in PACKAGES:
        yield from (ROOT / package).glob("**/templates/**/*.html")


@pytest.mark.parametrize("path", list(template_files()), ids=lambda p: p.name)
def test_every_template_string_is_wrapped(path):
    source = path.read_text(encoding="utf-8")
    problems = []
    for value in ATTRS.findall(source):
        text = JINJA.sub(" ", value)
        if re.search(r"[A-Za-zÀ-ÿ]{2,}", text) and text.strip() not in ALLOWED:
            problems.append(f"attribute text: {text.strip()!r}")
    text = ENTITIES.sub(" ", TAGS.sub(" ", JINJA.sub(" ", source)))
    for word in re.findall(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'’]+", text):
        if word not in ALLOWED:
            problems.append(f"text: {word!r}")
    assert problems == [], f"{path.relative_to(ROOT)}: {problems[:10]}"
