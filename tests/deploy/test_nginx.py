"""deploy/nginx/ponte.conf: the request size limit is the application's."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "ponte.conf"

UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}


def nginx_size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", value.lower()).groups()  # type: ignore[union-attr]
    return int(number) * UNITS.get(unit, 1)


def test_body_limit_equals_the_application_limit(app):
    (value,) = re.findall(r"^\s*client_max_body_size\s+(\S+);", SITE.read_text(), re.M)
    configured = app.config.get("MAX_CONTENT_LENGTH")
    if configured:
        expected = int(configured)
    else:  # no request limit set: the largest upload the application accepts
        from portal.network.documents import MAX_BYTES

        expected = MAX_BYTES
    assert nginx_size(value) == expected, "client_max_body_size must equal MAX_CONTENT_LENGTH"


def test_proxy_headers_and_static_caching():
    text = SITE.read_text()
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"):
        assert f"proxy_set_header {header}" in text
    static = text.split("location /static/", 1)[1].split("}", 1)[0]
    assert "max-age=31536000" in static
    assert "ssl_certificate " in text and "return 301 https://" in text


def test_static_links_change_with_the_file(client):
    """Every static link carries the file's hash, so a year of caching is safe."""
    html = client.get("/").get_data(as_text=True)
    links = re.findall(r'href="(/static/css/ponte\.css[^"]*)"', html)
    assert links and re.fullmatch(r"/static/css/ponte\.css\?v=[0-9a-f]{10}", links[0])


def self_signed(directory: Path) -> tuple[Path, Path]:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ponte.example.it")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def site_for_test(tmp_path: Path, http_port: int, https_port: int, app_port: int) -> Path:
    """The site with a self-signed certificate, this checkout and free ports, inside a
    minimal nginx.conf of its own (pid, logs and temporary files in ``tmp_path``)."""
    cert, key = self_signed(tmp_path)
    text = (
        SITE.read_text()
        .replace("/etc/letsencrypt/live/ponte.example.it/fullchain.pem", str(cert))
        .replace("/etc/letsencrypt/live/ponte.example.it/privkey.pem", str(key))
        .replace("/srv/ponte", str(ROOT))
        .replace("listen 443", f"listen {https_port}")
        .replace("listen [::]:443", f"listen [::]:{https_port}")
        .replace("listen 80;", f"listen {http_port};")
        .replace("listen [::]:80;", f"listen [::]:{http_port};")
        .replace("server 127.0.0.1:5000", f"server 127.0.0.1:{app_port}")
    )
    (tmp_path / "site.conf").write_text(text)
    (tmp_path / "logs").mkdir(exist_ok=True)
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/logs/error.log;\n"
        "events {}\n"
        "http {\n"
        "  include /etc/nginx/mime.types;\n"
        f"  access_log {tmp_path}/logs/access.log;\n"
        f"  client_body_temp_path {tmp_path}/body;\n"
        f"  proxy_temp_path {tmp_path}/proxy;\n"
        f"  include {tmp_path}/site.conf;\n"
        "}\n"
    )
    return main


def test_nginx_accepts_the_site(tmp_path):
    import shutil
    import subprocess

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is missing: `make test` installs Debian's nginx-light"
    main = site_for_test(tmp_path, 18080, 18443, 5000)
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(main)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
