"""Public pages in process (Flask test client, warm, page cache off): p50 server time.

``python -m bench pages``: the pages of the HTTP benchmark, rendered for an anonymous
reader, each ``BENCH_PAGE_REPEAT`` times (default 30), median and p95 in milliseconds, on
each database of ``BENCH_DATABASES`` (default ``sqlite,postgresql``; PostgreSQL is the
benchmark's own pgserver, seeded like SQLite).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys

from flask import Flask

from bench.common import ROOT, p95, report, timed
from bench.http import PAGES


def measure(app: Flask, name: str) -> None:
    app.config["PAGE_CACHE"] = False
    repeat = int(os.environ.get("BENCH_PAGE_REPEAT", 30))
    client = app.test_client()
    listing = client.get("/vacancies").get_data(as_text=True)
    shop = client.get("/shop").get_data(as_text=True)
    ids = {
        "vacancy": re.findall(r'href="/vacancies/(\d+)"', listing)[0],
        "product": re.findall(r'href="/shop/products/(\d+)"', shop)[0],
    }
    for template in PAGES:
        path = template.format(**ids)
        for _ in range(3):  # warm: searchers opened, totals remembered
            assert client.get(path).status_code == 200, path
        samples = timed(lambda path=path: client.get(path), repeat)
        report(f"in process {name} {template} p50", statistics.median(samples), "ms")
        report(f"in process {name} {template} p95", p95(samples), "ms")


def run(app: Flask) -> None:
    """Each database in a process of its own, as a server's would be (not the process
    that seeded the data and ran the other benchmarks, whose heap the collector walks)."""
    from bench.http import database_env, prepare_in

    for name in os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(","):
        env = database_env(name)
        prepare_in(env)
        code = "from bench.common import bench_app; from bench.pages import measure; "
        code += f"measure(bench_app(), {name!r})"
        subprocess.run(  # noqa: S603 - this interpreter
            [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, check=True
        )
