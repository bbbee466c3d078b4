"""``schemathesis run --checks all`` against the OpenAPI document of a real server.

gunicorn serves the demo data; schemathesis's command line runs every check it has
(server errors, status codes, content types, headers and bodies against the document,
schema-violating requests refused, schema-valid ones accepted, unsupported methods,
missing headers, ignored authentication, use after free, ...) over every operation
anonymously, then with a Bearer token of each role over the operations that need one.
The run must find nothing. ``schemathesis.toml`` at the repository root says which status
answers which kind of request (400 breaks the document, 422 breaks a domain rule).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.test_gunicorn import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
DEMO_LOGINS = {
    "admin": "admin@ponte.demo",
    "employer": "employer@ponte.demo",
    "cooperative": "cooperative@ponte.demo",
    "social_farm": "farm@ponte.demo",
    "broker": "broker@ponte.demo",
    "public_officer": "officer@ponte.demo",
    "microcredit_officer": "microcredit@ponte.demo",
    "buyer": "buyer@ponte.demo",
}
#: Examples per operation: enough for every phase to reach each operation's branches.
EXAMPLES = "8"

pytestmark = pytest.mark.slow


def run(args: list[str], env: dict[str, str], timeout: int = 600) -> str:
    done = subprocess.run(
        args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """gunicorn (2 workers) on a SQLite copy of the demo data, and a token per role."""
    base = tmp_path_factory.mktemp("conformance")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PONTE_", "STRIPE_", "PYTEST", "RATELIMIT_"))
        and k not in ("DATABASE_URL", "SECRET_KEY")
    }
    env.update(
        PONTE_INSTANCE_PATH=str(base),
        DATABASE_URL=f"sqlite:///{base / 'ponte.db'}",
        SECRET_KEY="s" * 48,
        # The fuzzer sends thousands of requests from one address: limits are tested apart.
        RATELIMIT_ENABLED="0",
        STRIPE_WEBHOOK_SECRET="whsec_conformance",
        PORT=str(port),
        WEB_CONCURRENCY="2",
        PATH=f"{BIN}:{os.environ.get('PATH', '')}",
    )
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    run([*flask, "db", "upgrade"], env)
    run([*flask, "demo", "seed"], env)
    tokens = {
        role: run([*flask, "tokens", "create", "--email", email], env).strip().splitlines()[-1]
        for role, email in DEMO_LOGINS.items()
    }
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.5)
        openapi = f"{url}/api/v1/openapi.json"
        with urllib.request.urlopen(openapi, timeout=10) as response:  # noqa: S310 (loopback)
            document = json.load(response)
        yield {"url": url, "env": env, "tokens": tokens, "document": document}
    finally:
        process.terminate()
        process.wait(timeout=30)


def schemathesis(server: dict, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(BIN / "schemathesis"),
            "run",
            f"{server['url']}/api/v1/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            EXAMPLES,
            "--generation-deterministic",
            "--no-color",
            # A busy CI machine may take seconds for one answer; a hang still fails.
            "--request-timeout",
            "60",
            *options,
        ],
        cwd=ROOT,  # schemathesis.toml
        env=server["env"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def failures(done: subprocess.CompletedProcess) -> str:
    """The report's failure sections and summary (the run's whole output is long)."""
    out = done.stdout
    start = out.find("=== FAILURES")
    return (out[start:] if start >= 0 else out[-6000:])[-12000:] + done.stderr[-2000:]


def test_anonymous_requests_conform_to_the_document(server):
    done = schemathesis(server)
    assert done.returncode == 0, failures(done)
    assert "Tested: " in done.stdout


def secured_paths(document: dict) -> list[str]:
    return sorted(
        path
        for path, operations in document["paths"].items()
        if any(
            {"bearerAuth": []} in operation.get("security", []) for operation in operations.values()
        )
    )


@pytest.mark.parametrize("role", sorted(DEMO_LOGINS))
def test_each_roles_requests_conform_to_the_document(server, role):
    """The operations that need a token, with this role's: what it may do works as
    documented, what it may not is a documented 403."""
    paths = secured_paths(server["document"])
    assert "/api/v1/vacancies" in paths and "/api/v1/tenders/import" in paths
    pattern = "^(" + "|".join(p.replace("{", r"\{").replace("}", r"\}") for p in paths) + ")$"
    done = schemathesis(
        server,
        "--header",
        f"Authorization: Bearer {server['tokens'][role]}",
        "--include-path-regex",
        pattern,
        # The stateful phase (links between operations) ran in the anonymous test already.
        "--phases",
        "examples,coverage,fuzzing",
    )
    assert done.returncode == 0, failures(done)
