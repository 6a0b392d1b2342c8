"""Schema extensions: the request's transaction and the shape of its errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from schema.context import Context
from schema.errors import public_error


class RequestTransaction(SchemaExtension):
    """Commit a mutation that finished without GraphQL errors; roll back everything else."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        if not isinstance(context, Context):
            return
        result = self.execution_context.result
        succeeded = result is not None and not result.errors
        if self.execution_context.operation_type == OperationType.MUTATION and succeeded:
            await context.session.commit()
        else:
            await context.session.rollback()
        if result is not None and result.errors:
            result.errors = [public_error(e, context.request_id) for e in result.errors]
