"""GraphQL over WebSocket on /graphql: the graphql-transport-ws protocol (the npm `graphql-ws`
package's), for subscriptions.

A connection is authenticated by `connection_init` with the credentials HTTP takes
(`{"Authorization": "Bearer <access or API token>"}`) and is closed when they expire or end.
Each `subscribe` is read, measured, validated and checked exactly as an HTTP request is (the
same parse cache, limits, cost budget of the actor's kind, argument checks); only
subscription operations are served here (queries and mutations go over HTTP).

Each event's payload is resolved like a query by the subscriber (`schema.subscriptions`),
once for all the subscribers of this instance who would see the same thing (same rows, same
document and variables; displays whatever their token), and sent to each in commit order.

Close codes (as the protocol defines them, plus one):
    4400  bad request: a message that is not a JSON object with a known `type`, a binary or
          oversized frame, a `subscribe` without a string `id` or an object `payload`
    4401  unauthorized: `subscribe` before `connection_ack`
    4403  forbidden: `connection_init` without valid credentials, or the credentials expired
          or ended (sign-out, a replayed refresh token, a new password, a disabled account, a
          revoked API token) while connected
    4406  subprotocol not acceptable: the client did not offer `graphql-transport-ws`
    4408  connection initialisation timeout: no `connection_init` within
          `LIVE_INIT_TIMEOUT_SECONDS` (3 s)
    4409  subscriber for <id> already exists: a second `subscribe` with an active id
    4429  too many initialisation requests: a second `connection_init`
    4500  internal server error
    1013  try again later: the client reads too slowly (more than `LIVE_SEND_QUEUE` messages
          waiting: they are dropped and the connection closed, so memory never grows with a
          slow client), or the database is unavailable at `connection_init`
    1001  going away: the server is shutting down
A client that closes and reconnects resumes each subscription with `after`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
import sqlalchemy as sa
from graphql import ExecutionResult, GraphQLError, OperationType
from graphql.execution import Executor, create_source_event_stream
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.types.graphql import OperationType as StrawberryOperationType

from models.identity import ApiToken
from models.live import LiveSettings
from models.replicas import Databases, replayed_event
from ops.metrics import SUBSCRIPTIONS_OPEN
from permissions.actor import Actor
from permissions.aggregates import for_display
from permissions.limits import Limits, budget_kind
from permissions.live import may_subscribe
from resolvers import figures as rf
from resolvers.identity import API_TOKEN_PREFIX, AuthenticationError
from resolvers.live import Event, Hub, ResumeRefused, backlog
from schema.auth import actor_for
from schema.context import Context
from schema.errors import Refused, RequestCode, database_unavailable, public_errors, request_error
from schema.figures import permission_key
from schema.limits import measure, parsed, refusals
from schema.root import Schema
from schema.subscriptions import FIGURES_TOPIC, Feed
from schema.transport import params_from, prepare, select_operation

log = logging.getLogger(__name__)

PROTOCOL = "graphql-transport-ws"


class Close(enum.IntEnum):
    BAD_REQUEST = 4400
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    SUBPROTOCOL_NOT_ACCEPTABLE = 4406
    INIT_TIMEOUT = 4408
    SUBSCRIBER_EXISTS = 4409
    TOO_MANY_INIT = 4429
    INTERNAL = 4500
    TRY_AGAIN_LATER = 1013
    GOING_AWAY = 1001


class LiveCode(enum.StrEnum):
    """Codes of `error` messages that are about the WebSocket transport itself."""

    SUBSCRIPTIONS_ONLY = "SUBSCRIPTIONS_ONLY"
    SUBSCRIPTION_LIMIT = "SUBSCRIPTION_LIMIT"
    RESUME_REFUSED = "RESUME_REFUSED"


@dataclass
class LiveStats:
    connections: int = 0
    subscriptions: int = 0
    executions: int = 0
    shared: int = 0
    sent: int = 0
    peak_queue: int = 0

    def count_subscriptions(self, delta: int) -> None:
        """Open (+) or end (-) subscriptions: this instance's count and its `/metrics` gauge."""
        self.subscriptions += delta
        SUBSCRIPTIONS_OPEN.inc(delta)

    slow_closed: int = 0
    #: payloads resolved on a read replica (it had replayed the event)
    on_replica: int = 0


# --- one subscription -----------------------------------------------------------------


