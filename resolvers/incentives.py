"""The incentive points ledger (积分): credits for what earns points, the balance, the
entries of a person. Append-only: a source credits a person at most once, nothing is
ever edited in place."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.incentives import PointsEntry, PointsKind
from resolvers.loaders import Children, Loaders
from resolvers.pagination import Ordering, desc

POINTS_OF_PERSON = Children(
    PointsEntry, PointsEntry.person_id, Ordering.of(desc(PointsEntry.at), desc(PointsEntry.id))
)


async def credit(
    session: AsyncSession,
    *,
    person_id: int,
    points: int,
    source_type: str,
    source_id: int,
    note: str,
    now: datetime,
) -> PointsEntry | None:
    """Credit `points` for a source, once: a second credit of one source is a no-op (None)."""
    inserted = await session.scalar(
        pg_insert(PointsEntry)
        .values(
            person_id=person_id,
            kind=PointsKind.EARNED,
            points=points,
            source_type=source_type,
            source_id=source_id,
            note=note,
            at=now,
        )
        .on_conflict_do_nothing(
            index_elements=["source_type", "source_id", "person_id"],
            index_where=sa.text("kind = 'EARNED'"),
        )
        .returning(col(PointsEntry.id))
    )
    if inserted is None:
        return None
    return await session.get(PointsEntry, int(inserted))


def _signed() -> sa.ColumnElement[int]:
    earned = sa.case((col(PointsEntry.kind) == PointsKind.EARNED, 1), else_=-1)
    return sa.func.coalesce(sa.func.sum(col(PointsEntry.points) * earned), 0)


async def points_balance(session: AsyncSession, person_id: int) -> int:
    total = await session.scalar(
        sa.select(_signed()).where(col(PointsEntry.person_id) == person_id)
    )
    return int(total or 0)


async def balance_of(loaders: Loaders, person_id: int) -> int:
    """The balance, batched across the people of a request."""

    async def batch(ids: list[int]) -> list[int]:
        rows = await loaders.fetch(
            sa.select(col(PointsEntry.person_id), _signed())
            .where(col(PointsEntry.person_id).in_(ids), *loaders.scope(PointsEntry))
            .group_by(col(PointsEntry.person_id))
        )
        found = {int(person): int(total) for person, total in rows}
        return [found.get(i, 0) for i in ids]

    return await loaders.batch("balance", PointsEntry, batch).load(person_id)
