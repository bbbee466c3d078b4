"""The analyzers: Italian gender/number forms meet, accents fold, English stems."""

from __future__ import annotations

import pytest

from portal.search.analysis import (
    EnglishAnalyzer,
    ItalianAnalyzer,
    analyze,
    fold,
    stem_italian,
)

ITALIAN = ItalianAnalyzer()
ENGLISH = EnglishAnalyzer()

#: Each row: forms that must be indexed as one term.
SAME_TERM = [
    ("giardiniere", "giardinieri", "giardiniera"),
    ("magazziniere", "magazzinieri", "magazziniera"),
    ("cuoco", "cuochi", "cuoca", "cuoche"),
    ("operaio", "operai", "operaia", "operaie"),
    ("infermiere", "infermieri", "infermiera"),
    ("commesso", "commessa", "commessi", "commesse"),
    ("direttore", "direttrice", "direttori", "direttrici"),
    ("cameriere", "cameriera", "camerieri", "cameriere"),
    ("addetto", "addetta", "addetti", "addette"),
    ("agricoltore", "agricoltrice", "agricoltori"),
    ("educatore", "educatrice", "educatori", "educatrici"),
    ("pizzaiolo", "pizzaiola", "pizzaioli"),
    ("professore", "professoressa", "professori"),
    ("studente", "studentessa", "studenti"),
    ("pane", "pani"),
    ("vino", "vini"),
    ("olio", "oli"),
    ("luogo", "luoghi"),
    ("vecchio", "vecchi", "vecchia", "vecchie"),
    ("farmacia", "farmacie"),
    ("azienda", "aziende"),
    ("città", "citta", "CITTÀ", "Città"),
    ("perché", "perche"),
]

#: Pairs that must stay apart.
DIFFERENT = [
    ("pane", "pena"),
    ("vino", "vano"),
    ("commessa", "comma"),
    ("giardiniere", "giardino"),
    ("direttore", "diretta"),
]


def terms(text: str, analyzer: object = ITALIAN) -> list[str]:
    return analyze(analyzer, text)


@pytest.mark.parametrize("forms", SAME_TERM, ids=lambda forms: forms[0])
def test_italian_forms_share_one_term(forms: tuple[str, ...]) -> None:
    indexed = {tuple(terms(form)) for form in forms}
    assert len(indexed) == 1, indexed
    (only,) = indexed
    assert len(only) <= 1


@pytest.mark.parametrize(("one", "other"), DIFFERENT)
def test_different_words_stay_apart(one: str, other: str) -> None:
    assert terms(one) != terms(other)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dell'azienda", ["aziend"]),
        ("l'operaio", ["opera"]),
        ("un'infermiera", ["infermier"]),
        ("all'ingrosso", ["ingross"]),
        ("nell'ambito", ["ambit"]),
        ("sull'isola", ["isol"]),
        ("dall’Italia", ["ital"]),  # typographic apostrophe
        ("Sant'Anna", ["sant", "ann"]),  # not an article: kept
    ],
)
def test_elisions_are_split_and_articles_dropped(text: str, expected: list[str]) -> None:
    assert terms(text) == expected


def test_stop_words_and_short_words() -> None:
    assert terms("la casa e il lavoro per tutti") == ["cas", "lavor"]
    assert terms("c'è più lavoro già") == ["lavor"]
    # Under four letters, words are indexed whole.
    assert terms("via bar zio tipo B") == ["via", "bar", "zio", "tip", "b"]


def test_numbers_and_codes_are_not_stemmed() -> None:
    assert terms("L. 68/1999 codice A123456") == ["68", "1999", "codic", "a123456"]


def test_accents_fold_everywhere() -> None:
    assert fold("Città Perché CAFFÈ Niño") == "citta perche caffe nino"
    assert terms("università") == terms("universita")


def test_wildcards_are_folded_but_not_stemmed() -> None:
    # Whoosh hands wildcard text to the analyzer untokenized.
    assert analyze(ITALIAN, "Giardinièr*", mode="query", tokenize=False) == ["giardinier*"]
    assert analyze(ITALIAN, "cuochi", mode="query", tokenize=False) == ["cuoc"]


def test_light_stemmer_details() -> None:
    assert stem_italian("operai") == "opera"
    assert stem_italian("cuochi") == "cuoc"
    assert stem_italian("zio") == "zio"
    assert stem_italian("a123") == "a123"


@pytest.mark.parametrize(
    "forms",
    [
        ("gardener", "gardeners"),
        ("warehouse", "warehouses"),
        ("cook", "cooks", "cooking"),
        ("company", "companies"),
        ("café", "cafe", "Cafés"),
    ],
    ids=lambda forms: forms[0],
)
def test_english_stems(forms: tuple[str, ...]) -> None:
    indexed = {tuple(terms(form, ENGLISH)) for form in forms}
    assert len(indexed) == 1, indexed


def test_english_stop_words() -> None:
    assert terms("the gardeners of the city", ENGLISH) == ["garden", "citi"]
