"""Races on real connections with real commits (undone afterwards): concurrent transitions of
one petition, concurrent retries of one submission, two schedulers, double ratings, and
two people claiming one wish."""

from __future__ import annotations

import asyncio
import enum
from collections import Counter
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from models.base import utcnow
from models.petitions import Level, PetitionStatus, RatingValue
from models.wishes import WishAction
from resolvers import petitions as rp
from resolvers import wishes as rw
from resolvers.errors import DomainError
from resolvers.scheduler import run_scheduler
from seeds.demo import DemoCity
from tests.petitions.conftest import Committed
from tests.petitions.helpers import Actors, events, key, pid, submit

Action = rp.Action


async def outcome(call: Any) -> Any:
    """The result of `call`, or the code of the DomainError it raised."""
    try:
        return await call
    except DomainError as error:
        return error.code


async def test_concurrent_transitions_exactly_one_wins(
    committed: Committed, demo: DemoCity, actors: Actors
) -> None:
    async with committed.session() as s, s.begin():
        petition = await submit(s, demo)
    committed.petitions.add(pid(petition))
    attempts: list[tuple[Action, dict[str, Any]]] = [
        (Action.ACCEPT, {}),
        (Action.ACCEPT, {}),
        (Action.REJECT, {"note": "不属于受理范围"}),
        (Action.ESCALATE, {"note": "需要网格协调"}),
        (Action.ACCEPT, {}),
        (Action.REJECT, {"note": "重复提交"}),
        (Action.ESCALATE, {"note": "需要社区协调"}),
        (Action.ACCEPT, {}),
    ]

    async def attempt(action: Action, args: dict[str, Any]) -> Any:
        async with committed.session() as s, s.begin():
            return await rp.transition(s, pid(petition), action, 1, actors.admin, **args)

    results = await asyncio.gather(*(outcome(attempt(a, args)) for a, args in attempts))
    winners = [r for r in results if not isinstance(r, enum.Enum)]
    assert len(winners) == 1
    assert Counter(r for r in results if isinstance(r, enum.Enum)) == {
        "VERSION_CONFLICT": len(attempts) - 1
    }
    async with committed.session() as s:
        timeline = await events(s, pid(petition))
        row = (
            await s.execute(
                sa.text("SELECT status, version FROM petition WHERE id = :id"), {"id": petition.id}
            )
        ).one()
    assert timeline[0].action == Action.SUBMIT
    assert len(timeline) == 2, "one transition, one timeline entry: nothing lost, nothing doubled"
    assert (row.status, row.version) == (winners[0].status, 2)
    assert timeline[1].to_status == winners[0].status


async def test_concurrent_retries_of_one_submission_create_one_petition(
    committed: Committed, demo: DemoCity
) -> None:
    k = key()

    async def retry() -> Any:
        async with committed.session() as s, s.begin():
            return await submit(s, demo, idempotency_key=k, title="二次供水水压低")

    results = await asyncio.gather(*(retry() for _ in range(8)))
    ids = {pid(r) for r in results}
    committed.petitions.update(ids)
    assert len(ids) == 1
    async with committed.session() as s:
        count = await s.scalar(
            sa.text("SELECT count(*) FROM petition WHERE idempotency_key = :k"), {"k": k}
        )
        assert count == 1
        assert len(await events(s, ids.pop())) == 1

    async def different() -> Any:
        async with committed.session() as s, s.begin():
            return await submit(s, demo, idempotency_key=k, title="别的事")

    assert await outcome(different()) == "IDEMPOTENCY_KEY_REUSED"


async def _overdue(committed: Committed, demo: DemoCity, count: int) -> list[int]:
    long_ago = utcnow() - timedelta(days=30)
    async with committed.session() as s, s.begin():
        ids = [pid(await submit(s, demo, now=long_ago)) for _ in range(count)]
    committed.petitions.update(ids)
    return ids


async def _escalations(committed: Committed, ids: list[int]) -> Counter[int]:
    async with committed.session() as s:
        rows = await s.execute(
            sa.text(
                "SELECT petition_id FROM petition_event"
                " WHERE action = 'ESCALATE' AND petition_id = ANY(:ids)"
            ),
            {"ids": ids},
        )
        return Counter(r[0] for r in rows)


