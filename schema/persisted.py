"""Persisted queries: Apollo's automatic persisted queries (APQ) for everyone, registered
operations, and the allow-lists API tokens can be held to.

APQ (`extensions.persistedQuery = {version: 1, sha256Hash}`), as Apollo clients expect it:
a request with the hash alone runs the document known under that hash, or answers
`PersistedQueryNotFound` (HTTP 200, `extensions.code` PERSISTED_QUERY_NOT_FOUND), after which
the client sends the hash with the document; that document is remembered once it has passed
parsing, the limits and validation (never a document that was refused). Over GET and POST.
Remembered documents live in each process (a bounded LRU); the registered operations
(`registerOperation`, stored in PostgreSQL) are known to every process by their hash.

A token held to an allow-list (`setApiTokenOperations`) may run registered operations only,
by hash or by their exact text; anything else is refused with OPERATION_NOT_ALLOWED after its
credentials are looked up and the document validated for it, before anything runs.

This module is a step before parsing in `schema.transport` (`resolve`), and one after
authentication (`admit`); the rest of the pipeline, `extensions.cost` included, is unchanged.
"""

from __future__ import annotations

import enum
import hashlib
import os
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from models.persisted import RegisteredOperation
from permissions.actor import Actor
from schema.errors import Refused, database_unavailable

APQ_VERSION = 1
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: Apollo sends these two without caching and with HTTP 200 (its clients then retry).
NO_CACHE = {"Cache-Control": "private, no-cache, must-revalidate"}


class PersistedCode(enum.StrEnum):
    """Codes of persisted queries and allow-lists (Apollo's for APQ)."""

    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    BAD_REQUEST = "BAD_REQUEST"
    OPERATION_NOT_ALLOWED = "OPERATION_NOT_ALLOWED"


def sha256_of(document: str) -> str:
    """The hash Apollo clients compute: SHA-256 of the document's exact text, in hex."""
    return hashlib.sha256(document.encode("utf-8", "surrogatepass")).hexdigest()


def _refused(
    code: PersistedCode,
    message: str,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Refused:
    error = GraphQLError(message, extensions={"code": code.value})
    return Refused([error], status, headers)


def _enabled() -> bool:
    return os.environ.get("GRAPHQL_PERSISTED_QUERIES", "on").strip().lower() not in (
        "off",
        "0",
        "false",
        "no",
    )


class PersistedQueries:
    """One per app: the remembered documents and the lookups of the registered ones."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        capacity: int | None = None,
        enabled: bool | None = None,
    ) -> None:
        self.sessions = sessions
        self.capacity = capacity or int(os.environ.get("GRAPHQL_APQ_CACHE_SIZE", "1000"))
        self.enabled = _enabled() if enabled is None else enabled
        self._documents: OrderedDict[str, str] = OrderedDict()

    async def resolve(self, data: dict[str, Any]) -> str | None:
        """Fill in `query` of a request that names a persisted query; the hash to remember
        the document under once it has been accepted (None: nothing to remember)."""
        extensions = data.get("extensions")
        if not isinstance(extensions, dict) or "persistedQuery" not in extensions:
            return None
        if not self.enabled:
            raise _refused(
                PersistedCode.PERSISTED_QUERY_NOT_SUPPORTED,
                "PersistedQueryNotSupported",
                status=200,
                headers=NO_CACHE,
            )
        persisted = extensions["persistedQuery"]
        if not isinstance(persisted, dict) or persisted.get("version") != APQ_VERSION:
            raise _refused(
                PersistedCode.BAD_REQUEST, "Unsupported persisted query version", status=400
            )
        wanted = persisted.get("sha256Hash")
        if not isinstance(wanted, str) or not _SHA256.fullmatch(wanted):
            raise _refused(
                PersistedCode.BAD_REQUEST,
                "`extensions.persistedQuery.sha256Hash` must be 64 lowercase hex digits",
                status=400,
            )
        query = data.get("query")
        if query is None or query == "":
            found = self._documents.get(wanted)
            if found is None:
                found = await self._registered(wanted)
            if found is None:
                raise _refused(
                    PersistedCode.PERSISTED_QUERY_NOT_FOUND,
                    "PersistedQueryNotFound",
                    status=200,
                    headers=NO_CACHE,
                )
            self._documents[wanted] = found
            self._documents.move_to_end(wanted)
            data["query"] = found
            return None
        if not isinstance(query, str) or sha256_of(query) != wanted:
            raise _refused(
                PersistedCode.BAD_REQUEST, "provided sha does not match query", status=400
            )
        return wanted

    def remember(self, sha256: str | None, document: str) -> None:
        """Keep an accepted document under its hash (the least recently used goes first)."""
        if sha256 is None:
            return
        self._documents[sha256] = document
        self._documents.move_to_end(sha256)
        while len(self._documents) > self.capacity:
            self._documents.popitem(last=False)

    async def _registered(self, sha256: str) -> str | None:
        try:
            async with self.sessions() as session:
                found = await session.scalar(
                    sa.select(col(RegisteredOperation.document)).where(
                        col(RegisteredOperation.sha256) == sha256
                    )
                )
        except Exception as exc:
            if database_unavailable(exc):
                return None  # the request itself will meet the outage and say so
            raise
        return str(found) if found is not None else None

    def admit(self, actor: Actor, document: str) -> None:
        """Refuse a token held to an allow-list anything it does not list (the list comes
        with the token, from the credential lookup's one statement)."""
        allowed = actor.allowed_operations
        if allowed is not None and sha256_of(document) not in allowed:
            raise _refused(
                PersistedCode.OPERATION_NOT_ALLOWED,
                "this token may run its registered operations only (ask an admin to allow"
                " this one)",
            )
