"""Two imports of one file at once, on real connections with real commits (undone after):
one creates every resident, the other finds them all unchanged; nobody is registered twice."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.org import GridType
from permissions.actor import Actor
from resolvers import register as r
from resolvers.register import RowStatus
from schema.context import Context
from schema.register import Outcome, run_file
from seeds.demo import DemoCity
from tests.register.support import id_card, resident, workbook


async def test_concurrent_imports_of_one_file_register_everyone_once(
    engine: AsyncEngine, demo: DemoCity
) -> None:
    grid = demo.grids[GridType.OLD_ESTATE]
    sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    async with AsyncSession(engine) as session:
        building = await session.scalar(
            sa.text("SELECT name FROM building WHERE grid_id = :g ORDER BY id LIMIT 1"),
            {"g": grid.id},
        )
    numbers = [id_card(date(1981, 3, 3), 90 + i, male=i % 2 == 0) for i in range(6)]
    content = workbook(
        [resident(str(building), "7", f"70{i // 2}", f"并发{i}", n) for i, n in enumerate(numbers)]
    )

    checked: list[Outcome] = []
    both_checked = asyncio.Event()

    async def attempt() -> Outcome:
        async with Context.open(sessions, "race", Actor.system()) as ctx:
            outcome = await run_file(ctx, grid, content, "r.xlsx", write=True, allowance=100)
            # Give the other import every chance to check the file too before this one
            # writes (were imports not one at a time, both would find nobody registered).
            checked.append(outcome)
            if len(checked) == 2:
                both_checked.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(both_checked.wait(), 1.0)
            outcome.imported = await r.apply_import(ctx.session, outcome.check)
            await ctx.session.commit()
            return outcome

    results = await asyncio.gather(attempt(), attempt(), return_exceptions=True)
    try:
        outcomes = [o for o in results if isinstance(o, Outcome)]
        assert len(outcomes) == 2, results
        created = sorted(len(o.imported.person_ids) for o in outcomes if o.imported)
        assert created == [0, 6]
        assert sorted(o.check.count(RowStatus.UNCHANGED) for o in outcomes) == [0, 6]
        async with AsyncSession(engine) as session:
            held = await session.scalar(
                sa.text("SELECT count(*) FROM person WHERE name LIKE '并发%'")
            )
        assert held == 6
    finally:
        async with AsyncSession(engine) as session, session.begin():
            gone = await session.execute(
                sa.text("DELETE FROM person WHERE name LIKE '并发%' RETURNING household_id")
            )
            households = sorted({int(h) for (h,) in gone})
            await session.execute(
                sa.text("DELETE FROM household WHERE id = ANY(:i)"), {"i": households}
            )
