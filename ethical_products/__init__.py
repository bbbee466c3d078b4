"""Ethical products of social farms and type-B cooperatives: shops, catalogue with the
ethical label, cart and checkout, Stripe payments (Connect, separate charges and
transfers), fulfilment by producer, producer reports."""

from __future__ import annotations

import os

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from ethical_products import api, network_indicators, views
    from ethical_products.models import Product
    from ethical_products.services import PRODUCER_ROLES
    from portal import demo, search, sitemap
    from portal.api import page_schema
    from portal.layout import add_home_actions, add_nav
    from portal.models import ADMIN, BUYER

    env = os.environ.get
    # Percent of each producer's subtotal kept by the platform (Decimal string; default 0).
    app.config.setdefault("SHOP_PLATFORM_FEE_PERCENT", env("SHOP_PLATFORM_FEE_PERCENT") or "0")
    app.config.setdefault("SHOP_BANK_TRANSFER_DAYS", int(env("SHOP_BANK_TRANSFER_DAYS") or 7))
    app.config.setdefault("SHOP_STRIPE_SESSION_MINUTES", 30)
    app.config.setdefault("SHOP_UPLOAD_DIR", "")

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api.webhook_bp)
    search.register(Product)
    network_indicators.register(app)
    from ethical_products.models import CATEGORIES

    app.extensions.setdefault("ponte_search_labels", {}).update(
        {"product": _l("Product"), **CATEGORIES}
    )
    add_nav(app, _l("Ethical products"), "ethical_products.catalogue")
    sitemap.register(app, "products", views.sitemap_products, views.sitemap_product_url)
    sitemap.register(app, "producers", views.sitemap_producers, views.sitemap_producer_url)
    add_nav(app, _l("My shop"), "ethical_products.manage", PRODUCER_ROLES)
    add_nav(app, _l("Shop orders"), "ethical_products.admin_orders", (ADMIN,))
    add_nav(app, _l("My orders"), "ethical_products.my_orders", (BUYER,))
    add_home_actions(app, PRODUCER_ROLES, views.producer_home_actions, order=20)
    add_home_actions(app, (BUYER,), views.buyer_home_actions, order=10)
    schemas = app.extensions.setdefault("ponte_openapi_schemas", {})
    schemas.update({"Product": api.PRODUCT_SCHEMA, "ProductPage": page_schema("Product")})

    from ethical_products.demo import seed as seed_demo

    demo.register_seeder(app, seed_demo)

    @app.context_processor
    def cart_count() -> dict[str, object]:
        from ethical_products import cart

        return {"shop_cart_count": cart.count}

    _register_cli(app)


def _register_cli(app: Flask) -> None:
    import click
    from flask.cli import AppGroup

    from portal.jobs import register_daily

    group = AppGroup("shop", help="Ethical products: order housekeeping.")

    @group.command("expire")
    def expire_command() -> None:
        """Cancel unpaid orders past their deadline and put their stock back on sale."""
        from ethical_products import services
        from portal import db

        done = services.expire_due()
        db.session.commit()
        click.echo(f"{done} orders expired.")

    @group.command("transfers")
    def transfers_command() -> None:
        """Retry the Stripe transfers to producers that failed."""
        from ethical_products import services
        from portal import db

        done = services.pending_transfers()
        db.session.commit()
        click.echo(f"{done} transfers made.")

    app.cli.add_command(group)
    register_daily(app, "shop expire")  # run by `flask ponte daily`
    register_daily(app, "shop transfers")  # run by `flask ponte daily`
