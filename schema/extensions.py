"""Schema extensions: the request's transaction, its audit trail and the shape of its errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from models.replicas import committed_at
from schema.context import Context
from schema.errors import public_errors


class PreparedDocument(SchemaExtension):
    """Execute the document the HTTP layer has already parsed and validated (with the
    limits and the actor's rules): strawberry then neither parses nor validates again."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context) and context.document is not None:
            self.execution_context.graphql_document = context.document
            self.execution_context.pre_execution_errors = []
        yield


class RequestTransaction(SchemaExtension):
    """Commit the mutation fields that completed; roll back everything else.

    The audit trail (full reads of personal data, every mutation attempt) is written
    last: with the mutation's own commit, or alone after a query's rollback (on the
    primary when the query read a replica: `Context.recording`), so a read is on record
    even when the query itself failed halfway. With replicas, a mutation notes its
    commit's WAL position for the client's next query (`extensions.consistency`).
    """

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        yield
        if not isinstance(context, Context):
            return
        context.audit.operation_name = _operation_name(self.execution_context)
        result = self.execution_context.result
        session = context.session
        if _is_mutation(self.execution_context) and result is not None and result.data:
            # Each mutation field ran in its own savepoint: what a field reported as done is
            # done, even when a later field (or a payload selection) failed.
            await context.audit.write(session, context.who)
            await session.commit()
            if context.track_commits:
                context.commit_lsn = await committed_at(session)
        else:
            await session.rollback()
            if context.audit.pending:
                async with context.recording() as writer:
                    await context.audit.write(writer, context.who)
        if result is not None and result.errors:
            result.errors = public_errors(result.errors, context.request_id)


def _is_mutation(execution_context: Any) -> bool:
    """False for a document that did not parse (strawberry raises on asking its type)."""
    try:
        return bool(execution_context.operation_type == OperationType.MUTATION)
    except RuntimeError:
        return False


def _operation_name(execution_context: Any) -> str | None:
    """The operation's name from the parsed document (clients rarely send operationName)."""
    if execution_context.operation_name:
        return str(execution_context.operation_name)
    try:
        document = execution_context.graphql_document
    except RuntimeError:
        return None
    for definition in getattr(document, "definitions", ()):
        name = getattr(definition, "name", None)
        if name is not None and hasattr(definition, "operation"):
            return str(name.value)
    return None
