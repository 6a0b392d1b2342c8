"""Clients of the services tests: the demo accounts, and real commits that are undone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models.identity import TokenRole
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.support import token_client

Signed = Callable[[str], GraphQLClient]


@pytest.fixture
def resident(as_account: Signed) -> GraphQLClient:
    """王秀英, 82, living alone in the demo building: first in every queue."""
    return as_account("resident")


@pytest.fixture
def renter(as_account: Signed) -> GraphQLClient:
    """刘强, her neighbour (renter): a member of 仁和苑红色跑团, without any position."""
    return as_account("renter")


@pytest.fixture
def head(as_account: Signed) -> GraphQLClient:
    """张建国, head of the demo building and leader of 仁和苑红色跑团."""
    return as_account("building-head")


@pytest.fixture
def worker(as_account: Signed) -> GraphQLClient:
    """The grid worker of the demo building's grid: dispatches its orders."""
    return as_account("grid-worker")


@pytest.fixture
def admin(as_account: Signed) -> GraphQLClient:
    """The admin of 仁和苑社区."""
    return as_account("community-admin")


@pytest.fixture
def cadre(as_account: Signed) -> GraphQLClient:
    """A seconded cadre serving the demo building."""
    return as_account("seconded-cadre")


@pytest.fixture
async def integrator(
    session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity
) -> GraphQLClient:
    return await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)


@pytest.fixture
async def display(session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity) -> GraphQLClient:
    return await token_client(session, http, TokenRole.DISPLAY, demo.renheyuan)


@dataclass
class Committed:
    """Rows a test commits on its own connections, removed after it. The volunteer-hours
    ledger refuses deletes: the cleanup runs with triggers off (`session_replication_role`),
    takes away exactly the lines, totals and points of the people the test made, and counts
    the display figures again (their triggers were off as well)."""

    engine: AsyncEngine
    people: set[int] = field(default_factory=set)
    activities: set[int] = field(default_factory=set)
    orders: set[int] = field(default_factory=set)

    def session(self) -> AsyncSession:
        return AsyncSession(self.engine, expire_on_commit=False, autoflush=False)

    async def cleanup(self) -> None:
        async with self.session() as s, s.begin():
            await s.execute(sa.text("SET LOCAL session_replication_role = replica"))
            people, activities = sorted(self.people), sorted(self.activities)
            orders = sorted(self.orders)
            statements = (
                ("DELETE FROM volunteer_hours WHERE person_id = ANY(:people)", people),
                ("DELETE FROM volunteer_total WHERE person_id = ANY(:people)", people),
                ("DELETE FROM activity_signup WHERE activity_id = ANY(:activities)", activities),
                (
                    "DELETE FROM volunteer_activity_event WHERE activity_id = ANY(:activities)",
                    activities,
                ),
                ("DELETE FROM volunteer_activity WHERE id = ANY(:activities)", activities),
                ("DELETE FROM service_order_event WHERE order_id = ANY(:orders)", orders),
                ("DELETE FROM service_order WHERE id = ANY(:orders)", orders),
                ("DELETE FROM points_entry WHERE person_id = ANY(:people)", people),
                ("DELETE FROM person WHERE id = ANY(:people)", people),
            )
            for statement, ids in statements:
                if ids:
                    name = statement.rsplit(":", 1)[1].rstrip(")")
                    await s.execute(sa.text(statement), {name: ids})
            # the display figures' triggers were off too: count again from the rows
            await s.execute(sa.text("SELECT figures_recompute()"))


@pytest.fixture
async def committed(engine: AsyncEngine, demo: DemoCity) -> AsyncIterator[Committed]:
    rows = Committed(engine)
    try:
        yield rows
    finally:
        await rows.cleanup()
