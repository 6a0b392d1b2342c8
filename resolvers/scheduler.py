"""Scheduled transitions: each domain registers its jobs; every app instance runs them all.

A job claims its rows with `FOR UPDATE SKIP LOCKED`, so schedulers in several instances share
the work and never act twice on one row for one lapse. Each job runs in its own transaction;
a job that filled its batch runs again at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from ops.metrics import observe_scheduler

log = logging.getLogger(__name__)

#: A job: (session, now, batch) -> ids of the rows it moved.
JobFn = Callable[[AsyncSession, datetime, int], Awaitable[list[int]]]


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFn


JOBS: dict[str, Job] = {}


def scheduled(name: str) -> Callable[[JobFn], JobFn]:
    """Register a job under `name` (its domain's module registers it on import)."""

    def register(fn: JobFn) -> JobFn:
        JOBS[name] = Job(name, fn)
        return fn

    return register


async def run_once(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime, batch: int
) -> dict[str, list[int]]:
    """One pass of every job, each in its own transaction; a job that fails does not keep the
    ones after it from running (the first failure is raised once all have had their turn)."""
    done: dict[str, list[int]] = {}
    failed: Exception | None = None
    for job in JOBS.values():
        try:
            async with sessionmaker() as session, session.begin():
                done[job.name] = await job.run(session, now, batch)
        except Exception as exc:
            log.exception("scheduled job %s failed", job.name)
            failed = failed or exc
    if failed is not None:
        raise failed
    return done


async def run_scheduler(
    sessionmaker: async_sessionmaker[AsyncSession],
    interval_seconds: float,
    stop: asyncio.Event,
    *,
    batch: int = 100,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Run every registered job each `interval_seconds` until `stop` is set."""
    while not stop.is_set():
        busy = False
        try:
            done = await run_once(sessionmaker, clock(), batch)
            observe_scheduler(done)
            moved = {name: len(ids) for name, ids in done.items() if ids}
            if moved:
                log.info("scheduler: %s", ", ".join(f"{n} {c}" for n, c in sorted(moved.items())))
            busy = any(len(ids) >= batch for ids in done.values())
        except Exception:
            observe_scheduler(None)
            log.exception("scheduler pass failed; retrying next interval")
        if busy:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_seconds)
