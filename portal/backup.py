"""Backups: ``flask backup create FOLDER``, ``flask backup restore ARCHIVE``,
``flask backup prune FOLDER``.

One archive, ``ponte-backup-<UTC date and time>.tar.gz``, holds:

- ``database.pgdump`` (PostgreSQL: ``pg_dump -Fc`` of a snapshot exported by the
  transaction that also counted the rows) or ``database.sqlite3`` (SQLite: the online
  backup API, a consistent copy while the application writes);
- ``uploads/<kind>/…``: every uploaded file (``portal.uploads.FOLDERS``), copied after the
  database, so every file the database refers to is there;
- ``manifest.json``: format, creation time, database kind, schema revisions, row counts
  per table (of the dumped snapshot), SHA-256 of the database file and of every file, and a
  check token of the data-encryption key (a Fernet token of a fixed text: it reveals
  nothing of the key, and tells at restore whether this environment's key can read the
  special-category data).

Restore goes into the database and instance folder the environment names, which must be
empty; it checks every checksum before it writes anything, restores, compares the row
counts with the manifest and rebuilds this node's search index. Keys are never in the
archive: keep ``SECRET_KEY`` and ``DATA_ENCRYPTION_KEY`` apart from the backups.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import Connection, func, inspect, select, table, text
from sqlalchemy.engine import make_url

from portal import db

FORMAT = 1
MANIFEST = "manifest.json"
PG_FILE = "database.pgdump"
SQLITE_FILE = "database.sqlite3"
UPLOADS = "uploads"
NAME = re.compile(r"^ponte-backup-(\d{8}T\d{6}Z)\.tar\.gz$")
KEY_CHECK = b"ponte backup key check"


class BackupError(click.ClickException):
    """A backup or restore that cannot go on; nothing was changed."""


# --- Helpers -----------------------------------------------------------------------------


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def count_rows(connection: Connection) -> dict[str, int]:
    names = sorted(inspect(connection).get_table_names())
    return {
        name: int(connection.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in names
    }


def revisions(connection: Connection) -> list[str]:
    if "alembic_version" not in inspect(connection).get_table_names():
        return []
    return sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def key_check_token() -> str:
    from portal.crypto import fernet

    return fernet().encrypt(KEY_CHECK).decode()


def key_matches(token: str) -> bool:
    from cryptography.fernet import InvalidToken

    from portal.crypto import fernet

    try:
        return fernet().decrypt(token.encode()) == KEY_CHECK
    except InvalidToken:
        return False


def upload_files() -> Iterator[tuple[str, Path]]:
    """(name in the archive, path) of every uploaded file."""
    from portal.uploads import FOLDERS, folder

    for kind in FOLDERS:
        root = folder(kind)
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            yield f"{UPLOADS}/{kind}/{path.relative_to(root).as_posix()}", path


# --- PostgreSQL tools --------------------------------------------------------------------


def _tool_version(path: str) -> int:
    # The PostgreSQL client tools found by pg_tool, with a list of arguments (no shell).
    out = subprocess.run(  # noqa: S603
        [path, "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else 0


def pg_tool(name: str, server_major: int) -> str:
    """``pg_dump`` or ``pg_restore`` at least as new as the server: ``PG_BIN_DIR`` first,
    then the ``PATH``, then the binaries bundled with pip's ``pgserver`` if installed."""
    candidates: list[str] = []
    configured = current_app.config.get("PG_BIN_DIR") or os.environ.get("PG_BIN_DIR")
    if configured:
        candidates.append(str(Path(configured) / name))
    found = shutil.which(name)
    if found:
        candidates.append(found)
    try:
        import pgserver  # type: ignore[import-untyped]

        candidates.append(str(Path(pgserver.__file__).parent / "pginstall" / "bin" / name))
    except ImportError:
        pass
    seen = []
    for candidate in candidates:
        if not os.access(candidate, os.X_OK):
            continue
        version = _tool_version(candidate)
        seen.append(f"{candidate} ({version})")
        if version >= server_major:
            return candidate
    raise BackupError(
        f"no {name} for PostgreSQL {server_major} (found: {', '.join(seen) or 'none'}); "
        "install postgresql-client or set PG_BIN_DIR"
    )


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and the environment that carries it."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def server_major(connection: Connection) -> int:
    return int(connection.execute(text("SHOW server_version_num")).scalar_one()) // 10000


# --- Create --------------------------------------------------------------------------------


@dataclass
class Dumped:
    file: Path
    counts: dict[str, int]
    revisions: list[str]


