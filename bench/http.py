"""Real HTTP under load: gunicorn (2 workers) on the large demo data, SQLite and PostgreSQL.

``python -m bench http`` runs, for each database (``BENCH_DATABASES=sqlite,postgresql``):

1. *pages*: every public page of the benchmark table, one after the other, each for
   ``BENCH_PAGE_SECONDS`` (default 8) over ``BENCH_CONNECTIONS`` (16) keep-alive
   connections, first with the shared page cache off (every request renders), then on
   (anonymous repeat views), each page's requests/s as a ratio to ``/robots.txt`` measured
   by the same server in the same run;
2. *mix*: ``BENCH_MIX_SECONDS`` (60) of anonymous browsing, employers editing and
   duplicating vacancies, brokers opening matches and buyers adding to the cart and
   checking out (bank transfer: no payment provider is called), per kind requests/s,
   p50/p95/p99 and errors, which must be 0.

The load generator is plain ``http.client`` in threads, in the same 2-core machine as the
server: it takes CPU from the server, the same for every page, so ratios stay comparable.
"""

from __future__ import annotations

import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.common import ROOT, bench_instance

PAGES = [
    "/robots.txt",
    "/",
    "/vacancies",
    "/vacancies?q=magazziniere",
    "/vacancies?q=cuoco+pizzeria",
    "/vacancies/{vacancy}",
    "/search?q=cuoco",
    "/shop",
    "/shop?q=miele",
    "/shop/products/{product}",
    "/tenders",
]
from portal.demo import DEMO_PASSWORD as PASSWORD  # noqa: E402


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# --- The server ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with 2 sync workers on the benchmark instance."""

    def __init__(self, env: dict[str, str], *, page_cache: bool) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            **env,
            "PAGE_CACHE": "1" if page_cache else "0",
            "RATELIMIT_ENABLED": "0",  # one client address: measure pages, not the limits
            "LOG_JSON": "1",
            "PYTHONPATH": str(ROOT),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        args = [gunicorn, "-w", "2", "-b", f"127.0.0.1:{self.port}", "--log-level", "warning"]
        self.log = open(bench_instance() / f"gunicorn-{self.port}.log", "wb")
        self.proc = subprocess.Popen(  # noqa: S603 - our own gunicorn
            [*args, "wsgi:app"], cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log
        )
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/robots.txt")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


# --- A keep-alive client with cookies --------------------------------------------------


