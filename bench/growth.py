"""Cost growth: the public vacancy pages at 5,000, 50,000 and 500,000 published vacancies.

``python -m bench growth`` keeps one instance per scale (``BENCH_GROWTH_SCALES``, default
``5000,50000,500000``) under ``<bench instance>/growth-<n>/``, each with its own SQLite
database and search index: the small demo, ``BENCH_GROWTH_COMPANIES`` (5,000) verified
companies at every scale, so that only the vacancies grow, and ``n`` public vacancies.
Seeding is skipped when the data is there; the index is rebuilt only when the data
changed. The public vacancies expire ten years after seeding (the seeders give 5 to 60
days), so a run on a later day sees the same ``n`` vacancies and reuses the index.

Each page is rendered in process (Flask test client, warm, page cache off)
``BENCH_PAGE_REPEAT`` times (30); the p50 per scale, the ratio of the largest scale's
p50 to the smallest's, and a plot of p50 against the number of vacancies (log scale),
saved to ``docs/bench-growth.png`` (``BENCH_GROWTH_PNG``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select, update

from bench.common import ROOT, bench_instance, report, timed

PAGES = [
    "/vacancies",
    "/vacancies?q=magazziniere",
    "/vacancies?q=cuoco+pizzeria",
    "/vacancies/{vacancy}",
    "/search?q=cuoco",
    "/vacancies?page=50",
]
VACANCY_LINK = re.compile(r'href="/vacancies/(\d+)"')


def scales() -> list[int]:
    raw = os.environ.get("BENCH_GROWTH_SCALES", "5000,50000,500000")
    return sorted({int(s) for s in raw.replace("_", "").split(",") if s.strip()})


def label(n: int) -> str:
    """5000 → "5k", 500000 → "500k"."""
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def shown(page: str) -> str:
    return page.replace("{vacancy}", "<id>")


def growth_app(n: int) -> Flask:
    from portal import create_app

    instance = bench_instance() / f"growth-{n}"
    instance.mkdir(parents=True, exist_ok=True)
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / 'bench.db'}",
            "SEARCH_INDEX_DIR": str(instance / "search"),
            "RATELIMIT_ENABLED": False,
            "LOG_JSON": False,
        }
    )
    app.logger.setLevel(logging.WARNING)
    return app


# --- Seeding ----------------------------------------------------------------------------


def _public_count(today: date) -> int:
    from employers.services import public_vacancy_select
    from portal import db

    counted = public_vacancy_select(today).with_only_columns(func.count())
    return db.session.execute(counted).scalar_one()


def _keep_public(today: date) -> None:
    """Move the public vacancies' expiry ten years on (once), so reruns see the same set.

    The seeders set expiry 5 to 60 days after the seeding day; only the listing's filter
    reads it, so a later day changes nothing else. Expired vacancies stay expired.
    """
    from employers.models import PUBLISHED, Vacancy
    from portal import db

    public = (Vacancy.status == PUBLISHED, Vacancy.expires_on >= today)
    earliest = db.session.scalar(select(func.min(Vacancy.expires_on)).where(*public))
    if earliest is not None and earliest < today + timedelta(days=365):
        db.session.execute(
            update(Vacancy)
            .where(*public)
            .values(expires_on=func.date(Vacancy.expires_on, "+3650 days")),
            execution_options={"synchronize_session": False},
        )
        db.session.commit()


def _fingerprint(today: date) -> dict[str, Any]:
    """What the index was built from: rebuild when any of it changes."""
    from employers.models import PUBLISHED, Vacancy
    from portal import db
    from portal.models import Organisation
    from portal.search import node
    from portal.search.schema import SCHEMA_VERSION

    build = node.current_build(node.index_dir())
    return {
        "public_vacancies": _public_count(today),
        "max_vacancy_id": db.session.scalar(select(func.max(Vacancy.id))),
        "min_expires": str(
            db.session.scalar(
                select(func.min(Vacancy.expires_on)).where(
                    Vacancy.status == PUBLISHED, Vacancy.expires_on >= today
                )
            )
        ),
        "organisations": db.session.scalar(select(func.count()).select_from(Organisation)),
        "build": build.name if build is not None and node.has_index(build) else None,
        "schema": SCHEMA_VERSION,
    }


def _indexed(app: Flask, day: date) -> int:
    """Public vacancies the search index holds on ``day``."""
    from portal import search

    with app.test_request_context():  # hits carry URLs
        return search.query("", doc_types=["vacancy"], per_page=1, today=day).total


def _index_is_current(app: Flask, today: date) -> bool:
    """The index holds the public vacancies, today and in a year (their expiry dates)."""
    days = (today, today + timedelta(days=365))
    return all(_indexed(app, day) == _public_count(day) for day in days)


def prepare(app: Flask, n: int) -> None:
    """Migrate, seed ``n`` public vacancies (once), refresh statistics and the index."""
    from employers.demo import seed_large
    from employers.models import Vacancy
    from portal import db, demo, search
    from portal.db import utcnow
    from portal.migrate import upgrade

    def echo(message: str) -> None:
        print(f"growth {n}: {message}", flush=True)

    companies = int(os.environ.get("BENCH_GROWTH_COMPANIES", 5_000))
    marker = Path(app.instance_path) / "index.json"
    with app.app_context():
        started = time.perf_counter()
        upgrade()
        today = utcnow().date()
        if _public_count(today) < n:
            demo.seed(scale="small", echo=lambda _msg: None)
            demo._seed_large_directory(echo, target=companies)
            # seed_large counts every vacancy: add the demo's drafts and closed ones.
            total = db.session.scalar(select(func.count()).select_from(Vacancy))
            seed_large(echo, today, target=n + total - _public_count(today))
            report(f"growth {n} seeding", time.perf_counter() - started, "s")
        _keep_public(today)
        state = _fingerprint(today)
        known = json.loads(marker.read_text()) if marker.exists() else None
        if known != state or not _index_is_current(app, today):
            db.analyze()
            echo(f"rebuilding the search index ({state['public_vacancies']} vacancies)...")
            started = time.perf_counter()
            documents = search.reindex()
            elapsed = time.perf_counter() - started
            echo(f"indexed {documents} documents in {elapsed:.0f} s")
            report(f"growth {n} search reindex", elapsed, "s")
            marker.write_text(json.dumps(_fingerprint(today), sort_keys=True))
        report(f"growth {n} public vacancies", _public_count(today), "vacancies")
        report(f"growth {n} public vacancies in the index", _indexed(app, today), "vacancies")
        assert _index_is_current(app, today), "the index does not hold the public vacancies"


# --- Measuring --------------------------------------------------------------------------


def forget_answers(app: Flask) -> None:
    """What a process remembers between requests: listing totals and facet counts
    (portal.memo) and the search index's answers. Cleared, a request pays for a question
    nobody asked since the data changed."""
    from portal import memo
    from portal.search import querying

    with app.app_context():
        memo.clear()
    querying._answers.clear()


def measure(app: Flask, n: int, repeat: int) -> dict[str, dict[str, float]]:
    """p50 milliseconds of each page, rendered in process with the page cache off: as
    repeated (what readers of a public page mostly see) and as a new question (totals,
    facet counts and search answers computed afresh for every request)."""
    app.config["PAGE_CACHE"] = False
    client = app.test_client()
    listing = client.get("/vacancies").get_data(as_text=True)
    vacancy = VACANCY_LINK.findall(listing)[0]
    medians: dict[str, dict[str, float]] = {"repeat": {}, "new": {}}
    for template in PAGES:
        path = template.format(vacancy=vacancy)
        response = client.get(path)  # warm, and the page must work
        assert response.status_code == 200, (path, response.status_code)
        if "q=" in path:  # how much the page shows: few hits render quickly
            shown_ids = set(VACANCY_LINK.findall(response.get_data(as_text=True)))
            report(f"growth {n} {template} listed", len(shown_ids), "vacancies")
        repeated = timed(lambda p=path: client.get(p), repeat)
        medians["repeat"][template] = statistics.median(repeated)
        fresh = []
        for _ in range(repeat):
            forget_answers(app)
            fresh += timed(lambda p=path: client.get(p), 1)
        medians["new"][template] = statistics.median(fresh)
        report(f"growth {n} {shown(template)} p50", medians["repeat"][template], "ms")
        report(f"growth {n} {shown(template)} new question p50", medians["new"][template], "ms")
    return medians


def measure_scale(n: int, repeat: int) -> None:
    """Prepare and measure one scale; the last line printed is the figures as JSON."""
    app = growth_app(n)
    prepare(app, n)
    print(json.dumps(measure(app, n, repeat)), flush=True)


def run(app: Flask | None = None) -> None:
    repeat = int(os.environ.get("BENCH_PAGE_REPEAT", 30))
    results: dict[int, dict[str, dict[str, float]]] = {}
    for n in scales():
        # Each scale in a process of its own, as a server would be: one process holding
        # every scale's caches would measure its own garbage collector as well.
        code = f"from bench.growth import measure_scale; measure_scale({n}, {repeat})"
        done = subprocess.run(  # noqa: S603 - this interpreter
            [sys.executable, "-c", code], cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True
        )
        lines = done.stdout.splitlines()
        print("\n".join(lines[:-1]), flush=True)
        results[n] = json.loads(lines[-1])
    low, high = min(results), max(results)
    if low != high:
        for kind, name in (("repeat", ""), ("new", " new question")):
            for page in PAGES:
                ratio = results[high][kind][page] / results[low][kind][page]
                report(f"growth {shown(page)}{name} {label(high)}/{label(low)}", ratio, "x")
    png = Path(os.environ.get("BENCH_GROWTH_PNG", ROOT / "docs" / "bench-growth.png"))
    plot(results, png)
    print(f"growth plot: {png}", flush=True)


# --- The plot ---------------------------------------------------------------------------

COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def nice_step(top: float, ticks: int = 5) -> float:
    """1, 2 or 5 times a power of ten, giving about ``ticks`` ticks up to ``top``."""
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def plot(
    results: dict[int, dict[str, dict[str, float]]],
    path: Path,
    size: tuple[int, int] = (640, 360),
) -> None:
    """p50 per page against the number of vacancies (log x), one colour per page: thick
    lines for repeated views, thin ones for new questions."""
    from PIL import Image, ImageDraw, ImageFont

    height = size[1]
    font = ImageFont.load_default(size=12)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    left, right, top, bottom = 56, 410, 50, height - 46  # the plot area
    ns = sorted(results)
    lo, hi = math.log10(ns[0]), math.log10(ns[-1])
    peak = max(ms for r in results.values() for k in r.values() for ms in k.values()) * 1.05
    step = nice_step(peak)
    ymax = step * math.ceil(peak / step)

    def xy(n: int, ms: float) -> tuple[float, float]:
        x = left + 20 + (math.log10(n) - lo) / ((hi - lo) or 1) * (right - left - 40)
        return x, bottom - ms / ymax * (bottom - top)

    draw.text((8, 6), "Public vacancy pages, p50 in process (SQLite, cache off)", "black", font)
    for i in range(round(ymax / step) + 1):  # horizontal grid and y ticks
        y = xy(ns[0], i * step)[1]
        draw.line([(left, y), (right, y)], "#e5e5e5")
        draw.text((left - 6, y), f"{i * step:g}", "black", font, anchor="rm")
    for n in ns:  # x ticks at the measured scales
        x = xy(n, 0)[0]
        draw.line([(x, top), (x, bottom)], "#e5e5e5")
        draw.text((x, bottom + 6), label(n), "black", font, anchor="mt")
    draw.rectangle([left, top, right, bottom], outline="black")
    draw.text(
        ((left + right) / 2, height - 8), "published vacancies (log scale)", "black", font, "md"
    )
    draw.text((8, top - 16), "p50 (ms)", "black", font)
    for i, page in enumerate(PAGES):
        colour = COLOURS[i % len(COLOURS)]
        for kind, width in (("new", 1), ("repeat", 3)):
            points = [xy(n, results[n][kind][page]) for n in ns]
            draw.line(points, colour, width=width, joint="curve")
            for x, y in points:
                r = width + 1
                draw.ellipse([x - r, y - r, x + r, y + r], colour)
        y = top + 8 + i * 20  # the legend, right of the plot
        draw.line([(right + 14, y), (right + 34, y)], colour, width=3)
        draw.text((right + 40, y), shown(page), "black", font, anchor="lm")
    y = top + 8 + len(PAGES) * 20 + 10
    draw.text((right + 14, y), "thick: repeated views", "black", font, anchor="lm")
    draw.text((right + 14, y + 16), "thin: new questions", "black", font, anchor="lm")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True)


if __name__ == "__main__":
    run()
