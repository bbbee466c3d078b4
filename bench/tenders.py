"""Social-clause tenders: OCDS import throughput (1,000 releases in one package) and the
latency of ranking eligible suppliers among 5,000 verified suppliers.

The benchmark makes its own data in the bench database (idempotent): a buying body and
5,000 cooperatives and social farms with CPV capabilities, territories and workforce
declarations. Each run imports a fresh package (new ocids), so it measures creation,
validation, CPV normalisation, clause inference and the eligibility check that tells
suppliers about new tenders.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import func, insert, select

from bench.common import report, report_latency, timed

BODY = "Comune di Benchmark (gare)"
SUPPLIER_PREFIX = "Bench Cooperativa Sociale"
SUPPLIERS = 5_000
RELEASES = 1_000
CODES = [
    "90911200",
    "90919200",
    "77310000",
    "77311000",
    "63100000",
    "63121000",
    "55524000",
    "03221000",
    "98341120",
    "79995100",
    "90511000",
    "60130000",
]
PROVINCES = ["PN", "UD", "FR", "RM", "TO", "MB", "MI", "BO", "NA", "BA"]


def run(app: Flask) -> None:
    from brokerage.tenders import ocds, services
    from brokerage.tenders.models import Tender
    from portal import db
    from portal.db import utcnow

    with app.test_request_context():
        body = _ensure_data()
        today = utcnow().date()
        package = _package(RELEASES)
        started = time.perf_counter()
        result = ocds.import_document(package, body, None, today)
        db.session.commit()
        elapsed = time.perf_counter() - started
        assert len(result.created) == RELEASES
        report("tenders OCDS import (1,000 releases)", RELEASES / elapsed, "releases/s")
        report("tenders OCDS import, total time", elapsed * 1000, "ms")

        tender = db.session.execute(
            select(Tender).where(Tender.id == result.created[0].id)
        ).scalar_one()
        tender.cpv_rows = []
        db.session.flush()
        services.apply_data(
            tender,
            services.TenderData(
                title=tender.title,
                clause_type="reserved",
                cpv_codes=["90911200"],
                comune_code=tender.comune_code,
                value_amount=tender.value_amount,
                deadline=tender.deadline,
            ),
        )
        db.session.commit()
        ranked = services.rank(tender, today, include_ineligible=True)
        eligible = sum(1 for r in ranked if r.eligible)
        report("tenders ranking: suppliers with a related CPV", len(ranked), "suppliers")
        report("tenders ranking: eligible suppliers", eligible, "suppliers")
        services.rank(tender, today)  # warm up
        samples = timed(lambda: services.rank(tender, today), repeat=30)
        report_latency("tenders eligible-supplier ranking (5,000)", samples)
        samples = timed(lambda: services.rank(tender, today, include_ineligible=True), repeat=10)
        report_latency("tenders ranking incl. ineligible (5,000)", samples)


def _ensure_data() -> Any:
    from brokerage.tenders.models import (
        SupplierCapability,
        SupplierProfile,
        SupplierTerritory,
        WorkforceDeclaration,
        cpv_prefix,
    )
    from portal import accounts, db
    from portal.db import utcnow
    from portal.models import (
        COOPERATIVE_B,
        PUBLIC_BODY,
        SOCIAL_FARM_KIND,
        Municipality,
        Organisation,
        slugify,
    )

    body = accounts.find_organisation(BODY)
    if body is None:
        body = accounts.create_organisation(BODY, PUBLIC_BODY, comune_code="093033")
        body.verified_at = utcnow()
        db.session.commit()
    existing = db.session.execute(
        select(func.count())
        .select_from(Organisation)
        .where(Organisation.name.like(SUPPLIER_PREFIX + "%"))
    ).scalar_one()
    missing = SUPPLIERS - existing
    if missing <= 0:
        return body
    rng = random.Random(381)
    places: dict[str, list[str]] = {}
    for code, province in db.session.execute(
        select(Municipality.istat_code, Municipality.province_code).where(
            Municipality.province_code.in_(PROVINCES)
        )
    ):
        places.setdefault(province, []).append(code)
    now = utcnow()
    year = now.date().year - 1
    for start in range(existing, SUPPLIERS, 1000):
        rows = []
        chosen = []
        for n in range(start, min(start + 1000, SUPPLIERS)):
            province = rng.choice(PROVINCES)
            kind = COOPERATIVE_B if rng.random() < 0.8 else SOCIAL_FARM_KIND
            name = f"{SUPPLIER_PREFIX} {n:05d}"
            chosen.append(province)
            rows.append(
                {
                    "name": name,
                    "slug": slugify(name),
                    "kind": kind,
                    "comune_code": rng.choice(places[province]),
                    "register_number": f"B{n:06d}" if kind == COOPERATIVE_B else "",
                    "regional_register": "" if kind == COOPERATIVE_B else f"REG-{n}",
                    "verified_at": now,
                    "description": "",
                    "address": "",
                    "website": "",
                    "email": "",
                    "phone": "",
                    "fiscal_code": "",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        ids = (
            db.session.execute(insert(Organisation).returning(Organisation.id), rows)
            .scalars()
            .all()
        )
        db.session.execute(
            insert(SupplierProfile),
            [
                {
                    "organisation_id": i,
                    "register_evidence": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in ids
            ],
        )
        capabilities, territories, declarations = [], [], []
        for org_id, province in zip(ids, chosen, strict=True):
            for code in rng.sample(CODES, 3):
                capabilities.append(
                    {"organisation_id": org_id, "cpv_code": code, "prefix": cpv_prefix(code)}
                )
            territories.append({"organisation_id": org_id, "scope": "province", "value": province})
            total = rng.randint(5, 80)
            disadvantaged = round(total * rng.uniform(0.2, 0.6), 2)
            declarations.append(
                {
                    "organisation_id": org_id,
                    "year": year,
                    "total_workers": Decimal(total),
                    "disabled": Decimal(str(disadvantaged)),
                    "psychiatric": Decimal(0),
                    "addiction": Decimal(0),
                    "minors": Decimal(0),
                    "prisoners": Decimal(0),
                    "other_disadvantaged": Decimal(0),
                    "evidence": "",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        db.session.execute(insert(SupplierCapability), capabilities)
        db.session.execute(insert(SupplierTerritory), territories)
        db.session.execute(insert(WorkforceDeclaration), declarations)
        db.session.commit()
    return body


def _package(count: int) -> dict[str, Any]:
    from portal.db import utcnow

    rng = random.Random()
    run_id = uuid.uuid4().hex[:8]
    deadline = (utcnow() + timedelta(days=60)).isoformat()
    releases = []
    for n in range(count):
        code = rng.choice(CODES)
        loose = rng.choice([code, f"{code}-{rng.randint(0, 9)}", f"{code}.0"])
        tender: dict[str, Any] = {
            "id": f"T-{n}",
            "title": f"Gara di prova {n} ({code})",
            "status": "active",
            "value": {"amount": Decimal(rng.randint(10_000, 500_000)), "currency": "EUR"},
            "tenderPeriod": {"endDate": deadline},
            "items": [
                {
                    "id": "1",
                    "classification": {"scheme": "CPV", "id": loose},
                    "deliveryAddress": {"locality": "Pordenone (PN)"},
                }
            ],
        }
        if n % 2 == 0:
            tender["otherRequirements"] = {"reservedParticipation": ["shelteredWorkshop"]}
        elif n % 3 == 0:
            tender["sustainability"] = [
                {
                    "goal": "social.disadvantagedEmploymentOpportunities",
                    "strategies": ["contractPerformanceConditions"],
                }
            ]
        releases.append(
            {
                "ocid": f"ocds-bench-{run_id}-{n:05d}",
                "id": f"r-{n}",
                "date": deadline,
                "tag": ["tender"],
                "initiationType": "tender",
                "buyer": {"id": "B", "name": BODY},
                "tender": tender,
            }
        )
    return {
        "uri": "https://bench.example/ocds.json",
        "version": "1.1",
        "publishedDate": deadline,
        "publisher": {"name": BODY},
        "releases": releases,
    }
