"""OCDS import of a large JSON Lines file: releases/s and peak memory.

Generates ``BENCH_OCDS_MB`` megabytes (default 200) of OCDS 1.1 releases, one per line, as
publishers' bulk files are: each process has a tender release and an award release (two
lines, merged by ocdsmerge into one compiled release), ten items with UNSPSC or CPV
classifications, parties with addresses. The file is written to a temporary folder and
imported through ``ocds.import_stream`` (as ``flask tenders import`` does), with the
progress callback. Peak RSS is the process's high-water mark (``ru_maxrss``) measured
before and after: bounded memory means it grows by a few tens of MB whatever the file size.
"""

from __future__ import annotations

import json
import os
import resource
import tempfile
import time
import uuid
from pathlib import Path

from flask import Flask

from bench.common import report

BODY = "Comune di Benchmark (OCDS bulk)"


def _release(ocid: str, n: int, tag: str) -> dict:
    items = [
        {
            "id": str(i),
            "description": f"Fornitura {n}-{i}: materiale di consumo per gli uffici comunali "
            "e servizi accessori di consegna, installazione e ritiro dell'usato",
            "classification": {"scheme": "CPV", "id": "30192000", "description": "Forniture"}
            if i % 2
            else {"scheme": "UNSPSC", "id": "44120000", "description": "Office supplies"},
            "quantity": i + 1,
            "unit": {"name": "pezzo", "value": {"amount": 12.5 + i, "currency": "EUR"}},
        }
        for i in range(10)
    ]
    release = {
        "ocid": ocid,
        "id": f"{ocid}-{tag}",
        "date": "2026-03-01T10:00:00Z" if tag == "tender" else "2026-05-01T10:00:00Z",
        "tag": [tag],
        "initiationType": "tender",
        "language": "it",
        "parties": [
            {
                "id": "IT-CF-00000000001",
                "name": BODY,
                "roles": ["buyer", "procuringEntity"],
                "address": {"locality": "Pordenone", "countryName": "Italia"},
            }
        ],
        "buyer": {"id": "IT-CF-00000000001", "name": BODY},
    }
    if tag == "tender":
        release["tender"] = {
            "id": f"T-{n}",
            "title": f"Gara di benchmark {n}",
            "description": "Procedura aperta per la fornitura di materiale di consumo. " * 3,
            "status": "active",
            "value": {"amount": 100000 + n, "currency": "EUR"},
            "procurementMethod": "open",
            "items": items,
            "tenderPeriod": {
                "startDate": "2026-03-01T10:00:00Z",
                "endDate": "2099-04-01T12:00:00Z",
            },
        }
    else:
        supplier = {"id": f"IT-CF-9{n:010d}", "name": f"Fornitore {n} S.r.l."}
        release["parties"].append({**supplier, "roles": ["supplier"]})
        release["awards"] = [
            {
                "id": f"A-{n}",
                "status": "active",
                "value": {"amount": 95000 + n, "currency": "EUR"},
                "suppliers": [supplier],
                "items": items[:3],
            }
        ]
    return release


def _write(path: Path, megabytes: int) -> int:
    target = megabytes * 1024 * 1024
    run = uuid.uuid4().hex[:8]
    written = count = n = 0
    with path.open("w", encoding="utf-8") as fh:
        while written < target:
            ocid = f"ocds-bench-{run}-{n:07d}"
            for tag in ("tender", "award"):
                line = json.dumps(_release(ocid, n, tag), ensure_ascii=False) + "\n"
                fh.write(line)
                written += len(line.encode("utf-8"))
                count += 1
            n += 1
    return count


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run(app: Flask) -> None:
    from brokerage.tenders import ocds
    from portal import accounts, db
    from portal.db import utcnow
    from portal.models import PUBLIC_BODY

    megabytes = int(os.environ.get("BENCH_OCDS_MB", "200"))
    with tempfile.TemporaryDirectory() as folder, app.test_request_context():
        path = Path(folder) / "releases.jsonl"
        releases = _write(path, megabytes)
        body = accounts.find_organisation(BODY)
        if body is None:
            body = accounts.create_organisation(BODY, PUBLIC_BODY, comune_code="093033")
            body.verified_at = utcnow()
            db.session.commit()
        before = _rss_mb()
        started = time.perf_counter()
        with path.open("rb") as fh:
            result = ocds.import_stream(fh, body, None, utcnow().date(), progress=lambda _n: None)
        db.session.commit()
        elapsed = time.perf_counter() - started
        after = _rss_mb()
        assert result.releases == releases
        report(
            f"tenders OCDS JSON Lines import ({megabytes} MB, {releases:,} releases)",
            releases / elapsed,
            "releases/s",
        )
        report("tenders OCDS JSON Lines import, total time", elapsed, "s")
        report("tenders OCDS JSON Lines import, peak RSS", after, "MB")
        report("tenders OCDS JSON Lines import, peak RSS growth", after - before, "MB")
