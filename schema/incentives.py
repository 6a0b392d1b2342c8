"""GraphQL types and queries of the incentive points ledger (积分)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import incentives as m
from resolvers import incentives as r
from schema.context import Info
from schema.declare import column, computed, expose, row_type

expose(m.PointsKind, name="PointsKind")


def _source_id(row: m.PointsEntry) -> str:
    return str(row.source_id)


@row_type(
    m.PointsEntry,
    name="PointsEntry",
    description="A line of the incentive points ledger.",
    node=False,
)
class PointsEntryNode:
    kind: m.PointsKind = column()
    points: int = column()
    source_type: str = column()
    source_id: str = computed(_source_id)
    note: str | None = column()
    at: datetime = column()


@strawberry.type(description="Points earned and redeemed.")
class PointsBalance:
    person_id: strawberry.Private[int]

    @strawberry.field
    async def balance(self, info: Info) -> int:
        return await r.balance_of(info.context.loaders, self.person_id)

    @strawberry.field(description="The ledger, newest first.", graphql_type=list[PointsEntryNode])
    async def entries(self, info: Info) -> list[m.PointsEntry]:
        return await info.context.loaders.children(r.POINTS_OF_PERSON, self.person_id)


@strawberry.type
class IncentiveQuery:
    @strawberry.field(description="Your incentive points: balance and ledger, newest first.")
    def my_points(self, info: Info) -> PointsBalance | None:
        person_id = info.context.actor.person_id
        return PointsBalance(person_id=person_id) if person_id is not None else None
