"""Complementary (secondary) suppression: a hidden cell is never the total minus the
visible ones."""

from __future__ import annotations

from dataclasses import dataclass

from portal.disclosure import protect_cells, protect_group


def test_one_small_cell_beside_a_total_takes_the_smallest_visible_one_with_it():
    withheld, hide_total = protect_group([12, 3, 7, 20], [False, True, False, False], 5)
    assert withheld == [False, False, True, False] and not hide_total


def test_enough_hidden_people_need_nothing_more():
    assert protect_group([12, 3, 2, 20], [False, True, True, False], 5) == (
        [False] * 4,
        False,
    )
    assert protect_group([12, 0, 20], [False, False, False], 5) == ([False] * 3, False)


def test_it_goes_on_until_the_hidden_cells_rest_on_enough_people():
    # Hidden 1 → withhold the 1 (not the empty cell) → 2 → withhold the 2 → 4 → the 6: 10.
    withheld, hide_total = protect_group([1, 0, 1, 2, 6], [True, False, False, False, False], 5)
    assert withheld == [False, False, True, True, True] and not hide_total


def test_locked_cells_are_never_withheld_and_then_the_total_must_go():
    withheld, hide_total = protect_group([10, 2], [False, True], 5, locked=[True, False])
    assert withheld == [False, False] and hide_total


@dataclass
class FakeCell:
    value: int | None
    people: int
    suppressed: bool = False
    withheld: bool = False


def test_cells_are_marked_in_place():
    cells = [FakeCell(9, 9), FakeCell(None, 2, True), FakeCell(30, 30)]
    assert protect_cells(cells, 5) is False
    assert cells[0] == FakeCell(None, 9, True, True)
    assert cells[1] == FakeCell(None, 2, True, False)
    assert cells[2].value == 30
