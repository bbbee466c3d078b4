"""Run every benchmark: ``python -m bench [name ...]``."""

from __future__ import annotations

import importlib
import sys

from bench.common import bench_app, prepare

#: Module names under bench/, run in this order; modules add theirs here.
BENCHMARKS = [
    "search",
    "employers",
    "brokerage",
    "tenders",
    "ocds_stream",
    "ethical_products",
    "microcredit",
    "pages",
    "growth",
    "http",  # real HTTP under gunicorn, SQLite and PostgreSQL: the longest, last
]


def main(names: list[str]) -> None:
    app = bench_app()
    print("Preparing the benchmark database (seed --scale large)...", flush=True)
    prepare(app)
    for name in names or BENCHMARKS:
        importlib.import_module(f"bench.{name}").run(app)


if __name__ == "__main__":
    main(sys.argv[1:])
