"""Italian municipalities (ISTAT), the picker's look-up and distances in km.

Data: portal/data/comuni_it.csv — ISTAT *Elenco dei comuni italiani* (CC BY),
coordinates from the Open Data Sicilia community (see portal/data/README.md).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, select

from portal import db
from portal.models import Municipality

CSV_PATH = Path(__file__).resolve().parent / "data" / "comuni_it.csv"
EARTH_RADIUS_KM = 6371.0088
_LABEL = re.compile(r"^\s*(?P<name>.+?)\s*\((?P<province>[A-Za-z]{2})\)\s*$")


def read_csv(path: Path = CSV_PATH) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            yield {
                "istat_code": row["istat_code"],
                "name": row["name"],
                "province_code": row["province_code"],
                "region": row["region"],
                "lat": float(row["lat"]) if row["lat"] else None,
                "lon": float(row["lon"]) if row["lon"] else None,
            }


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def distance_between(a: Municipality | None, b: Municipality | None) -> float | None:
    """Distance between two municipalities, None when either has no coordinates."""
    if a is None or b is None or None in (a.lat, a.lon, b.lat, b.lon):
        return None
    return distance_km(a.lat, a.lon, b.lat, b.lon)  # type: ignore[arg-type]


def get(code: str | None) -> Municipality | None:
    return db.session.get(Municipality, code) if code else None


def resolve_municipality(text: str) -> Municipality | None:
    """Find the comune a person typed: an ISTAT code, "Name (PR)" or an unambiguous name."""
    text = text.strip()
    if re.fullmatch(r"\d{6}", text):
        return get(text)
    match = _LABEL.match(text)
    stmt = select(Municipality)
    if match:
        stmt = stmt.where(
            func.lower(Municipality.name) == match["name"].lower(),
            Municipality.province_code == match["province"].upper(),
        )
    else:
        stmt = stmt.where(func.lower(Municipality.name) == text.lower())
    found = db.session.execute(stmt.limit(2)).scalars().all()
    return found[0] if len(found) == 1 else None


def suggest(prefix: str, limit: int = 15) -> list[Municipality]:
    """Municipalities whose name starts with ``prefix`` (then contains it), for the picker."""
    prefix = prefix.strip().lower()
    if len(prefix) < 2:
        return []
    starts = (
        db.session.execute(
            select(Municipality)
            .where(func.lower(Municipality.name).like(_escape(prefix) + "%", escape="\\"))
            .order_by(func.length(Municipality.name), Municipality.name)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    return list(starts)


def within_radius(origin: Municipality, radius_km: float) -> list[str]:
    """ISTAT codes of the municipalities within ``radius_km`` of ``origin``.

    A bounding box in SQL narrows the candidates; the exact distance decides.
    """
    if origin.lat is None or origin.lon is None:
        return [origin.istat_code]
    dlat = radius_km / 111.0
    dlon = radius_km / (111.0 * max(math.cos(math.radians(origin.lat)), 0.01))
    rows = db.session.execute(
        select(Municipality.istat_code, Municipality.lat, Municipality.lon).where(
            Municipality.lat.between(origin.lat - dlat, origin.lat + dlat),
            Municipality.lon.between(origin.lon - dlon, origin.lon + dlon),
        )
    ).all()
    return [
        code
        for code, lat, lon in rows
        if distance_km(origin.lat, origin.lon, lat, lon) <= radius_km
    ]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def regions() -> list[str]:
    return list(
        db.session.execute(select(Municipality.region).distinct().order_by(Municipality.region))
        .scalars()
        .all()
    )
