"""Prometheus metrics at `/metrics` and one JSON log line per request.

`Telemetry` is a pure ASGI middleware around every HTTP request: it times the request, counts
its SQL statements (engine events and the driver's own, per request through a context
variable) and, when it is done, records the metrics and logs one line to the `app.requests` logger:

    {"requestId": "...", "method": "POST", "path": "/graphql", "status": 200,
     "actorKind": "PERSON", "operationName": "MyBuilding", "outcome": "ok",
     "durationMs": 12.4, "statements": 3}

never with a query string, variables, a response or any other personal value. The GraphQL
transport tells it the operation's name, the actor's kind and the outcome (`note`).

Metrics (their own registry, so several apps in one process do not collide):

| name | type | labels |
|---|---|---|
| `graphql_requests_total` | counter | `operation` (100 names at most, then `other`), `outcome` |
| `http_request_duration_seconds` | histogram | `route` (graphql, open311, other), `operation` |
| `sql_statements_per_request` | histogram | `route` |
| `db_pool_size`, `db_pool_checked_out`, `db_pool_overflow` | gauges | |
| `graphql_subscriptions_open` | gauge | (kept by the WebSocket transport, `schema.websocket`) |
| `scheduler_runs_total` | counter | `outcome` (`ok`, `failed`) |
| `scheduler_rows_total` | counter | `job` (`petitions.escalate_overdue` counts escalations) |
| `graphql_requests_by_database_total` | counter | `database` (`primary`, `replica`) |
| `db_replica_up`, `db_replica_lag_seconds` | gauges | `replica` (index in the setting) |
| `db_replica_skipped_total` | counter | `reason` (`unfit`, `lsn`, `failed`) |

The last three exist with read replicas only (`models.replicas`): `unfit` is a replica down or
lagging, `lsn` one that has not replayed the commit the client asked to see, `failed` one
that failed when the request took it.

Outcomes: `ok`, `error` (executed, with errors), `refused` (limits, validation, a malformed
request), `unauthenticated`, `unavailable` (the database), `internal` (a bug).

`/metrics` answers requests from the loopback interface that came through no proxy (no
`X-Forwarded-For` or `Forwarded` header), and any request with `Authorization: Bearer
<METRICS_TOKEN>` when that setting is given; everything else gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import time
import weakref
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.db import DRIVER_STATEMENTS

REGISTRY = CollectorRegistry(auto_describe=True)
#: The request log is a stream of its own, like an access log: `configure_request_log` gives
#: it its handler (`create_app` and the command line do); it never mixes into other logs.
REQUEST_LOG = logging.getLogger("app.requests")
REQUEST_LOG.propagate = False

REQUESTS = Counter(
    "graphql_requests",
    "GraphQL requests by operation name and outcome.",
    ["operation", "outcome"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from the request's start to the end of its response.",
    ["route", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
STATEMENTS = Histogram(
    "sql_statements_per_request",
    "SQL statements one request sent (savepoints included).",
    ["route"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144),
    registry=REGISTRY,
)
SUBSCRIPTIONS_OPEN = Gauge(
    "graphql_subscriptions_open",
    "GraphQL subscriptions open now (the WebSocket transport increments and decrements it).",
    registry=REGISTRY,
)
SCHEDULER_RUNS = Counter(
    "scheduler_runs",
    "Passes of the scheduler over every job, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
SCHEDULER_ROWS = Counter(
    "scheduler_rows",
    "Rows each scheduled job moved (petitions.escalate_overdue: escalations).",
    ["job"],
    registry=REGISTRY,
)

REQUESTS_BY_DATABASE = Counter(
    "graphql_requests_by_database",
    "GraphQL operations executed, by the database that served them (with read replicas).",
    ["database"],
    registry=REGISTRY,
)
REPLICA_SKIPPED = Counter(
    "db_replica_skipped",
    "Queries that could have read a replica but went to the primary, by reason.",
    ["reason"],
    registry=REGISTRY,
)

#: Distinct operation names labelled; later ones are counted as `other` (names are chosen by
#: clients: an unbounded label would grow without end).
MAX_OPERATIONS = 100
_operations: set[str] = set()


def operation_label(name: str | None) -> str:
    if name is None:
        return "anonymous"
    if name in _operations:
        return name
    if len(_operations) >= MAX_OPERATIONS:
        return "other"
    _operations.add(name)
    return name


@dataclass
class RequestStats:
    """What one request did, filled in while it runs."""

    request_id: str
    method: str
    path: str
    started: float
    statements: int = 0
    status: int | None = None
    operation: str | None = None
    actor_kind: str | None = None
    outcome: str | None = None
    #: `primary` or `replica` when read replicas are configured
    database: str | None = None


_CURRENT: ContextVar[RequestStats | None] = ContextVar("request_stats", default=None)


def note(**fields: Any) -> None:
    """Tell the current request's record something (the operation, the actor kind ...)."""
    stats = _CURRENT.get()
    if stats is not None:
        for key, value in fields.items():
            setattr(stats, key, value)


def _count_statement(*_: Any) -> None:
    stats = _CURRENT.get()
    if stats is not None:
        stats.statements += 1


# Every engine, the app's and the tests' alike; SQLAlchemy runs the event in the request's
# context (its greenlets inherit the caller's context variables). Statements the driver runs
# itself (the caller's lookup, a compiled query: `models.db.on_driver`) never reach the
# engine's events: they are told apart.
event.listen(Engine, "before_cursor_execute", _count_statement)
DRIVER_STATEMENTS.append(_count_statement)


