"""The root schema: Relay `node`/`nodes` plus each domain's queries and mutations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types

from models import audit as ma
from models import identity as mi
from models import org as mo
from models import people as mp
from models import petitions as mpet
from resolvers.errors import DomainError, ErrorCode
from schema import figures, identity, metrics, org, people, petitions, subscriptions
from schema.context import Info
from schema.extensions import PreparedDocument, RequestTransaction
from schema.relay import Node, from_global_id

#: Global-ID type name -> (table, schema type constructor).
NODE_TYPES: dict[str, tuple[Any, Callable[[Any], Node]]] = {
    "OrgUnit": (mo.OrgUnit, org.OrgUnitNode.from_row),
    "Building": (mo.Building, org.BuildingNode.from_row),
    "Household": (mo.Household, org.HouseholdNode.from_row),
    "PartyOrganisation": (mo.PartyOrganisation, org.PartyOrganisationNode.from_row),
    "CentralHousehold": (mo.CentralHousehold, org.CentralHouseholdNode.from_row),
    "WorkUnit": (mo.WorkUnit, org.WorkUnitNode.from_row),
    "WorkUnitPairing": (mo.WorkUnitPairing, org.WorkUnitPairingNode.from_row),
    "Person": (mp.Person, people.PersonNode.from_row),
    "Position": (mp.Position, people.PositionNode.from_row),
    "Pairing": (mp.Pairing, people.PairingNode.from_row),
    "ApiToken": (mi.ApiToken, identity.ApiTokenNode.from_row),
    "AuditEntry": (ma.AuditEntry, identity.AuditEntryNode.from_row),
    "Petition": (mpet.Petition, petitions.PetitionNode.from_row),
    "PetitionCategory": (mpet.PetitionCategory, petitions.PetitionCategoryNode.from_row),
    "MicroWish": (mpet.MicroWish, petitions.MicroWishNode.from_row),
}

MAX_NODES = 100


async def resolve_nodes(info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
    wanted: list[tuple[str, int] | None] = []
    for global_id in ids:
        type_name, ident = from_global_id(global_id)
        wanted.append((type_name, ident) if type_name in NODE_TYPES else None)
    loaders = info.context.loaders

    async def nothing() -> None:
        return None

    # Gathered, so each table's loader sees all its keys at once: one SELECT per table.
    rows = await asyncio.gather(
        *(loaders.get(NODE_TYPES[w[0]][0], w[1]) if w else nothing() for w in wanted)
    )
    return [
        NODE_TYPES[w[0]][1](row) if w and row is not None else None
        for w, row in zip(wanted, rows, strict=True)
    ]


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global ID; null when absent or not visible.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return (await resolve_nodes(info, [id]))[0]

    @strawberry.field(description="Up to 100 objects by global ID, in the order asked.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_NODES:
            raise DomainError(ErrorCode.VALIDATION, f"at most {MAX_NODES} ids at once", "ids")
        return await resolve_nodes(info, ids)


Query = merge_types(
    "Query",
    (
        NodeQuery,
        identity.IdentityQuery,
        org.OrgQuery,
        people.PeopleQuery,
        petitions.PetitionQuery,
        metrics.MetricsQuery,
        figures.FiguresQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        identity.IdentityMutation,
        org.OrgMutation,
        people.PeopleMutation,
        petitions.PetitionMutation,
    ),
)


class Schema(strawberry.Schema):
    """Errors are logged by `schema.errors.public_error`, redacted: never with input values
    or exception messages, which can carry residents' personal data."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        return None


schema = Schema(
    query=Query,
    mutation=Mutation,
    subscription=subscriptions.Subscription,
    extensions=[PreparedDocument, RequestTransaction],
    types=[
        org.OrgUnitNode,
        org.BuildingNode,
        org.HouseholdNode,
        org.PartyOrganisationNode,
        org.CentralHouseholdNode,
        org.WorkUnitNode,
        org.WorkUnitPairingNode,
        people.PersonNode,
        people.PositionNode,
        people.PairingNode,
        identity.ApiTokenNode,
        identity.AuditEntryNode,
        petitions.PetitionNode,
        petitions.PetitionCategoryNode,
        petitions.MicroWishNode,
    ],
)
