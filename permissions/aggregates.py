"""Small-cell suppression: displays never show a count small enough to point at a person, nor
one from which such a count can be worked out.

Every count that reaches a display token passes `displayed`. Counts of places (org units,
buildings, Party organisations, work units) are structure, not people, and are shown as they
are (a display lists the tree itself). Counts of people, households, positions held and cases
are withheld (null) when they are from 1 to SMALL_CELL - 1 (*primary* suppression), and also
when they would give such a count away (*complementary* suppression, `protect`): a published
total is the sum of its published parts (a unit and its child units, a period and its
calendar sub-periods, a count and its parts: statuses, or a subset and the rest), so a line
with exactly one unknown cell would reveal it. `hidden_cells` decides every cell of a
display's table top-down (the tree's root first), so the decision about a cell depends on
the data alone, never on the query that asks for it: two queries cannot be played against
each other.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from permissions.actor import Actor, is_under
from permissions.roles import Relation

#: Counts from 1 to SMALL_CELL - 1 are withheld from display tokens.
SMALL_CELL = 5


class CountKind(enum.Enum):
    PLACES = "PLACES"  # structure: shown to displays as it is
    PEOPLE = "PEOPLE"  # people, households, positions held, cases: suppressed for displays


def for_display(actor: Actor) -> bool:
    """A display token: aggregates only, small cells withheld."""
    return bool(actor.grants) and all(g.relation is Relation.DISPLAY for g in actor.grants)


def display_root(actor: Actor, path: str) -> str | None:
    """The node of the actor's display grant that holds `path`, or lies below it (a unit
    above a display's node counts what lies under that node)."""
    for grant in actor.grants:
        if grant.relation is Relation.DISPLAY and (
            is_under(path, grant.path) or is_under(grant.path, path)
        ):
            return grant.path
    return None


#: The dashboard counts (`OrgStats`) by kind: counts of places are structure.
STAT_KINDS: dict[str, CountKind] = {
    "grids": CountKind.PLACES,
    "buildings": CountKind.PLACES,
    "households": CountKind.PEOPLE,
    "residents": CountKind.PEOPLE,
    "party_members": CountKind.PEOPLE,
    "building_heads": CountKind.PEOPLE,
    "party_groups": CountKind.PLACES,
    "central_households": CountKind.PEOPLE,
    "seconded_cadres": CountKind.PEOPLE,
    "registered_party_members": CountKind.PEOPLE,
    "paired_work_units": CountKind.PLACES,
}
PERSONAL_STATS: tuple[str, ...] = tuple(k for k, v in STAT_KINDS.items() if v is CountKind.PEOPLE)
#: Subset counts among them: the rest (residents who are no Party members ...) is a cell too.
STATS_LINES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("residents", ("party_members",)),
    ("households", ("central_households",)),
)


def small(value: int) -> bool:
    return 0 < abs(value) < SMALL_CELL


def displayed(
    actor: Actor, value: int, *, kind: CountKind = CountKind.PEOPLE, withheld: bool = False
) -> int | None:
    """The one gate of every count a response carries: None when a display may not see it
    (`withheld`: a complementary suppression decided by `hidden_cells`)."""
    if kind is CountKind.PLACES or not for_display(actor):
        return value
    return None if withheld or small(value) else value


def displayed_rate(
    actor: Actor,
    rate: float | None,
    numerator: int | None,
    denominator: int | None,
) -> float | None:
    """A rate gives its numerator away with its denominator: shown when both are (each as
    `displayed` answered it; None means withheld)."""
    if not for_display(actor):
        return rate
    return rate if numerator is not None and denominator is not None else None


# --- complementary suppression -----------------------------------------------------------

Cell = Hashable


@dataclass(frozen=True)
class Line:
    """A published equation: `total` = sum of `parts` + `residual`, where the residual is
    never shown (rows placed at the total's own node, or the complement of a subset)."""

    total: Cell
    parts: tuple[Cell, ...]
    residual: int = 0


def _violated(line: Line, unknown: int) -> bool:
    """A withheld cell, or a small residual, that the line's shown cells give away: one
    unknown cell and no residual, or no unknown cell and a small residual. (One unknown cell
    beside a residual is two unknowns: the line tells their sum only.)"""
    return (unknown == 1 and line.residual == 0) or (unknown == 0 and small(line.residual))


