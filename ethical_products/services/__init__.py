"""Shop rules, free of HTTP, one concept per module; this package is their public surface.

``policy`` (roles, limits, errors, platform fee), ``producers`` (shops and their profile),
``catalogue`` (the public listing), ``basket`` (the priced cart), ``stock`` (reservation
that never oversells), ``orders`` (finding, locking, status, guest orders claimed),
``notices`` (mail to buyers, notifications to producers), ``checkout`` (checks and the
order placed), ``money`` (Stripe Checkout, payment, transfers, refunds), ``lifecycle``
(cancellation, expiry, producer actions), ``stripe_events`` (webhooks) and ``reports``
(sales and balances). Import from here (``from ethical_products import services``).
"""

from ethical_products.services.basket import (
    CartItem,
    PricedCart,
    ProducerGroup,
    payment_methods,
    price_cart,
)
from ethical_products.services.catalogue import (
    MAX_SEARCH_HITS,
    CardPhoto,
    CardRow,
    CatalogueFilters,
    card_statement,
    cards,
    catalogue,
    catalogue_facets,
    facet_counts,
    filters_key,
    ranked_page,
    search_ids,
    visible_producer_ids,
    visible_producers,
    visible_products,
)
from ethical_products.services.checkout import (
    CheckoutData,
    check_checkout,
    delivers_to,
    is_social_agriculture,
    place_order,
)
from ethical_products.services.lifecycle import (
    PRODUCER_ACTIONS,
    cancel_order,
    expire_due,
    producer_action,
)
from ethical_products.services.money import (
    pay_out,
    payment_succeeded,
    pending_transfers,
    refund,
    start_stripe_checkout,
)
from ethical_products.services.notices import announce_order, mail_buyer, notify_producer
from ethical_products.services.orders import (
    CLAIM_LINK_HOURS,
    claim_guest_orders,
    find_order,
    guest_orders_for,
    lock_order,
    order_url,
    refresh_order_status,
    short_ref,
)
from ethical_products.services.policy import (
    MAX_LINES,
    MAX_MEMBERS,
    MAX_QUANTITY,
    PRODUCER_ROLES,
    OutOfStock,
    ShopError,
    fee_percent,
)
from ethical_products.services.producers import (
    producer_organisations,
    profile_for,
    reindex_producer_products,
)
from ethical_products.services.reports import Balance, SalesRow, balances, sales_by_product
from ethical_products.services.stock import (
    release_line,
    release_sub_order,
    rereserve,
    reserve_stock,
    set_stock,
)
from ethical_products.services.stripe_events import (
    cancel_order_locally,
    charge_refunded,
    handle_event,
)

__all__ = [
    "CLAIM_LINK_HOURS",
    "MAX_LINES",
    "MAX_MEMBERS",
    "MAX_QUANTITY",
    "MAX_SEARCH_HITS",
    "PRODUCER_ACTIONS",
    "PRODUCER_ROLES",
    "Balance",
    "CardPhoto",
    "CardRow",
    "CartItem",
    "CatalogueFilters",
    "CheckoutData",
    "OutOfStock",
    "PricedCart",
    "ProducerGroup",
    "SalesRow",
    "ShopError",
    "announce_order",
    "balances",
    "cancel_order",
    "cancel_order_locally",
    "card_statement",
    "cards",
    "catalogue",
    "catalogue_facets",
    "charge_refunded",
    "check_checkout",
    "claim_guest_orders",
    "delivers_to",
    "expire_due",
    "facet_counts",
    "fee_percent",
    "filters_key",
    "find_order",
    "guest_orders_for",
    "handle_event",
    "is_social_agriculture",
    "lock_order",
    "mail_buyer",
    "notify_producer",
    "order_url",
    "pay_out",
    "payment_methods",
    "payment_succeeded",
    "pending_transfers",
    "place_order",
    "price_cart",
    "producer_action",
    "producer_organisations",
    "profile_for",
    "ranked_page",
    "refresh_order_status",
    "refund",
    "reindex_producer_products",
    "release_line",
    "release_sub_order",
    "rereserve",
    "reserve_stock",
    "sales_by_product",
    "search_ids",
    "set_stock",
    "short_ref",
    "start_stripe_checkout",
    "visible_producer_ids",
    "visible_producers",
    "visible_products",
]
