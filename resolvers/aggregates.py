"""The tables a display token's counts are judged in (`permissions.aggregates` judges).

To decide a count of a unit, the table holds the unit's ancestors from the display's node
down, every active child of each of them, and (for petitions) the calendar periods from the
year down to the one asked about with every sub-period of each: exactly the cells whose sums
could give the count away. Each table is read in one SQL statement.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, cast

import sqlalchemy as sa
from sqlmodel import col

from models.org import OrgUnit
from resolvers.loaders import Loaders
from resolvers.metrics import (
    BREAKDOWN_COUNTS,
    DUE_COUNTS,
    RATE_COUNTS,
    CalendarPeriod,
    PeriodUnit,
    display_table_statement,
)
from resolvers.org import load_org_stats

#: Every petition count of a cohort, as the table holds them.
PETITION_COUNTS: Final = (*RATE_COUNTS, *BREAKDOWN_COUNTS)

Cell = tuple[Any, Any, str]


def is_under(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor + ".")


def _ids(path: str) -> list[int]:
    return [int(label) for label in path.split(".") if label.isdigit()]


@dataclass(frozen=True)
class Layout:
    """One dimension of a table: its root and the children of each node that is a parent."""

    root: Any
    children: dict[Any, tuple[Any, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    org: Layout
    values: dict[Cell, int]
    #: the table's unit of each unit asked about (a unit above the display's node counts
    #: what lies under that node: the node's own cells)
    cells: dict[int, int]
    time: Layout | None = None


async def _org_layout(
    loaders: Loaders, root: str, wanted: Iterable[tuple[str, bool]]
) -> tuple[Layout, dict[int, str]]:
    """The org tree over `root` that decides the counts of each wanted unit (its path, and
    whether its children are asked about too): every ancestor below the root, with all its
    active children. One statement."""
    root_id = _ids(root)[-1]
    parents: set[int] = set()
    for path, with_children in wanted:
        inside = is_under(path, root)
        chain = _ids(path)[len(_ids(root)) - 1 :] if inside else [root_id]
        parents.update(chain[:-1])
        if with_children and inside:
            parents.add(chain[-1])
    statement = cast(
        "sa.Select[Any]",
        sa.select(col(OrgUnit.id), col(OrgUnit.parent_id), col(OrgUnit.path))
        .where(
            sa.or_(col(OrgUnit.parent_id).in_(sorted(parents)), col(OrgUnit.id) == root_id),
            col(OrgUnit.retired_at).is_(None),
        )
        .order_by(col(OrgUnit.code)),
    )
    rows = await loaders.fetch(statement)
    children: dict[int, list[int]] = defaultdict(list)
    paths: dict[int, str] = {}
    for ident, parent, path in rows:
        paths[int(ident)] = str(path)
        if parent in parents and ident != root_id:
            children[int(parent)].append(int(ident))
    return Layout(root_id, {p: tuple(children[p]) for p in parents}), paths


def _cell_of(root: str, path: str) -> int:
    return _ids(path if is_under(path, root) else root)[-1]


#: Counts of many units, one object (with the measures as attributes) per id, in order.
StatsLoader = Callable[[Loaders, list[int]], Awaitable[Sequence[Any]]]


async def stats_table(
    loaders: Loaders,
    root: str,
    units: Sequence[OrgUnit],
    measures: Sequence[str],
    load: StatsLoader = load_org_stats,
) -> Table:
    """The counts (`measures`, read by `load`: the dashboard's by default) of every unit of
    the table deciding `units`."""
    layout, paths = await _org_layout(loaders, root, [(u.path or "", False) for u in units])
    ids = sorted(paths)
    values: dict[Cell, int] = {}
    for ident, stats in zip(ids, await load(loaders, ids), strict=True):
        values.update({(ident, None, m): int(getattr(stats, m)) for m in measures})
    cells = {u.id: _cell_of(root, u.path or "") for u in units if u.id is not None}
    return Table(layout, values, cells)


async def petition_table(
    loaders: Loaders,
    root: str,
    unit: OrgUnit,
    period: CalendarPeriod,
    *,
    children: bool,
    as_of: datetime,
) -> Table:
    """Every petition count of the table deciding `unit` (and, with `children`, its active
    child units) in `period` (a month, a quarter or a year): the whole year, by quarter and
    month."""
    layout, paths = await _org_layout(loaders, root, [(unit.path or "", children)])
    year = CalendarPeriod.containing(PeriodUnit.YEAR, period.start)
    time = Layout(year, {p: p.children() for p in (year, *year.children())})
    rows = await loaders.fetch(
        display_table_statement(
            loaders,
            root_path=root,
            parent_paths=[paths[p] for p in layout.children],
            year=year,
            as_of=as_of,
        )
    )
    assert unit.id is not None
    values = _petition_cells(rows, layout, paths, time)
    return Table(layout, values, {unit.id: _cell_of(root, unit.path or "")}, time)


def _petition_cells(
    rows: Sequence[Any], layout: Layout, paths: dict[int, str], time: Layout
) -> dict[Cell, int]:
    """Roll the statement's rows up to every (unit, period, count) of the table."""
    units = [layout.root, *(c for kids in layout.children.values() for c in kids)]
    periods = [time.root, *(c for kids in time.children.values() for c in kids)]
    values: dict[Cell, int] = defaultdict(int)
    for row in rows:
        r = row._mapping
        due = bool(r["by_due"])
        month = r["due_month"] if due else r["sub_month"]
        if month is None:
            continue
        key = r["unit_key"]
        holders = [u for u in units if u == layout.root or _holds(paths[u], key)]
        within = [p for p in periods if p.start <= month < p.end]
        for m in PETITION_COUNTS:
            if due != (m in DUE_COUNTS):
                continue
            count = int(r[m] or 0)
            if count:
                for u in holders:
                    for p in within:
                        values[(u, p, m)] += count
    return dict(values)


def _holds(path: str, key: str | None) -> bool:
    return key is not None and is_under(key, path)
