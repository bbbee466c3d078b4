"""Employers: vacancy list and search page throughput with 50,000 vacancies, beside a
trivial route (/robots.txt) served the same way in the same run, as a ratio."""

from __future__ import annotations

import time

from flask import Flask
from sqlalchemy import func, select

from bench.common import p95, report

REQUESTS = 100
PAGES = {
    "trivial route /robots.txt": "/robots.txt",
    "vacancy list page": "/vacancies",
    "vacancy list, Pordenone within 30 km": "/vacancies?comune=093033&radius_km=30",
    "vacancy search page (q=magazziniere)": "/vacancies?q=magazziniere",
    "site search page (q=cuoco)": "/search?q=cuoco",
}


def run(app: Flask) -> None:
    from employers.models import Vacancy
    from portal import db

    with app.app_context():
        count = db.session.execute(select(func.count()).select_from(Vacancy)).scalar_one()
    report("employers vacancies in the database", count, "vacancies")
    client = app.test_client()
    baseline = None
    for label, path in PAGES.items():
        client.get(path)  # warm up caches, as a running server would be
        samples = []
        started = time.perf_counter()
        for _ in range(REQUESTS):
            t0 = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        rate = REQUESTS / (time.perf_counter() - started)
        baseline = baseline or rate
        report(f"employers {label} throughput", rate, "req/s")
        report(f"employers {label} p95", p95(samples), "ms")
        report(f"employers {label} vs trivial route", rate / baseline, "ratio")
