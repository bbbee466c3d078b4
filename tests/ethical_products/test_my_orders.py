"""A buyer's orders: placed signed in, they belong to the account; guest orders with the
account's e-mail join it once the buyer opens the link sent to that address."""

from __future__ import annotations

import re

from ethical_products.models import Order
from portal import db
from tests.conftest import login
from tests.ethical_products.factories import make_producer, make_product, place
from tests.factories import make_user


def test_an_order_placed_signed_in_belongs_to_the_account(app, client, db_session):
    buyer = make_user("buyer", email="rita@example.it")
    _product, variant = make_product(make_producer()[0])
    order = place({variant.id: 1}, email="rita@example.it", buyer=buyer)
    login(client, buyer)
    assert f"#{order.id}" in client.get("/shop/my-orders").text


def test_guest_orders_with_the_same_email_are_claimed_through_a_link(app, client, db_session):
    buyer = make_user("buyer", email="Rita@Example.it")
    _product, variant = make_product(make_producer()[0])
    mine = place({variant.id: 1}, email="rita@example.it")  # as a guest, other case
    other = place({variant.id: 1}, email="someone.else@example.it")
    login(client, buyer)
    page = client.get("/shop/my-orders").text
    assert f"#{mine.id}" not in page and "/shop/my-orders/claim" in page

    outbox = app.extensions.setdefault("mail_outbox", [])
    outbox.clear()
    client.post("/shop/my-orders/claim")
    [message] = [m for m in outbox if m["To"] == "Rita@Example.it"]
    link = re.search(r"https?://\S+/shop/my-orders/claim/\S+", message.get_content()).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]

    # Someone else signed in cannot use the link.
    login(client, make_user("buyer"))
    client.get("/" + path)
    assert db.session.get(Order, mine.id).buyer_id is None

    login(client, buyer)
    client.get("/" + path)
    assert db.session.get(Order, mine.id).buyer_id == buyer.id
    assert db.session.get(Order, other.id).buyer_id is None
    assert f"#{mine.id}" in client.get("/shop/my-orders").text
    # A forged token does nothing.
    client.get("/shop/my-orders/claim/not-a-token")
    assert db.session.get(Order, other.id).buyer_id is None
