"""The search service: outbox, drain, gaps, reindex, queries, facets and pages.

Every test marks its documents with a word of its own, so data left by other tests
(SQLite keeps committed rows) never changes the counts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, insert, select

from portal import db, search
from portal.db import utcnow
from portal.models import Municipality, Organisation
from portal.search import engine, node, outbox
from portal.search.models import SearchOutbox
from tests.factories import make_org

PORDENONE = "093033"
TORINO = "001272"


def unique_word() -> str:
    """A made-up word the stemmer leaves alone (it ends in a consonant)."""
    return "zq" + "".join(random.choices("bcdfglmnprstvz", k=8))


def commit_and_drain() -> int:
    db.session.commit()
    return search.drain()


def found(q: str, **kwargs: object) -> list[str]:
    return [hit.title for hit in search.query(q, **kwargs).hits]


@pytest.fixture
def word(db_session: object) -> str:
    return unique_word()


@pytest.fixture
def fresh_process() -> Iterator[None]:
    search._reset_process_state()
    yield
    search._reset_process_state()


# --- Outbox -----------------------------------------------------------------------------


def test_a_change_writes_an_outbox_row_in_its_transaction(word: str) -> None:
    before = db.session.scalar(select(func.max(SearchOutbox.id))) or 0
    org = make_org(name=f"Outbox {word}")
    rows = db.session.execute(
        select(SearchOutbox.doc_type, SearchOutbox.doc_id).where(SearchOutbox.id > before)
    ).all()
    assert ("organisation", str(org.id)) in rows
    assert outbox.uncommitted(db.session())
    # Not committed yet: a drain must not apply rows that may still roll back.
    assert search.drain() == 0
    db.session.rollback()
    assert not outbox.uncommitted(db.session())
    assert db.session.scalar(select(func.max(SearchOutbox.id))) in (before, None)


def test_a_rolled_back_savepoint_keeps_the_transaction_pending(word: str) -> None:
    make_org(name=f"Uno {word}")
    savepoint = db.session.begin_nested()
    make_org(name=f"Due {word}")
    savepoint.rollback()
    assert outbox.uncommitted(db.session())
    db.session.commit()
    assert not outbox.uncommitted(db.session())
    assert search.drain() >= 1
    assert found(word) == [f"Uno {word}"]


def test_related_objects_are_queued_too(word: str) -> None:
    org = make_org(name=f"Related {word}")

    class Child:
        def search_related(self) -> list[Organisation]:
            return [org]

    changed: set[tuple[str, str]] = set()
    outbox._collect(Child(), changed)
    assert changed == {("organisation", str(org.id))}


# --- Drain and queries ------------------------------------------------------------------


def test_verified_organisation_is_found_in_every_form(word: str) -> None:
    make_org(
        name=f"Giardinieri Riuniti {word}",
        description="Cerchiamo magazzinieri e cuochi in città, con tutor aziendale.",
    )
    assert commit_and_drain() >= 1
    title = f"Giardinieri Riuniti {word}"
    assert found(f"giardiniere {word}") == [title]  # singular finds plural
    assert found(f"giardiniera {word}") == [title]  # feminine finds masculine
    assert found(f"magazziniera {word}") == [title]
    assert found(f"cuoca {word}") == [title]
    assert found(f"citta {word}") == [title]  # no accent finds the accent
    assert found(f"CITTÀ {word}") == [title]
    assert found(f"dell'azienda giardinieri {word}") == []  # every word must match
    assert found(f"l'aziendale {word}") == [title]


def test_hit_fields_snippet_and_url(word: str) -> None:
    org = make_org(
        name=f"Cooperativa {word}",
        description="<b>Manutenzione</b> del verde " + "e pulizie " * 60,
        comune_code=PORDENONE,
    )
    commit_and_drain()
    (hit,) = search.query(word).hits
    assert hit.doc_type == "organisation"
    assert hit.doc_id == str(org.id)
    assert hit.url == f"/directory/{org.id}-{org.slug}"
    # The snippet is the text as written (no highlighting markup); templates escape it.
    assert hit.snippet.startswith("<b>Manutenzione</b> del verde")
    assert len(hit.snippet) <= 241
    assert hit.fields["kind"] == "company"
    assert hit.fields["comune"] == PORDENONE
    assert hit.fields["province"] == "PN"


def test_unverified_organisations_stay_out(word: str) -> None:
    org = make_org(name=f"Nascosta {word}", verified=False)
    commit_and_drain()
    assert found(word) == []

    org.verified_at = utcnow()
    commit_and_drain()
    assert found(word) == [f"Nascosta {word}"]

    org.verified_at = None
    commit_and_drain()
    assert found(word) == []


def test_deleted_organisation_leaves_the_index(word: str) -> None:
    org = make_org(name=f"Cancellata {word}")
    commit_and_drain()
    assert found(word) == [f"Cancellata {word}"]
    db.session.delete(org)
    commit_and_drain()
    assert found(word) == []


def test_renamed_organisation_is_updated_not_duplicated(word: str) -> None:
    org = make_org(name=f"Vecchio nome {word}")
    commit_and_drain()
    org.name = f"Nuovo nome {word}"
    commit_and_drain()
    assert found(word) == [f"Nuovo nome {word}"]


def test_request_that_commits_drains_at_teardown(app: Flask, word: str) -> None:
    with app.test_request_context("/"):
        make_org(name=f"Richiesta {word}")
        db.session.commit()
    # The teardown applied the row: nothing is left for this node.
    assert search.drain() == 0
    assert found(word) == [f"Richiesta {word}"]


# --- Facets, filters, pages, syntax ------------------------------------------------------


@pytest.fixture
def three_orgs(word: str) -> str:
    make_org("company", name=f"Alfa {word}", comune_code=PORDENONE)
    make_org("company", name=f"Beta {word}", comune_code=TORINO)
    make_org("cooperative_b", name=f"Gamma {word}", comune_code=PORDENONE)
    commit_and_drain()
    return word


def region_of(code: str) -> str:
    return db.session.get(Municipality, code).region


def test_facet_counts(three_orgs: str) -> None:
    results = search.query(three_orgs)
    assert results.total == 3
    assert results.facets["doc_type"] == [("organisation", 3)]
    assert results.facets["kind"] == [("company", 2), ("cooperative_b", 1)]
    assert results.facets["province"] == [("PN", 2), ("TO", 1)]
    assert dict(results.facets["region"]) == {region_of(PORDENONE): 2, region_of(TORINO): 1}


def test_filters(three_orgs: str) -> None:
    word = three_orgs
    assert sorted(found(word, filters={"kind": "company"})) == [f"Alfa {word}", f"Beta {word}"]
    assert found(word, filters={"province": "TO"}) == [f"Beta {word}"]
    assert found(word, filters={"region": region_of(TORINO)}) == [f"Beta {word}"]
    assert found(word, filters={"comune": PORDENONE, "kind": "cooperative_b"}) == [f"Gamma {word}"]
    assert found(word, filters={"kind": "social_farm"}) == []
    assert found(word, doc_types=["organisation"], filters={"province": "TO"}) == [f"Beta {word}"]
    assert found(word, doc_types=["vacancy"]) == []
    assert found(word, filters={"unknown": "x"}) == found(word)


def test_empty_query_with_filters_lists_everything_matching(three_orgs: str) -> None:
    results = search.query("", filters={"province": "TO"}, per_page=100)
    assert f"Beta {three_orgs}" in [hit.title for hit in results.hits]
    assert all(hit.fields["province"] == "TO" for hit in results.hits)
    assert results.total >= 1


def test_facets_follow_the_filters(three_orgs: str) -> None:
    results = search.query(three_orgs, filters={"kind": "company"})
    assert results.total == 2
    assert results.facets["kind"] == [("company", 2)]


def test_pagination(word: str) -> None:
    for n in range(5):
        make_org(name=f"Pagina {n} {word}")
    commit_and_drain()
    first = search.query(word, per_page=2)
    assert (first.total, first.pages, len(first.hits)) == (5, 3, 2)
    assert (first.has_prev, first.has_next) == (False, True)
    last = search.query(word, page=3, per_page=2)
    assert len(last.hits) == 1
    assert (last.has_prev, last.has_next) == (True, False)
    pages = [hit.title for p in (1, 2, 3) for hit in search.query(word, page=p, per_page=2).hits]
    assert sorted(pages) == sorted(f"Pagina {n} {word}" for n in range(5))
    assert search.query(word, page=9, per_page=2).hits == []


def test_matching_ids_are_the_hits_ids_in_their_order(word: str) -> None:
    for n in range(5):
        make_org(name=f"Elenco {n} {word}", description=f"{word} " * n)
    commit_and_drain()
    hits = search.query(word, per_page=100).hits
    assert search.matching_ids(word) == [hit.doc_id for hit in hits]
    assert search.matching_ids(word, limit=2) == [hit.doc_id for hit in hits[:2]]
    assert search.matching_ids(word, doc_types=["vacancy"]) == []
    assert search.matching_ids("zzznothinglikeit") == []


def test_an_answer_is_reused_until_the_index_changes(word: str) -> None:
    make_org(name=f"Prima {word}")
    commit_and_drain()
    first = search.query(word)
    assert search.query(word) is first  # the same words on the same index
    assert search.matching_ids(word) == [first.hits[0].doc_id]
    make_org(name=f"Seconda {word}")
    commit_and_drain()
    assert sorted(found(word)) == [f"Prima {word}", f"Seconda {word}"]
    assert len(search.matching_ids(word)) == 2


def test_matching_ids_read_an_index_built_without_the_id_column(
    word: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_org(name=f"Vecchio indice {word}")
    commit_and_drain()
    expected = [hit.doc_id for hit in search.query(word).hits]
    monkeypatch.setattr(
        engine.SegmentData, "column", lambda self, reader, name: [""] * self.doccount
    )
    assert search.matching_ids(word) == expected


def test_title_matches_rank_first(word: str) -> None:
    make_org(name=f"Servizi {word}", description="Ci occupiamo anche di giardinaggio.")
    make_org(name=f"Giardinaggio {word}", description="Verde pubblico.")
    commit_and_drain()
    assert found(f"giardinaggio {word}")[0] == f"Giardinaggio {word}"


@pytest.mark.parametrize(
    "q",
    [
        '"giardin* AND (',
        "AND",
        "((",
        "title:",
        '"',
        "*",
        "a*",
        "*a*",
        "giardin*^",
        "a:b:c",
        "[a TO",
        "[a TO z]",
        "~~",
        "",
        "NOT",
    ],
)
def test_bad_syntax_never_raises(word: str, q: str) -> None:
    results = search.query(q + " " + word)
    assert results.total >= 0


def test_whoosh_syntax_works(word: str) -> None:
    make_org(name=f"Giardinieri {word}", description="Verde e potature.")
    make_org(name=f"Cuochi {word}", description="Mense aziendali.")
    commit_and_drain()
    assert found(f"giardin* {word}") == [f"Giardinieri {word}"]
    assert sorted(found(f"(giardiniere OR cuoco) AND {word}")) == [
        f"Cuochi {word}",
        f"Giardinieri {word}",
    ]
    assert found(f"{word} NOT cuoco") == [f"Giardinieri {word}"]
    assert found(f'"verde e potature" {word}') == [f"Giardinieri {word}"]
    results = search.query(f"giardin* {word}", filters={"kind": "company"})
    assert results.total == 1
    assert results.facets["kind"] == [("company", 1)]


def test_queries_without_words_list_everything(three_orgs: str) -> None:
    for q in ("((", "*", '"'):
        results = search.query(q, filters={"province": "TO"}, per_page=100)
        assert f"Beta {three_orgs}" in [hit.title for hit in results.hits]


def test_and_or_queries_use_the_fast_path() -> None:
    from portal.search.querying import _parse, as_clauses

    clauses = as_clauses(_parse("(giardiniere OR cuoco) AND zz"))
    assert clauses is not None and len(clauses) == 2
    assert ("title", "giardinier") in clauses[0].terms
    assert ("body", "cuoc") in clauses[0].terms
    assert as_clauses(_parse("zz NOT cuoco")) is None
    assert as_clauses(_parse('"verde e potature"')) is None
    assert as_clauses(_parse("kind:company")) is None


def test_stop_words_only_find_nothing(word: str) -> None:
    make_org(name=f"Stop {word}")
    commit_and_drain()
    assert search.query("il la di").total == 0


# --- Crash, gaps, nodes, reindex --------------------------------------------------------


def test_rows_committed_before_a_crash_are_applied_at_start_up(
    app: Flask, word: str, fresh_process: None
) -> None:
    search.drain()  # the node is up to date
    make_org(name=f"Prima del crash {word}")
    db.session.commit()  # the outbox row is committed; the process dies before draining
    search._reset_process_state()
    search.startup_drain(app)
    assert search.drain() == 0  # start-up already applied it
    assert found(word) == [f"Prima del crash {word}"]


def test_the_first_request_catches_up(app: Flask, client: object, word: str) -> None:
    make_org(name=f"Primo {word}")
    db.session.commit()
    app.extensions["ponte_search"]["started"] = False  # as in a new process
    client.get("/healthz")  # type: ignore[attr-defined]
    assert app.extensions["ponte_search"]["started"]
    assert search.drain() == 0


def test_rows_of_unknown_types_are_skipped(word: str) -> None:
    make_org(name=f"Resta {word}")
    commit_and_drain()
    db.session.add(SearchOutbox(doc_type="ghost", doc_id="1"))
    db.session.commit()
    assert search.drain() == 1
    assert found(word) == [f"Resta {word}"]


def _insert_org_without_outbox(name: str) -> int:
    """A verified organisation written with Core, which the outbox listener does not see."""
    now = utcnow()
    org_id = db.session.execute(
        insert(Organisation)
        .values(
            name=name,
            slug="x",
            kind="company",
            comune_code=PORDENONE,
            description="",
            verified_at=now,
            created_at=now,
            updated_at=now,
        )
        .returning(Organisation.id)
    ).scalar_one()
    return int(org_id)


def _outbox_row(row_id: int, doc_id: object) -> None:
    db.session.execute(
        insert(SearchOutbox).values(
            id=row_id, doc_type="organisation", doc_id=str(doc_id), created_at=utcnow()
        )
    )


def test_late_commit_below_the_position_is_applied(word: str) -> None:
    """PostgreSQL ids can commit out of order: id N+1 may appear after N+2 was drained."""
    search.drain()
    top = db.session.scalar(select(func.max(SearchOutbox.id))) or 0
    _outbox_row(top + 12, "999999999")  # committed first
    db.session.commit()
    search.drain()
    position = node.Position.load(node.current_build(node.index_dir()))
    assert position.max_id == top + 12
    assert top + 11 in position.gaps

    org_id = _insert_org_without_outbox(f"Ritardataria {word}")
    _outbox_row(top + 11, org_id)  # the slower transaction commits now
    db.session.commit()
    assert search.drain() == 1
    assert found(word) == [f"Ritardataria {word}"]
    position = node.Position.load(node.current_build(node.index_dir()))
    assert top + 11 not in position.gaps


def test_gaps_are_forgotten_after_the_window(app: Flask, word: str) -> None:
    search.drain()
    top = db.session.scalar(select(func.max(SearchOutbox.id))) or 0
    _outbox_row(top + 12, "999999999")
    db.session.commit()
    search.drain()
    app.config["SEARCH_GAP_SECONDS"] = 0
    try:
        search.drain()
        position = node.Position.load(node.current_build(node.index_dir()))
        assert top + 11 not in position.gaps
    finally:
        del app.config["SEARCH_GAP_SECONDS"]


def test_missing_ids_and_position_bookkeeping() -> None:
    assert node.missing_ids(3, 8, {4, 6, 8}, limit=10) == [7, 5]
    assert node.missing_ids(0, 1_000_000, set(), limit=3) == [1_000_000, 999_999, 999_998]
    position = node.Position(max_id=3).advanced([4, 6, 8], [], now=100.0)
    assert (position.max_id, position.gaps) == (8, {5: 100.0, 7: 100.0})
    position = position.advanced([9], [7], now=200.0)
    assert (position.max_id, position.gaps) == (9, {5: 100.0})
    assert position.without_expired(now=800.0, window=600).gaps == {}


def test_two_nodes_converge(app: Flask, word: str, tmp_path: Path) -> None:
    make_org("company", name=f"Nodo uno {word}")
    make_org("cooperative_b", name=f"Nodo due {word}")
    db.session.commit()
    results = {}
    for name in ("node-a", "node-b"):
        app.config["SEARCH_INDEX_DIR"] = str(tmp_path / name)
        search.drain()
        answer = search.query(word)
        results[name] = ([h.doc_id for h in answer.hits], answer.facets)
    assert results["node-a"] == results["node-b"]
    assert len(results["node-a"][0]) == 2
    # A later change reaches both.
    org = db.session.scalars(select(Organisation).where(Organisation.name == f"Nodo uno {word}"))
    db.session.delete(org.one())
    db.session.commit()
    for name in ("node-a", "node-b"):
        app.config["SEARCH_INDEX_DIR"] = str(tmp_path / name)
        search.drain()
        assert search.query(word).total == 1


def test_reindex_rebuilds_everything(word: str) -> None:
    make_org(name=f"Ricostruita uno {word}")
    make_org(name=f"Ricostruita due {word}")
    make_org(name=f"Non verificata {word}", verified=False)
    db.session.commit()
    verified = db.session.scalar(
        select(func.count()).select_from(Organisation).where(Organisation.verified_at.is_not(None))
    )
    assert search.reindex() == verified
    assert sorted(found(word)) == [f"Ricostruita due {word}", f"Ricostruita uno {word}"]
    builds = list((node.index_dir() / node.BUILDS).iterdir())
    assert search.reindex() == verified
    assert len(list((node.index_dir() / node.BUILDS).iterdir())) <= 2
    assert node.current_build(node.index_dir()) not in builds
    # Changes after a rebuild still arrive through the outbox.
    make_org(name=f"Dopo {word}")
    commit_and_drain()
    assert search.query(word).total == 3


def test_a_parallel_rebuild_finds_the_same(app: Flask, word: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Large rebuilds analyse in two processes, one segment each; results are the same."""
    for n in range(30):
        make_org(name=f"Parallela {n} {word}")
    db.session.commit()
    monkeypatch.setitem(app.config, "SEARCH_REINDEX_PROCS", 2)
    total = search.reindex()
    assert total >= 30 and search.query(word).total == 30
    monkeypatch.setitem(app.config, "SEARCH_REINDEX_PROCS", 1)
    assert search.reindex() == total and search.query(word).total == 30


