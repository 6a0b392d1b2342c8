"""The root schema: Relay `node`/`nodes`, and every domain module's queries and mutations.

A domain module of `schema/` contributes the strawberry types named `*Query` and `*Mutation`
it defines; its row types register themselves (`schema.declare.row_type`). Adding a domain
adds a module and touches nothing here.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types.base import has_object_definition

import schema as schema_package
from resolvers.errors import invalid
from schema.context import Info
from schema.declare import NODE_TYPES, ROW_TYPES, SOURCE, NodeSource
from schema.extensions import PreparedDocument, RequestTransaction
from schema.relay import Node, from_global_id
from schema.subscriptions import Subscription

#: Modules of `schema/` that are machinery, not domains.
_MACHINERY = frozenset(
    {
        "arguments",
        "auth",
        "context",
        "declare",
        "errors",
        "extensions",
        "http",
        "limits",
        "open311",
        "operations",
        "persisted",
        "policy",
        "relay",
        "root",
        "screen",
        "transport",
        "uploads",
        "websocket",
    }
)
MAX_NODES = 100


def _domain_roots() -> tuple[list[type[Any]], list[type[Any]]]:
    queries: list[type[Any]] = []
    mutations: list[type[Any]] = []
    for found in sorted(pkgutil.iter_modules(schema_package.__path__), key=lambda m: m.name):
        if found.name in _MACHINERY:
            continue
        module = importlib.import_module(f"schema.{found.name}")
        for name, value in sorted(vars(module).items()):
            if not isinstance(value, type) or value.__module__ != module.__name__:
                continue
            if not has_object_definition(value):
                continue
            if name.endswith("Query"):
                queries.append(value)
            elif name.endswith("Mutation"):
                mutations.append(value)
    return queries, mutations


async def resolve_nodes(info: Info, ids: list[strawberry.ID]) -> list[Any]:
    wanted: list[tuple[Any, int] | None] = []
    for global_id in ids:
        type_name, ident = from_global_id(global_id)
        found = NODE_TYPES.get(type_name)
        wanted.append((found.model, ident) if found else None)
    loaders = info.context.loaders

    async def nothing() -> None:
        return None

    # Gathered, so each table's loader sees all its keys at once: one SELECT per table.
    return list(
        await asyncio.gather(*(loaders.get(w[0], w[1]) if w else nothing() for w in wanted))
    )


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="Any object by its global ID; null when absent or not visible.",
        graphql_type=Node | None,
        metadata={SOURCE: NodeSource(many=False)},
    )
    async def node(self, info: Info, id: strawberry.ID) -> Any:
        return (await resolve_nodes(info, [id]))[0]

    @strawberry.field(
        description="Up to 100 objects by global ID, in the order asked.",
        metadata={SOURCE: NodeSource(many=True)},
    )
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise invalid(f"at most {MAX_NODES} ids at once", "ids")
        return await resolve_nodes(info, ids)


_queries, _mutations = _domain_roots()
Query = merge_types("Query", (NodeQuery, *_queries))
Mutation = merge_types("Mutation", tuple(_mutations))


class Schema(strawberry.Schema):
    """Errors are logged by `schema.errors.public_error`, redacted: never with input values
    or exception messages, which can carry residents' personal data."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        return None


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[PreparedDocument, RequestTransaction],
    types=[row_type.cls for row_type in ROW_TYPES.values()],
)
