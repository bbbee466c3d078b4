"""The shared response cache for anonymous readers of public pages."""

from __future__ import annotations

import re

import pytest

from employers import services
from portal import db, pagecache
from portal.db import utcnow
from tests.conftest import login
from tests.employers.factories import make_vacancy
from tests.ethical_products.factories import make_producer, make_product
from tests.factories import make_user


@pytest.fixture
def cached(app, db_session):
    """The cache switched on (tests run without it), empty at the start."""
    app.config["PAGE_CACHE"] = True
    pagecache.clear()
    yield app
    app.config["PAGE_CACHE"] = False


def test_second_anonymous_view_is_served_from_the_cache(cached, client):
    employer = make_user("employer")
    vacancy = make_vacancy(employer, title="Cuoco per mensa")
    first = client.get(f"/vacancies/{vacancy.id}")
    assert first.status_code == 200 and first.headers["X-Page-Cache"] == "miss"
    second = client.get(f"/vacancies/{vacancy.id}")
    assert second.headers["X-Page-Cache"] == "hit"
    assert second.get_data() == first.get_data()
    assert second.headers["ETag"] == first.headers["ETag"]
    assert "no-cache" in second.headers["Cache-Control"]
    assert "Cookie" in second.headers["Vary"]


def test_a_change_is_visible_on_the_next_request(cached, client):
    employer = make_user("employer")
    vacancy = make_vacancy(employer, title="Cuoco per mensa")
    client.get("/vacancies")
    assert client.get("/vacancies").headers["X-Page-Cache"] == "hit"
    services.update_vacancy(
        vacancy,
        employer,
        services.VacancyData(
            **{**_data(vacancy), "title": "Pizzaiolo per mensa"},
        ),
        utcnow().date(),
    )
    db.session.commit()
    listing = client.get("/vacancies")
    assert listing.headers["X-Page-Cache"] == "miss"
    assert "Pizzaiolo per mensa" in listing.get_data(as_text=True)
    assert "Cuoco per mensa" not in listing.get_data(as_text=True)
    services.close(vacancy, employer, "filled")
    db.session.commit()
    detail = client.get(f"/vacancies/{vacancy.id}")
    assert detail.status_code == 404


def _data(vacancy):
    return {
        "title": vacancy.title,
        "description": vacancy.description,
        "comune_code": vacancy.comune_code,
        "contract_type": vacancy.contract_type,
        "hours_per_week": vacancy.hours_per_week,
        "pay_min": vacancy.pay_min,
        "pay_max": vacancy.pay_max,
        "adjustments": list(vacancy.adjustments or []),
    }


def test_conditional_request_gets_304(cached, client):
    client.get("/vacancies")
    again = client.get("/vacancies")
    etag = again.headers["ETag"]
    not_modified = client.get("/vacancies", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.get_data() == b""


def test_signed_in_pages_are_never_served_nor_stored(cached, app, client):
    employer = make_user("employer")
    name = employer.full_name
    vacancy = make_vacancy(employer)
    anonymous = app.test_client()
    anonymous.get(f"/vacancies/{vacancy.id}")  # stored for anonymous readers
    login(client, employer)
    mine = client.get(f"/vacancies/{vacancy.id}")
    assert "X-Page-Cache" not in mine.headers
    assert name in mine.get_data(as_text=True)
    # the signed-in render was not stored: the next anonymous reader gets the stored page
    reader = app.test_client().get(f"/vacancies/{vacancy.id}")
    assert reader.headers["X-Page-Cache"] == "hit"
    body = reader.get_data(as_text=True)
    assert name not in body
    assert db.session.query(pagecache.PageCacheEntry).count() == 1


def test_each_language_has_its_own_entry(cached, app, client):
    italian = client.get("/vacancies", headers={"Accept-Language": "it"})
    english = app.test_client().get("/vacancies", headers={"Accept-Language": "en"})
    assert english.headers["X-Page-Cache"] == "miss"
    assert italian.get_data() != english.get_data()
    assert 'lang="en"' in english.get_data(as_text=True)


def test_a_session_with_a_cart_is_not_served_from_the_cache(cached, client):
    farm, _user = make_producer("social_farm")
    product, variant = make_product(farm, name="Miele di castagno")
    client.get("/shop")
    assert client.get("/shop").headers["X-Page-Cache"] == "hit"
    client.post("/shop/cart/add", data={"variant_id": variant.id, "quantity": 1})
    assert "X-Page-Cache" not in client.get("/shop").headers


def test_a_page_with_a_csrf_form_gives_each_reader_their_own_token(cached, app, client):
    """A POST form's token belongs to one session: the stored page holds a placeholder, each
    reader gets their own session's token in it, and the form works for each of them."""
    from flask import g

    app.config["WTF_CSRF_ENABLED"] = True
    try:
        farm, _user = make_producer("social_farm")
        product, variant = make_product(farm, name="Miele di castagno")
        seen = []
        for _reader in range(2):
            g.pop("csrf_token", None)  # a new request context in production
            browser = app.test_client()
            page = browser.get(f"/shop/products/{product.id}")
            assert page.status_code == 200
            found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
            assert found
            seen.append((page.headers["X-Page-Cache"], found.group(1), page.headers["ETag"]))
            g.pop("csrf_token", None)
            added = browser.post(
                "/shop/cart/add",
                data={"variant_id": variant.id, "quantity": 1, "csrf_token": found.group(1)},
            )
            assert added.status_code == 302  # the token is valid for this reader's session
        (first, first_token, first_etag), (second, second_token, second_etag) = seen
        assert (first, second) == ("miss", "hit")
        assert first_token != second_token and first_etag != second_etag
        stored = db.session.query(pagecache.PageCacheEntry).one()
        assert first_token.encode() not in stored.body
        assert pagecache.CSRF_PLACEHOLDER in stored.body
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_cached_page_carries_the_nonce_of_its_own_response(cached, client):
    """The Content-Security-Policy nonce of a stored page is replaced for every reader, so
    its scripts run and no two responses share a nonce."""
    import re

    first = client.get("/")
    second = client.get("/")
    assert second.headers.get("X-Page-Cache") == "hit"
    nonces = []
    for response in (first, second):
        policy = response.headers["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        body = response.get_data(as_text=True)
        assert "\x00" not in body
        if 'nonce="' in body:
            assert f'nonce="{nonce}"' in body
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_a_visitor_who_saw_a_form_is_still_served_from_the_cache(cached, app, client):
    """An anonymous session holding only a CSRF token is not treated as a hijacked
    sign-in: it is neither emptied nor told to drop a remember cookie on every page."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        farm, _user = make_producer("social_farm")
        product, _variant = make_product(farm, name="Miele di castagno")
        client.get("/vacancies")  # stored by another reader
        client.get(f"/shop/products/{product.id}")  # this visitor now holds a CSRF token
        with client.session_transaction() as session:
            assert "csrf_token" in session
        again = client.get("/vacancies")
        assert again.headers["X-Page-Cache"] == "hit"
        assert "remember_token" not in again.headers.get("Set-Cookie", "")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_signed_in_session_from_another_client_is_still_cleared(app, client):
    """Strong session protection still holds for sessions that name a user."""
    user = make_user("employer")
    login(client, user)
    assert client.get("/employer").status_code == 200
    with client.session_transaction() as session:
        session["_id"] = "another browser"
    page = client.get("/employer")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
