"""Shared set-up for benchmarks: a separate instance seeded with ``--scale large``."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
BENCH_INSTANCE = Path(os.environ.get("PONTE_BENCH_INSTANCE", ROOT / "instance" / "bench"))


def bench_instance() -> Path:
    """The benchmark instance folder (PONTE_BENCH_INSTANCE, read when called)."""
    return Path(os.environ.get("PONTE_BENCH_INSTANCE", BENCH_INSTANCE))


def bench_app() -> Flask:
    """The benchmark application: its own database and index (DATABASE_URL if set)."""
    from portal import create_app

    instance = bench_instance()
    instance.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        "LOG_JSON": False,
        "SEARCH_INDEX_DIR": str(instance / "search"),
        # One client address asks thousands of times a minute: measure the pages, not the
        # rate limits (a load run over HTTP sets RATELIMIT_ENABLED=0 for the same reason).
        "RATELIMIT_ENABLED": False,
    }
    if not os.environ.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'bench.db'}"
    return create_app(config)


def prepare(app: Flask) -> None:
    """Migrate and seed the large demo data set (idempotent, so reruns are quick)."""
    import logging

    from portal import db, demo
    from portal.migrate import upgrade

    app.logger.setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
        demo.seed(scale="large", echo=lambda _msg: None)
        db.analyze()


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Wall-clock milliseconds of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def p95(samples: Iterable[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def report(name: str, value: float, unit: str) -> None:
    print(f"{name:<48} {value:>12.2f} {unit}", flush=True)


def report_latency(name: str, samples: list[float]) -> None:
    report(f"{name} median", statistics.median(samples), "ms")
    report(f"{name} p95", p95(samples), "ms")