def test_healthy_creates_a_missing_index(app: Flask, db_session: object, tmp_path: Path) -> None:
    app.config["SEARCH_INDEX_DIR"] = str(tmp_path / "new-node")
    assert search.healthy()
    assert node.current_build(tmp_path / "new-node") is not None


def test_healthy_is_false_for_a_broken_index(
    app: Flask, db_session: object, tmp_path: Path
) -> None:
    directory = tmp_path / "broken"
    directory.mkdir()
    (directory / node.BUILDS / "gone").mkdir(parents=True)
    (directory / node.BUILDS / "gone" / "_MAIN_1.toc").write_text("garbage")
    (directory / node.CURRENT).symlink_to("builds/gone")
    app.config["SEARCH_INDEX_DIR"] = str(directory)
    assert not search.healthy()


# --- Pages ------------------------------------------------------------------------------


def test_search_page_shows_hits(client: object, word: str) -> None:
    make_org(name=f"Pagina di ricerca {word}", description="Magazzinieri cercasi.")
    commit_and_drain()
    response = client.get(f"/search?q=magazziniere+{word}")  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert f"Pagina di ricerca {word}".encode() in response.data
    response = client.get(f"/search?q=%22giardin*+AND+%28+{word}")  # type: ignore[attr-defined]
    assert response.status_code == 200


