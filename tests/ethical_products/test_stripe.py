"""Stripe through the real library against the fixture server: Checkout Sessions,
Connect transfers, refunds with reversals, and signed webhooks (idempotent, out of order)."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import func, select

from ethical_products import services
from ethical_products.models import Order, StripeEvent, Variant
from portal import db
from tests.conftest import login
from tests.ethical_products.conftest import WEBHOOK_SECRET
from tests.ethical_products.factories import make_producer, make_product, place
from tests.ethical_products.stripe_server import event, sign
from tests.factories import make_user


def stock_of(variant):
    return db.session.execute(select(Variant.stock).where(Variant.id == variant.id)).scalar_one()


def post_event(client, payload: dict, secret: str = WEBHOOK_SECRET, signature=None):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not False:
        headers["Stripe-Signature"] = signature or sign(body, secret)
    return client.post("/stripe/webhook", data=body, headers=headers)


def completed(order, event_id=None, intent="pi_test_1"):
    return event(
        "checkout.session.completed",
        {
            "id": order.stripe_session_id or "cs_unknown",
            "object": "checkout.session",
            "client_reference_id": order.reference,
            "payment_status": "paid",
            "status": "complete",
            "payment_intent": intent,
            "metadata": {"order_reference": order.reference},
            "amount_total": int(order.total * 100),
        },
        event_id,
    )


def two_producer_order(client, app, fee="0"):
    app.config["SHOP_PLATFORM_FEE_PERCENT"] = fee
    farm, _u = make_producer("social_farm", stripe_account="acct_farm")
    coop, _u2 = make_producer("cooperative_b", stripe_account="acct_coop")
    _p1, honey = make_product(farm, price="6.50", stock=5)
    _p2, bread = make_product(coop, price="3.99", stock=5)
    client.post("/shop/cart/add", data={"variant_id": honey.id, "quantity": 2})
    client.post("/shop/cart/add", data={"variant_id": bread.id, "quantity": 1})
    return farm, coop, honey, bread


def checkout(client, key="stripe-key-000000000001"):
    return client.post(
        "/shop/checkout",
        data={
            "idempotency_key": key,
            "buyer_type": "person",
            "name": "Luca Neri",
            "email": "luca@example.it",
            "fulfilment": "pickup",
            "payment_method": "stripe",
            "submit": "1",
        },
    )


def test_checkout_creates_one_session_for_all_producers(app, client, db_session, fake_stripe):
    _farm, _coop, honey, _bread = two_producer_order(client, app)
    response = checkout(client)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{fake_stripe.base_url}/pay/cs_test_")
    [call] = fake_stripe.calls("POST", "/v1/checkout/sessions")
    order = db.session.execute(select(Order)).scalar_one()
    assert call.params["client_reference_id"] == order.reference
    assert call.params["payment_intent_data[transfer_group]"] == order.reference
    assert call.idempotency_key == f"checkout-{order.reference}"
    amounts = sorted(int(v) for k, v in call.params.items() if k.endswith("[unit_amount]"))
    assert amounts == [399, 650]
    assert order.stripe_session_id and stock_of(honey) == 3
    again = checkout(client)  # double click: same order, same session, no new call
    assert again.headers["Location"] == response.headers["Location"]
    assert len(fake_stripe.calls("POST", "/v1/checkout/sessions")) == 1


def test_stripe_is_offered_only_when_configured_and_connected(app, client, db_session, fake_stripe):
    farm, _u = make_producer(stripe_account="acct_x")
    lazy, _u2 = make_producer("cooperative_b")
    _p, a = make_product(farm)
    _p2, b = make_product(lazy)
    assert "stripe" in services.payment_methods(services.price_cart({a.id: {"": 1}}))
    assert "stripe" not in services.payment_methods(
        services.price_cart({a.id: {"": 1}, b.id: {"": 1}})
    )
    app.config["STRIPE_SECRET_KEY"] = ""
    assert "stripe" not in services.payment_methods(services.price_cart({a.id: {"": 1}}))


def test_the_same_event_three_times_changes_state_once(app, client, db_session, fake_stripe):
    farm, coop, _h, _b = two_producer_order(client, app, fee="10")
    checkout(client)
    order = db.session.execute(select(Order)).scalar_one()
    payload = completed(order, "evt_paid_once")
    outcomes = [post_event(client, payload).json["outcome"] for _ in range(3)]
    assert outcomes == ["paid", "duplicate", "duplicate"]
    assert order.status == "paid" and all(s.status == "paid" for s in order.sub_orders)
    transfers = fake_stripe.calls("POST", "/v1/transfers")
    assert len(transfers) == 2
    by_destination = {t.params["destination"]: t for t in transfers}
    # 13.00 − 10% fee (1.30) = 11.70; 3.99 − 0.40 (0.399 → 0.40 half up) = 3.59
    assert by_destination["acct_farm"].params["amount"] == "1170"
    assert by_destination["acct_coop"].params["amount"] == "359"
    assert all(t.params["transfer_group"] == order.reference for t in transfers)
    assert all(t.params["source_transaction"] == "ch_for_pi_test_1" for t in transfers)
    assert db.session.execute(select(func.count()).select_from(StripeEvent)).scalar_one() == 1
    # A new event id with the same content does not pay twice either.
    assert post_event(client, completed(order)).json["outcome"] == "already_paid"
    assert len(fake_stripe.calls("POST", "/v1/transfers")) == 2
    balance = {b.producer_id: b for b in services.balances()}
    assert balance[farm.id].due == Decimal("11.70") and balance[farm.id].owed == Decimal("0")
    assert balance[coop.id].fees == Decimal("0.40")


def test_unsigned_or_badly_signed_webhooks_are_401_and_change_nothing(
    app, client, db_session, fake_stripe
):
    two_producer_order(client, app)
    checkout(client)
    order = db.session.execute(select(Order)).scalar_one()
    payload = completed(order)
    assert post_event(client, payload, signature=False).status_code == 401
    assert post_event(client, payload, secret="whsec_wrong").status_code == 401
    assert post_event(client, payload, signature="t=1,v1=deadbeef").status_code == 401
    stale = sign(json.dumps(payload).encode(), WEBHOOK_SECRET, timestamp=1_000_000)
    response = post_event(client, payload, signature=stale)
    assert response.status_code == 401 and response.json["error"]["code"] == "bad_signature"
    assert response.headers["WWW-Authenticate"].startswith("Signature")
    assert (
        client.post(
            "/stripe/webhook",
            data=b"not json",
            headers={"Stripe-Signature": sign(b"not json", WEBHOOK_SECRET)},
        ).status_code
        == 400
    )
    assert order.status == "pending_payment"
    assert db.session.execute(select(func.count()).select_from(StripeEvent)).scalar_one() == 0
    assert fake_stripe.calls("POST", "/v1/transfers") == []


def test_webhook_without_configuration_is_refused(app, client, db_session):
    response = client.post("/stripe/webhook", data=b"{}")
    assert response.status_code == 400 and response.json["error"]["code"] == "not_configured"


def test_a_webhook_for_an_unknown_session_changes_nothing(client, db_session, fake_stripe):
    payload = event(
        "checkout.session.completed",
        {
            "id": "cs_nobody",
            "object": "checkout.session",
            "client_reference_id": "nope-nope-nope",
            "payment_status": "paid",
            "payment_intent": "pi_nobody",
        },
    )
    response = post_event(client, payload)
    assert response.status_code == 200 and response.json["outcome"] == "unknown_order"
    assert fake_stripe.calls("POST", "/v1/transfers") == []


def test_refund_before_completion_does_not_corrupt_the_order(app, client, db_session, fake_stripe):
    _farm, _coop, honey, bread = two_producer_order(client, app)
    checkout(client)
    order = db.session.execute(select(Order)).scalar_one()
    refunded = event(
        "charge.refunded",
        {
            "id": "ch_1",
            "object": "charge",
            "amount": 1699,
            "amount_refunded": 1699,
            "payment_intent": "pi_test_1",
            "transfer_group": order.reference,
        },
    )
    assert post_event(client, refunded).json["outcome"] == "recorded_before_payment"
    assert order.status == "pending_payment"
    assert post_event(client, completed(order)).json["outcome"] == "refunded_before_completion"
    assert order.status == "refunded" and order.refunded_amount == Decimal("16.99")
    assert fake_stripe.calls("POST", "/v1/transfers") == []
    assert stock_of(honey) == 5 and stock_of(bread) == 5  # nothing will be shipped
    assert post_event(client, refunded).json["outcome"] == "duplicate"


def test_expiry_releases_stock_and_late_completion_is_handled(app, client, db_session, fake_stripe):
    _farm, _coop, honey, _bread = two_producer_order(client, app)
    checkout(client)
    order = db.session.execute(select(Order)).scalar_one()
    expired = event(
        "checkout.session.expired",
        {
            "id": order.stripe_session_id,
            "object": "checkout.session",
            "client_reference_id": order.reference,
            "status": "expired",
            "payment_status": "unpaid",
        },
    )
    assert post_event(client, expired).json["outcome"] == "cancelled"
    assert order.status == "cancelled" and stock_of(honey) == 5
    # A (theoretical) completion after expiry takes the stock again while it lasts.
    assert post_event(client, completed(order)).json["outcome"] == "paid"
    assert order.status == "paid" and stock_of(honey) == 3
    assert post_event(client, expired).json["outcome"] == "duplicate"


def test_late_payment_when_sold_out_is_refunded_in_full(app, client, db_session, fake_stripe):
    _farm, _coop, honey, _bread = two_producer_order(client, app)
    checkout(client)
    order = db.session.execute(select(Order)).scalar_one()
    services.cancel_order_locally(order, "test")
    db.session.execute(
        Variant.__table__.update().where(Variant.__table__.c.id == honey.id).values(stock=0)
    )
    assert post_event(client, completed(order)).json["outcome"] == "late_payment_refunded"
    assert order.status == "refunded"
    [refund] = fake_stripe.calls("POST", "/v1/refunds")
    assert refund.params == {"payment_intent": "pi_test_1", "amount": "1699"}


def test_refund_one_producer_line_reverses_its_transfer(app, client, db_session, fake_stripe):
    farm, coop, _h, _b = two_producer_order(client, app)
    checkout(client)
    order = db.session.execute(select(Order)).scalar_one()
    post_event(client, completed(order))
    farm_sub = next(s for s in order.sub_orders if s.producer_id == farm.id)
    farm_user = make_user("social_farm", org=farm)
    login(client, farm_user)
    response = client.post(
        f"/shop/manage/orders/{farm_sub.id}/refund",
        data={"reason": "Vasetto rotto", "confirm": "y"},
    )
    assert response.status_code == 302
    [refund] = fake_stripe.calls("POST", "/v1/refunds")
    assert refund.params["amount"] == "1300" and refund.params["payment_intent"] == "pi_test_1"
    [reversal] = fake_stripe.calls("POST", "/v1/transfers/")
    assert reversal.path == f"/v1/transfers/{farm_sub.transfer_id}/reversals"
    assert reversal.params["amount"] == "1300"
    assert farm_sub.status == "refunded" and order.status == "paid"
    assert order.refunded_amount == Decimal("13.00")
    coop_sub = next(s for s in order.sub_orders if s.producer_id == coop.id)
    assert coop_sub.status == "paid"
    # Stripe's own charge.refunded for that partial refund is recorded, nothing more.
    partial = event(
        "charge.refunded",
        {
            "id": "ch_for_pi_test_1",
            "object": "charge",
            "amount": 1699,
            "amount_refunded": 1300,
            "payment_intent": "pi_test_1",
            "transfer_group": order.reference,
        },
    )
    assert post_event(client, partial).json["outcome"] == "already_known"
    assert coop_sub.status == "paid"
    balance = {b.producer_id: b for b in services.balances()}
    assert balance[farm.id].due == Decimal("0.00") and balance[farm.id].owed == Decimal("0.00")


def test_admin_refunds_the_whole_order(app, client, db_session, fake_stripe):
    two_producer_order(client, app)
    checkout(client)
    order = db.session.execute(select(Order)).scalar_one()
    post_event(client, completed(order))
    login(client, make_user("admin"))
    assert client.get("/shop/admin/orders").status_code == 200
    # A confirmation page first; without the reason and the tick, nothing is refunded.
    assert client.get(f"/shop/admin/orders/{order.id}/refund").status_code == 200
    refused = client.post(f"/shop/admin/orders/{order.id}/refund", data={"reason": "Annullato"})
    assert refused.status_code == 422 and fake_stripe.calls("POST", "/v1/refunds") == []
    assert order.status == "paid"
    client.post(
        f"/shop/admin/orders/{order.id}/refund", data={"reason": "Annullato", "confirm": "y"}
    )
    [refund] = fake_stripe.calls("POST", "/v1/refunds")
    assert refund.params["amount"] == "1699"
    assert (
        len(
            [
                c
                for c in fake_stripe.calls("POST", "/v1/transfers/")
                if c.path.endswith("/reversals")
            ]
        )
        == 2
    )
    assert order.status == "refunded"
    # Refunding again is refused: nothing is left.
    client.post(
        f"/shop/admin/orders/{order.id}/refund", data={"reason": "Di nuovo", "confirm": "y"}
    )
    assert len(fake_stripe.calls("POST", "/v1/refunds")) == 1


def test_failed_transfers_are_retried_without_duplicates(app, client, db_session, fake_stripe):
    two_producer_order(client, app)
    checkout(client)
    order = db.session.execute(select(Order)).scalar_one()
    fake_stripe.fail_paths.add("/v1/transfers")
    assert post_event(client, completed(order)).json["outcome"] == "paid"
    assert all(s.transfer_id == "" for s in order.sub_orders)
    fake_stripe.fail_paths.clear()
    assert services.pending_transfers() == 2
    assert services.pending_transfers() == 0
    assert [s.transfer_id[:3] for s in order.sub_orders] == ["tr_", "tr_"], [
        s.transfer_id for s in order.sub_orders
    ]


def test_producer_connects_a_stripe_account(client, db_session, fake_stripe):
    farm, user = make_producer()
    login(client, user)
    response = client.post("/shop/manage/stripe/connect")
    assert response.status_code == 303 and "/onboard/acct_" in response.headers["Location"]
    client.get("/shop/manage/stripe/return")
    from ethical_products.models import ProducerProfile

    profile = db.session.get(ProducerProfile, farm.id)
    assert profile.stripe_account_id.startswith("acct_") and profile.stripe_ready


def test_stripe_down_at_checkout_leaves_a_payable_order(app, client, db_session, fake_stripe):
    two_producer_order(client, app)
    fake_stripe.fail_paths.add("/v1/checkout/sessions")
    response = checkout(client)
    order = db.session.execute(select(Order)).scalar_one()
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/shop/orders/{order.reference}")
    fake_stripe.fail_paths.clear()
    retry = client.post(f"/shop/orders/{order.reference}/pay")
    assert retry.status_code == 303 and "/pay/cs_test_" in retry.headers["Location"]


def test_direct_place_order_with_stripe(app, db_session, fake_stripe):
    farm, _u = make_producer(stripe_account="acct_direct")
    _p, variant = make_product(farm, stock=2)
    order = place({variant.id: 2}, method="stripe")
    assert order.expires_at is not None and stock_of(variant) == 0
