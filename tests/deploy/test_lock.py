"""requirements.lock pins, with hashes, every dependency pyproject.toml names: a package
added to pyproject.toml without `make lock` fails here, before a fresh install lacks it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def locked() -> dict[str, list[str]]:
    """Pinned name → the lines of its entry (version, markers, hashes)."""
    entries: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = entries.setdefault(canonicalize_name(match.group(1)), [])
            current.append(line)
        elif current is not None and line.startswith("    --hash="):
            current.append(line)
    return entries


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] + project["optional-dependencies"]["test"]
    return [Requirement(r) for r in names]


def test_every_declared_dependency_is_locked():
    pins = locked()
    missing = [str(r) for r in declared() if canonicalize_name(r.name) not in pins]
    assert missing == [], f"not in requirements.lock (run `make lock`): {missing}"


def test_extras_are_locked_too():
    pins = locked()
    # psycopg[binary] brings psycopg-binary, the compiled driver production uses
    assert "psycopg-binary" in pins


def test_locked_versions_satisfy_pyproject():
    pins = locked()
    for requirement in declared():
        version = PIN.match(pins[canonicalize_name(requirement.name)][0]).group(2)  # type: ignore[union-attr]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{requirement} but requirements.lock pins {version} (run `make lock`)"
        )


def test_every_pin_is_exact_and_hashed():
    for name, lines in locked().items():
        assert any(line.lstrip().startswith("--hash=sha256:") for line in lines[1:]), name


def test_make_install_uses_the_lock_with_hashes():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements.lock" in makefile
    assert "--no-deps -e ." in makefile
