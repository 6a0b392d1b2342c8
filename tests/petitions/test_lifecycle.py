"""The lifecycle: every legal transition of the table, every illegal one, required
arguments, optimistic versions, escalation up the tree, and the timeline of each change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.petitions import AWAITING_RATING, FINAL_STATUSES, OPEN_STATUSES, Level
from resolvers import petitions as rp
from seeds.demo import DemoCity
from tests.petitions.helpers import (
    ILLEGAL,
    LEGAL,
    ROUTES,
    Action,
    Actors,
    Driver,
    Status,
    events,
    pid,
    refuses,
    submit,
)


def test_table_covers_every_status_and_reaches_it() -> None:
    assert set(rp.TRANSITIONS) == set(Status)
    assert set(ROUTES) == set(Status), "every status is reachable from SUBMITTED"
    for status in FINAL_STATUSES:
        assert rp.PETITIONS.legal(status) == set()
    for status in OPEN_STATUSES:
        assert Action.ESCALATE in rp.PETITIONS.legal(status), "overdue petitions escalate"
    for status in AWAITING_RATING:
        assert {Action.CLOSE, Action.REOPEN, Action.CLOSE_UNRATED} <= rp.PETITIONS.legal(status)
    assert all(Action.SUBMIT not in actions for actions in rp.TRANSITIONS.values())
    assert set(rp.REQUIRED) <= {a for actions in rp.TRANSITIONS.values() for a in actions}
    assert len(LEGAL) + len(ILLEGAL) == len(Status) * (len(Action) - 1)


@pytest.mark.parametrize(("status", "action"), LEGAL, ids=str)
async def test_legal_transition(
    session: AsyncSession, demo: DemoCity, status: Status, action: Action
) -> None:
    driver = Driver(session, demo)
    petition = await driver.reach(status)
    before, version = len(await events(session, pid(petition))), petition.version
    after = await driver.do(petition, action)
    assert after.status == rp.TRANSITIONS[status][action]
    assert after.version == version + 1
    timeline = await events(session, pid(petition))
    assert len(timeline) == before + 1
    last = timeline[-1]
    assert (last.action, last.from_status, last.to_status) == (action, status, after.status)
    assert last.actor_person_id == driver.actors.admin
    assert last.version == after.version
    assert last.path == petition.path
    assert after.status_changed_at == last.at


@pytest.mark.parametrize("status", list(Status), ids=str)
async def test_every_illegal_transition_is_refused(
    session: AsyncSession, demo: DemoCity, status: Status
) -> None:
    driver = Driver(session, demo)
    petition = await driver.reach(status)
    version, count = petition.version, len(await events(session, pid(petition)))
    illegal = [a for s, a in ILLEGAL if s == status]
    assert illegal
    for action in illegal:
        await refuses("INVALID_TRANSITION", driver.do(petition, action), "action")
    assert petition.version == version
    assert len(await events(session, pid(petition))) == count


@pytest.mark.parametrize("action", sorted(rp.REQUIRED), ids=str)
async def test_required_arguments(session: AsyncSession, demo: DemoCity, action: Action) -> None:
    driver = Driver(session, demo)
    status = next(s for s, a in LEGAL if a == action)
    petition = await driver.reach(status)
    missing: dict[str, Any] = dict.fromkeys(rp.REQUIRED[action])
    if "note" in missing:
        missing["note"] = "   "  # blank counts as missing
    error = await refuses(
        "VALIDATION",
        rp.transition(
            session, pid(petition), action, petition.version, driver.actors.admin, **missing
        ),
    )
    assert error.field in {"note", "assignee_id", "duplicate_of_id"}
    assert petition.status == status


async def test_stale_version_is_a_conflict_and_changes_nothing(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    petition = await submit(session, demo)
    accepted = await rp.transition(session, pid(petition), Action.ACCEPT, 1, actors.admin)
    assert accepted.version == 2
    await refuses(
        "VERSION_CONFLICT",
        rp.transition(
            session, pid(petition), Action.ASSIGN, 1, actors.admin, assignee_id=actors.head
        ),
        "expected_version",
    )
    assert (accepted.status, accepted.version, accepted.assignee_id) == (Status.ACCEPTED, 2, None)
    await refuses("NOT_FOUND", rp.transition(session, 10**12, Action.ACCEPT, 1, actors.admin), "id")


async def test_timestamps_of_a_closed_loop(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    t0 = utcnow() - timedelta(days=3)
    petition = await submit(session, demo, now=t0)
    assert petition.submitted_at == t0
    assert petition.due_at == t0 + timedelta(days=7)  # CORRIDOR_CLUTTER: GENERAL
    steps: list[tuple[Action, dict[str, Any]]] = [
        (Action.ACCEPT, {}),
        (Action.ASSIGN, {"assignee_id": actors.head}),
        (Action.ACKNOWLEDGE, {"note": "电话联系了王阿姨"}),
        (Action.START, {}),
        (Action.RESOLVE, {"note": "纸箱已清走"}),
    ]
    for hours, (action, args) in enumerate(steps, 1):
        petition = await rp.transition(
            session,
            pid(petition),
            action,
            petition.version,
            actors.head,
            now=t0 + timedelta(hours=hours),
            **args,
        )
    assert petition.accepted_at == t0 + timedelta(hours=1)
    assert petition.assigned_at == t0 + timedelta(hours=2)
    assert petition.first_contact_at == t0 + timedelta(hours=3)
    assert petition.resolved_at == t0 + timedelta(hours=5)
    assert petition.resolution_note == "纸箱已清走"
    assert petition.closed_at is None
    closed = await rp.transition(
        session, pid(petition), Action.CLOSE, petition.version, None, now=t0 + timedelta(hours=9)
    )
    assert closed.closed_at == t0 + timedelta(hours=9)
    assert [e.action for e in await events(session, pid(petition))] == [
        Action.SUBMIT,
        *(a for a, _ in steps),
        Action.CLOSE,
    ]


async def test_escalation_climbs_one_level_at_a_time_to_the_district(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    building = demo.building
    petition = await submit(session, demo)
    assert (petition.owner_level, petition.owner_path) == (Level.BUILDING, building.path)
    assert petition.owner_org_unit_id is None
    labels = (building.path or "").split(".")
    petition = await rp.transition(session, pid(petition), Action.ACCEPT, 1, actors.head)
    petition = await rp.transition(
        session, pid(petition), Action.ASSIGN, 2, actors.head, assignee_id=actors.head
    )
    now = utcnow()
    for depth, level in ((5, Level.GRID), (4, Level.COMMUNITY), (3, Level.STREET)):
        petition = await rp.transition(
            session,
            pid(petition),
            Action.ESCALATE,
            petition.version,
            actors.admin,
            note="需要上级协调",
            now=now,
        )
        assert petition.owner_level == level
        assert petition.owner_path == ".".join(labels[:depth])
        assert petition.owner_org_unit_id == int(labels[depth - 1])
        assert petition.assignee_id is None
        assert petition.due_at == now + timedelta(days=7)
    petition = await rp.transition(
        session, pid(petition), Action.ESCALATE, petition.version, actors.admin, note="区级协调"
    )
    assert (petition.owner_level, petition.escalation_count) == (Level.DISTRICT, 4)
    assert petition.owner_org_unit_id == pid(demo.districts["汇川区"])
    await refuses(
        "INVALID_TRANSITION",
        rp.transition(
            session, pid(petition), Action.ESCALATE, petition.version, actors.admin, note="再上报"
        ),
        "action",
    )
    escalations = [e for e in await events(session, pid(petition)) if e.action == Action.ESCALATE]
    assert [(e.from_level, e.to_level) for e in escalations] == [
        (Level.BUILDING, Level.GRID),
        (Level.GRID, Level.COMMUNITY),
        (Level.COMMUNITY, Level.STREET),
        (Level.STREET, Level.DISTRICT),
    ]
    assert all(e.note for e in escalations)


async def test_return_goes_back_to_dispatch(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    driver = Driver(session, demo)
    petition = await driver.reach(Status.ACKNOWLEDGED)
    assert petition.assignee_id == actors.head
    returned = await driver.do(petition, Action.RETURN, note="需要物业公司处理，超出楼栋长职责")
    assert (returned.status, returned.assignee_id) == (Status.RETURNED, None)
    reassigned = await driver.do(returned, Action.ASSIGN, assignee_id=actors.cadre)
    assert (reassigned.status, reassigned.assignee_id) == (Status.ASSIGNED, actors.cadre)
    assert reassigned.assigned_at == petition.assigned_at, "the first assignment is kept"


async def test_reopen_clears_the_resolution_and_restarts_the_clock(
    session: AsyncSession, demo: DemoCity
) -> None:
    driver = Driver(session, demo)
    petition = await driver.reach(Status.RESOLVED)
    now = utcnow() + timedelta(hours=1)
    reopened = await driver.do(petition, Action.REOPEN, now=now)
    assert (reopened.reopen_count, reopened.resolved_at, reopened.resolution_note) == (
        1,
        None,
        None,
    )
    assert reopened.due_at == now + timedelta(days=7)
    assert reopened.assignee_id is not None
    restarted = await driver.do(reopened, Action.START)
    assert restarted.status == Status.IN_PROGRESS


async def test_duplicates_merge_into_the_original(session: AsyncSession, demo: DemoCity) -> None:
    driver = Driver(session, demo)
    original = await driver.original()
    first = await driver.reach(Status.DUPLICATE)
    assert first.duplicate_of_id == pid(original)
    assert first.closed_at is not None
    second = await submit(session, demo)
    merged = await driver.do(second, Action.MARK_DUPLICATE, duplicate_of_id=pid(first))
    assert merged.duplicate_of_id == pid(original), "merged into the root, not a duplicate"
    await refuses(
        "VALIDATION",
        driver.do(original, Action.MARK_DUPLICATE, duplicate_of_id=pid(first)),
        "duplicate_of_id",
    )
    await refuses(
        "NOT_FOUND",
        driver.do(original, Action.MARK_DUPLICATE, duplicate_of_id=10**12),
        "duplicate_of_id",
    )
    accepted = await driver.reach(Status.ACCEPTED)
    await refuses(
        "NOT_FOUND", driver.do(accepted, Action.ASSIGN, assignee_id=10**12), "assignee_id"
    )
