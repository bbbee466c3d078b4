"""Stock reservation. Stock never oversells: :func:`reserve_stock` takes the units in
the same transaction that creates the order, with one atomic conditional UPDATE per
stocked variant (``stock = stock - q WHERE id = :id AND stock >= q``); a rowcount of 0
means another buyer took the units first and the whole order is refused (the caller
rolls back). A line remembers whether it holds stock (``stock_reserved``), and
:func:`release_line` flips that flag with another conditional UPDATE before giving the
units back, so stock is released at most once whatever races between expiry,
cancellation and webhooks.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import (
    select,
    update,
)

from ethical_products.models import (
    Order,
    OrderLine,
    SubOrder,
    Variant,
)
from ethical_products.services.policy import OutOfStock
from portal import db


def reserve_stock(order: Order) -> None:
    """The atomic conditional UPDATE, in ascending variant order (no lock-order deadlock)."""
    table = Variant.__table__
    for line in sorted(order.lines, key=lambda line: line.variant_id):
        result = db.session.execute(
            update(table)
            .where(
                table.c.id == line.variant_id,
                table.c.stock.is_not(None),
                table.c.stock >= line.quantity,
            )
            .values(stock=table.c.stock - line.quantity)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            line.stock_reserved = True
            continue
        stocked = db.session.execute(
            select(table.c.stock).where(table.c.id == line.variant_id)
        ).scalar_one_or_none()
        if stocked is not None:
            raise OutOfStock(
                {
                    "cart": _(
                        "Sorry: %(name)s has just sold out or has fewer units than you asked for "
                        "(%(n)s left).",
                        name=line.product_name,
                        n=stocked,
                    )
                }
            )
    db.session.flush()
    _expire_variants(order)


def set_stock(variant: Variant, units: int | None, expected: int | None) -> bool:
    """A producer's "set the stock to N", valid only while the stock is still what the
    producer saw (``expected``): a sale or another edit in between refuses it, so units sold
    meanwhile are never put back on sale. One conditional UPDATE, like the reservation."""
    table = Variant.__table__
    result = db.session.execute(
        update(table)
        .where(table.c.id == variant.id, table.c.stock.is_not_distinct_from(expected))
        .values(stock=units)
    )
    db.session.expire(variant, ["stock"])
    return result.rowcount == 1  # type: ignore[attr-defined]


def _expire_variants(order: Order) -> None:
    """The UPDATEs bypassed the identity map: reload stock when next read."""
    ids = {line.variant_id for line in order.lines}
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Variant) and obj.id in ids:
            db.session.expire(obj, ["stock"])


def release_line(line: OrderLine) -> bool:
    """Give a line's units back, at most once (conditional UPDATE on the flag)."""
    lines = OrderLine.__table__
    flipped = db.session.execute(
        update(lines)
        .where(lines.c.id == line.id, lines.c.stock_reserved.is_(True))
        .values(stock_reserved=False)
    ).rowcount  # type: ignore[attr-defined]
    if flipped != 1:
        return False
    variants = Variant.__table__
    db.session.execute(
        update(variants)
        .where(variants.c.id == line.variant_id, variants.c.stock.is_not(None))
        .values(stock=variants.c.stock + line.quantity)
    )
    db.session.expire(line, ["stock_reserved"])
    return True


def release_sub_order(sub: SubOrder) -> None:
    for line in sub.lines:
        release_line(line)
    _expire_variants(sub.order)


def rereserve(order: Order) -> bool:
    """After a late payment of a cancelled order: take the units again, all or none."""
    try:
        with db.session.begin_nested():
            reserve_stock(order)
    except OutOfStock:
        return False
    return True
