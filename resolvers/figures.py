"""Display figures: the maintained counts of a node (`models.figures`), petition trends, and
a per-process cache of them all, which change only when the counts or a petition do.

The counts are read from `figure_count` (one indexed lookup per node), so a figures query for
the whole city reads a handful of rows. Rates, trends and rankings are computed by the metrics
resolvers over the petitions themselves. The cache keeps each answer until what it was
computed from changes (every app instance hears every change: `resolvers.live`) or a minute
passes (due times and response limits run out with the clock alone); see `FiguresCache`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import col

from models.base import Ltree
from models.figures import FIGURES, FigureCount
from models.org import OrgUnit
from models.petitions import Petition
from models.replicas import ON_REPLICA
from resolvers.loaders import Loaders
from resolvers.metrics import CLOSED, CalendarPeriod, PeriodUnit
from resolvers.org import OrgStats
from resolvers.people import CHINA


async def counts_under(loaders: Loaders, paths: Sequence[str]) -> dict[str, dict[str, int]]:
    """The maintained counts of each node (every figure, zeros included). One statement."""
    found: dict[str, dict[str, int]] = {p: {f.key: 0 for f in FIGURES} for p in paths}
    if not paths:
        return found
    statement = cast(
        "sa.Select[Any]",
        sa.select(col(FigureCount.node), col(FigureCount.figure), col(FigureCount.n)).where(
            col(FigureCount.node).in_([sa.cast(sa.literal(p), Ltree()) for p in paths])
        ),
    )
    rows = await loaders.fetch(statement)
    for path, figure, n in rows:
        if figure in found[str(path)]:
            found[str(path)][str(figure)] = int(n)
    return found


async def org_stats_maintained(loaders: Loaders, path: str) -> OrgStats:
    """`OrgStats` of a node from the maintained counts (one statement for every node the
    request asks about), for an actor who may count every row under it."""

    async def batch(paths: list[str]) -> list[OrgStats]:
        counts = await counts_under(loaders, paths)
        return [OrgStats(**{k: counts[p][k] for k in _ORG_STATS}) for p in paths]

    return await loaders.batch("org_stats_maintained", OrgStats, batch).load(path)


async def load_org_stats_maintained(loaders: Loaders, ids: list[int]) -> list[OrgStats]:
    """`resolvers.org.load_org_stats` read from the maintained counts (same order), for an
    actor who may count every row under each unit."""
    units = await loaders.get_many(OrgUnit, ids)
    paths = [u.path or "" if u is not None else "" for u in units]
    counts = await counts_under(loaders, sorted(set(paths)))
    return [OrgStats(**{k: counts[p][k] for k in _ORG_STATS}) for p in paths]


_ORG_STATS = tuple(OrgStats.__dataclass_fields__)


@dataclass(frozen=True)
class TrendPoint:
    period: CalendarPeriod
    submitted: int
    closed: int


def trend_periods(unit: PeriodUnit, count: int, today: date) -> list[CalendarPeriod]:
    """The `count` periods of `unit` up to the one holding `today`, oldest first."""
    periods = [CalendarPeriod.containing(unit, today)]
    while len(periods) < count:
        periods.insert(0, CalendarPeriod.containing(unit, periods[0].start - date.resolution))
    return periods


async def petition_trend(
    loaders: Loaders, path: str, periods: Sequence[CalendarPeriod]
) -> list[TrendPoint]:
    """Petitions placed under `path` submitted in each period (China time), and how many of
    them are closed (CLOSED, CLOSED_UNRATED) now: the submitted cohort of the metrics. Rows
    the caller may count only; one statement."""
    if not periods:
        return []
    since = periods[0].bounds()[0]
    until = periods[-1].bounds()[1]
    unit = periods[0].unit.value.lower()
    local = sa.func.timezone(CHINA.key, col(Petition.submitted_at))
    bucket = sa.cast(sa.func.date_trunc(unit, local), sa.Date).label("bucket")
    statement = cast(
        "sa.Select[Any]",
        sa.select(
            bucket,
            sa.func.count().label("submitted"),
            sa.func.count().filter(col(Petition.status).in_(CLOSED)).label("closed"),
        )
        .where(
            col(Petition.path).op("<@")(sa.cast(sa.literal(path), Ltree())),
            col(Petition.submitted_at) >= since,
            col(Petition.submitted_at) < until,
            *loaders.count_scope(Petition),
        )
        .group_by(bucket),
    )
    rows = await loaders.fetch(statement)
    by_start = {r.bucket: (int(r.submitted), int(r.closed)) for r in rows}
    return [TrendPoint(p, *by_start.get(p.start, (0, 0))) for p in periods]


# --- the cache of figures computed from petitions ------------------------------------------


@dataclass
class _Entry:
    value: Any
    at: float
    generation: int


class Source:
    """What a cached answer is computed from, and so which changes make it stale."""

    COUNTS = "counts"  # the maintained counts (NOTIFY live_figures)
    PETITIONS = "petitions"  # the petitions themselves (every petition event)
    #: services and incentives (every event of their workflows; visits, hours, signatures
    #: and the rest have none: the ttl bounds how stale those counts can be)
    ENGAGEMENT = "engagement"


@dataclass
class FiguresCache:
    """Display figures by (who may see what, what was asked), per app instance.

    Each source has a generation that moves on every change this instance hears of. An
    entry of an older generation, or older than `ttl`, is computed again, once however many
    screens ask at the same time; but an entry computed from petitions is kept for
    `min_age[PETITIONS]` seconds whatever happens (rates, trends and rankings are decided over
    a year's table: two seconds for the whole city), so a busy city does not recompute them
    on every step of every case. Only an instance that is listening caches: without the
    listener it would not hear of changes.
    """

    ttl: float = 60.0
    min_age: dict[str, float] = field(
        default_factory=lambda: {
            Source.COUNTS: 0.0,
            Source.PETITIONS: 30.0,
            Source.ENGAGEMENT: 30.0,
        }
    )
    clock: Callable[[], float] = time.monotonic
    listening: Callable[[], bool] = lambda: False
    generations: dict[str, int] = field(
        default_factory=lambda: {Source.COUNTS: 0, Source.PETITIONS: 0, Source.ENGAGEMENT: 0}
    )
    entries: dict[Hashable, _Entry] = field(default_factory=dict)
    running: dict[Hashable, asyncio.Future[Any]] = field(default_factory=dict)
    max_entries: int = 10_000

    def changed(self, source: str) -> None:
        self.generations[source] += 1

    def _fresh(self, source: str, found: _Entry | None) -> bool:
        if found is None:
            return False
        age = self.clock() - found.at
        current = found.generation == self.generations[source]
        return age < self.min_age[source] or (current and age < self.ttl)

    async def get(self, source: str, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        if not self.listening():
            return await compute()
        key = (source, key)
        found = self.entries.get(key)
        if found is not None and self._fresh(source, found):
            return found.value
        on_replica = ON_REPLICA.get()
        # A computation on a replica is not shared with readers of the primary.
        flight = (key, on_replica)
        running = self.running.get(flight)
        if running is None:
            # Computed on a replica, an entry may predate the change that moved the
            # generation (the replica lags): it serves its minimum age, never as current.
            generation = -1 if on_replica else self.generations[source]

            async def fill() -> Any:
                value = await compute()
                if len(self.entries) >= self.max_entries:
                    self.entries.clear()
                if value is not None:  # nothing found: ask again next time
                    self.entries[key] = _Entry(value, self.clock(), generation)
                return value

            running = self.running[flight] = asyncio.ensure_future(fill())
            running.add_done_callback(lambda _f: self.running.pop(flight, None))
        return await asyncio.shield(running)


#: The cache of the app serving the current request (set by the app's middleware); None
#: where no app set one (computed every time).
CACHE: ContextVar[FiguresCache | None] = ContextVar("figures_cache", default=None)


async def cached(source: str, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
    cache = CACHE.get()
    return await (cache.get(source, key, compute) if cache is not None else compute())