@dataclass(eq=False)
class Active:
    """An open subscription of a connection."""

    id: str
    feed: Feed
    query: str
    variables: dict[str, Any]
    operation_name: str | None
    document: Any
    unwatch: Callable[[], None] = lambda: None
    #: the cursor of the last event queued (events at or before it are repeats)
    last: int = 0
    #: while the missed events are read: live events wait here, in order
    held: list[Event] | None = None

    def done(self) -> None:
        self.unwatch()
        self.unwatch = lambda: None


@dataclass(eq=False)
class Outgoing:
    """A message waiting to be sent: ready text, or the payload of an event being resolved."""

    sub_id: str | None
    text: str | None = None
    payload: asyncio.Future[str | None] | None = None
    #: sent even after the subscription ended (its `error` or `complete`)
    final: bool = False


def _message(kind: str, sub_id: str | None = None, payload: str | None = None) -> str:
    parts = [f'"type":"{kind}"']
    if sub_id is not None:
        parts.insert(0, '"id":' + json.dumps(sub_id, ensure_ascii=False))
    if payload is not None:
        parts.append('"payload":' + payload)
    return "{" + ",".join(parts) + "}"


def _errors_json(errors: list[GraphQLError], request_id: str) -> str:
    shaped = [e.formatted for e in errors]
    for error in shaped:
        error.setdefault("extensions", {})["requestId"] = request_id
    return json.dumps(shaped, ensure_ascii=False)


# --- the service ----------------------------------------------------------------------


class Live:
    """Subscriptions of one app instance: its hub, its connections, the shared executions."""

    def __init__(
        self,
        schema: Schema,
        sessions: async_sessionmaker[AsyncSession],
        limits: Limits,
        dsn: str,
        settings: LiveSettings,
        databases: Databases | None = None,
    ) -> None:
        self.schema = schema
        self.sessions = sessions
        #: read replicas: an event's payload may be resolved on one that has replayed it
        self.databases = databases
        self.limits = limits
        self.settings = settings
        self.hub = Hub(dsn, sessions, settings)
        self.cache = rf.FiguresCache(listening=lambda: self.hub.stats.connected)
        self.connections: set[Connection] = set()
        self.stats = LiveStats()
        self.executions = asyncio.Semaphore(settings.executions)
        self._shared: dict[Hashable, asyncio.Future[str | None]] = {}
        self.hub.on_identity(self._identity_changed)
        self.hub.on_reconnect(self._recheck_everyone)
        self.hub.on_event(lambda _event: self.cache.changed(rf.Source.PETITIONS))
        self.hub.on_event(lambda _event: self.cache.changed(rf.Source.ENGAGEMENT))
        self.hub.on_counts(lambda: self.cache.changed(rf.Source.COUNTS))

    async def start(self) -> None:
        await self.hub.start()

    async def stop(self) -> None:
        for connection in list(self.connections):
            connection.close(Close.GOING_AWAY, "the server is shutting down")
        await self.hub.stop()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = rf.CACHE.set(self.cache)
        try:
            await Connection(self, WebSocket(scope, receive, send)).run()
        finally:
            rf.CACHE.reset(token)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Pure ASGI: every HTTP request of the app uses this instance's figures cache."""

        async def with_cache(scope: Scope, receive: Receive, send: Send) -> None:
            token = rf.CACHE.set(self.cache)
            try:
                await app(scope, receive, send)
            finally:
                rf.CACHE.reset(token)

        return with_cache

    # credentials ---------------------------------------------------------------------
    def _identity_changed(self, kind: str, value: str) -> None:
        for connection in list(self.connections):
            if connection.concerned_by(kind, value):
                connection.recheck()

    def _recheck_everyone(self) -> None:
        for connection in list(self.connections):
            connection.recheck()

    # payloads ------------------------------------------------------------------------
    def payload(
        self, connection: Connection, active: Active, event: Event | None, token: Hashable
    ) -> asyncio.Future[str | None]:
        """The `payload` JSON of `event` for `active`, resolved once for every subscriber of
        this instance who would get the same (shared while the event is being handed out)."""
        actor = connection.actor
        assert actor is not None
        who: Hashable = None if for_display(actor) else (actor.token_id, actor.account_id)
        key = (
            permission_key(actor),
            who,
            active.query,
            active.operation_name,
            json.dumps(active.variables, sort_keys=True, default=str),
            active.feed.field,
            active.feed.path,
            token,
        )
        found = self._shared.get(key)
        if found is not None:
            self.stats.shared += 1
            return found
        found = asyncio.ensure_future(self._execute(actor, active, event, connection.request_id))
        self._shared[key] = found
        # Every subscriber hears of an event in one synchronous pass: after it, the entry
        # is only held by the messages waiting for it.
        asyncio.get_running_loop().call_soon(self._shared.pop, key, None)
        return found

    async def _execute(
        self, actor: Actor, active: Active, event: Event | None, connection_id: str
    ) -> str | None:
        # Grants change under an open subscription (a post ends): each payload is for one
        # who may still hold it, as a subscribe now would decide.
        if not may_subscribe(actor, active.feed.field, active.feed.path):
            return None
        async with self.executions:
            self.stats.executions += 1
            request_id = f"{connection_id}-{event.seq if event else 'f'}"
            result: Any
            async with contextlib.AsyncExitStack() as held:
                session, primary = await self._session_for(event, held)
                context = Context(
                    session=session, actor=actor, request_id=request_id, primary=primary
                )
                context.document = active.document
                try:
                    root = await active.feed.root(context, event)
                    if root is None:
                        await session.rollback()
                        return None
                    result = await self.schema.execute(
                        active.query,
                        variable_values=active.variables,
                        context_value=context,
                        root_value=root,
                        operation_name=active.operation_name,
                        allowed_operation_types=(StrawberryOperationType.SUBSCRIPTION,),
                    )
                except Exception as exc:  # shaped (and logged) like any unexpected error
                    result = ExecutionResult(
                        None,
                        public_errors([GraphQLError("failed", original_error=exc)], request_id),
                    )
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = json.loads(_errors_json(list(result.errors), request_id))
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))

    async def _session_for(
        self, event: Event | None, held: contextlib.AsyncExitStack
    ) -> tuple[AsyncSession, async_sessionmaker[AsyncSession] | None]:
        """The session an event's payload is resolved in, and the primary's sessions when
        it reads a replica: one that shows the event (it has replayed the event's commit,
        waited for up to the lag allowed), else the primary. Figures pushes, which follow a
        NOTIFY rather than an event of the log, read the primary."""
        databases = self.databases
        replica = await databases.replica() if databases is not None and event else None
        if databases is not None and event is not None and replica is not None:
            try:
                session = await held.enter_async_context(databases.session(replica, None))
                if session is not None and await replayed_event(
                    session, event.seq, databases.max_lag
                ):
                    self.stats.on_replica += 1
                    return session, databases.primary
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                databases.down(replica, exc)
            await held.aclose()
        return await held.enter_async_context(self.sessions()), None


