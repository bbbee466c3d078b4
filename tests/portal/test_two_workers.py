"""Rate limits and ended sessions hold across gunicorn workers and nodes: nothing lives in
one process. Two servers (two nodes), each ``gunicorn -w 2``, on one database; the requests
of each test alternate between them, so consecutive requests are always answered by
different processes."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "Due-Processi-2026"
EMAIL = "coop@due-processi.it"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    instance = tmp_path_factory.mktemp("two-workers")
    env = {
        **os.environ,
        "PONTE_INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'ponte.db'}",
        "SECRET_KEY": "two-workers-secret-key-of-some-length",
        "LOG_JSON": "0",
    }
    env.pop("MAIL_SERVER", None)
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, timeout=300)
    subprocess.run(
        [*flask, "users", "create", "--email", EMAIL, "--role", "cooperative",
         "--org", "Cooperativa Due Processi", "--password-stdin"],
        cwd=ROOT, env=env, input=PASSWORD, text=True, check=True, timeout=120,
    )  # fmt: skip
    nodes, procs = [], []
    try:
        for n in range(2):
            port = _free_port()
            procs.append(
                subprocess.Popen(
                    [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                     "--timeout", "120", "wsgi:app"],
                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                    stderr=open(instance / f"gunicorn-{n}.log", "w"),  # noqa: SIM115
                )
            )  # fmt: skip
            nodes.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 180
        for base, proc in zip(nodes, procs, strict=True):
            while True:
                try:
                    if requests.get(f"{base}/healthz", timeout=60).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("gunicorn did not start")
                time.sleep(0.5)
        yield Nodes(nodes)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


class Nodes:
    """The two servers' base URLs; ``next()`` gives them in turn."""

    def __init__(self, urls: list[str]) -> None:
        self.urls, self.turn = urls, 0

    def next(self) -> str:
        self.turn += 1
        return self.urls[self.turn % len(self.urls)]


def _csrf(browser: requests.Session, url: str) -> str:
    response = browser.get(url, timeout=60)
    assert response.status_code == 200, (response.status_code, response.text[:3000])
    page = response.text
    return re.search(r'name="csrf_token"[^>]* value="([^"]+)"', page).group(1)


def _sign_in(browser: requests.Session, nodes: Nodes, password: str) -> requests.Response:
    token = _csrf(browser, f"{nodes.next()}/login")
    return browser.post(
        f"{nodes.next()}/login",
        data={"csrf_token": token, "email": EMAIL, "password": password},
        allow_redirects=False,
        timeout=60,
    )


def test_a_cookie_copied_before_logout_is_refused_by_every_worker(server: Nodes) -> None:
    browser = requests.Session()
    assert _sign_in(browser, server, PASSWORD).status_code == 302
    copied = requests.Session()
    copied.cookies.update(browser.cookies)
    for _ in range(2):
        response = copied.get(f"{server.next()}/shop/manage", allow_redirects=False, timeout=60)
        assert response.status_code == 200
    token = _csrf(browser, f"{server.next()}/shop/manage")
    response = browser.post(
        f"{server.next()}/logout", data={"csrf_token": token}, allow_redirects=False, timeout=60
    )
    assert response.status_code == 302
    for _ in range(2):
        response = copied.get(f"{server.next()}/shop/manage", allow_redirects=False, timeout=60)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_the_sign_in_limit_holds_across_workers(server: Nodes) -> None:
    browser = requests.Session()
    for _ in range(5):
        assert _sign_in(browser, server, "not-the-password").status_code == 200
    for _ in range(2):
        refused = _sign_in(browser, server, PASSWORD)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
