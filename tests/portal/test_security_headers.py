"""Every response carries the security headers; no script runs without this response's
nonce; no template has an inline event handler."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


@pytest.mark.parametrize("path", ["/", "/login", "/no-such-page", "/api/v1/openapi.json"])
def test_every_response_carries_the_headers(client, path):
    response = client.get(path)
    csp = directives(response)
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert "https://checkout.stripe.com" in csp["form-action"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "geolocation=()" in response.headers["Permissions-Policy"]


def test_each_response_has_its_own_nonce_and_inline_scripts_carry_it(client):
    first, second = client.get("/login"), client.get("/login")
    nonce = re.search(r"'nonce-([^']+)'", first.headers["Content-Security-Policy"]).group(1)
    other = re.search(r"'nonce-([^']+)'", second.headers["Content-Security-Policy"]).group(1)
    assert nonce != other
    for tag in re.findall(r"<script[^>]*>", first.get_data(as_text=True)):
        assert "src=" in tag or f'nonce="{nonce}"' in tag or "ld+json" in tag, tag


def test_templates_have_no_inline_event_handlers_or_unnonced_scripts():
    problems = []
    for template in ROOT.glob("*/**/templates/**/*.html"):
        if ".venv" in template.parts or "node_modules" in template.parts:
            continue
        text = template.read_text()
        if re.search(r"<[a-z][^>]*\son[a-z]+\s*=", text):
            problems.append(f"{template}: inline event handler")
        for tag in re.findall(r"<script\b[^>]*>", text):
            data_block = 'type="application/ld+json"' in tag  # data, never executed
            if "src=" not in tag and "csp_nonce()" not in tag and not data_block:
                problems.append(f"{template}: {tag}")
    assert not problems, "\n".join(problems)
