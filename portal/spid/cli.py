"""``flask spid make-cert``: the SP key and certificate, as AgID notice 29 v3 requires.

It runs PyPI's spid-compliant-certificates (AgID's generator). That tool pins old versions
of common libraries, so it lives in its own virtual environment (``make spid-tools``
creates ``.venv-spid``); ``SPID_CERT_TOOL`` names another copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from portal.spid import config

ROOT = Path(__file__).resolve().parent.parent.parent
spid_cli = AppGroup("spid", help="SPID/CIE sign-in.")


def cert_tool() -> str:
    found = (
        os.environ.get("SPID_CERT_TOOL")
        or shutil.which("spid-compliant-certificates")
        or str(ROOT / ".venv-spid" / "bin" / "spid-compliant-certificates")
    )
    if not Path(found).exists():
        raise click.ClickException(
            "spid-compliant-certificates is not installed: run `make spid-tools`."
        )
    return found


#: Run inside the tool's interpreter: AgID's generator with the given options. Without
#: ``check_ipa`` the on-line look-up of the IPA code (indicepa.gov.it) is skipped, for
#: development machines without that network; production certificates should be made with
#: it (``--check-ipa``).
_GENERATE = """
import importlib, json, pathlib, sys
g = importlib.import_module("spid_compliant_certificates.generator.generate")
opts = json.loads(sys.argv[1])
if not opts.pop("check_ipa"):
    g.validate_arguments = lambda cert_opts: None
crypto = opts.pop("crypto")
crypto = {k: pathlib.Path(v) if k.endswith("_out") else v for k, v in crypto.items()}
g.generate(opts, crypto)
"""


@spid_cli.command("make-cert")
@click.option("--days", default=730, show_default=True)
@click.option("--common-name", default="", help="Default: the organisation's name.")
@click.option("--locality", default="Roma", show_default=True)
@click.option("--sector", type=click.Choice(["public", "private"]), default="public")
@click.option("--check-ipa", is_flag=True, help="Check the IPA code on-line first.")
def make_cert(days: int, common_name: str, locality: str, sector: str, check_ipa: bool) -> None:
    """Write a new key to SPID_SP_KEY and its self-signed certificate to SPID_SP_CERT."""
    import json

    settings = config.load(current_app.config)
    if settings is None or not settings.key_file or not settings.cert_file:
        raise click.ClickException("Set SPID_SP_ENTITY_ID, SPID_SP_KEY and SPID_SP_CERT first.")
    org = settings.organisation
    org_id = f"PA:IT-{org.ipa_code}" if sector == "public" else org.ipa_code
    python = str(Path(cert_tool()).resolve().parent / "python")
    with tempfile.TemporaryDirectory() as tmp:
        opts = {
            "sector": sector,
            "common_name": common_name or org.name,
            "days": days,
            "entity_id": settings.entity_id,
            "locality_name": locality,
            "org_id": org_id,
            "org_name": org.name,
            "check_ipa": check_ipa,
            "crypto": {
                "key_size": 3072,
                "md_alg": "sha256",
                "key_out": f"{tmp}/key.pem",
                "csr_out": f"{tmp}/csr.pem",
                "crt_out": f"{tmp}/crt.pem",
            },
        }
        result = subprocess.run(  # noqa: S603
            [python, "-c", _GENERATE, json.dumps(opts)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not Path(f"{tmp}/crt.pem").exists():
            raise click.ClickException(
                f"spid-compliant-certificates failed: {result.stderr[-500:]}"
            )
        for source, target, mode in (
            ("key.pem", settings.key_file, 0o600),
            ("crt.pem", settings.cert_file, 0o644),
        ):
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f"{tmp}/{source}", target)
            os.chmod(target, mode)
    click.echo(f"Key: {settings.key_file}\nCertificate: {settings.cert_file}")


def init_app(app: Flask) -> None:
    app.cli.add_command(spid_cli)