def dump_postgresql(work: Path) -> Dumped:
    """``pg_dump -Fc`` of the snapshot in which the rows were counted."""
    target = work / PG_FILE
    engine = db.engine()
    with engine.connect() as raw:
        connection = raw.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            counts = count_rows(connection)
            found = revisions(connection)
            major = server_major(connection)
            uri, env = libpq_target(current_app.config["DATABASE_URL"])
            result = subprocess.run(  # noqa: S603 - pg_dump, arguments as a list
                [
                    pg_tool("pg_dump", major),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                    f"--dbname={uri}",
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return Dumped(target, counts, found)


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("DATABASE_URL names no SQLite file")
    return Path(database)


def dump_sqlite(work: Path) -> Dumped:
    """SQLite's online backup: one consistent copy even while the application writes."""
    target = work / SQLITE_FILE
    source = sqlite3.connect(sqlite_path(current_app.config["DATABASE_URL"]), timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one read snapshot
    finally:
        source.close()
        copy.close()
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            counts = count_rows(connection)
            found = revisions(connection)
    finally:
        engine.dispose()
    return Dumped(target, counts, found)


def create(dest: Path, now: datetime | None = None) -> Path:
    """Write one archive into ``dest``; returns its path."""
    dest.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    archive = dest / f"ponte-backup-{stamp}.tar.gz"
    if archive.exists():
        raise BackupError(f"{archive} exists already")
    dialect = db.engine().dialect.name
    with tempfile.TemporaryDirectory(dir=dest, prefix=".ponte-backup-") as tmp:
        work = Path(tmp)
        dumped = dump_postgresql(work) if dialect == "postgresql" else dump_sqlite(work)
        files = {name: (path, sha256(path)) for name, path in upload_files()}
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat(),
            "database": {
                "dialect": dialect,
                "file": dumped.file.name,
                "sha256": sha256(dumped.file),
                "revisions": dumped.revisions,
                "row_counts": dumped.counts,
            },
            "files": {name: digest for name, (_path, digest) in files.items()},
            "key_check": key_check_token(),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        partial = work / (archive.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(work / MANIFEST, arcname=MANIFEST)
            tar.add(dumped.file, arcname=dumped.file.name)
            for name, (path, _digest) in files.items():
                tar.add(path, arcname=name)
        os.chmod(partial, 0o600)
        os.replace(partial, archive)  # the archive appears whole, or not at all
    return archive


# --- Restore --------------------------------------------------------------------------------


def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = []
    for member in tar.getmembers():
        name = member.name
        if name.startswith("/") or ".." in Path(name).parts or not (member.isfile()):
            raise BackupError(f"unexpected entry in the archive: {name}")
        members.append(member)
    return members


def read_archive(archive: Path, work: Path) -> dict[str, Any]:
    """Unpack into ``work`` and check the manifest and every checksum."""
    if not archive.is_file():
        raise BackupError(f"no archive at {archive}")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = _safe_members(tar)
            tar.extractall(work, members=members, filter="data")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(f"{archive} is not a readable backup: {error}") from error
    try:
        manifest = json.loads((work / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError("the archive has no readable manifest.json") from error
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    database = manifest["database"]
    if sha256(work / database["file"]) != database["sha256"]:
        raise BackupError(f"{database['file']} does not match its checksum")
    listed = set(manifest["files"])
    present = (
        {p.relative_to(work).as_posix() for p in (work / UPLOADS).rglob("*") if p.is_file()}
        if (work / UPLOADS).is_dir()
        else set()
    )
    if listed != present:
        raise BackupError(
            f"files differ from the manifest: {len(listed - present)} missing, "
            f"{len(present - listed)} unexpected"
        )
    for name, digest in manifest["files"].items():
        if sha256(work / name) != digest:
            raise BackupError(f"{name} does not match its checksum")
    return manifest


def check_target(manifest: dict[str, Any]) -> None:
    """The environment's database and upload folders must be empty; the schema known."""
    from portal.uploads import FOLDERS, folder

    dialect = db.engine().dialect.name
    if dialect != manifest["database"]["dialect"]:
        raise BackupError(
            f"the backup is of a {manifest['database']['dialect']} database, "
            f"DATABASE_URL names {dialect}"
        )
    with db.engine().connect() as connection:
        tables = inspect(connection).get_table_names()
    if tables:
        raise BackupError(
            f"the database is not empty ({len(tables)} tables): restore needs an empty one"
        )
    for kind in FOLDERS:
        path = folder(kind)
        if path.is_dir() and any(path.iterdir()):
            raise BackupError(f"the upload folder {path} is not empty")
    from alembic.script import ScriptDirectory

    from portal.migration_config import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = set(manifest["database"]["revisions"]) - known
    if unknown:
        raise BackupError(
            f"the backup's schema ({', '.join(sorted(unknown))}) is newer than this code: "
            "restore it with the release that made it"
        )
    if not key_matches(manifest.get("key_check", "")):
        raise BackupError(
            "DATA_ENCRYPTION_KEY (or, without it, SECRET_KEY) is not the key of the backup: "
            "the special-category data would be unreadable; set the key used when it was made"
        )


def restore_postgresql(dump: Path) -> None:
    engine = db.engine()
    with engine.connect() as connection:
        major = server_major(connection)
    uri, env = libpq_target(current_app.config["DATABASE_URL"])
    result = subprocess.run(  # noqa: S603 - pg_restore, arguments as a list
        [
            pg_tool("pg_restore", major),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={uri}",
            str(dump),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")


def restore_sqlite(copy: Path) -> None:
    target = sqlite_path(current_app.config["DATABASE_URL"])
    db.engine().dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(copy)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
    finally:
        source.close()
        destination.close()


def restore(archive: Path, echo: Callable[[str], Any] = print) -> dict[str, Any]:
    """Restore ``archive`` into the environment's empty database and instance folder."""
    from portal import search
    from portal.uploads import folder

    with tempfile.TemporaryDirectory(prefix="ponte-restore-") as tmp:
        work = Path(tmp)
        manifest = read_archive(archive, work)
        check_target(manifest)
        database = manifest["database"]
        echo(
            f"Archive verified: {len(manifest['files'])} files, "
            f"{len(database['row_counts'])} tables."
        )
        if database["dialect"] == "postgresql":
            restore_postgresql(work / database["file"])
        else:
            restore_sqlite(work / database["file"])
        db.session.remove()
        with db.engine().connect() as connection:
            counts = count_rows(connection)
        if counts != database["row_counts"]:
            wrong = sorted(
                t
                for t in set(counts) | set(database["row_counts"])
                if counts.get(t) != database["row_counts"].get(t)
            )
            raise BackupError(f"row counts differ from the manifest after restore: {wrong}")
        echo(f"Database restored: {sum(counts.values())} rows, counts as in the manifest.")
        for name in manifest["files"]:
            _, kind, relative = name.split("/", 2)
            target = folder(kind) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(work / name, target)
        echo(f"Uploaded files restored: {len(manifest['files'])}.")
    indexed = search.reindex()
    echo(f"Search index rebuilt: {indexed} documents.")
    return manifest


# --- Retention -----------------------------------------------------------------------------


def archives(folder: Path) -> list[tuple[datetime, Path]]:
    found = []
    for path in folder.iterdir() if folder.is_dir() else []:
        match = NAME.match(path.name)
        if match:
            when = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            found.append((when, path))
    return sorted(found, reverse=True)


def to_keep(
    found: list[tuple[datetime, Path]], daily: int, weekly: int, monthly: int, now: datetime
) -> set[Path]:
    """The newest archive of each of the last ``daily`` calendar days, ``weekly`` ISO
    weeks and ``monthly`` months (the current one included, in UTC), and always the
    newest of all."""

    def days_back(when: datetime) -> int:
        return (now.date() - when.date()).days

    def weeks_back(when: datetime) -> int:
        monday_now = now.date() - timedelta(days=now.weekday())
        monday = when.date() - timedelta(days=when.weekday())
        return (monday_now - monday).days // 7

    def months_back(when: datetime) -> int:
        return (now.year - when.year) * 12 + now.month - when.month

    keep: set[Path] = set()
    if found:
        keep.add(found[0][1])
    for count, back in ((daily, days_back), (weekly, weeks_back), (monthly, months_back)):
        seen: set[int] = set()
        for when, path in found:  # newest first: the first of each period is its newest
            period = back(when)
            if 0 <= period < count and period not in seen:
                seen.add(period)
                keep.add(path)
    return keep


def prune(
    folder: Path, daily: int, weekly: int, monthly: int, now: datetime | None = None
) -> list[Path]:
    """Delete the archives the retention rule does not keep; returns them."""
    found = archives(folder)
    keep = to_keep(found, daily, weekly, monthly, now or datetime.now(UTC))
    deleted = [path for _when, path in found if path not in keep]
    for path in deleted:
        path.unlink()
    return deleted


# --- Command line ------------------------------------------------------------------------

backup_cli = AppGroup("backup", help="Backups of the database and the uploaded files.")


@backup_cli.command("create")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
def create_command(dest: Path) -> None:
    """Write one archive (database, uploaded files, manifest) into the folder DEST."""
    archive = create(dest)
    manifest = json.loads(_read_member(archive, MANIFEST))
    rows = sum(manifest["database"]["row_counts"].values())
    click.echo(f"{archive} ({rows} rows, {len(manifest['files'])} files)")


def _read_member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read()


@backup_cli.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
def restore_command(archive: Path) -> None:
    """Restore ARCHIVE into the empty database and instance folder of the environment."""
    manifest = restore(archive, echo=click.echo)
    from portal.health import code_heads

    if set(manifest["database"]["revisions"]) != code_heads():
        click.echo("The backup's schema is older than this code: run `flask db upgrade`.")
    click.echo("Restore complete.")


@backup_cli.command("prune")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--daily", default=7, show_default=True, help="Days with one archive kept.")
@click.option("--weekly", default=5, show_default=True, help="Weeks with one archive kept.")
@click.option("--monthly", default=12, show_default=True, help="Months with one archive kept.")
def prune_command(folder: Path, daily: int, weekly: int, monthly: int) -> None:
    """Delete the archives in FOLDER that the retention rule does not keep."""
    deleted = prune(folder, daily, weekly, monthly)
    click.echo(f"Deleted {len(deleted)} archives; {len(archives(folder))} kept.")


def init_app(app: Flask) -> None:
    app.cli.add_command(backup_cli)
