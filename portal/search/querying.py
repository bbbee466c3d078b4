"""query(): words in, a page of hits with facet counts out.

Plain words (the common case) are evaluated in memory by :mod:`portal.search.engine`;
queries using Whoosh syntax (quotes, wildcards, ``field:value``, AND/OR/NOT, brackets)
go through Whoosh's parser and searcher. Any error in the latter falls back to the
plain words, so a query never fails because of its syntax.
"""

from __future__ import annotations

import logging
import re
import threading
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

from flask import has_request_context, request, url_for
from werkzeug.routing import BuildError
from whoosh import query as wq
from whoosh.collectors import TimeLimit, TimeLimitCollector
from whoosh.index import FileIndex
from whoosh.qparser import AndGroup, MultifieldParser
from whoosh.searching import Searcher

from portal.db import PageNumbers, utcnow
from portal.search import engine, node
from portal.search.analysis import (
    ENGLISH_STOP_WORDS,
    ITALIAN_TOKEN,
    EnglishAnalyzer,
    analyze,
    fold,
    italian_term,
)
from portal.search.schema import (
    FACETS,
    FILTER_FIELDS,
    SCHEMA,
    TEXT_FIELDS,
    endpoint_from_json,
)

logger = logging.getLogger(__name__)

#: Drain before a query when this node last drained longer ago (seconds), so app
#: servers sharing one database converge even without writes of their own.
DRAIN_INTERVAL = 2.0
#: Words of a query that are used; the rest is ignored.
MAX_WORDS = 12
MAX_PER_PAGE = 100
#: Queries with Whoosh syntax: at most this many terms per wildcard or range, and
#: this many seconds of matching (then the documents found so far are shown).
MAX_EXPANSIONS = 64
SYNTAX_TIME_LIMIT = 1.0
FACET_VALUES = 50
#: Answers (a page of hits, a listing's ids) each process keeps for an unchanged index.
ANSWERS_KEPT = 256

_WORD = re.compile(ITALIAN_TOKEN)
_SYNTAX = re.compile(r"""["*?:^(){}\[\]~+]|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b""")
_ENGLISH = EnglishAnalyzer()


@dataclass
class Hit:
    doc_type: str
    doc_id: str
    title: str
    snippet: str
    url: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class SearchResults(PageNumbers):
    hits: list[Hit]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[tuple[str, int]]]


# --- Searchers, one per thread and index directory ---------------------------------------


class _Searchers(threading.local):
    def __init__(self) -> None:
        self.epoch = -1
        self.by_dir: dict[str, tuple[Path, FileIndex, Searcher]] = {}


_searchers = _Searchers()
_epoch = 0


def searcher() -> Searcher:
    """This thread's searcher on this node's live index, reopened when it changed.

    Whoosh's ``Searcher.refresh()`` is not used: when it reuses the reader of a segment
    that gained deletions it keeps serving the deleted documents (whoosh-reloaded 2.7.5).
    Reopening is cheap; the engine's caches are per segment and survive it.
    """
    if _searchers.epoch != _epoch:
        _searchers.by_dir = {}
        _searchers.epoch = _epoch
    directory = str(node.index_dir())
    build = node.ensure_index()
    cached = _searchers.by_dir.get(directory)
    if cached is not None and cached[0] == build:
        _build, ix, current = cached
        if current.up_to_date():
            return current
        current.close()
    else:
        if cached is not None:
            cached[2].close()
        ix = node.open_build(build)
    fresh = ix.searcher()
    _searchers.by_dir[directory] = (build, ix, fresh)
    return fresh


def reset_process_state() -> None:
    """Forget searchers and caches of this process (as after a restart)."""
    global _epoch
    _epoch += 1
    engine.clear_caches()
    _answers.clear()
    node.reset_process_state()


def _index_state(s: Searcher) -> tuple[str, str, int]:
    """Which index ``s`` reads, and which of its commits: any change gives a new state."""
    directory = str(node.index_dir())
    build, _ix, _searcher = _searchers.by_dir[directory]
    return directory, str(build), s.reader().generation()


