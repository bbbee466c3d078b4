"""In-memory evaluation of plain-word queries over the Whoosh index.

Whoosh scores one document at a time in Python (several microseconds each), which is
too slow when a common word matches a quarter of 50,000 documents. Segments never
change once written (only their deletion sets do), so this module keeps, per segment:

* each looked-up term's postings as ``{docnum: BM25 term-frequency part}``;
* the facet columns as plain lists.

A query of words (AND of words, each an OR over the text fields) then becomes set
intersections and a few ``map`` passes that run in C, and facet counts become
``Counter(map(column.__getitem__, docs))``. Scores are BM25F-like: the sum over
fields of ``boost × idf × tf-part``, as Whoosh's own BM25F would give for an OR.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from heapq import nlargest
from itertools import compress, islice, repeat
from operator import add
from typing import Any

from whoosh.reading import IndexReader, TermNotFound
from whoosh.searching import Searcher

#: Whoosh's BM25F defaults.
K1 = 1.2
B = 0.75
#: Cached postings per process, in documents (about 50 bytes each: ~50 MB at most).
POSTINGS_BUDGET = 1_000_000
#: Segments whose facet columns stay in memory.
SEGMENTS_KEPT = 32


@dataclass(frozen=True)
class Clause:
    """One query word: documents with any of these ``(field, term)`` pairs match it."""

    terms: tuple[tuple[str, str], ...]


@dataclass
class Leaf:
    """The documents of one segment that matched (segment-local numbers)."""

    reader: IndexReader
    data: SegmentData
    offset: int
    docs: set[int]


@dataclass
class Evaluation:
    total: int
    #: (score, global docnum), best first, at most the requested limit.
    top: list[tuple[float, int]]
    leaves: list[Leaf] = field(default_factory=list)


class SegmentData:
    """What this process keeps in memory about one immutable segment."""

    def __init__(self, reader: IndexReader) -> None:
        self.doccount = reader.doc_count_all()
        #: Shared int objects for docnums, so cached postings don't each hold copies.
        self.ints = list(range(self.doccount))
        self.everything = frozenset(self.ints)
        self._columns: dict[str, list[Any]] = {}
        self._column_counts: dict[str, Counter[Any]] = {}
        self._lengths: dict[str, list[int]] = {}

    def column(self, reader: IndexReader, name: str) -> list[Any]:
        col = self._columns.get(name)
        if col is None:
            if reader.has_column(name):
                canonical: dict[Any, Any] = {}
                col = [canonical.setdefault(v, v) for v in reader.column_reader(name)]
            else:
                col = [""] * self.doccount
            self._columns[name] = col
        return col

    def lengths(self, reader: IndexReader, fieldname: str) -> list[int]:
        """Every document's length in ``fieldname`` (for terms in many documents)."""
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            lengths = [reader.doc_field_length(d, fieldname) for d in range(self.doccount)]
            self._lengths[fieldname] = lengths
        return lengths

    def column_counts(self, reader: IndexReader, name: str) -> Counter[Any]:
        """How many documents of the segment (deleted ones too) hold each value."""
        counts = self._column_counts.get(name)
        if counts is None:
            counts = self._column_counts[name] = Counter(self.column(reader, name))
        return counts


