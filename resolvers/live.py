"""Change events across app instances: announced in the transaction of the change, delivered
by PostgreSQL LISTEN/NOTIFY, fanned out by each instance to its own watchers.

`announce` is the one call a process makes when it records an event (the workflow's timeline
row): it writes a `live_event` row in the same transaction, which PostgreSQL numbers in commit
order and announces at commit (migration 0005). Nothing is announced for a transaction that
rolls back, and the announcement carries topic, sequence number, event id and path: never
personal data.

Each app instance runs one `Hub`, which listens on ONE connection (`live_events`,
`live_figures`, `live_identity`), reconnects with a growing delay when PostgreSQL goes away,
and on reconnecting reads what it missed from the log (`seq` greater than the last it saw),
so a restart of PostgreSQL loses nothing. Watchers are found by the event's path: every
watcher of a node that is an ancestor of (or equal to) the event's place hears it, in
commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from models.base import Ltree, utcnow
from models.live import (
    EVENTS_CHANNEL,
    FIGURES_CHANNEL,
    IDENTITY_CHANNEL,
    LiveEvent,
    LiveHorizon,
    LiveSettings,
)

log = logging.getLogger(__name__)


class Topic(enum.StrEnum):
    """What an event is about: the process whose timeline row it names."""

    PETITION = "petition"  # petition_event.id
    WISH = "wish"  # micro_wish_event.id


async def announce(session: AsyncSession, topic: str, event_id: int, path: str | None) -> None:
    """Announce the timeline row `event_id` of `topic`, placed at `path`, when (and only if)
    the session's transaction commits. Call it right after writing the row."""
    if path is None:
        return
    await session.execute(sa.insert(LiveEvent).values(topic=topic, source_id=event_id, path=path))


@dataclass(frozen=True)
class Event:
    """An announced event as watchers get it."""

    seq: int
    topic: str
    source_id: int
    path: str


def ancestors(path: str) -> list[str]:
    """`1.3.12.b7` -> `1`, `1.3`, `1.3.12`, `1.3.12.b7`."""
    labels = path.split(".")
    return [".".join(labels[: i + 1]) for i in range(len(labels))]


# --- the log -----------------------------------------------------------------------------


class ResumeRefused(Exception):  # noqa: N818  (an answer, not a failure)
    """The events after a cursor are no longer all in the log, or too many to replay."""


async def backlog(
    session: AsyncSession, topic: str, path: str, after: int, limit: int
) -> list[Event]:
    """The events of `topic` under `path` committed after `after`, oldest first.

    Refused when the log no longer holds everything after `after` (purged: older than the
    retention) or when more than `limit` were missed: the client reloads and starts afresh.
    """
    horizon = await session.scalar(sa.select(col(LiveHorizon.seq)).where(col(LiveHorizon.id) == 1))
    if after < int(horizon or 0):
        raise ResumeRefused("the events after this cursor are older than the resume window")
    rows = (
        await session.execute(
            sa.select(
                col(LiveEvent.seq),
                col(LiveEvent.topic),
                col(LiveEvent.source_id),
                col(LiveEvent.path),
            )
            .where(
                col(LiveEvent.seq) > after,
                col(LiveEvent.topic) == topic,
                col(LiveEvent.path).op("<@")(sa.cast(sa.literal(path), Ltree())),
            )
            .order_by(col(LiveEvent.seq))
            .limit(limit + 1)
        )
    ).all()
    if len(rows) > limit:
        raise ResumeRefused(f"more than {limit} events were missed")
    return [Event(int(s or 0), str(t), int(i), str(p)) for s, t, i, p in rows]


async def purge(session: AsyncSession, older_than: datetime, batch: int = 10_000) -> int:
    """Drop events older than `older_than` (a batch at a time) and raise the horizon."""
    doomed = (
        sa.select(col(LiveEvent.id))
        .where(col(LiveEvent.at) < older_than)
        .limit(batch)
        .scalar_subquery()
    )
    gone = (
        await session.execute(
            sa.delete(LiveEvent).where(col(LiveEvent.id).in_(doomed)).returning(col(LiveEvent.seq))
        )
    ).all()
    top = max((int(s) for (s,) in gone if s is not None), default=0)
    if top:
        await session.execute(
            sa.update(LiveHorizon)
            .where(col(LiveHorizon.id) == 1)
            .values(seq=sa.func.greatest(col(LiveHorizon.seq), top))
        )
    return len(gone)