def test_healthz_reports_search_ok(client: object) -> None:
    response = client.get("/healthz")  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert response.json["checks"]["search"] == "ok"


# --- Units ------------------------------------------------------------------------------


def test_document_fields() -> None:
    from datetime import UTC, datetime

    from portal.search.schema import endpoint_from_json, to_fields

    fields = to_fields(
        "vacancy",
        7,
        {
            "title": "Cuoco",
            "body": "Cucina " * 100,
            "title_en": "Cook",
            "body_en": "Kitchen work",
            "kind": "internship",
            "tags": ["onsite_tutor", "step-free access"],
            "published": datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
            "url_endpoint": ("employers.vacancy_detail", {"vacancy_id": 7}),
            "ignored": object(),
        },
    )
    assert fields["uid"] == "vacancy:7"
    assert fields["snippet"].endswith("…") and len(fields["snippet"]) <= 241
    assert fields["snippet_en"] == "Kitchen work"
    assert fields["tags"] == "onsite_tutor,step-free access"
    assert fields["published"] == datetime(2026, 1, 2, 3, 4)  # naive UTC for Whoosh
    assert endpoint_from_json(fields["url_endpoint"]) == (
        "employers.vacancy_detail",
        {"vacancy_id": 7},
    )
    assert "ignored" not in fields


def test_plain_query_words() -> None:
    from portal.search.querying import plain_clauses

    (gardener,) = plain_clauses("the gardeners")  # "the" is an English stop word
    assert ("title_en", "garden") in gardener.terms
    assert ("title", "gardeners") in gardener.terms  # Italian fields: no English stems
    (company,) = plain_clauses("dell'azienda")
    assert company.terms == (
        ("title", "aziend"),
        ("body", "aziend"),
        ("title_en", "azienda"),
        ("body_en", "azienda"),
    )
    assert plain_clauses("cuoco Cuoco") == plain_clauses("cuoco")  # repeated words count once
    assert plain_clauses("il la di") == []