class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, data: dict[str, Any] | list[Any] | None = None
    ) -> tuple[int, str, dict[str, str]]:
        headers = {"Accept-Language": "it"}
        body = None
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if data is not None:
            body = urlencode(data, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()  # the worker closed an idle connection: reconnect
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 2:
                    raise
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, text, dict(response.headers)

    def login(self, email: str) -> None:
        status, page, _ = self.request("GET", "/login")
        form = form_fields(page, "/login")
        form.update(email=email, password=PASSWORD)
        status, _, _headers = self.request("POST", "/login", form)
        if status != 302:
            raise RuntimeError(f"login of {email} answered {status}")


class _Forms(HTMLParser):
    """The fields of the form whose action contains ``action`` (what a browser sends)."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            # A form without an action posts to its own page.
            target = a.get("action", "")
            self.inside = (self.action in target or not target) and not self.fields
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = name
            self._first: str | None = None
            self._chosen = False
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
            if "selected" in a:
                self.fields.append((self._select, a.get("value", "")))
                self._chosen = True
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields.append((name, ""))

    def handle_data(self, data: str) -> None:
        if self._textarea and self.fields and self.fields[-1][0] == self._textarea:
            self.fields[-1] = (self._textarea, self.fields[-1][1] + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            if not self._chosen and self._first is not None:  # a browser sends the first
                self.fields.append((self._select, self._first))
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_fields(page: str, action: str) -> dict[str, Any]:
    parser = _Forms(action)
    parser.feed(page)
    fields: dict[str, Any] = {}
    for name, value in parser.fields:
        if name in fields:
            fields[name] = [*([fields[name]] if isinstance(fields[name], str) else fields[name])]
            fields[name].append(value)
        else:
            fields[name] = value
    return fields


# --- Measuring ------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def add(self, kind: str, ms: float, ok: bool) -> None:
        with self.lock:
            self.samples[kind].append(ms)
            if not ok:
                self.errors[kind] += 1


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def timed(
    stats: Stats,
    kind: str,
    client: Client,
    method: str,
    path: str,
    data: Any = None,
    expect: tuple[int, ...] = (200,),
) -> tuple[int, str]:
    start = time.perf_counter()
    try:
        status, text, _ = client.request(method, path, data)
    except (http.client.HTTPException, OSError):
        status, text = 0, ""
    stats.add(kind, (time.perf_counter() - start) * 1000, status in expect)
    if status not in expect and os.environ.get("BENCH_VERBOSE"):
        print(f"  ! {kind} {method} {path} -> {status}", flush=True)
    return status, text


def hammer(port: int, path: str, seconds: float, connections: int) -> dict[str, float]:
    """``connections`` keep-alive clients requesting ``path`` for ``seconds``."""
    stats = Stats()
    deadline = time.perf_counter() + seconds

    def loop() -> None:
        client = Client(port)
        while time.perf_counter() < deadline:
            timed(stats, path, client, "GET", path)

    threads = [threading.Thread(target=loop) for _ in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    samples = stats.samples[path]
    return {
        "rps": len(samples) / elapsed,
        "p50": statistics.median(samples),
        "p95": percentile(samples, 0.95),
        "p99": percentile(samples, 0.99),
        "errors": stats.errors[path],
        "n": len(samples),
    }


def sample_ids(port: int) -> dict[str, str]:
    client = Client(port)
    _, listing, _ = client.request("GET", "/vacancies")
    _, shop, _ = client.request("GET", "/shop")
    vacancy = re.findall(r'href="/vacancies/(\d+)"', listing)
    product = re.findall(r'href="/shop/products/(\d+)"', shop)
    if not vacancy or not product:
        raise RuntimeError("no vacancy or product on the first pages")
    return {"vacancy": vacancy[len(vacancy) // 2], "product": product[len(product) // 2]}


def run_pages(port: int, label: str, seconds: float, connections: int) -> list[dict[str, Any]]:
    ids = sample_ids(port)
    rows = []
    for template in PAGES:
        path = template.format(**ids)
        client = Client(port)
        for _ in range(3):  # warm: searchers opened, the cache filled
            client.request("GET", path)
        result = hammer(port, path, seconds, connections)
        rows.append({"page": template, **result})
    base = rows[0]["rps"]
    print(f"\n{label}: {connections} connections, {seconds:.0f} s a page", flush=True)
    print(f"{'page':<32} {'req/s':>8} {'ratio':>7} {'p50':>8} {'p95':>8} {'p99':>8} {'errors':>6}")
    for row in rows:
        row["ratio"] = row["rps"] / base
        print(
            f"{row['page']:<32} {row['rps']:>8.0f} {row['ratio']:>7.3f} {row['p50']:>6.1f}ms"
            f" {row['p95']:>6.1f}ms {row['p99']:>6.1f}ms {row['errors']:>6}",
            flush=True,
        )
    return rows


# --- The mix ----------------------------------------------------------------------------

ANONYMOUS = [
    "/",
    "/vacancies",
    "/vacancies?q=magazziniere",
    "/search?q=cuoco",
    "/shop",
    "/shop?q=miele",
    "/tenders",
    "/vacancies?q=cuoco+pizzeria",
]


def employer_vacancies(client: Client) -> list[str]:
    _, page, _ = client.request("GET", "/employer")
    return sorted(set(re.findall(r"/employer/vacancies/(\d+)/edit", page)))


def run_mix(port: int, seconds: float, connections: int) -> Stats:
    ids = sample_ids(port)
    stats = Stats()
    deadline = time.perf_counter() + seconds
    vacancy_ids = [ids["vacancy"]]
    product_ids = [ids["product"]]

    def anonymous(seed: int) -> None:
        rng = random.Random(seed)
        client = Client(port)
        while time.perf_counter() < deadline:
            choice = rng.random()
            if choice < 0.25:
                path = f"/vacancies/{rng.choice(vacancy_ids)}"
            elif choice < 0.35:
                path = f"/shop/products/{rng.choice(product_ids)}"
            else:
                path = rng.choice(ANONYMOUS)
            timed(stats, "anonymous", client, "GET", path)

    def employer(seed: int) -> None:
        client = Client(port)
        client.login("employer@ponte.demo")
        rng = random.Random(seed)
        _, dashboard, _ = client.request("GET", "/employer")
        new = re.findall(r'href="(/employer/vacancies/new[^"]*)"', dashboard)[0].replace(
            "&amp;", "&"
        )
        drafts: list[str] = []
        while time.perf_counter() < deadline:
            if not drafts or rng.random() < 0.3:  # post a new vacancy (a draft)
                status, page = timed(stats, "employer", client, "GET", new)
                form = form_fields(page, "/employer/vacancies/new")
                form.pop("suggest", None)
                form.update(
                    title=f"Magazziniere turno {rng.randint(1, 999)}",
                    description="Movimentazione merci con transpallet.",
                    comune="Pordenone",
                    contract_type="fixed_term",
                    hours_per_week="30",
                    positions="1",
                    submit="1",
                )
                status, body = timed(
                    stats, "employer", client, "POST", new, form, expect=(302, 303)
                )
                if status == 200 and os.environ.get("BENCH_VERBOSE"):
                    print(re.findall(r"invalid-feedback[^>]*>([^<]+)", body)[:5], flush=True)
                _, dashboard, _ = client.request("GET", "/employer")
                drafts = re.findall(r"/employer/vacancies/(\d+)/edit", dashboard) or drafts
                continue
            vid = rng.choice(drafts)  # edit one of them
            url = f"/employer/vacancies/{vid}/edit"
            status, page = timed(stats, "employer", client, "GET", url)
            form = form_fields(page, url)
            form.pop("suggest", None)
            form.update(title=f"Magazziniere turno {rng.randint(1, 999)}", submit="1")
            timed(stats, "employer", client, "POST", url, form, expect=(302, 303))

    def broker(seed: int) -> None:
        client = Client(port)
        client.login("broker@ponte.demo")
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            timed(
                stats,
                "broker",
                client,
                "GET",
                f"/brokerage/vacancies/{rng.choice(vacancy_ids)}/matches",
            )

    def buyer(seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            client = Client(port)  # a new guest each time: a fresh cart
            pid = rng.choice(product_ids)
            status, page = timed(stats, "buyer", client, "GET", f"/shop/products/{pid}")
            form = form_fields(page, "/shop/cart/add")
            if status != 200 or not form.get("variant_id"):
                continue
            form["quantity"] = "1"
            timed(stats, "buyer", client, "POST", "/shop/cart/add", form, expect=(302,))
            status, page = timed(stats, "buyer", client, "GET", "/shop/checkout")
            form = form_fields(page, "/shop/checkout")
            form.update(
                name="Bruna Acquirente",
                email="bruna@example.it",
                payment_method="bank_transfer",
                fulfilment="pickup",
                buyer_type="person",
                submit="1",
            )
            timed(stats, "buyer", client, "POST", "/shop/checkout", form, expect=(302, 303))

    # More ids to browse: the first pages of the listings.
    client = Client(port)
    for page in (2, 3):
        _, text, _ = client.request("GET", f"/vacancies?page={page}")
        vacancy_ids.extend(re.findall(r'href="/vacancies/(\d+)"', text))
        _, text, _ = client.request("GET", f"/shop?page={page}")
        product_ids.extend(re.findall(r'href="/shop/products/(\d+)"', text))

    roles = [anonymous] * (connections - 6) + [employer] * 2 + [broker] * 2 + [buyer] * 2
    threads = [threading.Thread(target=fn, args=(i,)) for i, fn in enumerate(roles)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    print(f"\nmix: {len(roles)} connections, {elapsed:.0f} s", flush=True)
    print(
        f"{'kind':<12} {'requests':>9} {'req/s':>7} {'p50':>8} {'p95':>8} {'p99':>8} {'errors':>6}"
    )
    for kind, samples in sorted(stats.samples.items()):
        print(
            f"{kind:<12} {len(samples):>9} {len(samples) / elapsed:>7.1f}"
            f" {statistics.median(samples):>6.1f}ms {percentile(samples, 0.95):>6.1f}ms"
            f" {percentile(samples, 0.99):>6.1f}ms {stats.errors[kind]:>6}",
            flush=True,
        )
    return stats


# --- Entry point ----------------------------------------------------------------------


def database_env(name: str) -> dict[str, str]:
    if name == "postgresql":
        from bench.pg import PG_DIR, database_url

        instance = PG_DIR / "instance"
        return {
            "DATABASE_URL": database_url(),
            "PONTE_INSTANCE_PATH": str(instance),
            "PONTE_BENCH_INSTANCE": str(instance),
            "SEARCH_INDEX_DIR": str(instance / "search"),
        }
    instance = bench_instance()
    return {
        "DATABASE_URL": f"sqlite:///{instance / 'bench.db'}",
        "PONTE_INSTANCE_PATH": str(instance),
        "SEARCH_INDEX_DIR": str(instance / "search"),
    }


def prepare_in(env: dict[str, str]) -> None:
    """Migrate and seed (large) the database the server will use; quick when done."""
    code = "from bench.common import bench_app, prepare; prepare(bench_app())"
    subprocess.run(  # noqa: S603 - this interpreter
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, check=True
    )


def run(app: Any = None) -> None:
    seconds = float(env_int("BENCH_PAGE_SECONDS", 8))
    mix_seconds = float(env_int("BENCH_MIX_SECONDS", 60))
    connections = env_int("BENCH_CONNECTIONS", 16)
    phases = os.environ.get("BENCH_HTTP", "pages,mix").split(",")
    for name in os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(","):
        env = database_env(name)
        print(f"\n=== HTTP, gunicorn -w 2, {name} ===", flush=True)
        prepare_in(env)
        if "pages" in phases:
            with Server(env, page_cache=False) as server:
                run_pages(server.port, f"{name}, uncached", seconds, connections)
            with Server(env, page_cache=True) as server:
                run_pages(server.port, f"{name}, cached (anonymous repeats)", seconds, connections)
        if "mix" in phases:
            with Server(env, page_cache=True) as server:
                run_mix(server.port, mix_seconds, connections)


if __name__ == "__main__":
    run()
