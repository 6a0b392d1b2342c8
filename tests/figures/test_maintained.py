"""The maintained counts equal counts computed from the rows, for every org unit, after a
random sequence of changes: inserts, updates that move rows (a person to another household,
a grid to another community), ends of positions and pairings, deletes. The full recompute
(for bulk loads) gives the same counts too."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.figures import FIGURES
from resolvers.org import move_org_unit, org_stats_statement
from resolvers.services import ServiceStats, Window, service_stats_statement
from seeds.demo import DemoCity

#: Counts the dashboard computes (`OrgStats`) and the figures that have no dashboard twin,
#: computed here straight from the rows.
EXTRA = {
    "grid_party_orgs": ("party_organisation", "x.kind = 'GRID_PARTY_ORG'"),
    "petitions": ("petition", "true"),
    "petitions_handled": (
        "petition",
        "x.status IN ('RESOLVED', 'NOT_RESOLVABLE', 'CLOSED', 'CLOSED_UNRATED')",
    ),
    "petitions_open": (
        "petition",
        "x.status IN ('SUBMITTED', 'ACCEPTED', 'ASSIGNED', 'ACKNOWLEDGED', 'IN_PROGRESS',"
        " 'RETURNED', 'ESCALATED', 'REOPENED')",
    ),
    "shops": ("shop", "x.closed_at IS NULL"),
}
#: The places `OrgUnit.serviceStats` counts, the same way (its twin for these figures).
SERVICES = ["stations", "teams", "estates", "unmanaged_estates", "party_property_companies"]
SERVICES += ["activities"]
STATS = [
    "grids",
    "buildings",
    "households",
    "residents",
    "party_members",
    "building_heads",
    "party_groups",
    "central_households",
    "seconded_cadres",
    "registered_party_members",
    "paired_work_units",
]


async def rows(session: AsyncSession, statement: str, **params: Any) -> list[Any]:
    return list((await session.execute(sa.text(statement), params)).all())


async def from_rows(session: AsyncSession) -> dict[tuple[str, str], int]:
    units = await rows(session, "SELECT id, path::text FROM org_unit")
    paths = {int(i): str(p) for i, p in units}
    found: dict[tuple[str, str], int] = {}
    stats = (await session.execute(org_stats_statement(sorted(paths), lambda _: []))).all()
    for row in stats:
        for key, value in zip(STATS, row[1:], strict=True):
            found[(paths[int(row[0])], key)] = int(value)
    for key, (table, where) in EXTRA.items():
        counted = await rows(
            session,
            f"SELECT node.path::text, count(x.*) FROM org_unit node"
            f" LEFT JOIN {table} x ON x.path <@ node.path AND ({where}) GROUP BY 1",
        )
        found |= {(str(p), key): int(n) for p, n in counted}
    fields = list(ServiceStats.__dataclass_fields__)
    services = await session.execute(service_stats_statement(sorted(paths), lambda _: [], Window()))
    for row in services.all():
        values = dict(zip(fields, row[1:], strict=True))
        found |= {(paths[int(row[0])], key): int(values[key]) for key in SERVICES}
    return found


async def maintained(session: AsyncSession) -> dict[tuple[str, str], int]:
    units = {str(p) for (p,) in await rows(session, "SELECT path::text FROM org_unit")}
    counts = {
        (str(node), str(figure)): int(n)
        for node, figure, n in await rows(session, "SELECT node::text, figure, n FROM figure_count")
    }
    return {(u, f.key): counts.get((u, f.key), 0) for u in units for f in FIGURES}


def test_every_figure_is_checked_here() -> None:
    assert {f.key for f in FIGURES} == set(STATS) | set(EXTRA) | set(SERVICES)


async def pick(session: AsyncSession, rng: random.Random, statement: str) -> Any:
    found = await rows(session, statement)
    return rng.choice(found) if found else None


def changes(
    session: AsyncSession, rng: random.Random, demo: DemoCity
) -> list[Callable[[], Awaitable[None]]]:
    """Each change a front end (or a bulk job) can make to a counted table."""

    async def run(statement: str, **params: Any) -> None:
        await session.execute(sa.text(statement), params)

    async def new_building() -> None:
        grid = await pick(session, rng, "SELECT id FROM org_unit WHERE kind = 'GRID'")
        await run(
            "INSERT INTO building (grid_id, name, address) VALUES (:g, :n, '测试路1号')",
            g=grid[0],
            n=f"测试楼{rng.randrange(10**6)}",
        )

    async def new_household_and_people() -> None:
        building = await pick(session, rng, "SELECT id FROM building")
        household = (
            await rows(
                session,
                "INSERT INTO household (building_id, unit, room, tenure)"
                " VALUES (:b, '9', :r, 'RENTED') RETURNING id",
                b=building[0],
                r=str(rng.randrange(10**6)),
            )
        )[0][0]
        for _ in range(rng.randrange(1, 4)):
            await run(
                "INSERT INTO person (household_id, name, gender, is_party_member, is_veteran,"
                " is_elderly, lives_alone, is_renter) VALUES (:h, '测试', 'MALE', :p, false,"
                " false, false, true)",
                h=household,
                p=rng.random() < 0.5,
            )

    async def move_person() -> None:
        person = await pick(session, rng, "SELECT id FROM person WHERE household_id IS NOT NULL")
        household = await pick(session, rng, "SELECT id, path FROM household")
        await run(
            "UPDATE person SET household_id = :h, path = CAST(:p AS ltree) WHERE id = :id",
            h=household[0],
            p=household[1],
            id=person[0],
        )

    async def join_party() -> None:
        await run(
            "UPDATE person SET is_party_member = NOT is_party_member WHERE id = :id",
            id=(await pick(session, rng, "SELECT id FROM person"))[0],
        )

    async def appoint() -> None:
        person = await pick(session, rng, "SELECT id FROM person")
        role = rng.choice(["REGISTERED_PARTY_MEMBER", "SECONDED_CADRE"])
        if rng.random() < 0.5:
            place = await pick(session, rng, "SELECT id FROM org_unit WHERE kind = 'COMMUNITY'")
            await run(
                "INSERT INTO position (person_id, role, org_unit_id) VALUES (:p, :r, :o)",
                p=person[0],
                r=role,
                o=place[0],
            )
        else:
            place = await pick(session, rng, "SELECT id FROM building")
            await run(
                "INSERT INTO position (person_id, role, building_id) VALUES (:p, :r, :b)",
                p=person[0],
                r=role,
                b=place[0],
            )

    async def new_building_head() -> None:
        building = await pick(
            session,
            rng,
            "SELECT b.id FROM building b WHERE NOT EXISTS (SELECT 1 FROM position p"
            " WHERE p.building_id = b.id AND p.role = 'BUILDING_HEAD' AND p.ended_at IS NULL)",
        )
        if building is None:
            return
        head = await pick(
            session, rng, "SELECT person_id FROM position WHERE role = 'BUILDING_HEAD'"
        )
        await run(
            "INSERT INTO position (person_id, role, building_id) VALUES (:p, 'BUILDING_HEAD', :b)",
            p=head[0],
            b=building[0],
        )

    async def end_position() -> None:
        position = await pick(
            session,
            rng,
            "SELECT id FROM position WHERE ended_at IS NULL AND role IN"
            " ('BUILDING_HEAD', 'SECONDED_CADRE', 'REGISTERED_PARTY_MEMBER')",
        )
        await run("UPDATE position SET ended_at = now() WHERE id = :id", id=position[0])

    async def delete_position() -> None:
        position = await pick(session, rng, "SELECT id FROM position WHERE role <> 'CITY_ADMIN'")
        await run("DELETE FROM position WHERE id = :id", id=position[0])

    async def pairings() -> None:
        if rng.random() < 0.5:
            pairing = await pick(session, rng, "SELECT id FROM work_unit_pairing")
            await run("DELETE FROM work_unit_pairing WHERE id = :id", id=pairing[0])
            return
        unit = await pick(session, rng, "SELECT id FROM work_unit")
        community = await pick(session, rng, "SELECT id FROM org_unit WHERE kind = 'COMMUNITY'")
        await run(
            "INSERT INTO work_unit_pairing (work_unit_id, community_id) VALUES (:w, :c)"
            " ON CONFLICT DO NOTHING",
            w=unit[0],
            c=community[0],
        )

    async def central_households() -> None:
        await run(
            "UPDATE central_household SET ended_at = CASE WHEN ended_at IS NULL THEN now() END"
            " WHERE id = :id",
            id=(await pick(session, rng, "SELECT id FROM central_household"))[0],
        )

    async def party_organisations() -> None:
        grid = await pick(session, rng, "SELECT id FROM org_unit WHERE kind = 'GRID'")
        found = (
            await rows(
                session,
                "INSERT INTO party_organisation (kind, name, org_unit_id)"
                " VALUES ('GRID_PARTY_ORG', '测试网格党支部', :g) RETURNING id",
                g=grid[0],
            )
        )[0][0]
        if rng.random() < 0.5:
            await run("DELETE FROM party_organisation WHERE id = :id", id=found)

    async def move_grid() -> None:
        grid = await pick(
            session,
            rng,
            "SELECT id, parent_id FROM org_unit WHERE kind = 'GRID' AND retired_at IS NULL",
        )
        other = await pick(
            session,
            rng,
            "SELECT id FROM org_unit WHERE kind = 'COMMUNITY' AND retired_at IS NULL"
            f" AND id <> {int(grid[1])}",
        )
        await move_org_unit(session, unit_id=int(grid[0]), new_parent_id=int(other[0]))

    async def retire_grid() -> None:
        await run(
            "UPDATE org_unit SET retired_at = CASE WHEN retired_at IS NULL THEN now() END"
            " WHERE id = :id",
            id=(await pick(session, rng, "SELECT id FROM org_unit WHERE kind = 'GRID'"))[0],
        )

    async def petitions() -> None:
        petition = await pick(session, rng, "SELECT id FROM petition")
        if rng.random() < 0.2:
            await run("DELETE FROM petition WHERE duplicate_of_id = :id", id=petition[0])
            await run("DELETE FROM petition WHERE id = :id", id=petition[0])
            return
        status = rng.choice(["ACCEPTED", "RESOLVED", "CLOSED", "REOPENED", "CLOSED_UNRATED"])
        await run("UPDATE petition SET status = :s WHERE id = :id", s=status, id=petition[0])

    async def delete_household() -> None:
        household = await pick(
            session,
            rng,
            "SELECT h.id FROM household h WHERE NOT EXISTS (SELECT 1 FROM central_household c"
            " WHERE c.household_id = h.id) AND NOT EXISTS (SELECT 1 FROM pairing x"
            " WHERE x.household_id = h.id)",
        )
        await run(
            "UPDATE person SET household_id = NULL, path = NULL WHERE household_id = :h",
            h=household[0],
        )
        await run("DELETE FROM household WHERE id = :h", h=household[0])

    async def services() -> None:
        """Places that serve open, close, change hands; activities are cancelled."""
        community = await pick(session, rng, "SELECT id FROM org_unit WHERE kind = 'COMMUNITY'")
        grid = await pick(session, rng, "SELECT id FROM org_unit WHERE kind = 'GRID'")
        choice = rng.randrange(6)
        if choice == 0:
            await run(
                "INSERT INTO service_station (name, community_id, address)"
                " VALUES ('测试驿站', :c, '测试路2号')",
                c=community[0],
            )
        elif choice == 1:
            team = await pick(session, rng, "SELECT id FROM service_team")
            await run(
                "UPDATE service_team SET disbanded_at = CASE WHEN disbanded_at IS NULL"
                " THEN now() END WHERE id = :id",
                id=team[0],
            )
        elif choice == 2:
            estate = await pick(session, rng, "SELECT id FROM estate")
            company = await pick(session, rng, "SELECT id FROM property_company")
            await run(
                "UPDATE estate SET property_company_id = CASE WHEN property_company_id IS NULL"
                " THEN CAST(:p AS bigint) END WHERE id = :id",
                p=company[0],
                id=estate[0],
            )
            await run(
                "INSERT INTO estate (grid_id, name) VALUES (:g, :n)",
                g=grid[0],
                n=f"测试小区{rng.randrange(10**6)}",
            )
        elif choice == 3:
            await run(
                "UPDATE property_company SET has_party_organisation = NOT has_party_organisation"
                " WHERE id = :id",
                id=(await pick(session, rng, "SELECT id FROM property_company"))[0],
            )
        elif choice == 4:
            activity = await pick(session, rng, "SELECT id FROM volunteer_activity")
            await run(
                "UPDATE volunteer_activity SET status = CASE WHEN status = 'CANCELLED'"
                " THEN 'OPEN' ELSE 'CANCELLED' END WHERE id = :id",
                id=activity[0],
            )
        else:
            await run(
                "UPDATE shop SET closed_at = CASE WHEN closed_at IS NULL THEN now() END"
                " WHERE id = :id",
                id=(await pick(session, rng, "SELECT id FROM shop"))[0],
            )

    return [
        services,
        new_building,
        new_household_and_people,
        move_person,
        join_party,
        appoint,
        new_building_head,
        end_position,
        delete_position,
        pairings,
        central_households,
        party_organisations,
        move_grid,
        retire_grid,
        petitions,
        delete_household,
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_figures_equal_counts_from_the_rows_after_random_changes(
    session: AsyncSession, demo_petitions: DemoCity, seed: int
) -> None:
    assert await maintained(session) == await from_rows(session)
    rng = random.Random(seed)
    possible = changes(session, rng, demo_petitions)
    done: list[str] = []
    for _ in range(60):
        change = rng.choice(possible)
        try:
            async with session.begin_nested():
                await change()
        except sa.exc.IntegrityError:
            continue  # the database refused it (a row another domain names): nothing changed
        done.append(change.__name__)
    await session.flush()
    assert set(done) >= {"move_grid", "end_position", "move_person", "petitions", "services"}
    assert await maintained(session) == await from_rows(session)
    await session.execute(sa.text("SELECT figures_recompute()"))
    assert await maintained(session) == await from_rows(session)


async def test_a_bulk_load_skips_the_triggers_and_recomputes_once(
    session: AsyncSession, demo: DemoCity
) -> None:
    assert demo.renheyuan.path is not None
    before = await maintained(session)
    await session.execute(sa.text("SET LOCAL app.bulk_load = on"))
    grid = (await rows(session, "SELECT id FROM org_unit WHERE kind = 'GRID' LIMIT 1"))[0][0]
    await session.execute(
        sa.text(
            "INSERT INTO building (grid_id, name, address)"
            " SELECT :g, '批量楼' || n, '批量路' FROM generate_series(1, 50) n"
        ),
        {"g": grid},
    )
    assert await maintained(session) == before  # nothing counted while loading
    await session.execute(sa.text("SELECT figures_recompute()"))
    await session.execute(sa.text("SET LOCAL app.bulk_load = off"))
    after = await maintained(session)
    assert after == await from_rows(session)
    assert (
        after[(demo.city.path or "", "buildings")]
        == before[(demo.city.path or "", "buildings")] + 50
    )
