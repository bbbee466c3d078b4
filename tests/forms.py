"""Reading an edit page like a browser does: the values its form would send back."""

from __future__ import annotations

import html
import re
from typing import Any

_INPUT = re.compile(r"<input\b[^>]*>", re.S)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of an HTML page (version, snapshot, CSRF token)."""
    found = {}
    for tag in _INPUT.findall(page):
        attrs = {k: html.unescape(v) for k, v in _ATTR.findall(tag)}
        if attrs.get("type") == "hidden" and "name" in attrs:
            found[attrs["name"]] = attrs.get("value", "")
    return found


def opened_form(client: Any, url: str) -> dict[str, str]:
    """GET an edit page and return its hidden fields (the version it was opened at)."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    fields = hidden_fields(response.get_data(as_text=True))
    assert fields.get("version") and fields.get("snapshot"), "the edit form carries no version"
    return fields
