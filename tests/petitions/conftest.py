"""Fixtures of the petition tests: the demo's actors, and real commits that are undone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from seeds.demo import DemoCity
from tests.petitions.helpers import Actors


@pytest.fixture
def actors(demo: DemoCity) -> Actors:
    return Actors.of(demo)


@dataclass
class Committed:
    """Rows a test commits on its own connections; deleted (with their timelines) after it."""

    engine: AsyncEngine
    petitions: set[int] = field(default_factory=set)
    wishes: set[int] = field(default_factory=set)

    def session(self) -> AsyncSession:
        return AsyncSession(self.engine, expire_on_commit=False, autoflush=False)

    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    async def cleanup(self) -> None:
        async with self.session() as session, session.begin():
            if self.petitions:
                ids = sorted(self.petitions)
                await session.execute(
                    sa.text("DELETE FROM petition WHERE duplicate_of_id = ANY(:ids)"), {"ids": ids}
                )
                await session.execute(
                    sa.text("DELETE FROM petition WHERE id = ANY(:ids)"), {"ids": ids}
                )
            if self.wishes:
                await session.execute(
                    sa.text("DELETE FROM micro_wish WHERE id = ANY(:ids)"),
                    {"ids": sorted(self.wishes)},
                )


@pytest.fixture
async def committed(engine: AsyncEngine, demo: DemoCity) -> AsyncIterator[Committed]:
    rows = Committed(engine)
    try:
        yield rows
    finally:
        await rows.cleanup()