# --- one connection -------------------------------------------------------------------


class Connection:
    def __init__(self, live: Live, websocket: WebSocket) -> None:
        self.live = live
        self.ws = websocket
        self.settings = live.settings
        self.request_id = uuid.uuid4().hex
        self.actor: Actor | None = None
        self.bearer: str | None = None
        self.family: str | None = None
        self.initialised = False
        self.acknowledged = False
        self.subs: dict[str, Active] = {}
        self.outbox: deque[Outgoing] = deque()
        self.wakeup = asyncio.Event()
        self.done = asyncio.Event()
        self.closing: tuple[int, str] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._expiry: asyncio.TimerHandle | None = None
        self._rechecking: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # lifecycle -----------------------------------------------------------------------
    async def run(self) -> None:
        ws = self.ws
        if PROTOCOL not in ws.scope.get("subprotocols", []):
            await ws.accept()
            await ws.close(Close.SUBPROTOCOL_NOT_ACCEPTABLE, "Subprotocol not acceptable")
            return
        await ws.accept(subprotocol=PROTOCOL)
        loop = asyncio.get_running_loop()
        self.live.connections.add(self)
        self.live.stats.connections += 1
        self._timers.append(
            loop.call_later(
                self.settings.init_timeout,
                self._init_timeout,
            )
        )
        reader = asyncio.create_task(self._read(), name="live-read")
        sender = asyncio.create_task(self._send(), name="live-send")
        try:
            await self.done.wait()
        finally:
            for timer in self._timers:
                timer.cancel()
            if self._expiry is not None:
                self._expiry.cancel()
            for active in self.subs.values():
                active.done()
            self.live.stats.count_subscriptions(-len(self.subs))
            self.subs.clear()
            self.outbox.clear()
            for task in (reader, sender, *self._tasks):
                task.cancel()
            # A cancellation swallowed on the way (a library catching it while a subscribe
            # is being opened) must not keep the close frame back: the reader stops by itself
            # (it checks `done`) or when the connection is closed.
            _, pending = await asyncio.wait({reader, sender, *self._tasks}, timeout=1)
            for task in pending:
                task.add_done_callback(_consume)
            self.live.connections.discard(self)
            self.live.stats.connections -= 1
            if self.closing is not None:
                code, reason = self.closing
                # Never cancel a close: the server's WebSocket protocol may be blocked writing
                # to a client that is not reading, and a cancelled close leaves the frame
                # unwritten and the connection open. It goes on (bounded by the server's own
                # close timeout) while this handler returns after two seconds at most.
                closing = asyncio.ensure_future(ws.close(code, reason))
                closing.add_done_callback(_consume)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(closing), timeout=2)

    def close(self, code: int, reason: str) -> None:
        if self.closing is None and not self.done.is_set():
            self.closing = (code, reason[:120])
        self.done.set()

    def _init_timeout(self) -> None:
        if not self.initialised:
            self.close(Close.INIT_TIMEOUT, "Connection initialisation timeout")

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # reading -------------------------------------------------------------------------
    async def _read(self) -> None:
        try:
            while not self.done.is_set():  # closing: read no further
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    self.done.set()
                    return
                text = message.get("text")
                if text is None or len(text) > self.live.limits.max_body_bytes:
                    self.close(Close.BAD_REQUEST, "send text messages within the body limit")
                    return
                await self._handle(text)
        except WebSocketDisconnect:
            self.done.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live connection %s failed", self.request_id)
            self.close(Close.INTERNAL, "Internal server error")

    async def _handle(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        kind = message.get("type") if isinstance(message, dict) else None
        if not isinstance(message, dict) or not isinstance(kind, str):
            self.close(Close.BAD_REQUEST, "Invalid message received")
            return
        if kind == "connection_init":
            await self._init(message.get("payload"))
        elif kind == "ping":
            self.push(Outgoing(None, _message("pong")))
        elif kind == "pong":
            return
        elif kind == "subscribe":
            if not self.acknowledged:
                self.close(Close.UNAUTHORIZED, "Unauthorized")
                return
            sub_id, payload = message.get("id"), message.get("payload")
            if not isinstance(sub_id, str) or not sub_id or not isinstance(payload, dict):
                self.close(Close.BAD_REQUEST, "Invalid message received")
                return
            await self._subscribe(sub_id, payload)
        elif kind == "complete":
            sub_id = message.get("id")
            if not isinstance(sub_id, str):
                self.close(Close.BAD_REQUEST, "Invalid message received")
                return
            self._end(sub_id)
        else:
            self.close(Close.BAD_REQUEST, "Invalid message received")

    # authentication ------------------------------------------------------------------
    async def _init(self, payload: Any) -> None:
        if self.initialised:
            self.close(Close.TOO_MANY_INIT, "Too many initialisation requests")
            return
        self.initialised = True
        authorization = None
        if isinstance(payload, dict):
            for key, value in payload.items():
                if isinstance(key, str) and key.lower() == "authorization":
                    authorization = value
        if not isinstance(authorization, str) or not authorization.strip():
            self.close(Close.FORBIDDEN, "Forbidden: send Authorization in connection_init")
            return
        try:
            async with self.live.sessions() as session:
                actor = await actor_for(session, authorization)
                expires = await self._expiry_of(session, authorization, actor)
        except AuthenticationError as exc:
            self.close(Close.FORBIDDEN, f"Forbidden: {exc}")
            return
        except Exception as exc:
            if database_unavailable(exc):
                self.close(Close.TRY_AGAIN_LATER, "the database is unavailable")
                return
            raise
        self.actor = actor
        self.bearer = authorization
        self._watch_expiry(expires)
        self.acknowledged = True
        self.push(Outgoing(None, _message("connection_ack")))

    async def _expiry_of(
        self, session: AsyncSession, authorization: str, actor: Actor
    ) -> datetime | None:
        token = authorization.strip().partition(" ")[2].strip()
        if token.startswith(API_TOKEN_PREFIX):
            expires: datetime | None = await session.scalar(
                sa.select(col(ApiToken.expires_at)).where(col(ApiToken.id) == actor.token_id)
            )
            return expires
        claims = jwt.decode(token, options={"verify_signature": False})
        self.family = claims.get("sid") if isinstance(claims.get("sid"), str) else None
        return datetime.fromtimestamp(int(claims["exp"]), UTC)

    def _watch_expiry(self, expires: datetime | None) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if expires is None:
            return
        delay = (expires - datetime.now(UTC)).total_seconds()
        self._expiry = asyncio.get_running_loop().call_later(
            max(0.0, delay), self.close, Close.FORBIDDEN, "Forbidden: the credentials expired"
        )

    def concerned_by(self, kind: str, value: str) -> bool:
        actor = self.actor
        if actor is None:
            return False
        return (
            (kind == "family" and self.family == value)
            or (kind == "account" and str(actor.account_id) == value)
            or (kind == "token" and str(actor.token_id) == value)
            or (kind == "person" and str(actor.person_id) == value)
        )

    def recheck(self) -> None:
        """Read the credentials again (they ended, or the grants changed): close with 4403
        when they no longer authenticate, else go on with the actor as it is now."""
        if self.bearer is None or self.done.is_set():
            return
        if self._rechecking is not None and not self._rechecking.done():
            return
        self._rechecking = asyncio.ensure_future(self._recheck(self.bearer))
        self._tasks.add(self._rechecking)

    async def _recheck(self, bearer: str) -> None:
        try:
            async with self.live.sessions() as session:
                actor = await actor_for(session, bearer)
                expires = await self._expiry_of(session, bearer, actor)
        except AuthenticationError:
            self.close(Close.FORBIDDEN, "Forbidden: the credentials ended")
            return
        except Exception as exc:
            if not database_unavailable(exc):
                log.exception("live connection %s: credentials check failed", self.request_id)
            return
        self.actor = actor
        self._watch_expiry(expires)

    # subscriptions -------------------------------------------------------------------
    def _error(self, sub_id: str, errors: list[GraphQLError]) -> None:
        self.push(Outgoing(sub_id, _message("error", sub_id, _errors_json(errors, self.request_id)),
                           final=True))  # fmt: skip

    async def _subscribe(self, sub_id: str, payload: dict[str, Any]) -> None:
        if sub_id in self.subs:
            self.close(Close.SUBSCRIBER_EXISTS, f"Subscriber for {sub_id} already exists")
            return
        if len(self.subs) >= self.settings.max_subscriptions:
            self._error(
                sub_id,
                [
                    GraphQLError(
                        f"at most {self.settings.max_subscriptions} subscriptions per connection",
                        extensions={"code": LiveCode.SUBSCRIPTION_LIMIT.value},
                    )
                ],
            )
            return
        placeholder = Active(sub_id, Feed("", "", "", None, _nothing), "", {}, None, None)
        self.subs[sub_id] = placeholder  # a second subscribe with this id is refused meanwhile
        self.live.stats.count_subscriptions(1)
        try:
            active = await self._open(sub_id, payload)
        except Refused as refusal:
            active = None
            self._error(sub_id, refusal.errors)
        except Exception as exc:  # an outage or a bug: this subscription fails, not the rest
            active = None
            self._error(
                sub_id, public_errors([GraphQLError("failed", original_error=exc)], self.request_id)
            )
        if active is None or self.subs.get(sub_id) is not placeholder:
            if self.subs.get(sub_id) is placeholder:
                del self.subs[sub_id]
                self.live.stats.count_subscriptions(-1)
            return
        self.subs[sub_id] = active
        await self._start(active)

    async def _open(self, sub_id: str, payload: dict[str, Any]) -> Active | None:
        """Read, measure, validate and authorize a subscription like an HTTP request."""
        limits = self.live.limits
        actor = self.actor
        assert actor is not None
        graphql_schema = self.live.schema._schema
        params = params_from(payload)
        document = parsed(params.query, limits)
        operation = select_operation(document.sent, params.operation_name)
        if operation.operation != OperationType.SUBSCRIPTION:
            raise Refused(
                [
                    GraphQLError(
                        "only subscriptions are served over WebSocket: send queries and"
                        " mutations over HTTP",
                        extensions={"code": LiveCode.SUBSCRIPTIONS_ONLY.value},
                    )
                ]
            )
        tally = measure(graphql_schema, document.sent, operation, params.variables, limits)
        budget = limits.budget(budget_kind(actor))
        found = refusals(tally, limits, budget=budget, introspection_allowed=True)
        if found:
            raise Refused(found)
        merged = document.merged
        operation = select_operation(merged, params.operation_name)
        prepared, _ = prepare(
            self.live.schema, merged, operation, params, tally, budget, hide_suggestions=False
        )
        if prepared:
            raise Refused(prepared)
        request_id = f"{self.request_id}-{sub_id}"[:64]
        async with self.live.sessions() as session:
            context = Context(session=session, actor=actor, request_id=request_id)
            executor = Executor.build(
                graphql_schema,
                merged,
                context_value=context,
                raw_variable_values=params.variables,
                operation_name=params.operation_name,
            )
            if isinstance(executor, list):
                raise Refused(public_errors(executor, request_id))
            stream = create_source_event_stream(executor)
            if isinstance(stream, Awaitable):
                stream = await stream
            await session.rollback()
        if isinstance(stream, ExecutionResult):
            raise Refused(public_errors(list(stream.errors or []), request_id))
        if not isinstance(stream, Feed):
            raise Refused([request_error(RequestCode.INTERNAL_SERVER_ERROR, "not a feed")])
        return Active(
            sub_id,
            stream,
            params.query,
            params.variables,
            params.operation_name,
            merged,
        )

    async def _start(self, active: Active) -> None:
        hub = self.live.hub
        feed = active.feed
        if feed.topic == FIGURES_TOPIC:
            found = hub.watch_figures(
                feed.path, lambda at: self._queue_event(active, None, ("figures", feed.path, at))
            )
            active.unwatch = lambda: hub.unwatch_figures(found)
            self._queue_event(active, None, ("figures", feed.path, "first", id(active)))
            return
        if feed.after is not None:
            active.held = []
            active.last = feed.after
        watch = hub.watch(feed.topic, feed.path, lambda event: self._on_event(active, event))
        active.unwatch = lambda: hub.unwatch(watch)
        if feed.after is None:
            return
        try:
            async with self.live.sessions() as session:
                missed = await backlog(
                    session, feed.topic, feed.path, feed.after, self.settings.resume_max
                )
        except ResumeRefused as refusal:
            self._end(active.id)
            self._error(
                active.id,
                [
                    GraphQLError(
                        f"{refusal}: reload, then subscribe without `after`",
                        extensions={"code": LiveCode.RESUME_REFUSED.value},
                    )
                ],
            )
            return
        held, active.held = active.held or [], None
        for event in [*missed, *held]:
            self._on_event(active, event)

    def _on_event(self, active: Active, event: Event) -> None:
        if active.held is not None:
            if len(active.held) >= self.settings.resume_max:
                self.close(Close.TRY_AGAIN_LATER, "too many events while resuming")
                return
            active.held.append(event)
            return
        if event.seq <= active.last:
            return
        active.last = event.seq
        self._queue_event(active, event, event.seq)

    def _queue_event(self, active: Active, event: Event | None, token: Hashable) -> None:
        if self.subs.get(active.id) is not active or self.actor is None:
            return
        self.push(Outgoing(active.id, payload=self.live.payload(self, active, event, token)))

    def _end(self, sub_id: str) -> None:
        active = self.subs.pop(sub_id, None)
        if active is not None:
            active.done()
            self.live.stats.count_subscriptions(-1)

    # sending -------------------------------------------------------------------------
    def push(self, item: Outgoing) -> None:
        if self.done.is_set():
            return
        if len(self.outbox) >= self.settings.send_queue:
            self.live.stats.slow_closed += 1
            self.outbox.clear()
            self.close(Close.TRY_AGAIN_LATER, "too slow: messages are not being read")
            return
        self.outbox.append(item)
        self.live.stats.peak_queue = max(self.live.stats.peak_queue, len(self.outbox))
        self.wakeup.set()

    async def _send(self) -> None:
        try:
            while True:
                while not self.outbox:
                    self.wakeup.clear()
                    await self.wakeup.wait()
                item = self.outbox[0]
                text = item.text
                if item.payload is not None:
                    body = await item.payload
                    text = _message("next", item.sub_id, body) if body is not None else None
                if self.outbox and self.outbox[0] is item:
                    self.outbox.popleft()
                if text is None:
                    continue
                if item.sub_id is not None and not item.final and item.sub_id not in self.subs:
                    continue
                await self.ws.send_text(text)
                self.live.stats.sent += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            self.done.set()


def _consume(task: asyncio.Future[Any]) -> None:
    """Read the outcome of what ends in the background (a close, a reader stopping): a
    client gone meanwhile is no error here."""
    if not task.cancelled():
        task.exception()


async def _nothing(_context: Context, _event: Event | None) -> None:
    return None
