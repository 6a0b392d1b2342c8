"""Read replicas: streaming standbys of the primary that serve queries (`DATABASE_REPLICA_URLS`).

Which replica may serve is decided from a probe of each one, run at most once a
`check_seconds` (by whichever request needs it first; nobody else waits for it): a replica
that does not answer, is not in recovery, or is further behind than `max_lag` seconds is
skipped and the primary serves.

The lag is measured against the primary itself, not against the standby's last replayed
transaction (which tells nothing on an idle primary, or when streaming has stopped): every
probe first notes the primary's WAL position and its time, and a replica's lag is the age
of the newest noted position it has replayed. It is thus exact to within `check_seconds`,
whatever the standby says about itself.

A request that carries a commit LSN (`extensions.consistency.lsn` of a mutation) is
served by a replica only if that replica has replayed it (`pg_last_wal_replay_lsn()`,
asked in the request's own session before anything else: PostgreSQL then shows every
later statement at least that much).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.db import make_engine, make_sessionmaker, normalise

log = logging.getLogger(__name__)

#: A WAL position as PostgreSQL prints it (`pg_lsn`): two hex numbers of at most 32 bits.
LSN = re.compile(r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")

#: Whether the current request reads a replica (a cache filled from it must not pass for
#: current: `resolvers.figures`).
ON_REPLICA: ContextVar[bool] = ContextVar("on_replica", default=False)

_PROBE = sa.text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, pg_is_wal_replay_paused()"
)
_PRIMARY_POSITION = sa.text("SELECT pg_current_wal_lsn()::text")
_REPLAYED = sa.text("SELECT pg_last_wal_replay_lsn() >= CAST(CAST(:lsn AS text) AS pg_lsn)")


def lsn_value(text: str) -> int:
    """A `pg_lsn` as a number, for comparing positions without asking the server."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def where(url: str) -> str:
    """A replica's host and port (or socket) for `/readyz` and logs: never its credentials."""
    parts = urlsplit(normalise(url))
    host = parts.hostname or ""
    if not host:
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        host = query.get("host", "")
    return f"{host}:{parts.port or 5432}"


@dataclass(eq=False)
class Replica:
    """One standby: its pool, and what its last probe found."""

    index: int
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    up: bool = False
    #: seconds behind the primary at the last probe (None: unknown)
    lag: float | None = None
    replayed: int = 0
    paused: bool = False
    error: str | None = None

    @property
    def status(self) -> str:
        return "up" if self.up else "down"


