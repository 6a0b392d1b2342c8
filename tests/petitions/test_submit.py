"""Submission: owner by remit, place paths, due times, validation, idempotency keys,
anonymity, categories and due times edited by admins, and moves of the tree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.org import OrgKind
from models.petitions import Channel, Level, Petition, PetitionStatus, Priority
from permissions.policy import Access, decide
from permissions.roles import Relation
from resolvers import org as ro
from resolvers import petitions as rp
from seeds import builders
from seeds.demo import DemoCity
from tests.conftest import scalar
from tests.petitions.helpers import Actors, category, events, key, pid, refuses, submit


@pytest.mark.parametrize(
    ("code", "level", "depth"),
    [
        ("CORRIDOR_CLUTTER", Level.BUILDING, 6),
        ("PARKING", Level.GRID, 5),
        ("POLICY_QUESTION", Level.COMMUNITY, 4),
        ("ILLEGAL_CONSTRUCTION", Level.STREET, 3),
    ],
)
async def test_owner_is_the_lowest_level_whose_remit_covers_the_category(
    session: AsyncSession, demo: DemoCity, code: str, level: Level, depth: int
) -> None:
    petition = await submit(session, demo, code=code)
    path = demo.building.path or ""
    labels = path.split(".")
    assert petition.path == path
    assert petition.owner_level == level
    assert petition.owner_path == ".".join(labels[:depth])
    expected_unit = None if level == Level.BUILDING else int(labels[depth - 1])
    assert petition.owner_org_unit_id == expected_unit
    assert (petition.status, petition.version) == (PetitionStatus.SUBMITTED, 1)


async def test_a_place_without_building_is_owned_at_or_above_its_level(
    session: AsyncSession, demo: DemoCity
) -> None:
    community = demo.renheyuan
    petition = await submit(session, demo, org_unit_id=pid(community))
    assert petition.path == community.path
    assert (petition.owner_level, petition.owner_path) == (Level.COMMUNITY, community.path)
    assert petition.owner_org_unit_id == pid(community)
    street = await submit(session, demo, code="PARKING", org_unit_id=pid(demo.street))
    assert street.owner_level == Level.STREET
    await refuses("VALIDATION", submit(session, demo, org_unit_id=pid(demo.city)), "org_unit_id")
    await refuses(
        "VALIDATION",
        submit(session, demo, org_unit_id=pid(community), building_id=pid(demo.building)),
        "building_id",
    )


@pytest.mark.parametrize(
    ("priority", "due"),
    [
        (Priority.URGENT, timedelta(hours=2)),
        (Priority.UTILITIES, timedelta(hours=24)),
        (Priority.GENERAL, timedelta(days=7)),
        (Priority.COMPLEX, timedelta(days=15)),
    ],
)
async def test_due_time_per_priority(
    session: AsyncSession, demo: DemoCity, priority: Priority, due: timedelta
) -> None:
    now = utcnow()
    petition = await submit(session, demo, priority=priority, now=now)
    assert (petition.priority, petition.due_at) == (priority, now + due)


async def test_priority_defaults_to_the_category(session: AsyncSession, demo: DemoCity) -> None:
    assert (await submit(session, demo, code="UTILITIES_REPAIR")).priority == Priority.UTILITIES
    assert (await submit(session, demo, code="TANGLED_WIRING")).priority == Priority.URGENT


async def test_same_key_same_content_is_one_petition(session: AsyncSession, demo: DemoCity) -> None:
    k = key()
    first = await submit(session, demo, idempotency_key=k, photos=("petitions/a.jpg",))
    again = await submit(session, demo, idempotency_key=k, photos=(" petitions/a.jpg",))
    assert again.id == first.id
    assert (
        await scalar(session, "SELECT count(*) FROM petition WHERE idempotency_key = :k", k=k) == 1
    )
    assert len(await events(session, pid(first))) == 1


async def test_same_key_other_content_is_refused(session: AsyncSession, demo: DemoCity) -> None:
    k = key()
    await submit(session, demo, idempotency_key=k)
    for change in ({"title": "另一件事"}, {"anonymous": True}, {"code": "NOISE"}):
        await refuses(
            "IDEMPOTENCY_KEY_REUSED",
            submit(session, demo, idempotency_key=k, **change),
            "idempotency_key",
        )
    await refuses("VALIDATION", submit(session, demo, idempotency_key="short"), "idempotency_key")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "  "}, "title"),
        ({"description": "x" * 2001}, "description"),
        ({"photos": ("javascript:alert(1)",)}, "photos"),
        ({"photos": ("../etc/passwd",)}, "photos"),
        ({"photos": tuple(f"p/{i}.jpg" for i in range(10))}, "photos"),
        ({"channel": Channel.ONLINE, "recorded_by_id": "grid_worker"}, "recorded_by_id"),
        ({"channel": Channel.DOOR_VISIT}, "recorded_by_id"),
        ({"reporter_id": None}, "reporter_id"),
        ({"channel": Channel.MEETING, "recorded_by_id": "resident"}, "recorded_by_id"),
    ],
)
async def test_submission_is_validated(
    session: AsyncSession, demo: DemoCity, actors: Actors, fields: dict[str, Any], field: str
) -> None:
    people = {"grid_worker": actors.grid_worker, "resident": actors.resident}
    fields = {k: people.get(v, v) if isinstance(v, str) else v for k, v in fields.items()}
    before = await scalar(session, "SELECT count(*) FROM petition")
    await refuses("VALIDATION", submit(session, demo, **fields), field)
    assert await scalar(session, "SELECT count(*) FROM petition") == before


async def test_missing_people_and_places_are_not_found(
    session: AsyncSession, demo: DemoCity
) -> None:
    await refuses("NOT_FOUND", submit(session, demo, reporter_id=10**12), "reporter_id")
    await refuses("NOT_FOUND", submit(session, demo, building_id=10**12), "building_id")
    await refuses("NOT_FOUND", submit(session, demo, org_unit_id=10**12), "org_unit_id")


async def test_photos_are_urls_or_stored_keys(session: AsyncSession, demo: DemoCity) -> None:
    photos = ("https://img.example.cn/a/b.jpg", "petitions/2024/09/abc-1.jpg")
    petition = await submit(session, demo, photos=photos)
    assert petition.photos == list(photos)


async def test_staff_record_petitions_for_residents(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    visit = await submit(
        session, demo, channel=Channel.DOOR_VISIT, recorded_by_id=actors.grid_worker
    )
    assert (visit.reporter_id, visit.recorded_by_id) == (actors.resident, actors.grid_worker)
    [entry] = await events(session, pid(visit))
    assert (entry.actor_person_id, entry.by_reporter) == (actors.grid_worker, False)
    unsigned = await submit(
        session,
        demo,
        channel=Channel.SUGGESTION_BOX,
        reporter_id=None,
        recorded_by_id=actors.head,
        anonymous=True,
    )
    assert unsigned.reporter_id is None
    assert not reporter_visible_to(unsigned, actors.head)


def reporter_visible_to(petition: Petition, person_id: int | None) -> bool:
    """As the field policy decides `Petition.reporter` for someone who sees the case."""
    mine = person_id is not None and person_id == petition.reporter_id
    relations = {Relation.SELF} if mine else {Relation.ADMIN, Relation.BUILDING_STAFF}
    return decide("Petition", "reporter", relations, petition) is Access.FULL


async def test_anonymous_reporter_is_stored_but_visible_only_to_the_reporter(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    petition = await submit(session, demo, anonymous=True)
    assert petition.reporter_id == actors.resident
    assert reporter_visible_to(petition, actors.resident)
    for other in (actors.head, actors.admin, actors.grid_worker, None):
        assert not reporter_visible_to(petition, other)
    [entry] = await events(session, pid(petition))
    assert (entry.actor_person_id, entry.by_reporter) == (None, True), "timeline hides them"
    named = await submit(session, demo)
    assert reporter_visible_to(named, actors.head)
    [entry] = await events(session, pid(named))
    assert (entry.actor_person_id, entry.by_reporter) == (actors.resident, True)


async def test_admins_edit_categories_and_due_times(session: AsyncSession, demo: DemoCity) -> None:
    created = await rp.create_category(
        session,
        code="lift_repair",
        name="电梯维修",
        remit_levels=[Level.COMMUNITY, Level.GRID],
        default_priority=Priority.UTILITIES,
    )
    assert (created.code, created.remit_levels) == ("LIFT_REPAIR", ["GRID", "COMMUNITY"])
    petition = await submit(session, demo, code="LIFT_REPAIR")
    assert petition.owner_level == Level.GRID
    await rp.update_category(session, category_id=pid(created), remit_levels=[Level.STREET])
    assert (await submit(session, demo, code="LIFT_REPAIR")).owner_level == Level.STREET
    assert petition.owner_level == Level.GRID, "submitted petitions keep their owner"
    await rp.set_due_time(session, priority=Priority.UTILITIES, hours=12)
    assert (await rp.due_times(session))[Priority.UTILITIES] == timedelta(hours=12)
    now = utcnow()
    assert (await submit(session, demo, code="LIFT_REPAIR", now=now)).due_at == now + timedelta(
        hours=12
    )
    await rp.update_category(session, category_id=pid(created), active=False)
    await refuses("VALIDATION", submit(session, demo, code="LIFT_REPAIR"), "category_id")
    assert "LIFT_REPAIR" not in {c.code for c in await rp.list_categories(session)}
    await refuses(
        "DUPLICATE_CODE",
        rp.create_category(
            session,
            code="NOISE",
            name="噪音",
            remit_levels=[Level.GRID],
            default_priority=Priority.GENERAL,
        ),
        "code",
    )
    await refuses(
        "VALIDATION",
        rp.update_category(session, category_id=pid(created), remit_levels=[]),
        "remit_levels",
    )
    await refuses(
        "VALIDATION",
        rp.set_due_time(session, priority=Priority.URGENT, hours=0),
        "hours",
    )
    for too_long in (24 * 91, float("inf"), float("nan")):
        await refuses(
            "VALIDATION", rp.set_due_time(session, priority=Priority.URGENT, hours=too_long)
        )


async def test_seeded_categories(session: AsyncSession) -> None:
    codes = {c.code: c for c in await rp.list_categories(session)}
    for code in ("CORRIDOR_CLUTTER", "TANGLED_WIRING", "UTILITIES_REPAIR", "NEIGHBOUR_DISPUTE"):
        assert code in codes
    assert (await category(session, "CORRIDOR_CLUTTER")).name == "楼道堵塞"
    assert (await category(session, "ELDER_CARE")).name == "养老服务"
    assert await rp.due_times(session) == {
        Priority.URGENT: timedelta(hours=2),
        Priority.UTILITIES: timedelta(hours=24),
        Priority.GENERAL: timedelta(days=7),
        Priority.COMPLEX: timedelta(days=15),
    }


async def test_moving_a_grid_moves_petition_paths_and_owners(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    grid = await builders.org_unit(session, OrgKind.GRID, parent=demo.renheyuan)
    building = await builders.building(session, grid)
    at_building = await submit(session, demo, building_id=pid(building))
    at_grid = await submit(session, demo, code="PARKING", building_id=pid(building))
    at_community = await submit(session, demo, code="POLICY_QUESTION", building_id=pid(building))
    await rp.transition(session, pid(at_building), rp.Action.ACCEPT, 1, actors.head)
    await ro.move_org_unit(session, unit_id=pid(grid), new_parent_id=pid(demo.lingxi))
    new_grid = f"{demo.lingxi.path}.{grid.id}"
    rows = {
        r.id: r
        for r in (
            await session.execute(
                sa.text(
                    "SELECT id, path::text, owner_path::text, owner_org_unit_id FROM petition"
                    " WHERE id = ANY(:ids)"
                ),
                {"ids": [pid(at_building), pid(at_grid), pid(at_community)]},
            )
        )
    }
    assert rows[at_building.id].path == f"{new_grid}.b{building.id}"
    assert rows[at_building.id].owner_path == f"{new_grid}.b{building.id}"
    assert rows[at_grid.id].owner_path == new_grid
    assert rows[at_community.id].owner_path == demo.lingxi.path, "the owner follows the place"
    assert rows[at_community.id].owner_org_unit_id == demo.lingxi.id
    assert rows[at_grid.id].owner_org_unit_id == grid.id
    timeline_paths = await scalar(
        session,
        "SELECT array_agg(DISTINCT path::text) FROM petition_event WHERE petition_id = :id",
        id=at_building.id,
    )
    assert timeline_paths == [f"{new_grid}.b{building.id}"]