async def test_two_schedulers_skip_each_others_rows(committed: Committed, demo: DemoCity) -> None:
    ids = await _overdue(committed, demo, 10)
    now = utcnow()
    first, second = committed.session(), committed.session()
    async with first, second:
        async with first.begin():
            taken_first = await rp.escalate_overdue(first, now, batch=4)
            # the first scheduler still holds its rows: the second skips them, takes the rest
            async with second.begin():
                taken_second = await rp.escalate_overdue(second, now, batch=100)
        assert len(taken_first) == 4
        assert sorted(taken_first + taken_second) == sorted(ids)
        async with first.begin():
            assert await rp.escalate_overdue(first, now) == [], "escalated once per lapse"
    assert await _escalations(committed, ids) == dict.fromkeys(ids, 1)
    async with committed.session() as s:
        rows = await s.execute(
            sa.text("SELECT owner_level, escalation_count FROM petition WHERE id = ANY(:ids)"),
            {"ids": ids},
        )
        assert set(rows) == {(Level.GRID.value, 1)}
        timeline = await events(s, ids[0])
    escalation = timeline[-1]
    assert (escalation.action, escalation.actor_person_id) == (Action.ESCALATE, None)
    assert (escalation.from_level, escalation.to_level) == (Level.BUILDING, Level.GRID)
    assert "overdue" in (escalation.note or "")


async def test_two_scheduler_loops_escalate_each_petition_once(
    committed: Committed, demo: DemoCity
) -> None:
    ids = await _overdue(committed, demo, 12)
    stop = asyncio.Event()
    loops = [
        asyncio.create_task(run_scheduler(committed.sessionmaker(), 0.01, stop, batch=3))
        for _ in range(2)
    ]
    for _ in range(300):
        if sum((await _escalations(committed, ids)).values()) >= len(ids):
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # a few more passes: nothing more to do
    stop.set()
    await asyncio.gather(*loops)
    assert await _escalations(committed, ids) == dict.fromkeys(ids, 1)


async def test_concurrent_double_rating_counts_once(
    committed: Committed, demo: DemoCity, actors: Actors
) -> None:
    async with committed.session() as s, s.begin():
        # owned by the grid: no points, so nothing lands in the append-only ledger
        petition = await submit(s, demo, code="PARKING")
        for action, args in (
            (Action.ACCEPT, {}),
            (Action.ASSIGN, {"assignee_id": actors.grid_worker}),
            (Action.ACKNOWLEDGE, {}),
            (Action.START, {}),
            (Action.RESOLVE, {"note": "已清理"}),
        ):
            petition = await rp.transition(
                s, pid(petition), action, petition.version, actors.grid_worker, **args
            )
    committed.petitions.add(pid(petition))

    async def rate() -> Any:
        async with committed.session() as s, s.begin():
            return await rp.rate_petition(
                s,
                petition_id=pid(petition),
                rater_person_id=actors.resident,
                rating=RatingValue.SATISFIED,
            )

    results = await asyncio.gather(*(outcome(rate()) for _ in range(4)))
    done = [r for r in results if isinstance(r, rp.RatingOutcome)]
    assert len(done) == 1
    assert [str(r) for r in results if isinstance(r, enum.Enum)] == ["ALREADY_RATED"] * 3
    assert done[0].petition.status == PetitionStatus.CLOSED
    assert done[0].points is None
    async with committed.session() as s:
        ratings = await s.scalar(
            sa.text("SELECT count(*) FROM petition_rating WHERE petition_id = :id"),
            {"id": petition.id},
        )
        timeline = await events(s, pid(petition))
    assert ratings == 1
    assert [e.action for e in timeline].count(Action.CLOSE) == 1


async def test_two_claimants_one_wish(committed: Committed, demo: DemoCity, actors: Actors) -> None:
    async with committed.session() as s, s.begin():
        wish = await rw.post_wish(
            s,
            resident_id=actors.resident,
            title="想要一副老花镜",
            description="眼睛看不清报纸",
            building_id=pid(demo.building),
        )
        wish = await rw.act_on_wish(s, pid(wish), WishAction.PUBLISH, 1, actors.admin)
    assert wish.id is not None
    committed.wishes.add(wish.id)
    claimants = [actors.party_member, actors.cadre, actors.head, actors.party_member]

    async def claim(person: int) -> Any:
        async with committed.session() as s, s.begin():
            return await rw.act_on_wish(s, pid(wish), WishAction.CLAIM, wish.version, person)

    results = await asyncio.gather(*(outcome(claim(p)) for p in claimants))
    winners = [r for r in results if not isinstance(r, enum.Enum)]
    assert len(winners) == 1
    assert [str(r) for r in results if isinstance(r, enum.Enum)] == ["ALREADY_CLAIMED"] * 3
    async with committed.session() as s:
        claimant = await s.scalar(
            sa.text("SELECT claimant_id FROM micro_wish WHERE id = :id"), {"id": wish.id}
        )
        claims = await s.scalar(
            sa.text(
                "SELECT count(*) FROM micro_wish_event WHERE wish_id = :id AND action = 'CLAIM'"
            ),
            {"id": wish.id},
        )
    assert (claimant, claims) == (winners[0].claimant_id, 1)
