"""The suppression engine on random tables (the HTTP tests in tests/metrics/ repeat the
attacks on real data): after `hidden_cells`, no small count is shown and no line (a unit and
its children, a period and its sub-periods, a count and its part) has one withheld cell that
the others give away, in whatever order the table is read."""

from __future__ import annotations

import random
from collections.abc import Hashable

import pytest

from permissions.aggregates import SMALL_CELL, Line, Tree, hidden_cells, protect, small

Cell = tuple[Hashable, Hashable, str]
MEASURES = ("all", "part")


def table(seed: int) -> tuple[dict[Cell, int], Tree, Tree]:
    """Units 0 > 1..k (k >= 2) > 10..; a year > two quarters > three months of the first;
    leaves filled at random, rows placed at parents themselves now and then."""
    rng = random.Random(seed)
    children: dict[Hashable, tuple[Hashable, ...]] = {0: tuple(range(1, rng.randint(2, 5) + 1))}
    if rng.random() < 0.7:
        children[1] = tuple(range(10, 10 + rng.randint(2, 4)))
    org = Tree(0, children)
    time = Tree("Y", {"Y": ("Q1", "Q2"), "Q1": ("M1", "M2", "M3")}, exact=True)
    parent: dict[Hashable, Hashable] = {c: p for p, kids in children.items() for c in kids}
    below: dict[Hashable, set[Hashable]] = {"Y": {"M1", "M2", "M3", "Q2"}, "Q1": {"M1", "M2", "M3"}}
    leaves: dict[tuple[Hashable, str], tuple[int, int]] = {}
    for unit in org.nodes():
        for month in ("M1", "M2", "M3", "Q2"):
            if unit not in children or rng.random() < 0.3:  # leaves, and rows at a parent
                whole = rng.choice([0, 0, 1, 2, 3, 5, 7, 12])
                leaves[(unit, month)] = (whole, rng.randint(0, whole))
    values: dict[Cell, int] = {}

    def holds(unit: Hashable, leaf: Hashable) -> bool:
        node = leaf
        while node != unit and node in parent:
            node = parent[node]
        return node == unit

    for unit in org.nodes():
        for period in time.nodes():
            periods = below.get(period, {period})
            for i, measure in enumerate(MEASURES):
                values[(unit, period, measure)] = sum(
                    pair[i]
                    for (leaf, p), pair in leaves.items()
                    if p in periods and holds(unit, leaf)
                )
    return values, org, time


Problem = tuple[Cell, list[Cell], int]


def violations(
    values: dict[Cell, int], org: Tree, time: Tree, hidden: frozenset[Cell]
) -> list[Problem]:
    found: list[Problem] = []

    def check(total: Cell, parts: list[Cell], residual: int) -> None:
        unknown = sum(c in hidden for c in (total, *parts))
        if (unknown == 1 and residual == 0) or (unknown == 0 and small(residual)):
            found.append((total, parts, residual))

    for p, kids in org.children.items():
        for t in time.nodes():
            for m in MEASURES:
                cells = [(k, t, m) for k in kids]
                check((p, t, m), cells, values[(p, t, m)] - sum(values[c] for c in cells))
    for t, kids in time.children.items():
        for u in org.nodes():
            for m in MEASURES:
                check((u, t, m), [(u, k, m) for k in kids], 0)
    for u in org.nodes():
        for t in time.nodes():
            rest = values[(u, t, "all")] - values[(u, t, "part")]
            check((u, t, "all"), [(u, t, "part")], rest)
    return found


@pytest.mark.parametrize("seed", range(300))
def test_no_line_gives_a_withheld_cell_away(seed: int) -> None:
    values, org, time = table(seed)
    hidden = hidden_cells(values, org, MEASURES, (("all", ("part",)),), time)
    assert [c for c in values if c not in hidden and small(values[c])] == []
    assert violations(values, org, time, hidden) == []


def test_a_lone_small_cell_takes_the_next_smallest_with_it() -> None:
    values = {"total": 20, "a": 3, "b": 7, "c": 10}
    line = Line("total", ("a", "b", "c"))
    assert protect(values, [line], ["a", "b", "c"]) == {"a", "b"}
    # rows placed at the parent (a residual the display never sees) are a second unknown
    assert protect(values | {"total": 26}, [Line("total", ("a", "b", "c"), 6)], "abc") == {"a"}
    # a small residual alone would be given away by the shown cells
    assert protect({"total": 19, "b": 7, "c": 10}, [Line("total", ("b", "c"), 2)], "bc") == {"b"}


def test_the_engine_is_not_vacuous() -> None:
    values, org, time = table(7)
    hidden = hidden_cells(values, org, MEASURES, (("all", ("part",)),), time)
    assert any(values[c] >= SMALL_CELL for c in hidden), "complements are withheld"
    assert any(values[c] >= SMALL_CELL for c in values if c not in hidden), "not everything"
