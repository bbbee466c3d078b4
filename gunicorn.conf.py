"""gunicorn settings for Ponte: ``make serve`` (production) and ``make run`` (the demo).

    gunicorn -c gunicorn.conf.py wsgi:app

Environment: ``PORT`` (default 5000) or ``BIND`` (e.g. ``unix:/run/ponte/gunicorn.sock``
or ``0.0.0.0:5000``; default loopback, nginx in front), ``WEB_CONCURRENCY`` (workers,
default 2 x cores + 1), ``GUNICORN_TIMEOUT`` (seconds a worker may spend on one request,
default 60), ``PROMETHEUS_MULTIPROC_DIR`` (where workers keep their metrics; default a
private temporary folder), ``LOG_JSON=0`` for plain-text logs.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
from pathlib import Path

from gunicorn.glogging import Logger

sys.path.insert(0, str(Path(__file__).resolve().parent))

# --- Metrics: every worker writes its own files, /metrics adds them up -------------------
# prometheus_client picks multiprocess mode when this variable is set before it is first
# imported, i.e. here in the master, before any worker imports the application.
# A folder this file made (not the operator's) is removed when gunicorn exits; the marker
# survives the re-reading of this file on SIGHUP.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ponte-metrics-")
    os.environ["PONTE_OWN_METRICS_DIR"] = os.environ["PROMETHEUS_MULTIPROC_DIR"]
_METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
_OWN_METRICS_DIR = os.environ.get("PONTE_OWN_METRICS_DIR") == str(_METRICS_DIR)

# --- Server socket and workers -----------------------------------------------------------
bind = [os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT') or 5000}"]
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count() + 1)
# Synchronous workers: nginx buffers slow clients, and the application holds no
# long-polling connections. A worker stuck longer than this on one request is replaced.
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 60)
# On SIGTERM (systemctl stop/restart, a deploy) workers finish the requests they hold for
# up to this long before they are killed (systemd's TimeoutStopSec must be longer).
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (with jitter, so they do not all restart at once): a
# bounded memory footprint whatever a library keeps.
max_requests = 2000
max_requests_jitter = 200
# Heartbeat files in memory, not on a disk that may stall.
_SHM = "/dev/shm"  # noqa: S108 - gunicorn's own advice for heartbeat files
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None

# preload_app stays False. Preloading would build the application in the master and fork
# it: every worker would inherit the master's SQLAlchemy engine, whose pooled connections
# (opened by the start-up search drain) would then be shared by several processes and
# corrupt each other's protocol state, and the master's open Whoosh files and cached
# searchers would be shared too. Each worker therefore builds its own application, with
# its own pool and its own searchers; the start-up drains of workers starting together
# queue on the node's search lock. Unsafe configuration is still refused once, by the
# master, before any worker starts (on_starting below).
preload_app = False

# gunicorn's control socket ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl) would be one
# path for every gunicorn of the user; Ponte is controlled by signals (systemctl reload:
# HUP, stop: TERM) instead.
control_socket_disable = True

# The proxy headers are trusted by the application (PROXY_FIX hops, Werkzeug's ProxyFix)
# and only there: gunicorn itself trusts no X-Forwarded-Proto.
secure_scheme_headers: dict[str, str] = {}
forwarded_allow_ips = "127.0.0.1,::1"

# --- Logging: JSON lines, like the application's log (portal/logging.py) -----------------
JSON_LOGS = os.environ.get("LOG_JSON", "1") != "0"
accesslog = "-"
errorlog = "-"
loglevel = "info"


class JsonLogger(Logger):
    """gunicorn's logger writing one JSON object per line (error and access logs)."""

    def setup(self, cfg):  # type: ignore[no-untyped-def]
        super().setup(cfg)
        if JSON_LOGS:
            from pythonjsonlogger.json import JsonFormatter

            error_format = JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s", timestamp=False
            )
            for handler in self.error_log.handlers:
                handler.setFormatter(error_format)
            for handler in self.access_log.handlers:
                handler.setFormatter(logging.Formatter("%(message)s"))

    def access(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        if not JSON_LOGS:
            return super().access(resp, req, environ, request_time)
        if not self.access_log_enabled:
            return None
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        line = {
            "asctime": _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"),
            "levelname": "INFO",
            "name": "gunicorn.access",
            "message": f"{req.method} {req.path} {status}",
            "remote_addr": environ.get("REMOTE_ADDR", ""),
            "method": req.method,
            "path": req.path,
            "query": req.query or "",
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "user_agent": environ.get("HTTP_USER_AGENT", ""),
            "referer": environ.get("HTTP_REFERER", ""),
            "request_id": environ.get("ponte.request_id", ""),
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(line, ensure_ascii=False))
        except Exception:
            self.exception("access log line not written")
        return None


logger_class = JsonLogger


# --- Server hooks --------------------------------------------------------------------------


def on_starting(server):  # type: ignore[no-untyped-def]
    """In the master, before any worker: refuse unsafe production configuration with one
    line and exit status 1 (a worker refusing would only be respawned), and start the
    metrics from zero (files of a previous run's workers would be summed otherwise)."""
    from portal import config as config_module

    overrides: dict[str, object] = {}
    config = config_module.load(config_module.instance_path(overrides), overrides)
    problems, warnings = config_module.production_problems(config)
    for warning in warnings:
        server.log.warning("configuration: %s", warning)
    if problems:
        print(config_module.refusal_line(problems), file=sys.stderr, flush=True)
        on_exit(server)
        sys.exit(1)
    _METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in _METRICS_DIR.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A worker ended: its live gauges leave /metrics (its counters stay summed)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # type: ignore[no-untyped-def]
    if _OWN_METRICS_DIR:
        shutil.rmtree(_METRICS_DIR, ignore_errors=True)
