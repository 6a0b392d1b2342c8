"""The live event log: every change event, numbered in commit order, and the settings of the
GraphQL-over-WebSocket transport that delivers it.

`live_event` holds one row per announced event (a petition's or a micro-wish's timeline row
...): its topic, the id of the timeline row and the `path` of the place it happened. A
deferred trigger numbers each row at commit time (`seq`), under a transaction-level lock, so
`seq` order is commit order: a subscriber that saw `seq` N has seen every event committed
before it, and "everything after N" misses nothing and repeats nothing. The same trigger
announces the row with NOTIFY (`live_events`: topic, seq, event id, path; never personal
data). Rows older than the retention window are purged; `live_horizon` keeps the highest
purged `seq`, below which a resume is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import ltree_column, pk, timestamp

#: NOTIFY channels: committed events, changed figures (an org-unit path), credentials that
#: ended (`family:<sid>`, `account:<id>`, `token:<id>`, `person:<id>`).
EVENTS_CHANNEL = "live_events"
FIGURES_CHANNEL = "live_figures"
IDENTITY_CHANNEL = "live_identity"
#: Session setting that bulk loads (the city seed's COPY) set to skip the per-change work of
#: the figure triggers and notifications; they recompute the figures once at the end.
BULK_SETTING = "app.bulk_load"


class LiveEvent(SQLModel, table=True):
    __tablename__ = "live_event"
    __table_args__ = (
        sa.Index("ix_live_event_path", "path", postgresql_using="gist"),
        sa.Index("ix_live_event_at", "at"),
    )

    id: int | None = pk()
    #: commit order, assigned by the deferred trigger at commit (NULL until then)
    seq: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, nullable=True, unique=True)
    )
    topic: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    #: the timeline row the event is about (petition_event.id, micro_wish_event.id ...)
    source_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    path: str | None = ltree_column()
    at: datetime = timestamp()


class LiveHorizon(SQLModel, table=True):
    """One row: the highest `seq` purged from the log (resumes from below it are refused)."""

    __tablename__ = "live_horizon"
    __table_args__ = (sa.CheckConstraint("id = 1", name="ck_live_horizon_one_row"),)

    id: int = Field(default=1, sa_column=sa.Column(sa.Integer, primary_key=True))
    seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))


@dataclass(frozen=True)
class LiveSettings:
    """The WebSocket transport's bounds (environment, read once)."""

    #: seconds a connection may take to send `connection_init` (then closed with 4408)
    init_timeout: float = 3.0
    #: active subscriptions per connection (more are refused with SUBSCRIPTION_LIMIT)
    max_subscriptions: int = 20
    #: messages waiting to be sent to one client; a client that lets more pile up is slow
    #: and is disconnected (close code 1013, "try again later")
    send_queue: int = 100
    #: events a resume may deliver; a client that missed more must reload and start afresh
    resume_max: int = 1_000
    #: how long events stay in the log for resumes
    retention: timedelta = timedelta(hours=24)
    #: at most one figures message per node per this many seconds
    figures_interval: float = 1.0
    #: payload executions running at once (each holds a database connection)
    executions: int = 4
    #: the first reconnect delay of the listener after PostgreSQL went away (doubles to 10 s)
    reconnect_delay: float = 0.25


def _number(name: str, default: float, *, minimum: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = float(raw)
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}")
    return value


@lru_cache(maxsize=1)
def live_settings() -> LiveSettings:
    d = LiveSettings()
    return LiveSettings(
        init_timeout=_number("LIVE_INIT_TIMEOUT_SECONDS", d.init_timeout, minimum=0.1),
        max_subscriptions=int(_number("LIVE_MAX_SUBSCRIPTIONS", d.max_subscriptions, minimum=1)),
        send_queue=int(_number("LIVE_SEND_QUEUE", d.send_queue, minimum=1)),
        resume_max=int(_number("LIVE_RESUME_MAX", d.resume_max, minimum=1)),
        retention=timedelta(
            hours=_number("LIVE_RETENTION_HOURS", d.retention.total_seconds() / 3600, minimum=1)
        ),
        figures_interval=_number("LIVE_FIGURES_INTERVAL_SECONDS", d.figures_interval, minimum=0.05),
        executions=int(_number("LIVE_EXECUTIONS", d.executions, minimum=1)),
        reconnect_delay=d.reconnect_delay,
    )
