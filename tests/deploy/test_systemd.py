"""deploy/systemd: `systemd-analyze verify` passes on every unit, with the paths of this
checkout (so the executables they start really exist), and every scheduled job the README
lists has its timer, which starts a command the application really has."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"


def readme_jobs() -> list[str]:
    """The commands of the README's "Scheduled jobs" table, options left out."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Scheduled jobs", 1)[1].split("\n## ", 1)[0]
    jobs = []
    for line in section.splitlines():
        match = re.match(r"\| `([a-z][a-z ]+?)(?: \[.*?\])?` \|", line)
        if match:
            jobs.append(match.group(1))
    return jobs


def timer_jobs() -> dict[str, str]:
    """Timer file → the job its ponte-job@ instance runs (as a command with spaces)."""
    found = {}
    for timer in sorted(UNITS.glob("ponte-*.timer")):
        match = re.search(r"^Unit=ponte-job@(.+)\.service$", timer.read_text(), re.M)
        if match:
            group, _, command = match.group(1).partition("-")
            found[timer.name] = f"{group} {command}"
    return found


def test_every_readme_job_has_a_timer():
    jobs = readme_jobs()
    assert len(jobs) >= 10
    assert sorted(timer_jobs().values()) == sorted(jobs)


def test_backup_has_a_timer_with_retention():
    service = (UNITS / "ponte-backup.service").read_text()
    assert "backup create /var/backups/ponte" in service
    assert re.search(
        r"backup prune /var/backups/ponte --daily \d+ --weekly \d+ --monthly \d+", service
    )
    assert "OnCalendar=" in (UNITS / "ponte-backup.timer").read_text()


def test_timers_start_real_commands(app):
    """Each timer's job resolves to a command of the application (``ponte run`` does it)."""
    from portal.jobs import resolve_job

    runner = app.test_cli_runner()
    for name, job in timer_jobs().items():
        with app.app_context():
            assert resolve_job(runner, job.replace(" ", "-")) is not None, name


@pytest.fixture
def checkout_units(tmp_path: Path) -> Path:
    """The units with /srv/ponte → this checkout and the other paths in tmp_path."""
    env_file = tmp_path / "ponte.env"
    env_file.write_text("PONTE_ENV=production\n")
    (tmp_path / "backups").mkdir()
    target = tmp_path / "units"
    target.mkdir()
    for unit in UNITS.iterdir():
        text = (
            unit.read_text()
            .replace("/srv/ponte", str(ROOT))
            .replace("/etc/ponte/ponte.env", str(env_file))
            .replace("/var/backups/ponte", str(tmp_path / "backups"))
        )
        (target / unit.name).write_text(text)
    return target


def test_systemd_analyze_verify(checkout_units: Path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: `make test` installs Debian's systemd"
    assert (ROOT / ".venv" / "bin" / "gunicorn").exists()
    names = [p.name for p in sorted(checkout_units.iterdir()) if not p.name.endswith("@.service")]
    names += [f"ponte-job@{job.replace(' ', '-')}.service" for job in timer_jobs().values()]
    result = subprocess.run(
        [analyze, "verify", "--man=no", *names],
        cwd=checkout_units,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # no warning either


def test_verify_catches_a_broken_unit(checkout_units: Path):
    """The check above can fail: a wrong executable or setting is reported."""
    broken = checkout_units / "ponte.service"
    broken.write_text(
        broken.read_text()
        .replace("KillMode=mixed", "KillMode=sometimes")
        .replace(str(ROOT / ".venv" / "bin" / "gunicorn"), "/nonexistent/gunicorn")
    )
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "ponte.service"],
        cwd=checkout_units,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "kill mode" in result.stderr and "/nonexistent/gunicorn" in result.stderr
