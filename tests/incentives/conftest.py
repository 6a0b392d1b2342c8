"""Fixtures of the incentive, recognition and co-governance tests: the demo's shops and their
operators signed in, people with points, and real commits that are undone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models.identity import Account
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, bearer
from tests.permissions.support import rows

ERRORS = "errors { code field message }"

ClientOf = Callable[[int], "AsyncIterator[GraphQLClient]"]


@dataclass(frozen=True)
class Shops:
    """仁和苑 grid 1's partner shop and one of another community, with their operators."""

    local: int
    local_operator: int
    other: int
    other_operator: int


async def shops_of(session: AsyncSession, demo: DemoCity) -> Shops:
    [(local, local_op)] = await rows(
        session,
        """SELECT s.id, s.operator_person_id FROM shop s JOIN org_unit u ON u.id = s.org_unit_id
           WHERE u.code = '520303001001001'""",
    )
    [(other, other_op)] = await rows(
        session,
        """SELECT s.id, s.operator_person_id FROM shop s
           WHERE NOT s.path <@ CAST(:community AS ltree) ORDER BY s.id LIMIT 1""",
        community=demo.renheyuan.path,
    )
    return Shops(int(local), int(local_op), int(other), int(other_op))


@pytest.fixture
async def shops(session: AsyncSession, demo: DemoCity) -> Shops:
    return await shops_of(session, demo)


@pytest.fixture
def client_of(
    session: AsyncSession, http: httpx.AsyncClient
) -> Callable[[int], AsyncIterator[GraphQLClient]]:
    """A signed-in client for any demo person (an account made in this test's transaction)."""

    async def make(person_id: int) -> GraphQLClient:
        phone = await session.scalar(
            sa.text("SELECT phone FROM person WHERE id = :id"), {"id": person_id}
        )
        existing = await session.scalar(
            sa.select(Account).where(Account.person_id == person_id)  # type: ignore[arg-type]
        )
        account = existing or Account(person_id=person_id, phone=phone, password_hash="-")
        session.add(account)
        await session.flush()
        return GraphQLClient(http, bearer(account))

    return make  # type: ignore[return-value]


@dataclass
class Committed:
    """Rows a test commits on its own connections; removed after it (the ledger's entries
    too: the append-only trigger is lifted for that cleanup alone)."""

    engine: AsyncEngine
    first_entry: int = 0
    people: set[int] = field(default_factory=set)
    offers: set[int] = field(default_factory=set)
    awards: set[int] = field(default_factory=set)

    def session(self) -> AsyncSession:
        return AsyncSession(self.engine, expire_on_commit=False, autoflush=False)

    async def cleanup(self) -> None:
        async with self.session() as s, s.begin():
            if self.people or self.awards:
                await s.execute(
                    sa.text(
                        "ALTER TABLE points_entry DISABLE TRIGGER points_entry_no_update_or_delete"
                    )
                )
                await s.execute(
                    sa.text(
                        "DELETE FROM points_entry WHERE person_id = ANY(:people) AND id > :first"
                    ),
                    {"people": sorted(self.people), "first": self.first_entry},
                )
                await s.execute(
                    sa.text(
                        "ALTER TABLE points_entry ENABLE TRIGGER points_entry_no_update_or_delete"
                    )
                )
            if self.offers:
                await s.execute(
                    sa.text("DELETE FROM redemption WHERE offer_id = ANY(:ids)"),
                    {"ids": sorted(self.offers)},
                )
                await s.execute(
                    sa.text("DELETE FROM offer WHERE id = ANY(:ids)"), {"ids": sorted(self.offers)}
                )
            if self.awards:
                await s.execute(
                    sa.text("DELETE FROM award WHERE id = ANY(:ids)"), {"ids": sorted(self.awards)}
                )


@pytest.fixture
async def committed(engine: AsyncEngine, demo: DemoCity) -> AsyncIterator[Committed]:
    found = Committed(engine)
    async with found.session() as s:
        found.first_entry = int(
            await s.scalar(sa.text("SELECT coalesce(max(id), 0) FROM points_entry")) or 0
        )
    try:
        yield found
    finally:
        await found.cleanup()