class _Answers:
    """The answers this process gave lately, for the index state they were computed on:
    the same words on an unchanged index give the same answer, and a public page asks
    the same few questions over and over. Keys carry the index state, so an update
    applied to this node's index is seen by the next query."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> Any:
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        with self.lock:
            self.entries[key] = value
            while len(self.entries) > ANSWERS_KEPT:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_answers = _Answers()


def _drain_if_stale() -> None:
    directory = node.index_dir()
    if node.seconds_since_drain(directory) <= DRAIN_INTERVAL:
        return
    try:
        node.drain(timeout=0)
    except Exception:
        logger.exception("search: drain before query failed")
        node.mark_drained(directory)


# --- Query ------------------------------------------------------------------------------


def query(
    q: str,
    *,
    doc_types: list[str] | None = None,
    filters: dict[str, Any] | None = None,
    page: int = 1,
    per_page: int = 20,
    lang: str = "it",
    today: date | None = None,
) -> SearchResults:
    """One page of documents matching all words of ``q`` and all filters.

    An empty ``q`` lists every document that passes the filters. Documents whose
    ``expires`` day is before ``today`` (default: the current UTC date, as the domain
    packages count days) are left out, whether or not a job has removed them yet.
    """
    page = max(1, int(page))
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    _drain_if_stale()
    s = searcher()
    groups = filter_groups(doc_types, filters)
    day = (today or utcnow().date()).isoformat()
    q = (q or "").strip()
    # Hits carry addresses: the application root they were built for is part of the key.
    key = ("query", _index_state(s), q, repr(groups), page, per_page, lang, day, _root())
    answer = _answers.get(key)
    if answer is None:
        answer = _query(s, q, groups, page, per_page, lang, day)
        _answers.put(key, answer)
    return answer


def _root() -> str:
    return request.script_root if has_request_context() else ""


def _query(
    s: Searcher,
    q: str,
    groups: list[list[tuple[str, str]]],
    page: int,
    per_page: int,
    lang: str,
    day: str,
) -> SearchResults:
    evaluation = _evaluate(s, q, groups, page * per_page, day)
    start = (page - 1) * per_page
    hits = [_hit(s, docnum, lang) for _score, docnum in evaluation.top[start:]]
    counts = engine.facet_counts(evaluation.leaves, FACETS)
    facets = {
        name: sorted(((str(v), n) for v, n in counts[name].items() if v), key=_facet_order)[
            :FACET_VALUES
        ]
        for name in FACETS
    }
    return SearchResults(hits, evaluation.total, page, per_page, facets)


def matching_ids(
    q: str, *, doc_types: list[str] | None = None, limit: int = 1000, today: date | None = None
) -> list[str]:
    """The ids of the ``limit`` documents that best match ``q``, best first: for listings
    that filter and order matches themselves, so no hit (title, snippet, address) is built."""
    _drain_if_stale()
    s = searcher()
    day = (today or utcnow().date()).isoformat()
    q = (q or "").strip()
    groups = filter_groups(doc_types, None)
    key = ("ids", _index_state(s), q, repr(groups), limit, day)
    answer = _answers.get(key)
    if answer is None:
        answer = tuple(_matching_ids(s, q, groups, limit, day))
        _answers.put(key, answer)
    return list(answer)


def _matching_ids(
    s: Searcher, q: str, groups: list[list[tuple[str, str]]], limit: int, day: str
) -> list[str]:
    evaluation = _evaluate(s, q, groups, limit, day)
    if not evaluation.top:
        return []
    leaves = engine.leaves(s)
    offsets = [offset for _reader, _data, offset in leaves]
    ids = []
    for _score, docnum in evaluation.top:
        reader, data, offset = leaves[bisect_right(offsets, docnum) - 1]
        doc_id = data.column(reader, "doc_id")[docnum - offset]
        # An index built before doc_id was a column: read the stored fields.
        ids.append(doc_id or s.stored_fields(docnum).get("doc_id", ""))
    return ids


def _facet_order(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def filter_groups(
    doc_types: list[str] | None, filters: dict[str, Any] | None
) -> list[list[tuple[str, str]]]:
    """Filters as an AND of groups, each an OR of exact ``(field, value)`` pairs."""
    groups: list[list[tuple[str, str]]] = []
    if doc_types:
        groups.append([("doc_type", str(t)) for t in doc_types])
    for key, value in (filters or {}).items():
        if key not in FILTER_FIELDS or value in (None, "", [], ()):
            continue
        values = [value] if isinstance(value, str) else list(value)
        if key == "tags":
            # Every tag must be present.
            groups.extend([("tags", str(v).strip().lower())] for v in values)
        else:
            groups.append([(key, str(v)) for v in values])
    return groups


def _evaluate(
    s: Searcher, q: str, groups: list[list[tuple[str, str]]], limit: int, today: str
) -> engine.Evaluation:
    if not _WORD.search(q):
        q = ""  # no words at all ("", "((", "*"): every document that passes the filters
    if _SYNTAX.search(q) and s.doc_count_all():
        try:
            return _syntax_evaluate(s, q, groups, limit, today)
        except Exception:
            logger.info("search: falling back to plain words for %r", q, exc_info=True)
    clauses = plain_clauses(q)
    if q and not clauses:
        return engine.Evaluation(total=0, top=[])  # only stop words
    return engine.evaluate(s, clauses, groups, TEXT_FIELDS, limit, today)


def _syntax_evaluate(
    s: Searcher, q: str, groups: list[list[tuple[str, str]]], limit: int, today: str
) -> engine.Evaluation:
    parsed = _parse(q)
    clauses = as_clauses(parsed)
    if clauses is not None:  # AND/OR of words: the fast path understands it
        return engine.evaluate(s, clauses, groups, TEXT_FIELDS, limit, today)
    return _whoosh_evaluate(s, parsed, groups, limit, today)


def as_clauses(parsed: wq.Query) -> list[engine.Clause] | None:
    """``parsed`` as an AND of ORs of text-field terms, or None if it is not one."""
    if isinstance(parsed, wq.Term):
        if parsed.fieldname not in TEXT_FIELDS:
            return None
        return [engine.Clause(((parsed.fieldname, str(parsed.text)),))]
    if isinstance(parsed, wq.Or):
        terms: list[tuple[str, str]] = []
        for sub in parsed.subqueries:
            inner = as_clauses(sub)
            if inner is None or len(inner) != 1:
                return None
            terms.extend(inner[0].terms)
        return [engine.Clause(tuple(terms))] if terms else None
    if isinstance(parsed, wq.And):
        clauses: list[engine.Clause] = []
        for sub in parsed.subqueries:
            inner = as_clauses(sub)
            if inner is None:
                return None
            clauses.extend(inner)
        return clauses or None
    return None


def plain_clauses(q: str) -> list[engine.Clause]:
    """One clause per word that is not a stop word in Italian or English."""
    clauses: list[engine.Clause] = []
    for raw in _WORD.findall(q):
        term = italian_term(raw)
        word = raw.rstrip("'’`´")
        english = analyze(_ENGLISH, word, mode="query")
        if term is None or (not english and fold(word) in ENGLISH_STOP_WORDS):
            continue
        terms = [("title", term), ("body", term)]
        terms += [(f, e) for e in english[:1] for f in ("title_en", "body_en")]
        clause = engine.Clause(tuple(terms))
        if clause not in clauses:
            clauses.append(clause)
    return clauses[:MAX_WORDS]


_parser: MultifieldParser | None = None


def _parse(q: str) -> wq.Query:
    global _parser
    if _parser is None:
        _parser = MultifieldParser(
            list(TEXT_FIELDS), SCHEMA, fieldboosts=TEXT_FIELDS, group=AndGroup
        )
    return _parser.parse(q)


def _whoosh_evaluate(
    s: Searcher, parsed: wq.Query, groups: list[list[tuple[str, str]]], limit: int, today: str
) -> engine.Evaluation:
    """Whoosh's own searcher (phrases, NOT, wildcards…), bounded in time and expansion."""
    _check_expansions(s, parsed)
    # Filters go into the query itself (Require and AndNot keep the scores of
    # ``parsed``): a TimeLimitCollector wrapped around the FilterCollector that
    # ``collector(filter=, mask=)`` builds bypasses it and would ignore both.
    bounded = parsed
    allowed = _filter_query(groups)
    if allowed is not None:
        bounded = wq.Require(bounded, allowed)
    # Expired documents: every "expires" day before today (exclusive range end).
    bounded = wq.AndNot(bounded, wq.TermRange("expires", None, today, endexcl=True))
    collector = TimeLimitCollector(
        s.collector(limit=None),
        timelimit=SYNTAX_TIME_LIMIT,
        use_alarm=False,  # signals only work in the main thread
    )
    try:
        s.search_with_collector(bounded, collector)
    except TimeLimit:
        logger.info("search: %s hit the time limit; partial results", parsed)
    results = collector.results()
    top = [(score, docnum) for docnum, score in islice(results.items(), limit)]
    leaves = engine.split(s, results.docs())
    return engine.Evaluation(sum(len(leaf.docs) for leaf in leaves), top, leaves)


