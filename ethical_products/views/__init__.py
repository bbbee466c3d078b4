"""The shop's pages, one module per area, all on the one ``ethical_products`` blueprint:
``catalogue`` (public catalogue, product and producer pages, photos, sitemap rows),
``cart``, ``checkout`` (checkout and the order page), ``my_orders`` (a buyer's orders),
``manage`` (the producer's shop, products, variants, photos), ``producer_orders`` (the
producer's orders, reports, Stripe account) and ``admin``. Importing this package
registers every route; the names below are what the package's ``init_app`` uses.
"""

from ethical_products.views import admin, cart, checkout, producer_orders  # noqa: F401 (routes)
from ethical_products.views.catalogue import (
    sitemap_producer_url,
    sitemap_producers,
    sitemap_product_url,
    sitemap_products,
)
from ethical_products.views.common import bp
from ethical_products.views.manage import producer_home_actions
from ethical_products.views.my_orders import buyer_home_actions

__all__ = [
    "bp",
    "buyer_home_actions",
    "producer_home_actions",
    "sitemap_producer_url",
    "sitemap_producers",
    "sitemap_product_url",
    "sitemap_products",
]
