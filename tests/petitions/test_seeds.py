"""The demo's petitions and wishes (through the resolvers), and the city-scale history
(by COPY), loaded into the test database and rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.petitions import Channel, Level, PetitionStatus
from models.wishes import WishStatus
from seeds.demo import DemoCity
from seeds.petitions import load_city_petitions, seed_demo_petitions
from tests.conftest import scalar


async def values(session: AsyncSession, statement: str) -> set[Any]:
    from sqlalchemy import text

    return {row[0] for row in await session.execute(text(statement))}


async def test_demo_petitions_cover_every_status(session: AsyncSession, demo: DemoCity) -> None:
    await seed_demo_petitions(session, demo)
    assert await values(session, "SELECT status FROM petition") == {s.value for s in PetitionStatus}
    assert await values(session, "SELECT channel FROM petition") == {c.value for c in Channel}
    assert await values(session, "SELECT status FROM micro_wish") == {s.value for s in WishStatus}
    levels = await values(session, "SELECT owner_level FROM petition")
    assert {Level.BUILDING, Level.GRID, Level.COMMUNITY, Level.STREET} <= levels
    assert await values(session, "SELECT anonymous FROM petition") == {True, False}
    assert await scalar(session, "SELECT count(*) FROM petition WHERE recorded_by_id IS NOT NULL")
    assert await scalar(session, "SELECT count(*) FROM petition WHERE reporter_id IS NULL")
    by_scheduler = await scalar(
        session,
        "SELECT count(*) FROM petition_event WHERE action = 'ESCALATE' AND actor_person_id IS NULL",
    )
    assert by_scheduler >= 2
    assert await scalar(session, "SELECT count(*) FROM petition WHERE escalation_count >= 2")
    assert await scalar(session, "SELECT count(*) FROM points_entry") >= 4
    assert await values(session, "SELECT rating FROM petition_rating") == {
        "SATISFIED",
        "BASICALLY_SATISFIED",
        "UNSATISFIED",
    }
    mismatched = await scalar(
        session,
        """SELECT count(*) FROM petition p
            WHERE p.version <> (SELECT max(version) FROM petition_event e
                                 WHERE e.petition_id = p.id)
               OR p.status <> (SELECT to_status FROM petition_event e WHERE e.petition_id = p.id
                                ORDER BY id DESC LIMIT 1)""",
    )
    assert mismatched == 0


@pytest.fixture
def city_connection(database_uri: str, demo: DemoCity) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_uri) as conn:
        yield conn
        conn.rollback()


def test_city_history_loads_consistent_rows(city_connection: psycopg.Connection[Any]) -> None:
    conn = city_connection
    until = datetime(2025, 1, 1, tzinfo=UTC)
    counts = load_city_petitions(conn, count=3000, until=until, seed=7, rebuild_indexes=True)
    assert 2800 <= counts["petition"] <= 3000
    assert counts["petition_event"] > 4 * counts["petition"]
    assert counts["petition_rating"] > 0
    assert counts["points_entry"] > 0

    def one(statement: str) -> Any:
        row = conn.execute(statement).fetchone()
        assert row is not None
        return row[0]

    assert one("SELECT count(*) FROM petition") == counts["petition"]
    # the last timeline entry of each petition is its status and version
    assert (
        one(
            """SELECT count(*) FROM petition p JOIN LATERAL (
                 SELECT to_status, version FROM petition_event e WHERE e.petition_id = p.id
                  ORDER BY e.id DESC LIMIT 1) last ON true
                WHERE last.to_status <> p.status OR last.version <> p.version"""
        )
        == 0
    )
    assert one("SELECT min(submitted_at) FROM petition") >= until - timedelta(days=730)
    assert one("SELECT max(at) FROM petition_event") < until
    statuses = dict(
        conn.execute("SELECT status, count(*) FROM petition GROUP BY status").fetchall()
    )
    assert statuses["CLOSED"] > 0.6 * counts["petition"]
    assert {"CLOSED_UNRATED", "REJECTED", "DUPLICATE"} <= set(statuses)
    satisfied = one("SELECT avg((rating = 'SATISFIED')::int) FROM petition_rating")
    assert 0.7 < satisfied < 0.9
    assert one("SELECT count(*) FROM petition WHERE escalation_count > 0") > 0
    # ids continue after the load: the next insert does not collide
    next_id = one("SELECT nextval(pg_get_serial_sequence('petition', 'id'))")
    assert next_id > one("SELECT max(id) FROM petition")