def _check_expansions(s: Searcher, parsed: wq.Query) -> None:
    """Refuse wildcards and ranges that expand to many terms ("a*", "*a*").

    Whoosh builds one matcher per expanded term before it finds the first document,
    which a time limit cannot interrupt.
    """
    reader = s.reader()
    for leaf in parsed.leaves():
        if isinstance(leaf, wq.Every):
            raise ValueError("a bare * matches everything")
        if isinstance(leaf, wq.MultiTerm):
            expanded = islice(leaf.expanded_terms(reader), MAX_EXPANSIONS + 1)
            if sum(1 for _term in expanded) > MAX_EXPANSIONS:
                raise ValueError(f"{leaf} expands to too many terms")


def _filter_query(groups: list[list[tuple[str, str]]]) -> wq.Query | None:
    if not groups:
        return None
    return wq.And([wq.Or([wq.Term(f, v) for f, v in group]) for group in groups])


# --- Hits -------------------------------------------------------------------------------


def _hit(s: Searcher, docnum: int, lang: str) -> Hit:
    stored = s.stored_fields(docnum)
    english = lang == "en"
    title = (english and stored.get("title_en")) or stored.get("title", "")
    snippet = (english and stored.get("snippet_en")) or stored.get("snippet", "")
    fields = {
        k: stored[k] for k in ("kind", "comune", "province", "region", "published") if stored.get(k)
    }
    if stored.get("tags"):
        fields["tags"] = [t for t in stored["tags"].split(",") if t]
    return Hit(
        doc_type=stored.get("doc_type", ""),
        doc_id=stored.get("doc_id", ""),
        title=title,
        snippet=snippet,
        url=_url(stored.get("url_endpoint", "")),
        fields=fields,
    )


def _url(value: str) -> str:
    target = endpoint_from_json(value)
    if target is None:
        return ""
    endpoint, args = target
    try:
        return url_for(endpoint, **args, _external=False)
    except (BuildError, RuntimeError, ValueError):
        logger.warning("search: cannot build a URL for %s %r", endpoint, args)
        return ""
