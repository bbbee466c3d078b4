"""Reading an edit page like a browser does: the values its form would send back."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from werkzeug.datastructures import MultiDict

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


class _FormParser(HTMLParser):
    """Collects each form's successful controls (what a browser submits, WHATWG 4.10.21)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self._form: list[tuple[str, str]] | None = None
        self._select: str | None = None
        self._select_multiple = False
        self._select_seen: list[tuple[str, bool]] = []
        self._option: tuple[str, bool] | None = None
        self._option_text = ""
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = []
            self.forms.append(self._form)
        if self._form is None or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""
        elif tag == "select" and name:
            self._select, self._select_multiple, self._select_seen = name, "multiple" in a, []
        elif tag == "option" and self._select is not None:
            self._option = (a.get("value"), "selected" in a)  # type: ignore[assignment]
            self._option_text = ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data
        if self._option is not None:
            self._option_text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.append((self._textarea, self._text.replace("\r\n", "\n").removeprefix("\n")))
            self._textarea = None
        elif tag == "option" and self._option is not None:
            value, selected = self._option
            self._select_seen.append(
                (self._option_text.strip() if value is None else value, selected)
            )
            self._option = None
        elif tag == "select" and self._select is not None and self._form is not None:
            chosen = [v for v, s in self._select_seen if s]
            if not chosen and not self._select_multiple and self._select_seen:
                chosen = [self._select_seen[0][0]]
            self._form.extend((self._select, v) for v in chosen)
            self._select = None
        elif tag == "form":
            self._form = None


def edit_form_fields(page: str) -> MultiDict:
    """What the page's edit form (the one carrying a version) submits unchanged."""
    parser = _FormParser()
    parser.feed(page)
    for form in parser.forms:
        if any(name == "version" for name, _value in form):
            return MultiDict(form)
    raise AssertionError("no edit form with a version on the page")