def protect(
    values: Mapping[Any, int],
    lines: Sequence[Line],
    free: Iterable[Cell],
    hidden: Iterable[Cell] = (),
) -> set[Cell]:
    """The hidden cells after primary and complementary suppression over `lines`.

    Only `free` cells may be hidden here; `hidden` are cells already decided hidden (all
    others not free are decided shown). The complement of a line is its smallest positive
    free part (the next smallest, in the issue's words), else its total, preferring a cell
    whose hiding leaves no other line with a single unknown it cannot fix; zeros last.
    Deterministic: ties go to the earlier part.
    """
    free = set(free)
    found = set(hidden) | {c for c in free if small(values.get(c, 0))}
    # A cell that equals a decided one (the only part of an exact line, e.g. the only child
    # of a unit) shares its fate: hidden with it, never hidden alone.
    for line in lines:
        if len(line.parts) == 1 and not line.residual and line.total not in free:
            [part] = line.parts
            if line.total in found:
                found.add(part)
            else:
                free.discard(part)
    touching: dict[Cell, list[int]] = defaultdict(list)  # cell -> lines holding it
    for i, line in enumerate(lines):
        for cell in (line.total, *line.parts):
            touching[cell].append(i)
    unknown = [sum(1 for c in (line.total, *line.parts) if c in found) for line in lines]

    def exposes(cell: Cell, current: int) -> bool:
        """Hiding `cell` would leave another exact line with one unknown and nothing left
        to hide in it."""
        for i in touching[cell]:
            other = lines[i]
            if i == current or other.residual or unknown[i] != 0:
                continue
            cells = (other.total, *other.parts)
            if not any(c != cell and c in free and c not in found for c in cells):
                return True
        return False

    def hide(cell: Cell) -> None:
        found.add(cell)
        for i in touching[cell]:
            unknown[i] += 1
            pending.append(i)

    pending = list(range(len(lines)))
    while pending:
        i = pending.pop()
        line = lines[i]
        if not _violated(line, unknown[i]):
            continue
        cells = [*line.parts, line.total]
        candidates = [
            (exposes(c, i), k == len(line.parts), values.get(c, 0) == 0, values.get(c, 0), k, c)
            for k, c in enumerate(cells)
            if c in free and c not in found
        ]
        if candidates:
            hide(min(candidates, key=lambda c: c[:5])[5])
    return found


@dataclass(frozen=True)
class Tree:
    """One dimension of a display's table: a root, and the children of each node that is a
    parent in the table (the nodes on the way down to the cells asked about)."""

    root: Hashable
    children: Mapping[Hashable, tuple[Hashable, ...]] = field(default_factory=dict)
    #: totals are exact sums of their children (calendar periods); else rows placed at a
    #: node itself make a residual (a community's own petitions, not in any grid)
    exact: bool = False

    def nodes(self) -> list[Hashable]:
        """Every node, each parent before its children."""
        found: list[Hashable] = []
        queue = [self.root]
        while queue:
            node = queue.pop(0)
            found.append(node)
            queue.extend(self.children.get(node, ()))
        return found

    def parents(self) -> list[Hashable]:
        """The parents, each before its children."""
        return [node for node in self.nodes() if node in self.children]


#: Within one cell: a measure and the measures it is the exact sum of (a subset measure's
#: complement is its residual when the parts do not add up to the total).
MeasureLines = Sequence[tuple[str, tuple[str, ...]]]

NO_TIME = Tree(root=None, exact=True)


def hidden_cells(
    values: Mapping[tuple[Hashable, Hashable, str], int],
    org: Tree,
    measures: Sequence[str],
    within: MeasureLines = (),
    time: Tree = NO_TIME,
) -> frozenset[tuple[Hashable, Hashable, str]]:
    """Every cell (unit, period, measure) of the table a display is withheld.

    Decided block by block down the org tree: the root's row, then the children of each
    parent, with the parent's cells already decided. Each block holds its units' every
    period (the whole calendar tree) and every measure, so whatever protects a cell lies in
    the block that decides it, and a cell's fate never depends on which query asked.
    """

    def v(unit: Hashable, period: Hashable, measure: str) -> int:
        return values.get((unit, period, measure), 0)

    periods = time.nodes()
    time_parents = time.parents()
    found: set[Cell] = set()
    for ox in [None, *org.parents()]:
        rows = (org.root,) if ox is None else tuple(org.children[ox])
        lines: list[Line] = []
        for m in measures:
            if ox is not None:
                for c in periods:
                    parts = tuple((r, c, m) for r in rows)
                    rest = 0 if org.exact else v(ox, c, m) - sum(v(r, c, m) for r in rows)
                    lines.append(Line((ox, c, m), parts, rest))
            for r in rows:
                for tx in time_parents:
                    kids = time.children[tx]
                    rest = 0 if time.exact else v(r, tx, m) - sum(v(r, c, m) for c in kids)
                    lines.append(Line((r, tx, m), tuple((r, c, m) for c in kids), rest))
        for r in rows:
            for c in periods:
                for total, members in within:
                    rest = v(r, c, total) - sum(v(r, c, p) for p in members)
                    lines.append(Line((r, c, total), tuple((r, c, p) for p in members), rest))
        interior = [(r, c, m) for r in rows for c in periods for m in measures]
        found = protect(values, lines, interior, found)
    return frozenset(found)  # type: ignore[arg-type]


def withheld_by_unit(
    values: Mapping[tuple[Hashable, Hashable, str], int],
    org: Tree,
    measures: Sequence[str],
    cells: Mapping[int, Hashable],
    within: MeasureLines = (),
    time: Tree = NO_TIME,
    period: Hashable = None,
) -> dict[int, frozenset[str]]:
    """For each unit asked about (by id, with the table's unit standing for it), the
    measures withheld from a display in `period`."""
    hidden = hidden_cells(values, org, measures, within, time)
    return {
        unit: frozenset(m for m in measures if (cell, period, m) in hidden)
        for unit, cell in cells.items()
    }
