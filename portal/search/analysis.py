"""Text analysis for the search index: Italian (light gender/number stemming) and English.

The Snowball Italian stemmer is tuned for recall on verb forms and leaves the pairs a job
portal needs apart (giardiniere/giardinieri, magazziniere/magazzinieri), so Italian text
goes through a *light* stemmer in the spirit of Savoy's and Lucene's
``ItalianLightStemmer``: it only strips the endings that mark gender and number.

Both analyzers fold accents (``citta`` finds ``città``) and are used unchanged at query
time, because Whoosh analyses a field's query terms with the field's own analyzer.
The classes are pickled into the index's table of contents, so keep their import paths.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from whoosh.analysis import (
    CompositeAnalyzer,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.analysis.acore import Token
from whoosh.lang.porter2 import stem as porter2_stem
from whoosh.lang.stopwords import stoplists

#: A word, plus the apostrophe of an elision when a word follows it (``dell'``).
ITALIAN_TOKEN = r"\w+(?:['’`´](?=\w))?"  # noqa: S105 - not a password

#: Elided articles, prepositions and pronouns dropped before the word they lean on.
# fmt: off
ELISIONS = frozenset({
    "l", "un", "dell", "all", "nell", "sull", "dall", "coll", "pell", "d", "c", "s", "m",
    "t", "v", "n", "ci", "gl", "quest", "quell", "anch", "com", "dov", "nessun", "qualcun",
    "ciascun", "alcun", "tutt", "senz",
})
# fmt: on

#: Shorter words are indexed as they are (via, zio, bar).
MIN_STEM_LENGTH = 4

#: Endings rewritten before the generic vowel stripping (longest first).
_SPECIAL_ENDINGS: tuple[tuple[str, str, int], ...] = (
    # agricoltore/agricoltrice, direttori/direttrici: one "-tor" stem.
    ("trice", "tor", 1),
    ("trici", "tor", 1),
    # professore/professoressa, studente/studentessa; plain "-essa" is left alone
    # (commesso/commessa, promessa).
    ("oressa", "or", 3),
    ("oresse", "or", 3),
    ("entessa", "ent", 2),
    ("entesse", "ent", 2),
)


def fold(text: str) -> str:
    """Lower-case and strip accents (NFKD, combining marks removed)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _folded(words: frozenset[str]) -> frozenset[str]:
    return frozenset(fold(w) for w in words)


ITALIAN_STOP_WORDS: frozenset[str] = _folded(stoplists["it"]) | frozenset({"gia", "cosi"})
ENGLISH_STOP_WORDS: frozenset[str] = _folded(stoplists["en"])


def stem_italian(word: str) -> str:
    """Strip Italian gender/number endings from a folded word.

    ``cuoco cuochi cuoca cuoche`` → ``cuoc``; ``operaio operai operaia operaie`` →
    ``opera``; ``direttore direttrice`` → ``direttor``. Words under four letters,
    and words with digits, are left as they are.
    """
    if len(word) < MIN_STEM_LENGTH or not word.isalpha():
        return word
    for ending, replacement, min_base in _SPECIAL_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= min_base:
            return word[: -len(ending)] + replacement
    if word[-1] not in "aeio":
        return word
    # -io -ia -ie -ii mark number/gender together (operaio/operaie): strip both
    # vowels unless that leaves fewer than three letters (olio/oli).
    cut = 2 if word[-2] == "i" and len(word) >= 5 else 1
    stem = word[:-cut]
    # cuochi/cuoco, luoghi/luogo, vecchi/vecchio: the "h" only keeps the sound hard.
    if stem.endswith(("ch", "gh")):
        stem = stem[:-1]
    return stem


@lru_cache(maxsize=200_000)
def italian_term(raw: str) -> str | None:
    """The indexed form of one Italian token, or None for a stop word or elision."""
    elided = raw[-1] in "'’`´"
    word = fold(raw[:-1] if elided else raw)
    if (elided and word in ELISIONS) or word in ITALIAN_STOP_WORDS:
        return None
    return stem_italian(word)


def _is_pattern(text: str) -> bool:
    return "*" in text or "?" in text


class ItalianFilter(Filter):
    """Folds, drops stop words and elisions, and light-stems Italian tokens.

    One cached function does the whole per-word job, which keeps indexing fast.
    Positions are renumbered over the dropped words, as Whoosh's StopFilter does, so
    the phrase "verde e potature" matches the text "verde e potature".
    Wildcard text (``giardin*``) is folded but not stemmed.
    """

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        pos: int | None = None
        for t in tokens:
            text = t.text
            term = fold(text) if _is_pattern(text) else italian_term(text)
            if term is None:
                if not t.removestops:
                    t.text = fold(text.rstrip("'’`´"))
                    t.stopped = True
                    yield t
                continue
            t.text = term
            t.stopped = False
            if t.positions:
                pos = t.pos if pos is None else pos + 1
                t.pos = pos
            yield t


class AccentFoldFilter(Filter):
    """Removes accents after lower-casing (``café`` → ``cafe``)."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            if not t.text.isascii():
                t.text = fold(t.text)
            yield t


@lru_cache(maxsize=100_000)
def _english_stem(word: str) -> str:
    return word if _is_pattern(word) else porter2_stem(word)


def ItalianAnalyzer() -> CompositeAnalyzer:
    """Tokens on word characters, elisions split off, folded, light-stemmed."""
    return RegexTokenizer(re.compile(ITALIAN_TOKEN)) | ItalianFilter()


def EnglishAnalyzer() -> CompositeAnalyzer:
    """Like Whoosh's StemmingAnalyzer, with accent folding and the Porter2 stemmer."""
    return (
        RegexTokenizer()
        | LowercaseFilter()
        | AccentFoldFilter()
        | StopFilter(stoplist=ENGLISH_STOP_WORDS, minsize=2)
        # Our own thread-safe cache: Whoosh's LFU cache can fail under threads.
        | StemFilter(stemfn=_english_stem, cachesize=None)
    )


def analyze(analyzer: Any, text: str, mode: str = "index", **kwargs: Any) -> list[str]:
    """The terms ``analyzer`` produces for ``text``."""
    return [t.text for t in analyzer(text, mode=mode, **kwargs)]