# --- the hub ------------------------------------------------------------------------------

Sink = Callable[[Event], None]
#: `application_name` of the listener's connection (so operators can tell it apart)
LISTENER_NAME = "live-listener"


@dataclass(eq=False)
class Watch:
    topic: str
    path: str
    sink: Sink


@dataclass(eq=False)
class FiguresWatch:
    path: str
    #: called with the push's time: every watcher of the node gets the same one
    sink: Callable[[float], None]


@dataclass
class _Pace:
    """When a node's figures were last pushed, and whether a push is already scheduled."""

    last: float = 0.0
    timer: asyncio.TimerHandle | None = None


@dataclass
class HubStats:
    connected: bool = False
    reconnects: int = 0
    events: int = 0
    caught_up: int = 0


class Hub:
    """This instance's listener and watchers (one per app)."""

    def __init__(
        self,
        dsn: str,
        sessions: async_sessionmaker[AsyncSession],
        settings: LiveSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dsn = dsn
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.last_seq = 0
        self.stats = HubStats()
        self._watches: dict[str, dict[str, set[Watch]]] = defaultdict(lambda: defaultdict(set))
        self._figures: dict[str, set[FiguresWatch]] = defaultdict(set)
        self._pace: dict[str, _Pace] = {}
        self._identity: list[Callable[[str, str], None]] = []
        self._every: list[Sink] = []
        self._counts: list[Callable[[], None]] = []
        self._reconnected: list[Callable[[], None]] = []
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._janitor: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._stop = asyncio.Event()

    # watchers ---------------------------------------------------------------------------
    def watch(self, topic: str, path: str, sink: Sink) -> Watch:
        found = Watch(topic, path, sink)
        self._watches[topic][path].add(found)
        return found

    def unwatch(self, found: Watch) -> None:
        by_path = self._watches.get(found.topic)
        if by_path is not None:
            by_path[found.path].discard(found)
            if not by_path[found.path]:
                del by_path[found.path]

    def watch_figures(self, path: str, sink: Callable[[float], None]) -> FiguresWatch:
        found = FiguresWatch(path, sink)
        self._figures[path].add(found)
        return found

    def unwatch_figures(self, found: FiguresWatch) -> None:
        self._figures[found.path].discard(found)
        if not self._figures[found.path]:
            del self._figures[found.path]
            pace = self._pace.pop(found.path, None)
            if pace is not None and pace.timer is not None:
                pace.timer.cancel()

    def on_identity(self, sink: Callable[[str, str], None]) -> None:
        """`sink(kind, value)` for every credential that ended or changed (`family`,
        `account`, `token`, `person`)."""
        self._identity.append(sink)

    def on_event(self, sink: Sink) -> None:
        """`sink(event)` for every event, whatever its place."""
        self._every.append(sink)

    def on_counts(self, sink: Callable[[], None]) -> None:
        """`sink()` whenever maintained counts changed somewhere (or may have)."""
        self._counts.append(sink)

    def on_reconnect(self, sink: Callable[[], None]) -> None:
        """Called after the listener reconnected (identity notices may have been missed)."""
        self._reconnected.append(sink)

    # delivery ----------------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        """Hand an event to every watcher of its topic at or above its place (commit order:
        an event at or below the last one published is a repeat and is dropped)."""
        if event.seq <= self.last_seq:
            return
        self.last_seq = event.seq
        self.stats.events += 1
        by_path = self._watches.get(event.topic, {})
        sinks = [s for p in ancestors(event.path) for s in (w.sink for w in by_path.get(p, ()))]
        for sink in [*self._every, *sinks]:
            try:
                sink(event)
            except Exception:
                log.exception("a live watcher failed on event %d", event.seq)
        self.figures_changed(event.path)

    def figures_changed(self, path: str) -> None:
        """The counts under `path` changed ('*': everywhere): push the figures of every
        watched node at or above it, at most once per interval per node."""
        if path == "*":
            nodes: Iterable[str] = list(self._figures)
        else:
            nodes = [p for p in ancestors(path) if p in self._figures]
        for node in nodes:
            self._schedule(node)

    def _schedule(self, node: str) -> None:
        pace = self._pace.setdefault(node, _Pace())
        if pace.timer is not None:
            return
        wait = max(0.0, pace.last + self.settings.figures_interval - self.clock())
        pace.timer = asyncio.get_running_loop().call_later(wait, self._push_figures, node)

    def _push_figures(self, node: str) -> None:
        pace = self._pace.get(node)
        if pace is None:
            return
        pace.timer = None
        pace.last = self.clock()
        for found in tuple(self._figures.get(node, ())):
            try:
                found.sink(pace.last)
            except Exception:
                log.exception("a figures watcher failed")

    # the listener ----------------------------------------------------------------------
    async def start(self) -> None:
        """Listen (returns once the first LISTEN is in place) and purge the log now and then."""
        if self._task is not None:
            return
        self._task = asyncio.create_task(self._listen(), name="live-listener")
        self._janitor = asyncio.create_task(self._purge_now_and_then(), name="live-janitor")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), timeout=10)

    async def stop(self) -> None:
        self._stop.set()
        for task in (self._task, self._janitor):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._janitor = None
        for pace in self._pace.values():
            if pace.timer is not None:
                pace.timer.cancel()

    def _notified(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        self._queue.put_nowait((channel, payload))

    async def _listen(self) -> None:
        delay = self.settings.reconnect_delay
        first = True
        while not self._stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self.dsn, timeout=10, server_settings={"application_name": LISTENER_NAME}
                )
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, gone=lost: gone.set())
                for channel in (EVENTS_CHANNEL, FIGURES_CHANNEL, IDENTITY_CHANNEL):
                    await conn.add_listener(channel, self._notified)
                if first:
                    self.last_seq = await self._max_seq(conn)
                else:
                    await self._catch_up(conn)
                    self.stats.reconnects += 1
                    for sink in self._reconnected:
                        sink()
                    for counted in self._counts:
                        counted()
                    self.figures_changed("*")
                self.stats.connected = True
                self._listening.set()
                delay = self.settings.reconnect_delay
                first = False
                await self._dispatch(lost)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live listener: %s; reconnecting in %.2fs", type(exc).__name__, delay)
            finally:
                self.stats.connected = False
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), timeout=2)
            if self._stop.is_set():
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _max_seq(self, conn: asyncpg.Connection) -> int:
        found = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM live_event")
        return int(found)

    async def _catch_up(self, conn: asyncpg.Connection) -> None:
        """What was committed while the listener was away, from the log."""
        rows = await conn.fetch(
            "SELECT seq, topic, source_id, path::text FROM live_event WHERE seq > $1 ORDER BY seq",
            self.last_seq,
        )
        for row in rows:
            self.publish(Event(int(row[0]), str(row[1]), int(row[2]), str(row[3])))
        self.stats.caught_up += len(rows)

    async def _dispatch(self, lost: asyncio.Event) -> None:
        """Handle notifications until the connection is lost."""
        while True:
            getter = asyncio.ensure_future(self._queue.get())
            closed = asyncio.ensure_future(lost.wait())
            done, _ = await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                closed.cancel()
                return
            closed.cancel()
            channel, payload = getter.result()
            self._handle(channel, payload)

    def _handle(self, channel: str, payload: str) -> None:
        if channel == EVENTS_CHANNEL:
            data = json.loads(payload)
            self.publish(
                Event(int(data["seq"]), str(data["topic"]), int(data["id"]), str(data["path"]))
            )
        elif channel == FIGURES_CHANNEL:
            for sink in self._counts:
                sink()
            self.figures_changed(payload)
        elif channel == IDENTITY_CHANNEL:
            kind, _, value = payload.partition(":")
            for told in self._identity:
                try:
                    told(kind, value)
                except Exception:
                    log.exception("a live identity watcher failed")

    async def _purge_now_and_then(self, every: float = 600.0) -> None:
        while not self._stop.is_set():
            try:
                async with self.sessions() as session, session.begin():
                    await purge(session, utcnow() - self.settings.retention)
            except Exception as exc:
                log.warning("live log purge failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=every)
