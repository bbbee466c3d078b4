"""The shop's ground rules that every other part of its services shares: who runs a
shop, the limits of a cart, the errors a broken rule raises and the platform fee.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import current_app

from portal.models import COOPERATIVE, SOCIAL_FARM

#: Roles that run a shop.
PRODUCER_ROLES = (COOPERATIVE, SOCIAL_FARM)


MAX_QUANTITY = 999


MAX_LINES = 50


MAX_MEMBERS = 40


class ShopError(ValueError):
    """A rule was broken; ``fields`` maps form fields to messages."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


class OutOfStock(ShopError):
    pass


def fee_percent() -> Decimal:
    """The platform fee in percent of each producer's subtotal (SHOP_PLATFORM_FEE_PERCENT)."""
    try:
        value = Decimal(str(current_app.config.get("SHOP_PLATFORM_FEE_PERCENT", "0")))
    except InvalidOperation:
        return Decimal(0)
    return value if Decimal(0) <= value < Decimal(100) else Decimal(0)
