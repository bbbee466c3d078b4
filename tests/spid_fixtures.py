"""SPID/CIE test fixtures: the SP key and certificate (made by ``flask spid make-cert``, that
is AgID's generator), the metadata of spid-sp-test's IdP, live Ponte servers configured
for SPID, and spid-sp-test itself (AgID's validator) run against them.

Import the fixtures into a test module to use them.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from portal.migrate import upgrade
from tests.conftest import make_test_app

ROOT = Path(__file__).resolve().parent.parent
SPID_VENV = Path(os.environ.get("SPID_TOOLS_VENV", ROOT / ".venv-spid"))
SPID_SP_TEST = SPID_VENV / "bin" / "spid_sp_test"
TEST_IDP = "https://localhost:8443"  # the entityID of spid-sp-test's IdP
ORG = {
    "SPID_ORG_NAME": "Ponte - rete dei servizi per l'inclusione lavorativa",
    "SPID_ORG_IPA_CODE": "ponte_pa",
    "SPID_ORG_EMAIL": "spid@ponte.example.it",
    "SPID_ORG_PHONE": "+390612345678",
    "LOG_JSON": False,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SpidAssets:
    folder: Path
    key: Path
    cert: Path
    idp_metadata: Path
    entity_id: str


def run_spid_sp_test(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SPID_SP_TEST), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="session")
def spid_assets(tmp_path_factory: pytest.TempPathFactory) -> SpidAssets:
    """Key, certificate (for one port, the SP's entityID) and the test IdP's metadata."""
    assert SPID_SP_TEST.exists(), "AgID's tools are missing: run `make spid-tools`"
    folder = tmp_path_factory.mktemp("spid")
    entity_id = f"http://127.0.0.1:{free_port()}"
    exported = run_spid_sp_test("--idp-metadata", timeout=120)
    assert exported.returncode == 0, exported.stderr
    idp_metadata = folder / "spid-sp-test-idp.xml"
    idp_metadata.write_text(exported.stdout)
    assets = SpidAssets(folder, folder / "key.pem", folder / "crt.pem", idp_metadata, entity_id)
    app = make_test_app(f"sqlite:///{folder / 'cert.db'}", folder / "cert", **spid_config(assets))
    result = app.test_cli_runner().invoke(args=["spid", "make-cert"])
    assert result.exit_code == 0, result.output
    return assets


def spid_config(assets: SpidAssets, **extra: Any) -> dict[str, Any]:
    config = {
        "SPID_SP_ENTITY_ID": assets.entity_id,
        "SPID_SP_KEY": str(assets.key),
        "SPID_SP_CERT": str(assets.cert),
        "SPID_IDP_METADATA": str(assets.idp_metadata),
        **ORG,
    }
    config.update(extra)
    return config


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@contextmanager
def live_server(app: Flask, port: int) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:``port`` with Werkzeug's threaded WSGI server."""
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def make_spid_app(database_url: str, instance: Path, assets: SpidAssets, **extra: Any) -> Flask:
    app = make_test_app(
        database_url,
        instance,
        SERVER_NAME=None,
        HANDLE_ERRORS_IN_TESTS=True,
        **spid_config(assets, **extra),
    )
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="session")
def spid_app(spid_assets: SpidAssets, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """A Ponte configured for SPID and CIE on its own SQLite database (not rolled back)."""
    instance = tmp_path_factory.mktemp("spid-instance")
    return make_spid_app(f"sqlite:///{instance / 'ponte.db'}", instance, spid_assets)


@pytest.fixture(scope="session")
def spid_server(spid_app: Flask, spid_assets: SpidAssets) -> Iterator[str]:
    port = int(spid_assets.entity_id.rsplit(":", 1)[1])
    with live_server(spid_app, port) as url:
        yield url


@contextmanager
def postgres_database(base_url: str) -> Iterator[str]:
    """A private database on the suite's PostgreSQL server, dropped at the end."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(base_url)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    name = f"ponte_spid_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- Talking SAML like an IdP, with spid-sp-test's responses -----------------------------


def start_login(session: requests.Session, base: str, profile: str = "spid") -> str:
    """Ask Ponte to sign in through the test IdP; the HTML of the auto-posting form."""
    response = session.get(
        f"{base}/{profile}/login", params={"idp": TEST_IDP}, allow_redirects=False
    )
    assert response.status_code == 200, response.text[:500]
    assert 'name="SAMLRequest"' in response.text
    return response.text


def idp_response(metadata_url: str, authn_html: str, folder: Path, test: str = "1") -> str:
    """The signed SAML Response that spid-sp-test's IdP gives to that AuthnRequest
    (``-nsr``: printed, not sent), as base64 for the ACS."""
    page = folder / f"authn-{uuid.uuid4().hex[:8]}.html"
    page.write_text(authn_html)
    result = run_spid_sp_test(
        "--metadata-url", metadata_url, "--authn-url", f"file://{page}",
        "-tr", "-nsr", "-tn", test, "--debug", "ERROR",
    )  # fmt: skip
    match = re.search(r"(<samlp:Response.*</samlp:Response>)", result.stdout, re.S)
    assert match, result.stdout[-2000:] + result.stderr[-2000:]
    return base64.b64encode(match.group(1).encode()).decode()
