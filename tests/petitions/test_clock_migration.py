"""Migration 0006 gives existing petitions their clocks from their timelines: on the demo
city's petitions in every status, what the backfill derives equals what the code records."""

from __future__ import annotations

from typing import Any

import psycopg
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncSession

from models.db import make_engine
from models.migrate import alembic_config, upgrade
from seeds.demo import seed_demo
from seeds.petitions import seed_demo_petitions

PETITIONS = "SELECT id, case_due_at, late_earlier, next_due_at FROM petition ORDER BY id"
STAGES = """SELECT petition_id, seq, round, level, owner_path::text, owner_org_unit_id,
                   path::text, started_at, due_at, accepted_at, assigned_at,
                   first_contact_at, ended_at, ended_by
              FROM petition_stage ORDER BY petition_id, seq"""


def _read(uri: str) -> tuple[list[Any], list[Any]]:
    with psycopg.connect(uri) as conn:
        return conn.execute(PETITIONS).fetchall(), conn.execute(STAGES).fetchall()


async def test_backfilled_clocks_equal_the_recorded_ones(scratch_database: str) -> None:
    scratch = scratch_database
    upgrade(scratch)
    engine = make_engine(scratch, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            demo = await seed_demo(session)
            await seed_demo_petitions(session, demo)
            await session.commit()
    finally:
        await engine.dispose()
    recorded = _read(scratch)
    petitions, stages = recorded
    ended_by = {row[-1] for row in stages}
    assert {"ESCALATE", "RESOLVE", "REJECT", None} <= ended_by, "every kind of turn"
    assert any(row[2] > 0 for row in stages), "a reopened round"
    assert any(row[2] for row in petitions), "a case late for good"

    config = alembic_config(scratch)
    before = ScriptDirectory.from_config(config).get_revision("0006").down_revision
    assert isinstance(before, str)
    command.downgrade(config, before)
    upgrade(scratch)
    assert _read(scratch) == recorded
