"""The per-instance cache of display figures: an answer is kept until what it was computed
from changes, or a minute passes; answers computed from petitions are kept at least
`min_age` whatever happens; many screens asking at once compute once; nothing is kept by an
instance that does not listen (it would not hear of changes)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from resolvers.figures import FiguresCache, Source


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def counter() -> tuple[list[int], Callable[[], Awaitable[int]]]:
    calls: list[int] = []

    async def compute() -> int:
        calls.append(1)
        await asyncio.sleep(0.01)
        return len(calls)

    return calls, compute


async def test_counts_are_kept_until_they_change_or_a_minute_passes() -> None:
    clock = Clock()
    cache = FiguresCache(clock=clock, listening=lambda: True)
    calls, compute = counter()
    assert await cache.get(Source.COUNTS, "k", compute) == 1
    assert await cache.get(Source.COUNTS, "k", compute) == 1
    cache.changed(Source.PETITIONS)  # another source: still good
    assert await cache.get(Source.COUNTS, "k", compute) == 1
    cache.changed(Source.COUNTS)
    assert await cache.get(Source.COUNTS, "k", compute) == 2
    clock.now += 61
    assert await cache.get(Source.COUNTS, "k", compute) == 3
    assert len(calls) == 3


async def test_petition_figures_are_kept_at_least_their_minimum_age() -> None:
    clock = Clock()
    cache = FiguresCache(clock=clock, listening=lambda: True)
    calls, compute = counter()
    assert await cache.get(Source.PETITIONS, "k", compute) == 1
    cache.changed(Source.PETITIONS)
    clock.now += 29
    assert await cache.get(Source.PETITIONS, "k", compute) == 1
    clock.now += 2
    assert await cache.get(Source.PETITIONS, "k", compute) == 2
    assert len(calls) == 2


async def test_screens_asking_at_once_compute_once_and_nothing_is_kept_unheard() -> None:
    cache = FiguresCache(listening=lambda: True)
    calls, compute = counter()
    answers = await asyncio.gather(*(cache.get(Source.COUNTS, "k", compute) for _ in range(50)))
    assert set(answers) == {1}
    assert len(calls) == 1
    deaf = FiguresCache(listening=lambda: False)
    calls, compute = counter()
    for _ in range(3):
        await deaf.get(Source.COUNTS, "k", compute)
    assert len(calls) == 3


async def test_nothing_found_is_asked_again() -> None:
    cache = FiguresCache(listening=lambda: True)
    calls: list[int] = []

    async def absent() -> None:
        calls.append(1)

    await cache.get(Source.COUNTS, "k", absent)
    await cache.get(Source.COUNTS, "k", absent)
    assert len(calls) == 2
