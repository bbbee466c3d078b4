"""The cart, kept in the signed session cookie: variant ids and quantities only.

Prices are never stored here: :func:`ethical_products.services.basket.price_cart` reads them
from the database every time. A GAS cart also lists the group's members, and each line
keeps a quantity per member (``""`` is the buyer's own share when there are no members).
"""

from __future__ import annotations

from typing import Any

from flask import session

from ethical_products.services.policy import MAX_LINES, MAX_MEMBERS, MAX_QUANTITY

KEY = "ep_cart"


def _data() -> dict[str, Any]:
    data = session.get(KEY)
    if not isinstance(data, dict):
        data = {"items": {}, "members": []}
    data.setdefault("items", {})
    data.setdefault("members", [])
    return data


def _save(data: dict[str, Any]) -> None:
    session[KEY] = data
    session.modified = True


def members() -> list[str]:
    return [m for m in _data()["members"] if isinstance(m, str)]


def wanted() -> dict[int, dict[str, int]]:
    """``{variant_id: {member: quantity}}`` with only well-formed entries."""
    result: dict[int, dict[str, int]] = {}
    for key, shares in _data()["items"].items():
        if not str(key).isdigit() or not isinstance(shares, dict):
            continue
        clean = {
            str(m): int(q)
            for m, q in shares.items()
            if isinstance(q, int) and 0 < q <= MAX_QUANTITY
        }
        if clean:
            result[int(key)] = clean
    return result


def count() -> int:
    return sum(sum(s.values()) for s in wanted().values())


def add(variant_id: int, quantity: int) -> None:
    data = _data()
    items = data["items"]
    if str(variant_id) not in items and len(items) >= MAX_LINES:
        raise ValueError("too many lines")
    shares = items.setdefault(str(variant_id), {})
    member = data["members"][0] if data["members"] else ""
    shares[member] = min(MAX_QUANTITY, int(shares.get(member, 0)) + quantity)
    _save(data)


def set_quantity(variant_id: int, member: str, quantity: int) -> None:
    data = _data()
    shares = data["items"].get(str(variant_id))
    if shares is None:
        return
    if quantity <= 0:
        shares.pop(member, None)
    else:
        shares[member] = min(MAX_QUANTITY, quantity)
    if not shares:
        data["items"].pop(str(variant_id), None)
    _save(data)


def remove(variant_id: int) -> None:
    data = _data()
    data["items"].pop(str(variant_id), None)
    _save(data)


def set_members(names: list[str]) -> None:
    """A GAS's members; existing quantities move to the first member when it starts."""
    clean: list[str] = []
    for name in names:
        name = " ".join(name.split())[:120]
        if name and name not in clean:
            clean.append(name)
    clean = clean[:MAX_MEMBERS]
    data = _data()
    for key, shares in list(data["items"].items()):
        kept = {m: q for m, q in shares.items() if m in clean}
        orphan = sum(q for m, q in shares.items() if m not in clean)
        if orphan:
            target = clean[0] if clean else ""
            kept[target] = kept.get(target, 0) + orphan
        data["items"][key] = kept
    data["members"] = clean
    _save(data)


def clear() -> None:
    session.pop(KEY, None)