@dataclass
class Databases:
    """The primary's sessions and the replicas beside it: which database serves a read."""

    primary: async_sessionmaker[AsyncSession]
    replicas: list[Replica]
    max_lag: float = 5.0
    check_seconds: float = 1.0
    clock: Callable[[], float] = time.monotonic
    #: (time, primary WAL position) of recent probes, oldest first
    _marks: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=256))
    _checked: float = float("-inf")
    _probe: asyncio.Future[None] | None = None
    _next: int = 0

    @classmethod
    def configured(
        cls,
        primary: async_sessionmaker[AsyncSession],
        urls: tuple[str, ...],
        *,
        max_lag: float,
        check_seconds: float = 1.0,
        **engine_options: Any,
    ) -> Databases:
        replicas = []
        for index, url in enumerate(urls):
            # every checkout pinged: a replica that went away is skipped, never a 503
            engine = make_engine(normalise(url), ping_after=0.0, **engine_options)
            replicas.append(Replica(index, url, engine, make_sessionmaker(engine)))
        return cls(primary, replicas, max_lag=max_lag, check_seconds=check_seconds)

    @property
    def engines(self) -> list[AsyncEngine]:
        return [r.engine for r in self.replicas]

    async def dispose(self) -> None:
        for replica in self.replicas:
            await replica.engine.dispose()

    # choosing ---------------------------------------------------------------------------
    async def replica(self) -> Replica | None:
        """A replica fit to serve now (in turn, when several are), or None: the primary."""
        await self.refresh()
        fit = [r for r in self.replicas if self.fit(r)]
        if not fit:
            return None
        self._next = (self._next + 1) % len(fit)
        return fit[self._next]

    def fit(self, replica: Replica) -> bool:
        return replica.up and replica.lag is not None and replica.lag <= self.max_lag

    def down(self, replica: Replica, error: BaseException) -> None:
        """A replica that failed a request serves nothing until a probe finds it back."""
        replica.up = False
        replica.error = type(error).__name__
        log.warning("replica %d (%s) failed: %s", replica.index, where(replica.url), replica.error)

    @contextlib.asynccontextmanager
    async def session(
        self, replica: Replica, lsn: str | None
    ) -> AsyncIterator[AsyncSession | None]:
        """A session on `replica`; None when the request's `lsn` is not replayed there yet."""
        async with replica.sessions() as session:
            await session.connection()  # a replica that is gone fails here, before any work
            if lsn is not None and not (await session.scalar(_REPLAYED, {"lsn": lsn})):
                yield None
                return
            token = ON_REPLICA.set(True)
            try:
                yield session
            finally:
                ON_REPLICA.reset(token)

    # probing ----------------------------------------------------------------------------
    async def refresh(self) -> None:
        """Probe the replicas if the last probe is older than `check_seconds` (one probe at a
        time; a request that finds one running goes on with what is known)."""
        if self._probe is not None or self.clock() - self._checked < self.check_seconds:
            return
        self._probe = asyncio.ensure_future(self.check())
        try:
            await asyncio.shield(self._probe)
        finally:
            self._probe = None

    async def check(self) -> None:
        """Note the primary's position, then probe every replica against the marks."""
        self._checked = self.clock()
        try:
            async with self.primary() as session:
                position = str(await session.scalar(_PRIMARY_POSITION))
            self._marks.append((self.clock(), lsn_value(position)))
        except Exception as exc:
            log.warning("the primary's WAL position is unknown: %s", type(exc).__name__)
        await asyncio.gather(*(self._check(r) for r in self.replicas))

    async def _check(self, replica: Replica) -> None:
        try:
            async with replica.sessions() as session:
                row = (await session.execute(_PROBE)).one()
        except Exception as exc:
            replica.up, replica.lag, replica.error = False, None, type(exc).__name__
            return
        recovering, replayed, paused = row
        replica.up = bool(recovering)
        replica.error = None if recovering else "not a standby"
        replica.replayed = lsn_value(str(replayed)) if replayed else 0
        replica.paused = bool(paused)
        replica.lag = self.lag_of(replica.replayed)

    def lag_of(self, replayed: int) -> float | None:
        """Seconds since the primary was last seen at a position the replica has not reached
        (0: it has everything the last mark saw; None: no mark yet)."""
        if not self._marks:
            return None
        now = self.clock()
        behind = [at for at, position in self._marks if position > replayed]
        if not behind:
            return 0.0
        # the oldest mark it lacks: it has everything written before that moment
        return now - behind[0]

    # reporting --------------------------------------------------------------------------
    def readiness(self) -> list[dict[str, str | int | float | None]]:
        found: list[dict[str, str | int | float | None]] = []
        for replica in self.replicas:
            item: dict[str, str | int | float | None] = {
                "replica": replica.index,
                "at": where(replica.url),
                "status": replica.status if self.fit(replica) or not replica.up else "lagging",
                "lagSeconds": round(replica.lag, 3) if replica.lag is not None else None,
            }
            if replica.error:
                item["error"] = replica.error
            found.append(item)
        return found


async def committed_at(session: AsyncSession) -> str:
    """The primary's WAL insert position just after a commit: at or past the commit record,
    so a replica that has replayed it shows what the transaction wrote."""
    return str(await session.scalar(sa.text("SELECT pg_current_wal_insert_lsn()::text")))


async def replayed_event(session: AsyncSession, seq: int, within: float) -> bool:
    """Whether the replica behind `session` shows the live event `seq` (and so everything its
    transaction wrote), waiting up to `within` seconds for it to be replayed. Each check is
    a statement of its own: under READ COMMITTED it sees what has been replayed by then."""
    deadline = time.monotonic() + within
    while True:
        found = await session.scalar(
            sa.text("SELECT EXISTS (SELECT 1 FROM live_event WHERE seq = :seq)"), {"seq": seq}
        )
        if found:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.01)
