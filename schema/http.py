"""The ASGI app: GraphQL (with a self-hosted GraphiQL), health and readiness probes."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import MutableHeaders
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.config import ROOT, get_settings
from models.db import Readiness, make_engine, make_sessionmaker
from models.live import LiveSettings, live_settings
from models.replicas import Databases
from ops.metrics import Telemetry, metrics_endpoint, watch_pool, watch_replica
from permissions.limits import Limits
from resolvers.scheduler import run_scheduler
from schema.errors import INTERNAL
from schema.open311 import Open311
from schema.root import schema
from schema.screen import screen_routes
from schema.transport import GraphQLEndpoint
from schema.websocket import Live

log = logging.getLogger(__name__)

GRAPHIQL_DIR = ROOT / "static" / "graphiql"
REQUEST_ID_HEADER = "X-Request-ID"
_RAW_HEADER = REQUEST_ID_HEADER.lower().encode("latin-1")
_GIVEN_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


class RequestIds:
    """Pure ASGI middleware: a request id per request (a well-formed incoming one is kept)
    in `request.state.request_id` and the `X-Request-ID` response header, and a
    GraphQL-shaped 500 with that id (never a bare text/plain page) if anything below
    fails unexpectedly. Starlette's `BaseHTTPMiddleware` costs measurably more per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == _RAW_HEADER), b"")
        rid = given.decode("latin-1") if _GIVEN_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("request %s failed unexpectedly", rid)
            if started:
                raise
            await _send_internal_error(send, rid)


async def _send_internal_error(send: Send, rid: str) -> None:
    body = json.dumps(
        {
            "errors": [
                {
                    "message": f"Internal server error (request {rid})",
                    "extensions": {"code": INTERNAL, "requestId": rid},
                }
            ]
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (_RAW_HEADER, rid.encode("latin-1")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def build_app(
    libpq_uri: str,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    *,
    scheduler_seconds: float = 0,
    readiness: Readiness | None = None,
    limits: Limits | None = None,
    compiled: str | None = None,
    live: LiveSettings | None = None,
    replicas: tuple[str, ...] | None = None,
    replica_max_lag: float | None = None,
) -> FastAPI:
    """The app; with `scheduler_seconds` > 0 it also escalates overdue petitions and closes
    unrated ones that often (safe in every instance: rows are claimed with SKIP LOCKED).

    `limits` default to the environment's (`permissions.limits`); an app that makes its own
    engine applies their statement timeout to every connection it opens. `replicas` (libpq
    URIs; default `DATABASE_REPLICA_URLS`) serve queries while they keep up
    (`models.replicas`); without any, the primary serves everything.
    """
    settings = get_settings()
    limits = limits or Limits.configured(settings.limits, production=settings.production)
    engine = None
    if sessionmaker is None:
        engine = make_engine(libpq_uri, connect_args=connect_args(limits))
        sessionmaker = make_sessionmaker(engine)
    sessions = sessionmaker
    databases = read_replicas(sessions, limits, replicas, replica_max_lag)
    subscriptions = Live(
        schema, sessions, limits, libpq_uri, live or live_settings(), databases=databases
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Everything loaded so far (schema, modules, the ORM's mappers) lives as long as the
        # process: keep it out of the collector's full passes, which otherwise scan all of
        # it and stop every thread for 0.2 s each time a large answer has been built.
        gc.freeze()
        stop = asyncio.Event()
        task = (
            asyncio.create_task(run_scheduler(sessions, scheduler_seconds, stop))
            if scheduler_seconds > 0
            else None
        )
        await subscriptions.start()
        yield
        await subscriptions.stop()
        stop.set()
        if task is not None:
            await task
        if engine is not None:
            await engine.dispose()
        if databases is not None:
            await databases.dispose()

    app = FastAPI(title="红色美丽楼栋 GraphQL", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(Telemetry)  # inside RequestIds: it logs the request's id
    app.add_middleware(RequestIds)
    app.add_middleware(subscriptions.middleware)
    app.state.live = subscriptions
    app.state.databases = databases
    if engine is not None:
        watch_pool(engine.sync_engine.pool)
    app.router.routes.append(Route("/metrics", metrics_endpoint, include_in_schema=False))

    page = GRAPHIQL_DIR / "index.html"
    endpoint = GraphQLEndpoint(
        schema,
        sessions,
        limits,
        page if page.exists() else None,
        compiled=compiled or settings.compiled,
        databases=databases,
    )
    # Every method reaches the endpoint, which answers those it does not serve with a
    # GraphQL-shaped 405.
    app.router.routes.append(Route("/graphql", endpoint, include_in_schema=False))
    app.router.routes.append(WebSocketRoute("/graphql", subscriptions))
    app.router.routes.extend(screen_routes())
    app.router.routes.extend(Open311(sessions).routes())
    if Path(GRAPHIQL_DIR).exists():
        app.mount("/graphiql-static", StaticFiles(directory=GRAPHIQL_DIR), name="graphiql")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        return await ready(sessions, readiness, databases)

    return app


async def ready(
    sessions: async_sessionmaker[AsyncSession],
    readiness: Readiness | None,
    databases: Databases | None,
) -> JSONResponse:
    """`/readyz`: the primary answers (and what the server's supervisor says). Replicas are
    reported, never a reason to be unready: those down or lagging are skipped."""
    up, server = readiness() if readiness is not None else (True, {})
    unavailable = {"Retry-After": "1"}
    if not up:
        return JSONResponse({"status": "unavailable", **server}, 503, unavailable)
    try:
        async with sessions() as session:
            await session.execute(sa.text("SELECT 1"))
    except Exception as exc:
        body = {"status": "unavailable", **server, "error": type(exc).__name__}
        return JSONResponse(body, 503, unavailable)
    if databases is None:
        return JSONResponse({"status": "ready", **server})
    await databases.refresh()
    return JSONResponse({"status": "ready", **server, "replicas": databases.readiness()})


def read_replicas(
    primary: async_sessionmaker[AsyncSession],
    limits: Limits,
    urls: tuple[str, ...] | None,
    max_lag: float | None,
) -> Databases | None:
    """The replicas beside the primary (the environment's unless given); None without any."""
    settings = get_settings()
    urls = settings.replica_urls if urls is None else urls
    if not urls:
        return None
    databases = Databases.configured(
        primary,
        urls,
        max_lag=max_lag or settings.replica_max_lag_seconds,
        connect_args=connect_args(limits),
    )
    for replica in databases.replicas:
        watch_replica(replica)
    return databases


def connect_args(limits: Limits) -> dict[str, object]:
    """Server settings of every connection: the statement timeout, and an end to
    transactions left idle (a stuck client must not hold locks)."""
    settings = {"idle_in_transaction_session_timeout": "60000"}
    if limits.statement_timeout_ms:
        settings["statement_timeout"] = str(limits.statement_timeout_ms)
    return {"server_settings": settings}
