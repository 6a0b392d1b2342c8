"""A crowd of petitions in the first half of 2020 under 仁和苑社区, for the small-cell tests:
large and small cells side by side, in every grid and month, a few at the community itself
(rows no grid holds), some rejected, some rated. Written as the workflow leaves them, in a
few bulk inserts (the workflow's own tests cover how they get there). Deterministic, in the
test's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.org import Building, OrgUnit
from models.petitions import (
    Channel,
    Level,
    Petition,
    PetitionRating,
    PetitionStatus,
    Priority,
    RatingValue,
)
from resolvers import petitions as rp
from seeds.demo import DemoCity
from tests.petitions.helpers import pid

YEAR = 2020
#: petitions per grid (in code order) and month (January to June)
PER_GRID_AND_MONTH: tuple[tuple[int, ...], ...] = (
    (9, 9, 9, 3, 0, 6),
    (6, 6, 6, 8, 2, 0),
    (12, 12, 12, 0, 7, 5),
    (2, 2, 2, 5, 1, 0),
    (0, 0, 0, 1, 9, 4),  # June: the only small grid, nothing at the community itself
    (7, 7, 7, 6, 3, 8),
    (1, 1, 1, 9, 0, 0),
)
#: petitions placed at the community itself, per month
AT_THE_COMMUNITY = (1, 0, 3, 0, 0, 0)
#: March petitions rated (resolved, then rated) per grid; the satisfied ones come first
RATED_IN_MARCH = (12, 3, 10, 2, 0, 6, 1)
SATISFIED_IN_MARCH = (6, 3, 5, 1, 0, 6, 0)


@dataclass(frozen=True)
class Crowd:
    grids: tuple[OrgUnit, ...]
    submitted: int


def when(month: int, index: int) -> datetime:
    """Spread over the days of the month (all before the 28th), at 10:00 China time."""
    return datetime(YEAR, month, 1 + index % 27, 2, tzinfo=UTC) + timedelta(minutes=index)


async def build_crowd(session: AsyncSession, demo: DemoCity) -> Crowd:
    category = await rp.category_by_code(session, "CORRIDOR_CLUTTER")
    grids = tuple(
        (
            await session.scalars(
                sa.select(OrgUnit)
                .where(col(OrgUnit.parent_id) == pid(demo.renheyuan))
                .order_by(col(OrgUnit.code))
            )
        ).all()
    )
    assert len(grids) == len(PER_GRID_AND_MONTH)
    made: list[Petition] = []
    rated: list[tuple[Petition, RatingValue]] = []

    def petition(place: Building | OrgUnit, at: datetime, title: str, **extra: object) -> Petition:
        at_building = isinstance(place, Building)
        row = Petition(
            channel=Channel.ONLINE,
            category_id=pid(category),
            title=title,
            description="楼道堆放杂物，影响通行。",
            building_id=pid(place) if at_building else None,
            org_unit_id=None if at_building else pid(place),
            path=place.path,
            reporter_id=pid(demo.resident_alone),
            priority=Priority.GENERAL,
            owner_level=Level.BUILDING if at_building else Level.COMMUNITY,
            owner_path=place.path,
            owner_org_unit_id=None if at_building else pid(place),
            status=PetitionStatus.SUBMITTED,
            submitted_at=at,
            due_at=at + timedelta(days=7),
            case_due_at=at + timedelta(days=7),
            status_changed_at=at,
        )
        for name, value in extra.items():
            setattr(row, name, value)
        made.append(row)
        return row

    for g, (grid, counts) in enumerate(zip(grids, PER_GRID_AND_MONTH, strict=True)):
        building = await session.scalar(
            sa.select(Building).where(col(Building.grid_id) == pid(grid)).order_by(col(Building.id))
        )
        assert building is not None
        for month, count in enumerate(counts, 1):
            for index in range(count):
                at = when(month, index)
                if index % 5 == 4:  # one in five is not accepted
                    petition(
                        building,
                        at,
                        f"{grid.name} {month}月 第{index + 1}件",
                        status=PetitionStatus.REJECTED,
                        rejection_reason="不属于受理范围",
                    )
                else:
                    petition(building, at, f"{grid.name} {month}月 第{index + 1}件")
        for index in range(RATED_IN_MARCH[g]):
            at = when(3, 100 + index)
            satisfied = index < SATISFIED_IN_MARCH[g]
            row = petition(
                building,
                at,
                f"{grid.name} 回访 {index}",
                status=PetitionStatus.CLOSED if satisfied else PetitionStatus.REOPENED,
                accepted_at=at + timedelta(hours=1),
                assigned_at=at + timedelta(hours=2),
                first_contact_at=at + timedelta(hours=3),
                resolved_at=at + timedelta(hours=5) if satisfied else None,
                closed_at=at + timedelta(hours=8) if satisfied else None,
                resolution_note="已处理",
                assignee_id=pid(demo.grid_worker),
                reopen_count=0 if satisfied else 1,
            )
            rated.append((row, RatingValue.SATISFIED if satisfied else RatingValue.UNSATISFIED))
    for month, count in enumerate(AT_THE_COMMUNITY, 1):
        for index in range(count):
            petition(demo.renheyuan, when(month, index), "社区里的诉求")
    session.add_all(made)
    await session.flush()
    session.add_all(
        PetitionRating(
            petition_id=pid(row),
            round=0,
            rating=value,
            resolved_level=Level.BUILDING,
            path=row.path,
            at=row.submitted_at + timedelta(hours=8),
        )
        for row, value in rated
    )
    await session.flush()
    return Crowd(grids=grids, submitted=len(made))