class PoolCollector(Collector):
    """Connection-pool gauges, read at scrape time from the pools of the apps' engines."""

    def __init__(self) -> None:
        self.pools: weakref.WeakSet[Pool] = weakref.WeakSet()

    def collect(self) -> Iterator[Metric]:
        size = GaugeMetricFamily("db_pool_size", "Connections the pool keeps.")
        used = GaugeMetricFamily("db_pool_checked_out", "Connections in use now.")
        overflow = GaugeMetricFamily("db_pool_overflow", "Connections above the pool size now.")
        totals = [0, 0, 0]
        for pool in list(self.pools):
            totals[0] += int(getattr(pool, "size", lambda: 0)())
            totals[1] += int(getattr(pool, "checkedout", lambda: 0)())
            totals[2] += max(0, int(getattr(pool, "overflow", lambda: 0)()))
        for family, value in zip((size, used, overflow), totals, strict=True):
            family.add_metric([], value)
            yield family


POOLS = PoolCollector()
REGISTRY.register(POOLS)


def watch_pool(pool: Pool) -> None:
    POOLS.pools.add(pool)


class ReplicaState(Protocol):
    index: int
    up: bool
    lag: float | None


class ReplicaCollector(Collector):
    """Replica gauges, read at scrape time from what the last probe found."""

    def __init__(self) -> None:
        self.replicas: weakref.WeakSet[Any] = weakref.WeakSet()

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "db_replica_up",
            "1 when the replica answered its last probe as a standby.",
            labels=["replica"],
        )
        lag = GaugeMetricFamily(
            "db_replica_lag_seconds",
            "How far behind the primary the replica was at its last probe.",
            labels=["replica"],
        )
        for replica in sorted(self.replicas, key=lambda r: int(r.index)):
            label = [str(replica.index)]
            up.add_metric(label, 1 if replica.up else 0)
            if replica.lag is not None:
                lag.add_metric(label, replica.lag)
        yield up
        yield lag


REPLICAS = ReplicaCollector()
REGISTRY.register(REPLICAS)


def watch_replica(replica: ReplicaState) -> None:
    REPLICAS.replicas.add(replica)


def served_by(database: str, *, skipped: str | None = None) -> None:
    """Which database serves the current request (and why not a replica, when not)."""
    note(database=database)
    if skipped is not None:
        REPLICA_SKIPPED.labels(skipped).inc()


def observe_scheduler(done: Mapping[str, list[int]] | None) -> None:
    """One scheduler pass: its jobs' moved rows, or None when it failed."""
    if done is None:
        SCHEDULER_RUNS.labels("failed").inc()
        return
    SCHEDULER_RUNS.labels("ok").inc()
    for job, rows in done.items():
        SCHEDULER_ROWS.labels(job).inc(len(rows))


def _route(path: str) -> str:
    if path == "/graphql":
        return "graphql"
    if path.startswith("/open311/"):
        return "open311"
    return "other"


_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})


class Telemetry:
    """Pure ASGI middleware: metrics and the JSON log line of every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        stats = RequestStats(
            request_id=str(scope.get("state", {}).get("request_id", "")),
            method=str(scope.get("method", "")),
            path=str(scope.get("path", "")),
            started=time.perf_counter(),
        )
        token = _CURRENT.set(stats)

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                stats.status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            stats.status = 500
            stats.outcome = "internal"
            raise
        finally:
            _CURRENT.reset(token)
            finish(stats)


def finish(stats: RequestStats) -> None:
    elapsed = time.perf_counter() - stats.started
    if stats.path in _QUIET:
        return
    route = _route(stats.path)
    operation = operation_label(stats.operation) if route == "graphql" else "-"
    LATENCY.labels(route, operation).observe(elapsed)
    STATEMENTS.labels(route).observe(stats.statements)
    if route == "graphql":
        if stats.outcome is None and stats.status is not None and stats.status >= 500:
            stats.outcome = "internal"
        REQUESTS.labels(operation, stats.outcome or "refused").inc()
        if stats.database is not None:
            REQUESTS_BY_DATABASE.labels(stats.database).inc()
    REQUEST_LOG.info(
        json.dumps(
            {
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "requestId": stats.request_id,
                "method": stats.method,
                "path": stats.path,
                "status": stats.status,
                "actorKind": stats.actor_kind,
                "operationName": stats.operation,
                "outcome": stats.outcome,
                "durationMs": round(elapsed * 1000, 1),
                "statements": stats.statements,
            },
            ensure_ascii=False,
        )
    )


def configure_request_log() -> None:
    """The request log's lines are JSON alone (no level or logger prefix)."""
    if any(getattr(h, "json_lines", False) for h in REQUEST_LOG.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.json_lines = True  # type: ignore[attr-defined]
    REQUEST_LOG.addHandler(handler)
    REQUEST_LOG.setLevel(logging.INFO)


def _loopback(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(str(client[0])).is_loopback
    except ValueError:
        return False


def _proxied(request: Request) -> bool:
    return "x-forwarded-for" in request.headers or "forwarded" in request.headers


def may_scrape(request: Request) -> bool:
    """A configured METRICS_TOKEN as a bearer token, or a direct loopback request."""
    secret = os.environ.get("METRICS_TOKEN", "")
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    if secret and scheme.lower() == "bearer":
        return hmac.compare_digest(credentials.strip().encode(), secret.encode())
    return _loopback(request.scope) and not _proxied(request)


async def metrics_endpoint(request: Request) -> Response:
    if not may_scrape(request):
        return PlainTextResponse(
            "metrics are served on the loopback interface, or with METRICS_TOKEN\n", 403
        )
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