class _Caches:
    """Process-wide caches, shared by threads (a lock guards the bookkeeping)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.segments: OrderedDict[str, SegmentData] = OrderedDict()
        self.postings: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
        self.size = 0

    def segment(self, reader: IndexReader) -> SegmentData:
        key = reader.segment().segment_id()
        with self.lock:
            data = self.segments.get(key)
            if data is not None:
                self.segments.move_to_end(key)
                return data
        data = SegmentData(reader)
        with self.lock:
            self.segments[key] = data
            while len(self.segments) > SEGMENTS_KEPT:
                self.segments.popitem(last=False)
        return data

    def get(self, key: tuple[str, str, str]) -> Any:
        with self.lock:
            value = self.postings.get(key)
            if value is not None:
                self.postings.move_to_end(key)
            return value

    def put(self, key: tuple[str, str, str], value: Any) -> None:
        with self.lock:
            if key in self.postings:
                return
            self.postings[key] = value
            self.size += len(value) + 1
            while self.size > POSTINGS_BUDGET and len(self.postings) > 1:
                _key, old = self.postings.popitem(last=False)
                self.size -= len(old) + 1

    def clear(self) -> None:
        with self.lock:
            self.segments.clear()
            self.postings.clear()
            self.size = 0


_caches = _Caches()


def clear_caches() -> None:
    _caches.clear()


def leaves(searcher: Searcher) -> list[tuple[IndexReader, SegmentData, int]]:
    return [
        (reader, _caches.segment(reader), offset)
        for reader, offset in searcher.reader().leaf_readers()
        if reader.doc_count_all()  # an empty index has a reader without segment
    ]


def text_postings(
    searcher: Searcher,
    reader: IndexReader,
    data: SegmentData,
    fieldname: str,
    term: str,
    boost: float,
) -> dict[int, float]:
    """``{docnum: boost × idf × BM25 tf part}`` for one term of one segment (cached).

    Collection statistics (idf, average length) are taken when the entry is built; the
    small drift as documents are added later does not matter for ranking.
    """
    key = (reader.segment().segment_id(), fieldname, term)
    cached = _caches.get(key)
    if cached is None:
        cached = _read_text_postings(searcher, reader, data, fieldname, term, boost)
        _caches.put(key, cached)
    return cached


def _read_text_postings(
    searcher: Searcher,
    reader: IndexReader,
    data: SegmentData,
    fieldname: str,
    term: str,
    boost: float,
) -> dict[int, float]:
    if not reader.field_length(fieldname):
        return {}
    try:
        matcher = reader.postings(fieldname, term)
    except TermNotFound:
        return {}
    weight = boost * searcher.idf(fieldname, term)
    avgdl = searcher.avg_field_length(fieldname) or 1.0
    ints = data.ints
    # Reading every length once pays off from about a quarter of the segment on.
    length: Callable[[int], int]
    if reader.doc_frequency(fieldname, term) * 4 > data.doccount:
        length = data.lengths(reader, fieldname).__getitem__
    else:
        length = partial(reader.doc_field_length, fieldname=fieldname)

    # Few distinct (tf, length) pairs: compute each once and share the float objects.
    values: dict[tuple[float, int], float] = {}
    out: dict[int, float] = {}
    while matcher.is_active():
        docnum = matcher.id()
        key = (matcher.weight(), length(docnum))
        value = values.get(key)
        if value is None:
            value = values[key] = weight * bm25_tf(key[0], key[1], avgdl)
        out[ints[docnum]] = value
        matcher.next()
    return out


def bm25_tf(tf: float, length: int, avgdl: float) -> float:
    return tf * (K1 + 1) / (tf + K1 * ((1 - B) + B * length / avgdl))


def exact_docs(
    reader: IndexReader, data: SegmentData, fieldname: str, value: str
) -> frozenset[int]:
    """Documents of one segment whose ``fieldname`` holds ``value`` (cached)."""
    key = (reader.segment().segment_id(), fieldname, "=" + value)
    cached = _caches.get(key)
    if cached is None:
        try:
            ids = reader.postings(fieldname, value).all_ids()
        except TermNotFound:
            ids = iter(())
        cached = frozenset(data.ints[d] for d in ids)
        _caches.put(key, cached)
    return cached


def expired_docs(reader: IndexReader, data: SegmentData, today: str) -> frozenset[int]:
    """Documents of one segment whose ``expires`` day is before ``today`` (cached per
    segment and day; ISO dates compare as strings)."""
    key = (reader.segment().segment_id(), "expires", "<" + today)
    cached = _caches.get(key)
    if cached is None:
        column = data.column(reader, "expires")
        cached = frozenset(d for d, day in enumerate(column) if day and day < today)
        _caches.put(key, cached)
    return cached


def evaluate(
    searcher: Searcher,
    clauses: Sequence[Clause],
    filters: Sequence[Sequence[tuple[str, str]]],
    boosts: dict[str, float],
    limit: int,
    today: str | None = None,
) -> Evaluation:
    """Documents matching every clause and every filter group (an OR of exact values),
    leaving out those that expired before ``today`` (ISO date) when it is given.

    Without clauses every live document matches, in index order.
    """
    if not searcher.doc_count_all():
        return Evaluation(total=0, top=[])
    result = Evaluation(total=0, top=[])
    for reader, data, offset in leaves(searcher):
        sets: list[Iterable[int]] = [_group_docs(reader, data, group) for group in filters]
        parts: list[dict[int, float]] = []
        for clause in clauses:
            matched: set[int] = set()
            for fieldname, term in clause.terms:
                boost = boosts.get(fieldname, 1.0)
                postings = text_postings(searcher, reader, data, fieldname, term, boost)
                if postings:
                    parts.append(postings)
                    matched.update(postings)
            sets.append(matched)
        docs = _intersection(sets, data)
        if reader.has_deletions():
            docs = _without(docs, _deleted(reader, docs))
        if today is not None and docs:
            docs = _without(docs, expired_docs(reader, data, today))
        result.leaves.append(Leaf(reader, data, offset, docs))
        result.total += len(docs)
        result.top.extend(_top(docs, parts, offset, limit))
    result.top = sorted(result.top, key=lambda hit: (-hit[0], hit[1]))[:limit]
    return result


def _group_docs(
    reader: IndexReader, data: SegmentData, group: Sequence[tuple[str, str]]
) -> Iterable[int]:
    """The documents of one filter group. A single value (a document type) is its cached
    set itself: copying the half a million vacancies of a large index cost more than the
    rest of the query, and the intersection reads only the smaller side."""
    if len(group) == 1:
        fieldname, value = group[0]
        return exact_docs(reader, data, fieldname, value)
    return _union(exact_docs(reader, data, f, v) for f, v in group)


def _without(docs: set[int], other: Iterable[int]) -> set[int]:
    """``docs`` less ``other``, walking the smaller of the two (a few matches against the
    many expired or deleted documents of a large index, or the other way round)."""
    if isinstance(other, (set, frozenset)) and len(other) > len(docs):
        return {d for d in docs if d not in other}
    docs.difference_update(other)
    return docs


def _union(sets: Iterable[frozenset[int]]) -> set[int]:
    out: set[int] = set()
    for s in sets:
        out.update(s)
    return out


def _intersection(sets: list[Iterable[int]], data: SegmentData) -> set[int]:
    if not sets:
        return set(data.ints)
    ordered = sorted(sets, key=len)  # type: ignore[arg-type]
    docs = set(ordered[0])
    for other in ordered[1:]:
        if not docs:
            break
        docs.intersection_update(other)
    return docs


def _deleted(reader: IndexReader, docs: set[int]) -> Iterable[int]:
    deleted = getattr(reader, "deleted_docs_set", None)  # a cached frozenset
    if deleted is not None:
        return deleted  # type: ignore[no-any-return]
    return [d for d in docs if reader.is_deleted(d)]


def _top(
    docs: set[int], parts: list[dict[int, float]], offset: int, limit: int
) -> list[tuple[float, int]]:
    """The ``limit`` best of ``docs``; equal scores keep index order."""
    ordered = sorted(docs)
    if not parts:
        return [(0.0, offset + d) for d in ordered[:limit]]
    scores: list[float] | None = None
    for postings in parts:
        values = map(postings.get, ordered, repeat(0.0))
        scores = list(values) if scores is None else list(map(add, scores, values))
    assert scores is not None
    return [(scores[i], offset + ordered[i]) for i in best_indices(scores, limit)]


def best_indices(scores: list[float], limit: int) -> list[int]:
    """Indices of the ``limit`` highest scores, best first, ties in index order.

    Finds the threshold score with ``nlargest`` on the bare floats, then picks indices
    with ``compress``: every pass over the whole list runs in C.
    """
    every = range(len(scores))
    if len(scores) <= limit:
        return sorted(every, key=lambda i: -scores[i])
    threshold = nlargest(limit, scores)[-1]
    above = list(compress(every, map(threshold.__lt__, scores)))
    tied = islice(compress(every, map(threshold.__eq__, scores)), limit - len(above))
    return sorted([*above, *tied], key=lambda i: -scores[i])


def split(searcher: Searcher, docnums: Iterable[int]) -> list[Leaf]:
    """Group global document numbers by segment (for facet counts of Whoosh queries)."""
    out = [Leaf(reader, data, offset, set()) for reader, data, offset in leaves(searcher)]
    bounds = [(leaf.offset, leaf.offset + leaf.data.doccount, leaf) for leaf in out]
    for docnum in docnums:
        for low, high, leaf in bounds:
            if low <= docnum < high:
                leaf.docs.add(docnum - low)
                break
    return out


def facet_counts(found: Iterable[Leaf], names: Sequence[str]) -> dict[str, Counter[Any]]:
    counts: dict[str, Counter[Any]] = {name: Counter() for name in names}
    for leaf in found:
        if not leaf.docs:
            continue
        # Most of the segment matched: count what did not match and subtract.
        rest = leaf.data.everything - leaf.docs if len(leaf.docs) * 2 > leaf.data.doccount else None
        for name in names:
            column = leaf.data.column(leaf.reader, name)
            if rest is None:
                counts[name].update(map(column.__getitem__, leaf.docs))
            else:
                counts[name].update(leaf.data.column_counts(leaf.reader, name))
                counts[name].subtract(Counter(map(column.__getitem__, rest)))
    for counter in counts.values():
        for value in [v for v, n in counter.items() if n <= 0]:
            del counter[value]
    return counts
