"""A tiny Stripe-compatible HTTP server for tests: the endpoints the shop calls, answering
Stripe-shaped JSON, honouring idempotency keys and recording every request.

The real ``stripe`` library talks to it through ``STRIPE_API_BASE``. Webhook payloads are
signed exactly as Stripe signs them (:func:`sign`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header: ``t=<ts>,v1=HMAC-SHA256(secret, "<ts>.<payload>")``."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def event(kind: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{next(_ids)}",
        "object": "event",
        "type": kind,
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }


_ids = itertools.count(1000)


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    idempotency_key: str | None


@dataclass
class FakeStripe:
    """State of the fake: what was asked, and what to answer."""

    requests: list[Recorded] = field(default_factory=list)
    idempotent: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_paths: set[str] = field(default_factory=set)
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def calls(self, method: str, prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def answer(self, method: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
        n = next(_ids)
        for failing in self.fail_paths:
            if path.startswith(failing):
                return 500, {"error": {"type": "api_error", "message": "fake failure"}}
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v1/checkout/sessions":
            sid = f"cs_test_{n}"
            session = {
                "id": sid,
                "object": "checkout.session",
                "mode": "payment",
                "status": "open",
                "payment_status": "unpaid",
                "url": f"{self.base_url}/pay/{sid}",
                "client_reference_id": params.get("client_reference_id"),
                "metadata": {"order_reference": params.get("metadata[order_reference]")},
                "amount_total": sum(
                    int(params[k])
                    * int(params[k.replace("[price_data][unit_amount]", "[quantity]")])
                    for k in params
                    if k.endswith("[price_data][unit_amount]")
                ),
                "currency": "eur",
                "payment_intent": None,
            }
            self.sessions[sid] = session
            return 200, session
        if parts[:3] == ["v1", "checkout", "sessions"] and len(parts) >= 4:
            session = self.sessions.get(parts[3])
            if session is None:
                return 404, {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "No such checkout.session",
                    }
                }
            if method == "POST" and len(parts) == 5 and parts[4] == "expire":
                if session["status"] == "open":
                    session["status"] = "expired"
                else:
                    return 400, {
                        "error": {
                            "type": "invalid_request_error",
                            "message": "Only open sessions can be expired.",
                        }
                    }
            return 200, session
        if method == "GET" and parts[:2] == ["v1", "payment_intents"]:
            return 200, {
                "id": parts[2],
                "object": "payment_intent",
                "status": "succeeded",
                "latest_charge": f"ch_for_{parts[2]}",
            }
        if method == "POST" and path == "/v1/transfers":
            return 200, {
                "id": f"tr_{n}",
                "object": "transfer",
                "amount": int(params["amount"]),
                "amount_reversed": 0,
                "currency": params.get("currency", "eur"),
                "destination": params.get("destination"),
                "transfer_group": params.get("transfer_group"),
                "source_transaction": params.get("source_transaction"),
                "reversals": {
                    "object": "list",
                    "data": [],
                    "has_more": False,
                    "url": f"/v1/transfers/tr_{n}/reversals",
                },
            }
        if method == "POST" and parts[:2] == ["v1", "transfers"] and parts[-1] == "reversals":
            return 200, {
                "id": f"trr_{n}",
                "object": "transfer_reversal",
                "amount": int(params["amount"]),
                "currency": "eur",
                "transfer": parts[2],
            }
        if method == "POST" and path == "/v1/refunds":
            return 200, {
                "id": f"re_{n}",
                "object": "refund",
                "amount": int(params["amount"]),
                "currency": "eur",
                "payment_intent": params.get("payment_intent"),
                "status": "succeeded",
            }
        if method == "POST" and path == "/v1/accounts":
            return 200, {
                "id": f"acct_{n}",
                "object": "account",
                "type": "express",
                "charges_enabled": False,
                "payouts_enabled": False,
            }
        if method == "GET" and parts[:2] == ["v1", "accounts"]:
            return 200, {
                "id": parts[2],
                "object": "account",
                "charges_enabled": True,
                "payouts_enabled": True,
                "details_submitted": True,
            }
        if method == "POST" and path == "/v1/account_links":
            return 200, {
                "object": "account_link",
                "url": f"{self.base_url}/onboard/{params.get('account')}",
                "created": int(time.time()),
                "expires_at": int(time.time()) + 300,
            }
        return 404, {
            "error": {
                "type": "invalid_request_error",
                "message": f"Unrecognized request URL ({method}: {path})",
            }
        }


def _handler(state: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            path, _, query = self.path.partition("?")
            params = dict(parse_qsl(body or query, keep_blank_values=True))
            key = self.headers.get("Idempotency-Key")
            with state.lock:
                state.requests.append(Recorded(method, path, params, key))
                cached = state.idempotent.get((path, key)) if key and method == "POST" else None
                if cached is not None:
                    status, data = cached
                else:
                    status, data = state.answer(method, path, params)
                    if key and method == "POST" and status < 500:
                        state.idempotent[(path, key)] = (status, data)
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Request-Id", f"req_{next(_ids)}")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler


class StripeFixtureServer:
    """``with StripeFixtureServer() as fake:`` → ``fake.url`` for STRIPE_API_BASE."""

    def __init__(self) -> None:
        self.state = FakeStripe()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.state.base_url = self.url
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeStripe:
        self.thread.start()
        return self.state

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
