"""Search results as people read them: facet values translated (provinces by name, codes
only in URLs), snippets with separators between fields and the searched words marked."""

from __future__ import annotations

import re

from portal import provinces
from portal.search.highlight import mark
from portal.search.schema import SEPARATOR, to_fields


def test_mark_wraps_the_searched_words_and_escapes_the_rest():
    html = str(mark("Pane <fresco> e panetti · Torino", "panetto"))
    assert html == "Pane &lt;fresco&gt; e <mark>panetti</mark> · Torino"
    assert str(mark("Pane e pani", "pane")) == "<mark>Pane</mark> e pani"
    assert str(mark("Magazziniere", "magazzino AND")) == "<mark>Magazziniere</mark>"
    assert str(mark("testo", "")) == "testo"


def test_bodies_given_as_parts_keep_them_apart():
    fields = to_fields("vacancy", 1, {"title": "x", "body": ["Magazziniere", "", "Torino"]})
    assert fields["snippet"] == f"Magazziniere{SEPARATOR}Torino"


def test_provinces_have_names():
    assert provinces.name("TO") == "Torino"
    assert provinces.name("MB") == "Monza e Brianza"
    assert provinces.name("AO") == "Aosta"
    assert len(provinces.choices()) == 107


def test_the_search_page_shows_labels_not_codes(app, client, db_session):
    from portal import search
    from tests.factories import make_org

    make_org("cooperative_b", name="Cooperativa Sociale Arcobaleno", comune_code="001272")
    db_session.commit()
    search.drain()
    html = client.get("/search?q=arcobaleno").text
    facet_texts = re.findall(r'<li><a href="([^"]*)">([^<]+)</a>', html)
    names = [text for _href, text in facet_texts]
    assert "Torino" in names and "TO" not in names
    assert "cooperative_b" not in names
    assert any("province=TO" in href for href, text in facet_texts if text == "Torino")


def test_the_directory_filters_provinces_by_name(app, client, db_session):
    html = client.get("/directory?province=PN").text
    assert '<option value="PN" selected>Pordenone</option>' in html
    assert 'name="province"' in html and "maxlength" not in html.split('id="dir-province"')[1][:80]
