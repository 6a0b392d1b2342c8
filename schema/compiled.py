"""The compiled path of a query: one SQL statement, its JSON passed through as bytes.

`GRAPHQL_COMPILED` chooses: `on` (the default) answers every query the compiler supports
with one statement and leaves the rest to the resolvers; `off` always uses the resolvers;
`verify` (the test suite) runs both for every supported query and fails the request unless
the data, the errors (none) and the audit rows are identical. Which path answered is in the
server log at debug level (`schema.compiled`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from graphql import DocumentNode, OperationDefinitionNode
from graphql.execution.values import VariableValues
from sqlalchemy.ext.asyncio import AsyncSession

from models.db import on_driver
from permissions.actor import Actor
from schema.compiler import QueryCompiler, Unsupported
from schema.errors import database_unavailable

log = logging.getLogger(__name__)

MODES = ("on", "off", "verify")

#: What an audit entry is compared by (ids and times differ between the two runs).
_AUDIT_COLUMNS = (
    "action, actor_kind, actor_person_id, actor_token_id, roles, request_id, operation_name,"
    " object_type, row_ids, fields, purpose, details"
)


@dataclass
class Answer:
    """The compiled path's answer: the `data` JSON, and for `verify` the audit it wrote."""

    data: bytes
    audit: list[tuple[Any, ...]]


class VerifyError(AssertionError):
    """The compiled path and the resolvers answered a query differently."""


class CompiledPath:
    def __init__(self, schema: Any, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"GRAPHQL_COMPILED must be one of {', '.join(MODES)}")
        self.mode = mode
        self.compiler = QueryCompiler(schema)
        #: why each document (and operation) last fell back, for `extensions.compiled`

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    async def answer(
        self,
        session: AsyncSession,
        actor: Actor,
        query: str,
        operation_name: str | None,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: VariableValues,
        request_id: str,
        *,
        on_replica: bool = False,
    ) -> Answer | None:
        """The data of the query as one statement, or None: the resolvers answer it (the
        compiler does not support it, or a plan refused its arguments: the resolvers then
        give the same error). On a read replica a statement that writes (its audit rows, or
        verify's savepoint) is left to the resolvers, whose audit rows the request context
        writes to the primary."""
        audit = (request_id, operation_name or _first_named(document))
        try:
            compiled, arguments = self.compiler.prepare(
                query, document, operation, variables, actor, audit
            )
        except Unsupported as why:
            self._fell_back(query, operation, str(why))
            return None
        except Exception:
            if self.mode == "verify":
                raise
            log.exception("compiling a query failed; the resolvers answer instead")
            return None
        verify = self.mode == "verify"
        if on_replica and (verify or compiled.audits):
            writes = "verify writes a savepoint" if verify else "it writes audit rows"
            self._fell_back(query, operation, f"on a read replica {writes}")
            return None
        if verify:
            # the compiled statement's writes are undone after being read: in a transaction
            await session.execute(sa.text("SELECT 1"))
            await on_driver(session, "execute", "SAVEPOINT compiled_check")
        try:
            data = await on_driver(session, "fetchval", compiled.sql, *arguments)
        except Exception as exc:
            if verify or database_unavailable(exc):
                raise
            log.exception("compiled statement failed; the resolvers answer instead")
            await session.rollback()
            return None
        found: list[tuple[Any, ...]] = []
        if verify:
            rows = await on_driver(
                session,
                "fetch",
                f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE request_id = $1 ORDER BY id",
                request_id,
            )
            found = [tuple(row) for row in rows]
            await on_driver(session, "execute", "ROLLBACK TO SAVEPOINT compiled_check")
            await on_driver(session, "execute", "RELEASE SAVEPOINT compiled_check")
            await session.rollback()
        else:
            await session.commit()
        log.debug("request %s answered by one compiled statement", request_id)
        return Answer(bytes(data), found)

    def _fell_back(self, query: str, operation: OperationDefinitionNode, why: str) -> None:
        name = operation.name.value if operation.name else None
        log.debug("query %s falls back to the resolvers: %s", name or "(anonymous)", why)

    async def compare(
        self,
        session: AsyncSession,
        answer: Answer,
        data: Any,
        errors: list[Any],
        request_id: str,
    ) -> None:
        """`verify`: the resolvers' answer must be the compiled one, audit rows included."""
        compiled = json.loads(answer.data)
        if errors:
            raise VerifyError(
                f"the resolvers answered with errors the compiled path has not: {errors}"
            )
        theirs = json.loads(json.dumps(data, default=str))
        if json.dumps(compiled, ensure_ascii=False) != json.dumps(theirs, ensure_ascii=False):
            raise VerifyError(
                "the compiled data differs from the resolvers':\n"
                f"compiled:  {json.dumps(compiled, ensure_ascii=False)[:3000]}\n"
                f"resolvers: {json.dumps(theirs, ensure_ascii=False)[:3000]}"
            )
        rows = await session.execute(
            sa.text(f"SELECT {_AUDIT_COLUMNS} FROM audit_log WHERE request_id = :rid ORDER BY id"),
            {"rid": request_id},
        )
        resolved = [tuple(row) for row in rows]
        await session.rollback()
        if sorted(map(repr, resolved)) != sorted(map(repr, answer.audit)):
            raise VerifyError(
                f"the audit rows differ:\ncompiled:  {answer.audit}\nresolvers: {resolved}"
            )


def _first_named(document: DocumentNode) -> str | None:
    """The operation name the audit log records when the request names none (as
    `schema.extensions.RequestTransaction` finds it)."""
    for definition in document.definitions:
        name = getattr(definition, "name", None)
        if name is not None and hasattr(definition, "operation"):
            return str(name.value)
    return None
