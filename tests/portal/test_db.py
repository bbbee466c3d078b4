"""Pagination and planner statistics."""

from __future__ import annotations

from sqlalchemy import select

from portal import db
from portal.models import Organisation
from tests.factories import make_org


def _orgs_named(prefix: str):
    return (
        select(Organisation).where(Organisation.name.startswith(prefix)).order_by(Organisation.name)
    )


def test_paginate_counts_exactly_by_default(db_session):
    for n in range(5):
        make_org(name=f"Paginata {n}")
    page = db.paginate(_orgs_named("Paginata"), page=2, per_page=2)
    assert [o.name for o in page.items] == ["Paginata 2", "Paginata 3"]
    assert (page.total, page.pages, page.total_capped) == (5, 3, False)
    assert page.has_prev and page.has_next


def test_paginate_stops_counting_at_the_limit(db_session):
    for n in range(5):
        make_org(name=f"Limitata {n}")
    capped = db.paginate(_orgs_named("Limitata"), page=1, per_page=2, count_limit=3)
    assert (capped.total, capped.total_capped, capped.pages) == (3, True, 2)
    assert [o.name for o in capped.items] == ["Limitata 0", "Limitata 1"]
    exact = db.paginate(_orgs_named("Limitata"), page=1, per_page=2, count_limit=5)
    assert (exact.total, exact.total_capped) == (5, False)


def test_analyze_gives_the_planner_statistics(db_session):
    db.analyze()  # must work inside the test's transaction on both backends
    assert db.paginate(_orgs_named("Nessuna")).total == 0
