"""flask backup create / restore on both databases: a backup taken while the application
writes restores elsewhere with the same row counts, the same files and the same search
answers; a damaged archive, a wrong key or a non-empty target is refused untouched."""

from __future__ import annotations

import json
import tarfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from portal import backup, create_app, db, search
from portal.migrate import upgrade
from portal.models import LoginAttempt
from tests.factories import make_org, make_user

SECRET = "backup-test-secret-0123456789abcdef"
WORDS = ("arcobaleno", "girasole", "magazziniere")


def make_app(url: str, instance: Path, **extra: object):  # type: ignore[no-untyped-def]
    config = {
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(instance),
        "SEARCH_INDEX_DIR": str(instance / "search"),
        "SECRET_KEY": SECRET,
        "LOG_JSON": False,
        "SERVER_NAME": "ponte.test",
        **extra,
    }
    return create_app(config)


@pytest.fixture(params=["sqlite", "postgresql"])
def urls(request, tmp_path):  # type: ignore[no-untyped-def]
    """(source URL, empty target URL) on one backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 'target.db'}"
    create = request.getfixturevalue("postgres_database")
    return create("ponte_backup_source"), create("ponte_backup_target")


def file_digests(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return {name: backup.sha256(path) for name, path in backup.upload_files()}


def search_answers(app) -> dict[str, list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    search._reset_process_state()
    with app.app_context():
        return {
            w: sorted((h.doc_type, h.doc_id) for h in search.query(w, per_page=50).hits)
            for w in WORDS
        }


def seed(app) -> None:  # type: ignore[no-untyped-def]
    from portal import uploads

    with app.app_context():
        upgrade()
        make_org("cooperative_b", name="Cooperativa Arcobaleno")
        make_org("social_farm", name="Fattoria sociale Il Girasole")
        make_org("company", name="Magazzini Arcobaleno")
        make_user("broker")
        db.session.commit()
        search.drain()
        (uploads.upload_dir("network") / "a1b2.pdf").write_bytes(b"%PDF-1.4 network document")
        (uploads.upload_dir("tenders") / "c3d4.pdf").write_bytes(b"%PDF-1.4 tender evidence")
        (uploads.upload_dir("products") / "e5f6.jpg").write_bytes(b"\xff\xd8\xff photo")
        (uploads.upload_dir("consents") / "0a0b").write_bytes(b"%PDF-1.4 signed consent")


class Writer(threading.Thread):
    """Logins keep being recorded while the backup runs."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        super().__init__(daemon=True)
        self.engine = app.extensions["ponte_db"].engine
        self.stop = threading.Event()
        self.commits = 0

    def run(self) -> None:
        while not self.stop.is_set():
            with self.engine.begin() as connection:
                connection.execute(
                    LoginAttempt.__table__.insert().values(
                        email=f"writer{self.commits}@example.it",
                        ip="192.0.2.1",
                        success=False,
                        at=datetime.now(UTC),
                    )
                )
            self.commits += 1
            time.sleep(0.002)


def test_backup_while_writing_then_restore_elsewhere(urls, tmp_path):
    source_url, target_url = urls
    source = make_app(source_url, tmp_path / "source-instance")
    seed(source)
    writer = Writer(source)
    writer.start()
    try:
        while writer.commits < 20:
            time.sleep(0.01)
        started_at = writer.commits
        result = source.test_cli_runner().invoke(args=["backup", "create", str(tmp_path / "b")])
        ended_at = writer.commits
    finally:
        writer.stop.set()
        writer.join(10)
    assert result.exit_code == 0, result.output
    (archive,) = (tmp_path / "b").glob("ponte-backup-*.tar.gz")
    assert backup.NAME.match(archive.name)
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    counts = manifest["database"]["row_counts"]
    # one consistent snapshot taken while the writer ran
    assert started_at <= counts["login_attempt"] <= ended_at + 1
    assert counts["organisation"] >= 3 and counts["user"] >= 1
    assert manifest["database"]["revisions"]
    assert len(manifest["files"]) == 4

    target = make_app(target_url, tmp_path / "target-instance")
    restored = target.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert "Restore complete." in restored.output
    with target.app_context():
        with db.engine().connect() as connection:
            assert backup.count_rows(connection) == counts
        assert (
            db.session.scalar(select(func.count()).select_from(LoginAttempt))
            == (counts["login_attempt"])
        )
    assert file_digests(target) == file_digests(source)
    answers = search_answers(source)
    assert answers["arcobaleno"] and answers["girasole"]
    assert search_answers(target) == answers
    # the restored node is ready to serve
    with target.test_client() as client:
        assert client.get("/readyz").status_code == 200


@pytest.fixture
def sqlite_archive(tmp_path) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / 'source.db'}"
    source = make_app(url, tmp_path / "source-instance")
    seed(source)
    with source.app_context():
        archive = backup.create(tmp_path / "b")
    return archive, url


def test_restore_refuses_a_damaged_archive(sqlite_archive, tmp_path):
    archive, _url = sqlite_archive
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as tar, tarfile.open(damaged, "w:gz") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.endswith("a1b2.pdf"):
                data = b"%PDF-1.4 replaced"
                member.size = len(data)
            import io

            out.addfile(member, io.BytesIO(data))
    target = make_app(f"sqlite:///{tmp_path / 'target.db'}", tmp_path / "target-instance")
    result = target.test_cli_runner().invoke(args=["backup", "restore", str(damaged)])
    assert result.exit_code != 0
    assert "does not match its checksum" in result.output
    with target.app_context(), db.engine().connect() as connection:
        assert backup.count_rows(connection) == {}  # nothing written


def test_restore_refuses_a_non_empty_target_and_a_wrong_key(sqlite_archive, tmp_path):
    archive, url = sqlite_archive
    same = make_app(url, tmp_path / "source-instance")
    result = same.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert result.exit_code != 0 and "not empty" in result.output
    other = make_app(
        f"sqlite:///{tmp_path / 'other.db'}",
        tmp_path / "other-instance",
        SECRET_KEY="another-secret-key-of-forty-characters!!",
    )
    result = other.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
    assert result.exit_code != 0 and "is not the key of the backup" in result.output
    with other.app_context(), db.engine().connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM sqlite_master")).scalar() == 0


def test_retention_keeps_days_weeks_and_months(tmp_path):
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    folder = tmp_path / "backups"
    folder.mkdir()
    for hours in range(0, 24 * 400, 12):  # two a day for 400 days
        when = now - timedelta(hours=hours)
        (folder / f"ponte-backup-{when:%Y%m%dT%H%M%SZ}.tar.gz").write_bytes(b"x")
    (folder / "notes.txt").write_text("not an archive")
    deleted = backup.prune(folder, daily=7, weekly=5, monthly=12, now=now)
    kept = [when for when, _path in backup.archives(folder)]
    assert deleted and (folder / "notes.txt").exists()
    days = {k.date() for k in kept if k.date() > now.date() - timedelta(days=7)}
    assert len(days) == 7
    # of each of those days, the newest archive (the one of 14:00, not of 02:00)
    assert all(k.hour == 14 for k in kept if k.date() < now.date() and k.date() in days)
    assert len({k.isocalendar()[:2] for k in kept}) >= 5
    months = {(k.year, k.month) for k in kept}
    assert len(months) == 12 and min(months) == (2026, 1)
    assert len(kept) <= 7 + 5 + 12
    assert max(kept) == now  # the newest is always kept
