"""A private PostgreSQL for the benchmarks (pip's pgserver), kept in instance/bench-pg/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PG_DIR = ROOT / "instance" / "bench-pg"


def database_url(data_dir: Path = PG_DIR / "pgdata") -> str:
    """Start (or reuse) the server and return the URL of its ``ponte_bench`` database."""
    import pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'ponte_bench';")
    if "1 row" not in exists:
        server.psql("CREATE DATABASE ponte_bench;")
    return server.get_uri("ponte_bench")
