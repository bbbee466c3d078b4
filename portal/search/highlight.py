"""The words a person searched for, marked in a result's title and snippet (``<mark>``)."""

from __future__ import annotations

import re
from functools import lru_cache

from markupsafe import Markup, escape

_WORD = re.compile(r"\w+", re.UNICODE)
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}


def _stems(query: str) -> list[str]:
    """Each searched word, without its last letter when long (Italian endings vary:
    "magazzino" also marks "magazzini"); operators and one-letter words are left out."""
    stems = []
    for word in _WORD.findall(query):
        if word in _OPERATORS or len(word) < 2:
            continue
        stems.append(word[:-1] if len(word) > 4 else word)
    return sorted(set(stems), key=len, reverse=True)


@lru_cache(maxsize=256)
def _pattern(query: str) -> re.Pattern[str] | None:
    """The words of ``query`` as one pattern, compiled once for all of a page's hits."""
    stems = _stems(query)
    if not stems:
        return None
    return re.compile(
        r"\b(?:" + "|".join(re.escape(s) for s in stems) + r")\w*", re.IGNORECASE | re.UNICODE
    )


def mark(text: str | None, query: str | None) -> Markup:
    """``text`` escaped, with the words starting like a searched word inside ``<mark>``."""
    text = text or ""
    pattern = _pattern(query or "")
    if pattern is None:
        return escape(text)
    out, last = [], 0
    for found in pattern.finditer(text):
        out.append(escape(text[last : found.start()]))
        out.append(Markup("<mark>%s</mark>") % found.group(0))
        last = found.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
