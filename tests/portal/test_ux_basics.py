"""Small things every page or form gets right: the favicon, the accessibility statement's
feedback mechanism, what the asterisk of required fields means."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.factories import make_user


def test_the_favicon_is_linked_and_served(client):
    html = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg?v=' in html
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<svg")


def test_the_accessibility_statement_gives_a_contact_and_agid_s_form(app, client):
    html = client.get("/accessibility").get_data(as_text=True)
    contact = app.config["ACCESSIBILITY_CONTACT"]
    assert contact and contact == app.config["CONTACT_EMAIL"]
    assert f'<a href="mailto:{contact}">{contact}</a>' in html
    assert '<a href="https://form.agid.gov.it"' in html
    assert "Legge 4/2004" in html or "Law 4/2004" in html


def test_the_accessibility_contact_is_configurable(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "ACCESSIBILITY_CONTACT", "barriere@comune.example.it")
    html = client.get("/accessibility").get_data(as_text=True)
    assert 'href="mailto:barriere@comune.example.it"' in html


@pytest.mark.parametrize(
    ("lang", "note"),
    [
        ("it", "I campi contrassegnati con * sono obbligatori."),
        ("en", "Fields marked * are required."),
    ],
)
def test_forms_with_required_fields_say_what_the_asterisk_means(client, lang, note):
    html = client.get(f"/login?lang={lang}").get_data(as_text=True)
    assert html.count(note) == 1
    assert html.index(note) < html.index('name="email"')  # before the fields, once
    note_tag = html[html.rindex("<p", 0, html.index(note)) : html.index(note)]
    assert "aria-hidden" not in note_tag and "visually-hidden" not in note_tag


def test_each_form_of_a_page_gets_the_note_and_forms_without_required_fields_do_not(
    client, db_session
):
    login(client, make_user("employer"))
    html = client.get("/employer/vacancies/new?lang=en").get_data(as_text=True)
    assert html.count("Fields marked * are required.") == 1
    search = client.get("/vacancies?lang=en").get_data(as_text=True)  # filters only
    assert "Fields marked * are required." not in search
