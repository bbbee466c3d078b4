"""Search: latency of one- and two-word Italian queries, reindex throughput."""

from __future__ import annotations

import time

from flask import Flask

from bench.common import report, report_latency, timed

SINGLE = [
    "magazziniere",
    "giardinieri",
    "cuoca",
    "pulizie",
    "logistica",
    "falegnameria",
    "camerieri",
    "operaio",
    "tirocinio",
    "città",
    "meccanica",
    "vivai",
]
DOUBLE = [
    "operai magazzino",
    "cuoco ristorazione",
    "giardiniere tirocinio",
    "logistica torino",
    "pulizie pordenone",
    "impresa alimentari",
    "tutor aziendale",
    "costruzioni roma",
    "servizi digitali",
    "cantina vini",
]


def run(app: Flask) -> None:
    from portal import search

    with app.test_request_context():
        started = time.perf_counter()
        documents = search.reindex()
        elapsed = time.perf_counter() - started
        report("search documents indexed", documents, "docs")
        report("search reindex throughput", documents / elapsed, "docs/s")
        search.query("warm up")
        for label, queries in (("one word", SINGLE), ("two words", DOUBLE)):
            samples: list[float] = []
            for q in queries:
                samples += timed(lambda q=q: search.query(q), repeat=10)
            report_latency(f"search latency, {label}", samples)
