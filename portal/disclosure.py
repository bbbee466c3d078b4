"""Statistical disclosure control shared by the modules: complementary (secondary)
suppression of breakdown cells shown beside their total.

Primary suppression hides a cell resting on fewer than ``minimum`` people. When the
breakdown's total is published too, a single hidden cell is the total minus the visible
ones: so, within each group of cells that adds up to a published total, the hidden
cells together must rest on no one or on at least ``minimum`` people; otherwise the
visible cell resting on the fewest people is withheld as well, until that holds. When no
cell is left to withhold (the rest is already known to the reader), the total itself must
not be shown.

The functions work on plain numbers (:func:`protect_group`) or on cells with ``people``,
``suppressed`` and ``withheld`` attributes (:func:`protect_cells`), so every module can
use them whatever its cell class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def protect_group(
    sizes: Sequence[int | None],
    hidden: Sequence[bool],
    minimum: int,
    locked: Sequence[bool] | None = None,
) -> tuple[list[bool], bool]:
    """Secondary suppression within one group adding up to a published total.

    ``sizes``: how many people each cell rests on (None counts as 0); ``hidden``: the
    primary suppression; ``locked``: cells that cannot be withheld (the reader knows
    them anyway, e.g. a broker's own service). Returns the cells to withhold in
    addition (secondary suppression) and whether the total must be hidden too.
    """
    people = [int(s or 0) for s in sizes]
    hide = list(hidden)
    fixed = list(locked) if locked is not None else [False] * len(people)
    withheld = [False] * len(people)
    while True:
        hidden_people = sum(p for p, h in zip(people, hide, strict=True) if h)
        if not 0 < hidden_people < minimum:
            return withheld, False
        candidates = [
            i
            for i, (p, h, f) in enumerate(zip(people, hide, fixed, strict=True))
            if not h and not f
        ]
        # A cell resting on no one adds nothing to the uncertainty unless nothing else is left.
        useful = [i for i in candidates if people[i] > 0] or candidates
        if not useful:
            return withheld, True
        chosen = min(useful, key=lambda i: (people[i], i))
        hide[chosen] = withheld[chosen] = True


def protect_cells(cells: Sequence[Any], minimum: int, locked: Sequence[bool] | None = None) -> bool:
    """:func:`protect_group` on cell objects (``people``, ``suppressed``, ``withheld``):
    the withheld cells are marked ``suppressed`` and ``withheld`` in place. Returns
    whether the group's total must be hidden."""
    withheld, hide_total = protect_group(
        [c.people for c in cells], [bool(c.suppressed) for c in cells], minimum, locked
    )
    for cell, extra in zip(cells, withheld, strict=True):
        if extra:
            cell.suppressed = True
            cell.withheld = True
            cell.value = None
    return hide_total
