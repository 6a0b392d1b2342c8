"""The ASGI app: GraphQL (with a self-hosted GraphiQL), health and readiness probes."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.fastapi import GraphQLRouter

from models.config import ROOT
from models.db import Readiness, make_engine, make_sessionmaker
from resolvers.identity import AuthenticationError
from resolvers.petitions import run_scheduler
from schema.auth import actor_for
from schema.context import Context
from schema.root import schema

GRAPHIQL_DIR = ROOT / "static" / "graphiql"
REQUEST_ID_HEADER = "X-Request-ID"


class Router(GraphQLRouter[Context, None]):
    """Serves GraphiQL from our own static files: government intranets block CDNs."""

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        page = GRAPHIQL_DIR / "index.html"
        if page.exists():
            return HTMLResponse(page.read_text(encoding="utf-8"))
        return await super().render_graphql_ide(request)


def build_app(
    libpq_uri: str,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    *,
    scheduler_seconds: float = 0,
    readiness: Readiness | None = None,
) -> FastAPI:
    """The app; with `scheduler_seconds` > 0 it also escalates overdue petitions and closes
    unrated ones that often (safe in every instance: rows are claimed with SKIP LOCKED)."""
    engine = None
    if sessionmaker is None:
        engine = make_engine(libpq_uri)
        sessionmaker = make_sessionmaker(engine)
    sessions = sessionmaker

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = (
            asyncio.create_task(run_scheduler(sessions, scheduler_seconds, stop))
            if scheduler_seconds > 0
            else None
        )
        yield
        stop.set()
        if task is not None:
            await task
        if engine is not None:
            await engine.dispose()

    async def get_context(request: Request) -> AsyncIterator[Context]:
        async with sessions() as session:
            actor = await actor_for(session, request.headers.get("Authorization"))
            yield Context(session=session, actor=actor, request_id=request.state.request_id)

    app = FastAPI(title="红色美丽楼栋 GraphQL", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.exception_handler(AuthenticationError)
    async def unauthenticated(request: Request, exc: AuthenticationError) -> JSONResponse:
        """Bad credentials end the request: a GraphQL-shaped 401, never an anonymous answer."""
        extensions = {"code": "UNAUTHENTICATED", "requestId": request.state.request_id}
        return JSONResponse(
            {"data": None, "errors": [{"message": str(exc), "extensions": extensions}]},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        request.state.request_id = rid
        response = await call_next(request)
        response.headers[REQUEST_ID_HEADER] = rid
        return response

    router = Router(
        schema,
        context_getter=get_context,  # type: ignore[arg-type]
        graphql_ide="graphiql",
        multipart_uploads_enabled=False,
    )
    app.include_router(router, prefix="/graphql")
    if Path(GRAPHIQL_DIR).exists():
        app.mount("/graphiql-static", StaticFiles(directory=GRAPHIQL_DIR), name="graphiql")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
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
        return JSONResponse({"status": "ready", **server})

    return app
