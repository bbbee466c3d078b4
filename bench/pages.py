"""Public pages in process (Flask test client, warm, page cache off): p50 server time.

``python -m bench pages``: the pages of the HTTP benchmark, rendered for an anonymous
reader, each ``BENCH_PAGE_REPEAT`` times (default 30), median and p95 in milliseconds.
"""

from __future__ import annotations

import os
import re
import statistics

from flask import Flask

from bench.common import p95, report, timed
from bench.http import PAGES


def run(app: Flask) -> None:
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
        assert client.get(path).status_code == 200, path

        samples = timed(lambda path=path: client.get(path), repeat)
        report(f"in process {template} p50", statistics.median(samples), "ms")
        report(f"in process {template} p95", p95(samples), "ms")
