"""Ethical products: catalogue search over 50,000 products (latency) and checkout
throughput (orders placed and committed per second, stock reserved atomically)."""

from __future__ import annotations

import time
import uuid

from flask import Flask
from sqlalchemy import func, select, update

from bench.common import report, report_latency, timed

QUERIES = [
    "miele",
    "passata pomodoro",
    "olio extravergine",
    "verdure stagione",
    "pane",
    "confettura albicocche",
    "lenticchie biologico",
    "honey",
    "uova fresche",
    "vino rosso",
]
CHECKOUTS = 300


def run(app: Flask) -> None:
    from ethical_products import services
    from ethical_products.models import Product
    from portal import db

    with app.test_request_context():
        total = db.session.execute(select(func.count()).select_from(Product)).scalar_one()
        report("shop products in the catalogue", total, "products")

        def search_page(q: str) -> None:
            stmt = services.catalogue(services.CatalogueFilters(q=q))
            db.paginate(stmt, 1, 20)

        search_page("warm up")
        samples: list[float] = []
        for q in QUERIES:
            samples += timed(lambda q=q: search_page(q), repeat=10)
        report_latency("shop catalogue search (search + page)", samples)
        browse = timed(
            lambda: db.paginate(
                services.catalogue(services.CatalogueFilters(category="honey", organic=True)), 3, 20
            ),
            repeat=30,
        )
        report_latency("shop catalogue facets, no words", browse)

    client = app.test_client()
    client.get("/shop?q=miele")
    pages = timed(lambda: client.get("/shop?q=miele&category=honey"), repeat=20)
    report_latency("shop catalogue page over HTTP", pages)
    api = timed(lambda: client.get("/api/v1/products?q=olio"), repeat=20)
    report_latency("shop products API", api)
    _checkout_throughput(app)


def _checkout_throughput(app: Flask) -> None:
    from ethical_products import services
    from ethical_products.models import Product, Variant
    from portal import db

    with app.test_request_context():
        stocked = db.session.execute(
            select(Variant)
            .join(Product)
            .where(Variant.stock.is_not(None))
            .order_by(Variant.id)
            .limit(1)
        ).scalar_one()
        on_demand = db.session.execute(
            select(Variant)
            .join(Product)
            .where(Variant.stock.is_(None), Product.producer_id != stocked.product.producer_id)
            .order_by(Variant.id)
            .limit(1)
        ).scalar_one()
        db.session.execute(update(Variant).where(Variant.id == stocked.id).values(stock=1_000_000))
        db.session.commit()
        wanted = {stocked.id: {"": 1}, on_demand.id: {"": 2}}
        started = time.perf_counter()
        for n in range(CHECKOUTS):
            cart = services.price_cart(wanted)
            data = services.CheckoutData(
                idempotency_key=f"bench-{uuid.uuid4().hex}",
                name=f"Bench buyer {n}",
                email="bench@ponte.localhost",
                payment_method="bank_transfer",
            )
            services.place_order(data, cart)
            db.session.commit()
        elapsed = time.perf_counter() - started
        report("shop checkout throughput (2 producers)", CHECKOUTS / elapsed, "orders/s")
