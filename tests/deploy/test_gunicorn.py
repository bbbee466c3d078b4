"""``make serve`` for real: gunicorn with production settings on PostgreSQL, and the
refusal of an unsafe configuration (exit status non-zero, the variable named)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_env(tmp_path: Path, database_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PONTE_", "STRIPE_", "MAIL_", "PYTEST", "PROMETHEUS_"))
        and k not in ("SECRET_KEY", "DATA_ENCRYPTION_KEY", "DATABASE_URL", "CONTACT_EMAIL")
    }
    env.update(
        PONTE_ENV="production",
        PONTE_INSTANCE_PATH=str(tmp_path / "instance"),
        SECRET_KEY="k" * 48,
        DATA_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        DATABASE_URL=database_url,
        MAIL_SERVER="127.0.0.1",
        CONTACT_EMAIL="portale@asl.example.it",
        PORT=str(port),
        WEB_CONCURRENCY="2",
        PROXY_FIX="1",
        PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}",
    )
    env.update(extra)
    return env


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request, redirects not followed."""
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_for(url: str, process: subprocess.Popen, seconds: float) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with status {process.returncode}")
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def access_lines(tmp_path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [
        json.loads(line)
        for line in (tmp_path / "serve.out").read_text().splitlines()
        if line.startswith("{") and '"gunicorn.access"' in line
    ]


def robots_pids(tmp_path: Path) -> set[int]:
    return {a["pid"] for a in access_lines(tmp_path) if a["path"] == "/robots.txt"}


@pytest.fixture
def served(tmp_path, postgres_database) -> Iterator[tuple[str, subprocess.Popen, Path]]:  # type: ignore[no-untyped-def,type-arg]
    """``make serve`` (its install step taken as done: the suite runs in the installed
    checkout) with production variables and a new PostgreSQL database."""
    port = free_port()
    env = production_env(tmp_path, postgres_database("ponte_serve"), port)
    out = tmp_path / "serve.out"
    err = tmp_path / "serve.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "-o", "install", "serve"],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/healthz", process, 120)
        yield base, process, tmp_path
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_make_serve_runs_gunicorn_in_production(served):
    base, process, tmp_path = served
    status, headers, body = get(base + "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    # Behind nginx (PROXY_FIX=1): HSTS, Secure cookies, https links.
    status, headers, _ = get(
        base + "/lang/en?next=/",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"},
    )
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in headers["Set-Cookie"] and "SameSite=Lax" in headers["Set-Cookie"]
    assert headers["Location"] == "/" or headers["Location"].startswith("https://")
    # gunicorn's own processes, several workers
    children = subprocess.run(
        ["pgrep", "-f", "-s", str(process.pid), "gunicorn"], capture_output=True, text=True
    ).stdout.split()
    assert len(children) >= 3, children  # the master and two workers
    # The access log is JSON lines, with the client address nginx passed on.
    time.sleep(0.5)
    access = access_lines(tmp_path)
    assert any(a["path"] == "/healthz" and a["status"] == 200 for a in access)
    lang = next(a for a in access if a["path"] == "/lang/en")
    assert lang["request_id"] and lang["query"] == "next=/"
    # Ready: migrations at head (make serve ran them), the index up to date.
    status, _, body = get(base + "/readyz")
    assert status == 200, body
    # /metrics adds up every worker's counters (prometheus_client multiprocess mode):
    # requests in parallel until both workers have answered some.
    from concurrent.futures import ThreadPoolExecutor

    sent = 0
    with ThreadPoolExecutor(8) as pool:
        for _ in range(30):
            statuses = list(pool.map(lambda _i: get(base + "/robots.txt")[0], range(16)))
            assert statuses == [200] * 16
            sent += 16
            time.sleep(0.2)
            if len(robots_pids(tmp_path)) >= 2:
                break
    assert len(robots_pids(tmp_path)) >= 2, "one worker answered every request"
    status, headers, body = get(base + "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    line = next(
        line
        for line in text.splitlines()
        if line.startswith("ponte_http_requests_total{")
        and 'endpoint="portal.robots"' in line
        and 'status="200"' in line
    )
    assert float(line.rsplit(" ", 1)[1]) == sent
    # From outside the allowed addresses (nginx passes the client on): refused.
    status, _, _ = get(base + "/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert status == 403
    # SIGTERM: graceful stop, exit status of gunicorn's own choosing but prompt.
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=40) is not None


def test_serve_without_secret_key_exits_naming_it(tmp_path, postgres_database):
    port = free_port()
    env = production_env(tmp_path, postgres_database("ponte_refused"), port)
    del env["SECRET_KEY"]
    # gunicorn itself: the master refuses before any worker starts
    result = subprocess.run(
        [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    refusal = [line for line in result.stderr.splitlines() if "refuses to start" in line]
    assert len(refusal) == 1 and "SECRET_KEY is unset" in refusal[0], result.stderr
    assert "Booting worker" not in result.stderr
    # make serve: stops at its first step, with the same line
    result = subprocess.run(
        ["make", "--no-print-directory", "-o", "install", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is unset" in result.stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_nginx_in_front_of_gunicorn(served, tmp_path_factory):
    """The shipped nginx site in front of `make serve`: HTTPS with the application seeing
    the scheme and client through ProxyFix, static files from nginx with a year of
    caching, HTTP redirected, an oversized body refused before it reaches a worker."""
    import shutil
    import ssl

    from tests.deploy.test_nginx import site_for_test

    base, _process, tmp_path = served
    app_port = int(base.rsplit(":", 1)[1])
    http_port, https_port = free_port(), free_port()
    folder = tmp_path_factory.mktemp("nginx")
    main = site_for_test(folder, http_port, https_port, app_port)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    started = subprocess.run(
        [nginx, "-p", str(folder), "-c", str(main)], capture_output=True, text=True, timeout=30
    )
    assert started.returncode == 0, started.stderr
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))

    def fetch(url: str, data: bytes | None = None):  # type: ignore[no-untyped-def]
        request = urllib.request.Request(url, data=data)  # noqa: S310 - loopback
        try:
            with opener.open(request, timeout=15) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    try:
        https = f"https://127.0.0.1:{https_port}"
        status, headers, _ = fetch(f"http://127.0.0.1:{http_port}/vacancies?page=2")
        assert status == 301
        assert headers["Location"] == "https://127.0.0.1/vacancies?page=2"
        status, headers, _ = fetch(https + "/lang/en?next=/")
        assert status == 302
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        assert "Secure" in headers["Set-Cookie"]
        # ProxyFix: the application sees the scheme, host and port the client used.
        status, _, body = fetch(https + "/api/v1/openapi.json")
        assert json.loads(body)["servers"] == [{"url": f"https://127.0.0.1:{https_port}"}]
        status, headers, body = fetch(https + "/")
        assert status == 200
        css = re.search(rb'href="(/static/css/ponte\.css\?v=[0-9a-f]+)"', body)
        assert css, "no versioned stylesheet link"
        status, headers, _ = fetch(https + css.group(1).decode())
        assert status == 200
        assert "max-age=31536000" in headers["Cache-Control"]
        status, _, _ = fetch(https + "/login", data=b"x" * (22 * 1024 * 1024))
        assert status == 413
        time.sleep(0.5)
        access = access_lines(tmp_path)
        lang = [a for a in access if a["path"] == "/lang/en"]
        assert lang and lang[-1]["remote_addr"] == "127.0.0.1"
        assert not [a for a in access if a["path"].startswith("/static/")]  # nginx served them
        assert not [a for a in access if a["path"] == "/login" and a["method"] == "POST"]
    finally:
        subprocess.run(
            [nginx, "-p", str(folder), "-c", str(main), "-s", "stop"],
            capture_output=True,
            timeout=30,
        )
