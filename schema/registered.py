"""Registered operations and API-token allow-lists over GraphQL (the transport's side is
`schema.persisted`): admins register documents, list them, and hold tokens to some of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

import strawberry
from graphql import OperationDefinitionNode, OperationType, specified_rules, validate

from models.config import get_settings
from models.identity import ApiToken
from models.persisted import RegisteredOperation
from permissions import persisted as rules
from permissions.limits import Limits
from resolvers import persisted as r
from resolvers.errors import invalid
from schema.context import Context, Info
from schema.declare import column, row_type
from schema.errors import Refused, UserError, domain_error
from schema.identity import ApiTokenNode
from schema.limits import parse_document
from schema.operations import Mutation, Refs, authorize
from schema.persisted import sha256_of


@domain_error()
class OperationRegistryError(UserError):
    """Why registering an operation or setting a token's allow-list was refused."""


@row_type(
    RegisteredOperation,
    name="RegisteredOperation",
    node=False,
    description="A GraphQL document known by its SHA-256 (send the hash alone as an Apollo"
    " persisted query); allow-lists name these.",
)
class RegisteredOperationNode:
    sha256: str = column(description="SHA-256 of the document's exact text, in hex.")
    operation_name: str | None = column()
    description: str | None = column()
    document: str = column()
    registered_at: datetime = column()


@strawberry.input
class RegisterOperationInput:
    document: str = strawberry.field(description="One named query or mutation, as clients send it.")
    description: str | None = None


@strawberry.type
class RegisteredOperationPayload:
    operation: RegisteredOperationNode | None
    errors: list[OperationRegistryError]


@strawberry.input(
    description="Hold an API token to registered operations (their SHA-256), or with"
    " `operations: null` let it run any operation again."
)
class SetApiTokenOperationsInput:
    id: strawberry.ID
    operations: list[str] | None


@dataclass
class TokenOperations:
    token: ApiToken
    operations: list[str] | None


@strawberry.type
class SetApiTokenOperationsPayload:
    api_token: ApiTokenNode | None
    allowed_operations: list[str] | None = strawberry.field(
        description="The operations the token is held to; null: any."
    )
    errors: list[OperationRegistryError]


def checked_document(text: str) -> tuple[str | None, OperationType]:
    """The document's one operation (its name and type), or VALIDATION: it must parse within
    the limits and validate against the schema as it is now."""
    from schema.root import schema

    settings = get_settings()
    limits = Limits.configured(settings.limits, production=settings.production)
    try:
        document = parse_document(text, limits)
    except Refused as refused:
        message = refused.errors[0].message
        raise invalid(f"the document does not parse: {message}", "document") from None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].name is None:
        raise invalid("register one named operation per document", "document")
    if operations[0].operation is OperationType.SUBSCRIPTION:
        raise invalid("register queries and mutations", "document")
    errors = validate(schema._schema, document, specified_rules, max_errors=1)
    if errors:
        raise invalid(f"the document is not valid: {errors[0].message}", "document")
    return operations[0].name.value, operations[0].operation


class RegisterOperation(
    Mutation[RegisterOperationInput, RegisteredOperation, RegisteredOperationPayload]
):
    """Register a document by its SHA-256 (every instance then knows the hash; allow-lists
    may name it). Registering the same text again changes its description only."""

    permission = rules.REGISTER_OPERATION
    errors = OperationRegistryError

    async def perform(
        self, ctx: Context, input: RegisterOperationInput, refs: Refs
    ) -> RegisteredOperation:
        name, _ = checked_document(input.document)
        return await r.register_operation(
            ctx.session,
            sha256=sha256_of(input.document),
            document=input.document,
            operation_name=name,
            description=input.description,
            registered_by=ctx.actor.person_id,
        )

    def audited(self, result: RegisteredOperation) -> None:
        return None


class SetApiTokenOperations(
    Mutation[SetApiTokenOperationsInput, TokenOperations, SetApiTokenOperationsPayload]
):
    """Hold a DISPLAY or INTEGRATOR token to registered operations: anything else it sends is
    refused (OPERATION_NOT_ALLOWED). Takes effect on its next request."""

    refs = {"id": ApiToken}
    permission = rules.SET_TOKEN_OPERATIONS
    errors = OperationRegistryError
    error_fields = {"token_id": "id"}

    async def perform(
        self, ctx: Context, input: SetApiTokenOperationsInput, refs: Refs
    ) -> TokenOperations:
        token = refs.row_of("id", ApiToken)
        operations = await r.set_token_operations(
            ctx.session,
            token_id=refs.need("id"),
            operations=input.operations,
            updated_by=ctx.actor.person_id,
        )
        return TokenOperations(token, operations)

    def audited(self, result: TokenOperations) -> ApiToken:
        return result.token

    def payload(
        self, result: TokenOperations | None, errors: list[UserError]
    ) -> SetApiTokenOperationsPayload:
        return SetApiTokenOperationsPayload(
            api_token=result.token if result else None,  # type: ignore[arg-type]
            allowed_operations=result.operations if result else None,
            errors=errors,  # type: ignore[arg-type]
        )


@strawberry.type
class RegisteredQuery:
    @strawberry.field(
        description="The registered operations (admins), oldest first.",
        graphql_type=list[RegisteredOperationNode],
    )
    async def registered_operations(self, info: Info) -> list[RegisteredOperation]:
        await authorize(info, rules.REGISTERED_OPERATIONS)
        return await r.registered_operations(info.context.session)

    @strawberry.field(
        description="The operations an API token is held to; null: any (admins over its node)."
    )
    async def api_token_operations(self, info: Info, id: strawberry.ID) -> list[str] | None:
        refs = await authorize(
            info, rules.SET_TOKEN_OPERATIONS, SimpleNamespace(id=id), {"id": ApiToken}
        )
        return await r.token_operations(info.context.session, refs.need("id"))


@strawberry.type
class RegisteredMutation:
    register_operation = RegisterOperation.field()
    set_api_token_operations = SetApiTokenOperations.field()
