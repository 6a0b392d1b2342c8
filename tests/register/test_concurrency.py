"""Two imports of one file at once, on real connections with real commits (undone after):
one creates every resident, the other finds them all unchanged; nobody is registered twice."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.crypto import id_card_lookup_hash
from models.org import GridType
from models.people import Gender
from permissions.actor import Actor
from resolvers import register as r
from resolvers.people import DuplicateIdCardError, PeopleCode, PersonData, create_person
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
            outcome = await run_file(ctx, grid, content, "r.xlsx", write=True)
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


async def test_a_registration_racing_an_import_is_told_the_duplicate(engine: AsyncEngine) -> None:
    """An import holds its own lock, not the per-number one of `createPerson`: when it commits
    a number first, the registration waiting on the unique index is refused as DUPLICATE
    (never INTERNAL), and its transaction stays usable and writes nothing."""
    number = id_card(date(1957, 6, 6), 777, male=False)
    lookup = id_card_lookup_hash(number)
    importing = AsyncSession(engine)
    registering = AsyncSession(engine)
    try:
        holder = await importing.scalar(
            sa.text(
                "INSERT INTO person (name, gender, is_party_member, is_veteran, is_elderly,"
                " lives_alone, is_renter, id_card_hash) VALUES ('竞争导入', 'FEMALE', false,"
                " false, true, false, false, :h) RETURNING id"
            ),
            {"h": lookup},
        )
        attempt = asyncio.create_task(
            create_person(
                registering,
                PersonData(name="竞争登记", gender=Gender.FEMALE, id_card_number=number),
            )
        )
        await asyncio.sleep(0.5)  # the registration now waits on the uncommitted row
        assert not attempt.done()
        await importing.commit()
        with pytest.raises(DuplicateIdCardError) as refused:
            await attempt
        assert refused.value.code == PeopleCode.DUPLICATE
        assert refused.value.existing_id == holder
        await registering.commit()
        async with AsyncSession(engine) as session:
            names = (
                await session.scalars(sa.text("SELECT name FROM person WHERE name LIKE '竞争%'"))
            ).all()
        assert names == ["竞争导入"]
    finally:
        await importing.rollback()
        await registering.rollback()
        async with AsyncSession(engine) as session, session.begin():
            await session.execute(sa.text("DELETE FROM person WHERE name LIKE '竞争%'"))
        await importing.close()
        await registering.close()
