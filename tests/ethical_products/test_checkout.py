"""Cart and checkout without Stripe (the default): offline methods, stock, bad input,
double clicks, GAS and canteen buyers, producers' fulfilment and reports."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from flask_babel import gettext
from markupsafe import escape
from sqlalchemy import func, select

from ethical_products import services
from ethical_products.models import Order, Product, SubOrder, Variant
from portal import db
from portal.db import utcnow
from portal.models import AuditLog
from tests.conftest import login
from tests.ethical_products.factories import make_producer, make_product, place
from tests.factories import make_user


def stock_of(variant):
    return db.session.execute(select(Variant.stock).where(Variant.id == variant.id)).scalar_one()


def orders_count():
    return db.session.execute(select(func.count()).select_from(Order)).scalar_one()


def checkout_form(client, **overrides):
    page = client.get("/shop/checkout").get_data(as_text=True)
    import re

    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page)
    fingerprint = re.search(r'name="fingerprint" type="hidden" value="([^"]+)"', page)
    data = {
        "idempotency_key": key.group(1) if key else "",
        "fingerprint": fingerprint.group(1) if fingerprint else "",
        "buyer_type": "person",
        "name": "Giulia Bianchi",
        "email": "giulia@example.it",
        "fulfilment": "pickup",
        "payment_method": "bank_transfer",
        "submit": "1",
    }
    data.update(overrides)
    return data


def test_a_guest_buys_from_two_producers_with_a_bank_transfer(app, client, db_session):
    farm, farm_user = make_producer("social_farm")
    coop, coop_user = make_producer("cooperative_b")
    _p1, honey = make_product(farm, price="6.50", vat="10.00", stock=5)
    _p2, bread = make_product(coop, price="4.00", vat="4.00", stock=None)
    assert (
        client.post("/shop/cart/add", data={"variant_id": honey.id, "quantity": 2}).status_code
        == 302
    )
    client.post("/shop/cart/add", data={"variant_id": bread.id, "quantity": 3})
    cart = client.get("/shop/cart").get_data(as_text=True)
    assert "25,00" in cart  # 13.00 + 12.00
    before = len(app.extensions.get("mail_outbox", []))
    response = client.post("/shop/checkout", data=checkout_form(client))
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    order = db.session.execute(select(Order)).scalars().all()[-1]
    assert response.headers["Location"].endswith(f"/shop/orders/{order.reference}")
    assert order.total == Decimal("25.00") and order.status == "pending_payment"
    assert order.vat_total == Decimal("1.18") + Decimal("0.46")
    assert {s.producer_id: s.subtotal for s in order.sub_orders} == {
        farm.id: Decimal("13.00"),
        coop.id: Decimal("12.00"),
    }
    assert stock_of(honey) == 3  # reserved at checkout; on-demand bread has no stock
    assert order.expires_at is not None
    sent = app.extensions["mail_outbox"][before:]
    recipients = {m["To"] for m in sent}
    assert {"giulia@example.it", farm_user.email, coop_user.email} <= recipients
    buyer_mail = next(m for m in sent if m["To"] == "giulia@example.it").get_content()
    assert "IT60 X054 2811 1010 0000 0123 456" in buyer_mail  # in groups of four, as banks print it
    page = client.get(f"/shop/orders/{order.reference}").get_data(as_text=True)
    assert farm.name in page and coop.name in page
    assert client.get("/shop/cart").get_data(as_text=True).count("Vasetto") == 0


def test_double_click_on_pay_makes_one_order(client, db_session):
    farm, _u = make_producer()
    _p, variant = make_product(farm, stock=10)
    client.post("/shop/cart/add", data={"variant_id": variant.id, "quantity": 1})
    form = checkout_form(client)
    first = client.post("/shop/checkout", data=form)
    second = client.post("/shop/checkout", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert orders_count() == 1 and stock_of(variant) == 9


def test_place_order_is_idempotent_by_key(db_session):
    farm, _u = make_producer()
    _p, variant = make_product(farm, stock=10)
    first = place({variant.id: 2}, idempotency_key="same-key-0000000000001")
    again = place({variant.id: 2}, idempotency_key="same-key-0000000000001")
    assert first.id == again.id and stock_of(variant) == 8


def test_tampered_variant_ids_and_prices_are_refused_or_ignored(client, db_session):
    farm, _u = make_producer()
    _p, variant = make_product(farm, price="9.90", stock=10)
    hidden_farm, _u2 = make_producer(verified=False)
    _hp, hidden = make_product(hidden_farm)
    for bad in (
        {"variant_id": 999999, "quantity": 1},
        {"variant_id": hidden.id, "quantity": 1},
        {"variant_id": variant.id, "quantity": 0},
        {"variant_id": variant.id, "quantity": -3},
        {"variant_id": variant.id, "quantity": 11},
        {"variant_id": "1 OR 1=1", "quantity": 1},
    ):
        client.post("/shop/cart/add", data=bad)
    assert client.get("/shop/cart").get_data(as_text=True).count("Vasetto") == 0
    client.post(
        "/shop/cart/add",
        data={"variant_id": variant.id, "quantity": 2, "price": "0.01", "unit_price": "0.01"},
    )
    response = client.post(
        "/shop/checkout",
        data=checkout_form(client, total="0.02", price="0.01", **{"lines-0-price": "0.01"}),
    )
    assert response.status_code == 303
    order = db.session.execute(select(Order)).scalar_one()
    assert order.total == Decimal("19.80")
    assert order.lines[0].unit_price == Decimal("9.90")


def test_a_price_change_after_review_asks_to_confirm_again(client, db_session):
    farm, _u = make_producer()
    _p, variant = make_product(farm, price="5.00", stock=10)
    client.post("/shop/cart/add", data={"variant_id": variant.id, "quantity": 1})
    form = checkout_form(client)
    variant.price = Decimal("7.00")
    response = client.post("/shop/checkout", data=form)
    assert response.status_code == 200 and orders_count() == 0
    message = gettext("Your cart or its prices changed: check it and confirm again.")
    assert str(escape(message)) in response.get_data(as_text=True)


def test_checkout_errors_are_shown_next_to_fields(client, db_session):
    farm, _u = make_producer()
    _p, variant = make_product(farm, stock=10)
    client.post("/shop/cart/add", data={"variant_id": variant.id, "quantity": 1})
    response = client.post(
        "/shop/checkout",
        data=checkout_form(
            client, name="", email="nope", payment_method="stripe", buyer_type="canteen"
        ),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and orders_count() == 0
    for field in ("name", "email", "payment_method", "invoice_entity", "invoice_sdi_code"):
        assert f'id="{field}-error"' in html, field


def test_more_than_the_stock_is_refused(db_session):
    farm, _u = make_producer()
    _p, variant = make_product(farm, stock=3)
    with pytest.raises(services.ShopError) as error:
        place({variant.id: 4})
    assert "cart" in error.value.fields
    assert stock_of(variant) == 3


def test_the_atomic_update_refuses_when_stock_went_meanwhile(db_session):
    farm, _u = make_producer()
    _p, variant = make_product(farm, stock=3)
    priced = services.price_cart({variant.id: {"": 3}})
    db.session.execute(
        Variant.__table__.update().where(Variant.__table__.c.id == variant.id).values(stock=2)
    )
    from tests.ethical_products.factories import checkout_data

    with pytest.raises(services.OutOfStock), db.session.begin_nested():
        services.place_order(checkout_data(), priced)
    assert stock_of(variant) == 2 and orders_count() == 0


def test_offline_methods_are_those_every_producer_accepts(db_session):
    farm, _u = make_producer(accepts_pay_on_pickup=False)
    coop, _u2 = make_producer("cooperative_b", accepts_bank_transfer=False, iban="")
    _p, a = make_product(farm)
    _p2, b = make_product(coop)
    assert services.payment_methods(services.price_cart({a.id: {"": 1}})) == ["bank_transfer"]
    assert services.payment_methods(services.price_cart({b.id: {"": 1}})) == ["pay_on_pickup"]
    assert services.payment_methods(services.price_cart({a.id: {"": 1}, b.id: {"": 1}})) == []
    with pytest.raises(services.ShopError) as error:
        place({a.id: 1, b.id: 1}, method="bank_transfer")
    assert "payment_method" in error.value.fields


def test_expiry_and_cancellation_release_stock_once(db_session):
    farm, _u = make_producer()
    _p, variant = make_product(farm, stock=5)
    order = place({variant.id: 2})
    assert stock_of(variant) == 3
    order.expires_at = utcnow() - timedelta(minutes=1)
    assert services.expire_due() == 1
    assert order.status == "cancelled" and stock_of(variant) == 5
    assert services.cancel_order(order) is False
    for sub in order.sub_orders:
        services.release_sub_order(sub)
    assert stock_of(variant) == 5


def test_a_gas_orders_for_its_members_with_one_delivery(client, db_session):
    farm, _u = make_producer()
    _p, variant = make_product(farm, price="3.20", stock=20)
    client.post("/shop/cart/add", data={"variant_id": variant.id, "quantity": 1})
    client.post("/shop/cart/members", data={"members": "Anna\nBruno\nAnna\n"})
    client.post("/shop/cart/update", data={f"qty-{variant.id}-0": "2", f"qty-{variant.id}-1": "3"})
    response = client.post(
        "/shop/checkout",
        data=checkout_form(
            client,
            buyer_type="gas",
            gas_name="GAS Pordenone",
            fulfilment="delivery",
            address="Via Mazzini 1",
            comune="Pordenone (PN)",
        ),
    )
    assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
    order = db.session.execute(select(Order)).scalar_one()
    line = order.lines[0]
    assert order.buyer_type == "gas" and order.gas_name == "GAS Pordenone"
    assert line.quantity == 5 and {s.member: s.quantity for s in line.shares} == {
        "Anna": 2,
        "Bruno": 3,
    }
    assert order.total == Decimal("16.00") and order.fulfilment == "delivery"
    page = client.get(f"/shop/orders/{order.reference}").get_data(as_text=True)
    assert "Anna" in page and "6,40" in page and "9,60" in page


def test_a_public_canteen_gives_invoice_details_and_art6_is_noted(client, db_session):
    farm, farm_user = make_producer("social_farm")
    _p, variant = make_product(farm, stock=20)
    order = place(
        {variant.id: 4},
        buyer_type="canteen",
        invoice_entity="Comune di Pordenone",
        invoice_tax_code="80002150938",
        invoice_sdi_code="ufabcd",
        invoice_cig="Z123456789",
    )
    assert order.invoice_sdi_code == "UFABCD" and order.sub_orders[0].art6_eligible
    login(client, farm_user)
    html = client.get(f"/shop/manage/orders/{order.sub_orders[0].id}").get_data(as_text=True)
    assert "80002150938" in html and "art. 6" in html


def test_producers_see_and_fulfil_only_their_lines(client, db_session):
    farm, farm_user = make_producer()
    coop, coop_user = make_producer("cooperative_b")
    _p1, a = make_product(farm, name="Miele della fattoria")
    _p2, b = make_product(coop, name="Pane della cooperativa")
    order = place({a.id: 1, b.id: 1}, method="pay_on_pickup")
    mine = next(s for s in order.sub_orders if s.producer_id == farm.id)
    theirs = next(s for s in order.sub_orders if s.producer_id == coop.id)
    login(client, farm_user)
    listing = client.get("/shop/manage/orders").get_data(as_text=True)
    assert "Miele della fattoria" in listing and "Pane della cooperativa" not in listing
    detail = client.get(f"/shop/manage/orders/{mine.id}").get_data(as_text=True)
    assert "Pane della cooperativa" not in detail
    assert client.get(f"/shop/manage/orders/{theirs.id}").status_code == 403
    assert client.post(f"/shop/manage/orders/{theirs.id}/ready").status_code == 403
    assert client.post(f"/shop/manage/orders/{mine.id}/complete").status_code == 302
    assert mine.status == "pending_payment"  # refused: not ready yet
    client.post(f"/shop/manage/orders/{mine.id}/ready")
    client.post(f"/shop/manage/orders/{mine.id}/complete")
    assert mine.status == "collected" and mine.paid_at is not None
    assert theirs.status == "pending_payment" and order.status == "paid"
    assert client.post(f"/shop/manage/orders/{mine.id}/explode").status_code == 400
    login(client, coop_user)
    client.post(
        f"/shop/manage/orders/{theirs.id}/cancel", data={"reason": "Finito", "confirm": "y"}
    )
    assert theirs.status == "cancelled"


def test_an_offline_order_is_placed_not_confirmed(client, db_session):
    farm, _u = make_producer()
    _p, variant = make_product(farm, price="6.50")
    client.post("/shop/cart/add", data={"variant_id": variant.id, "quantity": 2})
    html = client.post(
        "/shop/checkout", data=checkout_form(client), follow_redirects=True
    ).get_data(as_text=True)
    assert "Ordine inviato: in attesa del tuo bonifico" in html
    assert "ordine è confermato" not in html
    assert "IBAN" in html and "13,00" in html
    client.post("/shop/cart/add", data={"variant_id": variant.id, "quantity": 1})
    html = client.post(
        "/shop/checkout",
        data=checkout_form(client, payment_method="pay_on_pickup"),
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Ordine inviato: paghi al ritiro" in html and "ordine è confermato" not in html
    assert "Paga 6,50" in html and f"a {farm.name} al ritiro." in html


def test_cancelling_or_refunding_a_part_asks_for_a_reason_and_a_confirmation(client, db_session):
    farm, farm_user = make_producer()
    _p, variant = make_product(farm, stock=10, name="Miele della fattoria")
    order = place({variant.id: 2}, method="pay_on_pickup")
    sub = order.sub_orders[0]
    login(client, farm_user)
    detail = client.get(f"/shop/manage/orders/{sub.id}").get_data(as_text=True)
    # No one-click form: a link to the confirmation page.
    confirm_url = f"/shop/manage/orders/{sub.id}/cancel"
    assert f'href="{confirm_url}"' in detail and f'action="{confirm_url}"' not in detail
    page = client.get(confirm_url).get_data(as_text=True)
    assert "<textarea" in page and 'name="reason"' in page and 'name="confirm"' in page
    # Neither a reason nor the confirmation: nothing happens, an error summary links both.
    response = client.post(confirm_url, data={"reason": "  "})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and sub.status == "pending_payment"
    assert 'data-error-summary="1"' in html
    assert 'href="#reason"' in html and 'href="#confirm"' in html
    assert str(escape(gettext("Give the reason: the buyer receives it."))) in html
    client.post(confirm_url, data={"reason": "Grandinata"})
    assert sub.status == "pending_payment"
    client.post(confirm_url, data={"reason": "Grandinata sul campo", "confirm": "y"})
    assert sub.status == "cancelled" and stock_of(variant) == 10
    entry = db.session.execute(
        select(AuditLog).where(AuditLog.action == "shop.sub_order.cancel")
    ).scalar_one()
    assert entry.reason == "Grandinata sul campo"


def test_the_picked_up_state_and_its_button_say_the_same(client, db_session):
    farm, farm_user = make_producer()
    _p, variant = make_product(farm)
    order = place({variant.id: 1}, method="pay_on_pickup")
    sub = order.sub_orders[0]
    login(client, farm_user)
    client.post(f"/shop/manage/orders/{sub.id}/ready")
    html = client.get(f"/shop/manage/orders/{sub.id}").get_data(as_text=True)
    assert "Segna come ritirato" in html
    client.post(f"/shop/manage/orders/{sub.id}/complete")
    html = client.get(f"/shop/manage/orders/{sub.id}").get_data(as_text=True)
    assert sub.status == "collected" and "<strong>Ritirato</strong>" in html
    assert "Incassato" not in html


def test_bank_transfer_flow_and_reports_with_csv(client, db_session):
    farm, farm_user = make_producer()
    product, variant = make_product(
        farm, price="6.50", vat="10.00", stock=20, name='=HYPERLINK("x")'
    )
    order = place({variant.id: 3})
    sub = order.sub_orders[0]
    login(client, farm_user)
    client.post(f"/shop/manage/orders/{sub.id}/confirm_payment")
    assert sub.status == "paid" and order.status == "paid"
    client.post(f"/shop/manage/orders/{sub.id}/ready")
    client.post(f"/shop/manage/orders/{sub.id}/complete")
    html = client.get("/shop/manage/reports").get_data(as_text=True)
    assert "19,50" in html and "1,77" in html
    csv_text = client.get("/shop/manage/reports?format=csv").get_data(as_text=True)
    assert "'=HYPERLINK" in csv_text and ",3,19.50,1.77,17.73" in csv_text
    rows = services.sales_by_product(farm.id, utcnow().date(), utcnow().date())
    assert rows[0].quantity == 3 and rows[0].gross == Decimal("19.50")
    balance = services.balances(farm.id)[0]
    assert balance.offline_sales == Decimal("19.50") and balance.owed == Decimal("0.00")


def test_buyers_see_their_orders_and_others_are_404(client, db_session):
    farm, _u = make_producer()
    _p, variant = make_product(farm)
    buyer = make_user("buyer")
    order = place({variant.id: 1}, buyer=buyer)
    login(client, buyer)
    assert f"/shop/orders/{order.reference}" in client.get("/shop/my-orders").get_data(as_text=True)
    assert client.get("/shop/orders/not-a-real-reference-x").status_code == 404
    client.post(f"/shop/orders/{order.reference}/cancel")
    assert order.status == "cancelled"


def test_producer_creates_a_product_with_variants(client, db_session):
    farm, farm_user = make_producer()
    login(client, farm_user)
    response = client.post(
        "/shop/manage/products/new",
        data={
            "name": "Confettura di fichi",
            "category": "preserves",
            "comune": "Pordenone (PN)",
            "organic_body": "IT-BIO-006",
            "organic_number": "",
            "active": "y",
            "submit": "1",
        },
    )
    assert response.status_code == 200
    assert 'id="organic_number-error"' in response.get_data(as_text=True)
    response = client.post(
        "/shop/manage/products/new",
        data={
            "name": "Confettura di fichi",
            "category": "preserves",
            "comune": "Pordenone (PN)",
            "active": "y",
            "submit": "1",
        },
    )
    assert response.status_code == 302
    product_id = int(response.headers["Location"].rsplit("/", 1)[1])
    bad = client.post(
        f"/shop/manage/products/{product_id}/variants",
        data={"label": "Vasetto", "unit": "jar", "price": "4,999", "vat_rate": "10.00"},
    )
    assert bad.status_code == 422
    ok = client.post(
        f"/shop/manage/products/{product_id}/variants",
        data={
            "label": "Vasetto 220 g",
            "unit": "jar",
            "price": "4,50".replace(",", "."),
            "vat_rate": "10.00",
            "stock": "12",
            "active": "y",
        },
    )
    assert ok.status_code == 302
    variant = db.session.execute(
        select(Variant).where(Variant.product_id == product_id)
    ).scalar_one()
    assert variant.price == Decimal("4.50") and variant.vat_rate == Decimal("10.00")
    assert variant.stock == 12
    other = make_user("cooperative")
    login(client, other)
    assert client.get(f"/shop/manage/products/{product_id}").status_code == 403


def test_catalogue_filters_and_visibility(client, db_session):
    farm, _u = make_producer("social_farm", art2_activities=["a", "d"])
    coop, _u2 = make_producer("cooperative_b", art2_activities=[])
    far, _u3 = make_producer("social_farm")
    far.comune_code = "001272"  # Turin
    hidden, _u4 = make_producer(verified=False)
    honey, _v = make_product(
        farm, name="Miele di tiglio", organic_body="IT-BIO-006", organic_number="B1", organic=True
    )
    bread, _v2 = make_product(coop, name="Pane casereccio", category="bakery")
    turin, _v3 = make_product(far, name="Miele torinese", comune_code="001272")
    secret, _v4 = make_product(hidden, name="Miele nascosto")

    def ids(**kw):
        stmt = services.catalogue(services.CatalogueFilters(**kw))
        return {p.id for p in db.session.execute(stmt).scalars()}

    everything = ids()
    assert {honey.id, bread.id, turin.id} <= everything and secret.id not in everything
    assert ids(category="bakery") & {honey.id, bread.id} == {bread.id}
    assert ids(organic=True) & {honey.id, bread.id} == {honey.id}
    assert ids(activities=["d"]) & {honey.id, bread.id, turin.id} == {honey.id}
    assert ids(producer_id=coop.id) == {bread.id}
    near = ids(comune="093032", radius_km=20)
    assert honey.id in near and turin.id not in near
    assert client.get(f"/shop/products/{secret.id}").status_code == 404
    assert client.get(f"/shop/producers/{hidden.id}").status_code == 404
    assert client.get(f"/shop/producers/{farm.id}").status_code == 200
    html = client.get(
        "/shop?category=honey&organic=1&activity=a&radius_km=30&comune=093033"
    ).get_data(as_text=True)
    assert "Miele di tiglio" in html and "Pane casereccio" not in html


def test_full_text_search_in_catalogue_and_api(client, db_session):
    from portal import search

    farm, _u = make_producer()
    honey, _v = make_product(farm, name="Miele di castagno", name_en="Chestnut honey")
    make_product(farm, name="Olio nuovo", category="oil")
    db.session.commit()
    search.drain()
    data = client.get("/api/v1/products?q=castagno").json
    assert [p["id"] for p in data["items"]] == [honey.id]
    item = data["items"][0]
    assert item["variants"][0]["price"] == "4.50" and item["variants"][0]["currency"] == "EUR"
    assert item["url"].startswith("http") and item["label"][0]["code"] == "register"
    assert [p["id"] for p in client.get("/api/v1/products?q=chestnut").json["items"]] == [honey.id]
    assert "Miele di castagno" in client.get("/shop?q=castagno").get_data(as_text=True)


def test_api_refuses_bad_parameters_with_json_errors(client, db_session):
    response = client.get("/api/v1/products?category=spaceships&radius_km=900&organic=7")
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"category", "radius_km", "organic"}
    assert client.get("/api/v1/products/999999").json["error"]["code"] == "not_found"
    assert client.get("/api/v1/products?page=0").status_code == 400


def test_order_page_queries_do_not_grow_with_the_number_of_lines(client, db_session):
    from sqlalchemy import event

    farm, _u = make_producer()
    coop, _u2 = make_producer("cooperative_b")
    small = place({make_product(farm, stock=50)[1].id: 1})
    big = place({v.id: 1 for v in [make_product(p, stock=50)[1] for p in (farm, coop) * 4]})
    engine = db.session.get_bind().engine

    def queries(order) -> int:
        client.get("/shop")  # the client's commit before a request is not counted
        seen: list[str] = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/shop/orders/{order.reference}").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    assert queries(big) <= queries(small) + 1


def test_sub_orders_are_indexed_for_the_producer_list():
    names = {i.name for i in SubOrder.__table__.indexes}
    assert "ix_ep_sub_order_producer_status" in names


def test_catalogue_facets_and_capped_count(app, client, db_session, monkeypatch):
    farm, _u = make_producer()
    hidden, _u2 = make_producer(verified=False)
    for n in range(3):
        make_product(farm, name=f"Confettura {n}", category="preserves")
    make_product(hidden, name="Confettura nascosta", category="preserves")
    everything = services.catalogue(services.CatalogueFilters(producer_id=farm.id))
    assert services.facet_counts(everything, Product.category) == {"preserves": 3}
    visible = services.catalogue(services.CatalogueFilters(category="preserves"))
    assert services.facet_counts(visible, Product.producer_id).get(hidden.id) is None
    monkeypatch.setitem(app.config, "LISTING_COUNT_LIMIT", 2)
    html = client.get(f"/shop?producer={farm.id}").get_data(as_text=True)
    message = gettext("More than %(num)s products found: add a filter to narrow them down.")
    assert message % {"num": "2"} in html


def test_checkout_checks_only_the_chosen_buyer_types_fields(client, db_session):
    farm, _u = make_producer()
    _p, variant = make_product(farm, stock=5)
    client.post("/shop/cart/add", data={"variant_id": variant.id, "quantity": 1})
    page = client.get("/shop/checkout").get_data(as_text=True)
    # Without JavaScript every group shows; the script hides the other types'.
    assert 'data-buyer-type="gas"' in page and 'data-buyer-type="canteen"' in page
    assert "hidden" not in page.split('data-buyer-type="gas"')[1].split(">")[0]
    # A private buyer who typed in a canteen field and left it: neither checked nor kept.
    form = checkout_form(client, invoice_pec="not-an-address", gas_name="GAS Borgo")
    response = client.post("/shop/checkout", data=form)
    assert response.status_code == 303
    order = db.session.execute(select(Order)).scalar_one()
    assert order.buyer_type == "person" and order.gas_name == "" and order.invoice_pec == ""


def test_checkout_errors_are_summarised_at_the_top(client, db_session):
    farm, _u = make_producer()
    _p, variant = make_product(farm, stock=5)
    client.post("/shop/cart/add", data={"variant_id": variant.id, "quantity": 1})
    form = checkout_form(client, name="", email="", buyer_type="canteen", invoice_pec="x")
    html = client.post("/shop/checkout", data=form).get_data(as_text=True)
    summary = html.split('data-error-summary="1"')[1].split("</div>")[0]
    assert html.index('data-error-summary="1"') < html.index("<h1>")
    for anchor in ("#name", "#email", "#invoice_entity", "#invoice_tax_code", "#invoice_pec"):
        assert f'href="{anchor}"' in summary, anchor
    assert 'tabindex="-1"' in html and orders_count() == 0


def test_cart_tables_are_responsive_with_captions_on_top(client, db_session):
    farm, _u = make_producer()
    coop, _c = make_producer("cooperative_b")
    _p1, a = make_product(farm)
    _p2, b = make_product(coop)
    client.post("/shop/cart/add", data={"variant_id": a.id, "quantity": 1})
    client.post("/shop/cart/add", data={"variant_id": b.id, "quantity": 1})
    html = client.get("/shop/cart").get_data(as_text=True)
    assert html.count('<div class="table-responsive" tabindex="0" role="region"') == 2
    assert html.count('<table class="table caption-top') == 3
