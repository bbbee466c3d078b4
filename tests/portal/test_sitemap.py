"""Sitemaps of every public page kind, named in robots.txt, and the Atom feed of new
vacancies filtered like the list."""

# ruff: noqa: S314 - parses the portal's own responses, not untrusted XML
from __future__ import annotations

import xml.etree.ElementTree as ET

from portal import db
from tests.employers.factories import make_vacancy
from tests.factories import make_user

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ATOM = "{http://www.w3.org/2005/Atom}"


def test_robots_names_the_sitemap_index_and_the_index_names_every_kind(client, db_session):
    robots = client.get("/robots.txt").text
    assert "Sitemap: http://ponte.test/sitemap.xml" in robots
    index = ET.fromstring(client.get("/sitemap.xml").data)
    locs = [s.find(f"{SM}loc").text for s in index.findall(f"{SM}sitemap")]
    for kind in ("vacancies", "products", "producers", "tenders", "events", "good-practices"):
        assert f"http://ponte.test/sitemaps/{kind}-1.xml" in locs


def test_only_public_vacancies_are_listed_with_their_lastmod(client, db_session):
    employer = make_user("employer")
    public = make_vacancy(employer, title="Magazziniere pubblico")
    draft = make_vacancy(employer, title="Bozza", publish=False)
    urlset = ET.fromstring(client.get("/sitemaps/vacancies-1.xml").data)
    urls = {u.find(f"{SM}loc").text: u.find(f"{SM}lastmod").text for u in urlset}
    assert f"http://ponte.test/vacancies/{public.id}" in urls
    assert f"http://ponte.test/vacancies/{draft.id}" not in urls
    assert urls[f"http://ponte.test/vacancies/{public.id}"].endswith("Z")
    assert client.get("/sitemaps/nothing-1.xml").status_code == 404
    assert client.get("/sitemaps/vacancies-2.xml").status_code == 404


def test_the_feed_takes_the_list_s_query_string(client, db_session):
    employer = make_user("employer")
    pordenone = make_vacancy(employer, title="Addetto Pordenone", comune_code="093033")
    torino = make_vacancy(employer, title="Addetto Torino", comune_code="001272")
    db.session.flush()

    listing = client.get("/vacancies?province=PN").text
    assert 'href="/vacancies/feed.atom?province=PN"' in listing
    assert "Addetto Pordenone" in listing and "Addetto Torino" not in listing
    assert '<option value="TO">Torino</option>' in listing  # provinces by name

    response = client.get("/vacancies/feed.atom?province=PN")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    titles = [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")]
    assert "Addetto Pordenone" in titles and "Addetto Torino" not in titles
    entry = next(
        e
        for e in feed.findall(f"{ATOM}entry")
        if e.find(f"{ATOM}title").text == "Addetto Pordenone"
    )
    assert entry.find(f"{ATOM}id").text == f"http://ponte.test/vacancies/{pordenone.id}"
    everything = ET.fromstring(client.get("/vacancies/feed.atom").data)
    all_titles = [e.find(f"{ATOM}title").text for e in everything.findall(f"{ATOM}entry")]
    assert all_titles.index("Addetto Torino") < all_titles.index(
        "Addetto Pordenone"
    )  # newest first
    assert torino.id
