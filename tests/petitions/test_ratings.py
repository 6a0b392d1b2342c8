"""一事一评: ratings by the resident, what they do to the petition, and the points they earn
the building head in the append-only ledger."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.incentives import PointsKind
from models.petitions import Channel, Petition, PetitionStatus, RatingValue
from permissions.actor import Actor
from permissions.petitions import petition_parties
from permissions.rules import Party
from resolvers import petitions as rp
from resolvers.incentives import points_balance
from seeds.demo import DemoCity
from tests.conftest import scalar
from tests.petitions.helpers import Action, Actors, events, pid, refuses, submit

SAT, BASIC, UNSAT = RatingValue.SATISFIED, RatingValue.BASICALLY_SATISFIED, RatingValue.UNSATISFIED


async def resolved(
    session: AsyncSession,
    demo: DemoCity,
    handler: int,
    *,
    code: str = "CORRIDOR_CLUTTER",
    resolve: Action = Action.RESOLVE,
    **fields: Any,
) -> Petition:
    petition = await submit(session, demo, code=code, **fields)
    for action, args in (
        (Action.ACCEPT, {}),
        (Action.ASSIGN, {"assignee_id": handler}),
        (Action.ACKNOWLEDGE, {}),
        (Action.START, {}),
        (resolve, {"note": "处理完毕"}),
    ):
        petition = await rp.transition(
            session, pid(petition), action, petition.version, handler, **args
        )
    return petition


async def rate(
    session: AsyncSession, petition: Petition, rater: int, rating: RatingValue
) -> rp.RatingOutcome:
    return await rp.rate_petition(
        session, petition_id=pid(petition), rater_person_id=rater, rating=rating, comment="谢谢"
    )


async def test_satisfied_at_building_level_credits_the_building_head(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    before = await points_balance(session, actors.head)
    petition = await resolved(session, demo, actors.grid_worker)
    outcome = await rate(session, petition, actors.resident, SAT)
    assert outcome.petition.status == PetitionStatus.CLOSED
    assert outcome.petition.closed_at is not None
    assert (outcome.rating.rating, outcome.rating.round, outcome.rating.comment) == (SAT, 0, "谢谢")
    points = outcome.points
    assert points is not None
    assert (points.person_id, points.kind, points.points) == (
        actors.head,
        PointsKind.EARNED,
        rp.SATISFIED_POINTS,
    )
    assert (points.source_type, points.source_id) == ("PETITION", pid(petition))
    assert await points_balance(session, actors.head) == before + rp.SATISFIED_POINTS
    last = (await events(session, pid(petition)))[-1]
    assert (last.action, last.actor_person_id, last.by_reporter) == (
        Action.CLOSE,
        actors.resident,
        True,
    )
    await refuses("ALREADY_RATED", rate(session, petition, actors.resident, SAT))


@pytest.mark.parametrize(
    ("rating", "code", "resolve"),
    [
        (BASIC, "CORRIDOR_CLUTTER", Action.RESOLVE),  # not 满意
        (SAT, "PARKING", Action.RESOLVE),  # handled by the grid
        (SAT, "CORRIDOR_CLUTTER", Action.DECLARE_NOT_RESOLVABLE),  # not resolved
    ],
)
async def test_no_points_unless_satisfied_with_a_building_level_resolution(
    session: AsyncSession,
    demo: DemoCity,
    actors: Actors,
    rating: RatingValue,
    code: str,
    resolve: Action,
) -> None:
    petition = await resolved(session, demo, actors.grid_worker, code=code, resolve=resolve)
    outcome = await rate(session, petition, actors.resident, rating)
    assert outcome.petition.status == PetitionStatus.CLOSED
    assert outcome.points is None


async def test_no_points_for_your_own_case_or_a_case_you_handled(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    own = await resolved(session, demo, actors.grid_worker, reporter_id=actors.head)
    assert (await rate(session, own, actors.head, SAT)).points is None
    handled = await resolved(session, demo, actors.party_member, reporter_id=actors.party_member)
    assert actors.party_member in await rp.handlers_of(session, pid(handled))
    assert (await rate(session, handled, actors.party_member, SAT)).points is None
    count = await scalar(
        session,
        "SELECT count(*) FROM points_entry WHERE source_type = 'PETITION'"
        " AND source_id IN (:a, :b)",
        a=pid(own),
        b=pid(handled),
    )
    assert count == 0


async def test_unsatisfied_reopens_and_the_next_resolution_is_rated_again(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    petition = await resolved(session, demo, actors.grid_worker)
    outcome = await rate(session, petition, actors.resident, UNSAT)
    assert outcome.points is None
    reopened = outcome.petition
    assert (reopened.status, reopened.reopen_count) == (PetitionStatus.REOPENED, 1)
    await refuses("ALREADY_RATED", rate(session, reopened, actors.resident, SAT))
    again = await rp.transition(
        session, pid(reopened), Action.START, reopened.version, actors.grid_worker
    )
    await refuses("INVALID_TRANSITION", rate(session, again, actors.resident, SAT))
    again = await rp.transition(
        session, pid(again), Action.RESOLVE, again.version, actors.grid_worker, note="彻底清理"
    )
    final = await rate(session, again, actors.resident, SAT)
    assert final.petition.status == PetitionStatus.CLOSED
    assert final.rating.round == 1
    assert final.points is not None
    ratings = await scalar(
        session, "SELECT count(*) FROM petition_rating WHERE petition_id = :id", id=pid(petition)
    )
    assert ratings == 2


async def test_only_the_reporter_rates_and_only_when_resolved(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    """Who rates is the permission layer's (the resident is the REPORTER party); the state is
    the resolver's."""
    petition = await resolved(session, demo, actors.grid_worker)

    def rates(person: int, row: Petition) -> bool:
        return Party.REPORTER in petition_parties(Actor(kind="PERSON", person_id=person), row)

    assert rates(actors.resident, petition)
    for someone in (actors.head, actors.admin, actors.renter):
        assert not rates(someone, petition)
    open_one = await submit(session, demo)
    await refuses("INVALID_TRANSITION", rate(session, open_one, actors.resident, SAT))
    unsigned = await submit(
        session,
        demo,
        channel=Channel.SUGGESTION_BOX,
        reporter_id=None,
        recorded_by_id=actors.head,
    )
    assert not rates(actors.head, unsigned)


async def test_anonymous_rating_keeps_the_reporter_hidden(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    petition = await resolved(session, demo, actors.grid_worker, anonymous=True)
    outcome = await rate(session, petition, actors.resident, SAT)
    assert outcome.points is not None
    last = (await events(session, pid(petition)))[-1]
    assert (last.action, last.actor_person_id, last.by_reporter) == (Action.CLOSE, None, True)


async def test_unrated_resolutions_close_after_the_configured_days(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    petition = await resolved(session, demo, actors.grid_worker)
    resolved_at = petition.status_changed_at
    assert await rp.close_unrated(session, resolved_at + timedelta(days=2), days=3) == []
    closed = await rp.close_unrated(session, resolved_at + timedelta(days=3, seconds=1), days=3)
    assert pid(petition) in closed
    await session.refresh(petition)
    assert petition.status == PetitionStatus.CLOSED_UNRATED
    last = (await events(session, pid(petition)))[-1]
    assert (last.action, last.actor_person_id) == (Action.CLOSE_UNRATED, None)
    await refuses("INVALID_TRANSITION", rate(session, petition, actors.resident, SAT))


async def test_the_ledger_is_append_only_and_credits_a_source_once(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    petition = await resolved(session, demo, actors.grid_worker)
    points = (await rate(session, petition, actors.resident, SAT)).points
    assert points is not None
    for statement in (
        "UPDATE points_entry SET points = 1000 WHERE id = :id",
        "DELETE FROM points_entry WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(sa.text(statement), {"id": points.id})
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await session.execute(
                sa.text(
                    "INSERT INTO points_entry (person_id, kind, points, source_type, source_id)"
                    " VALUES (:p, 'EARNED', 10, 'PETITION', :s)"
                ),
                {"p": actors.head, "s": pid(petition)},
            )
    assert (
        await scalar(session, "SELECT points FROM points_entry WHERE id = :id", id=points.id) == 10
    )


async def test_points_go_to_the_head_in_office_at_resolution(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    building = demo.building_with_history
    heads = await session.execute(
        sa.text(
            "SELECT person_id, started_at, ended_at FROM position"
            " WHERE building_id = :b AND role = 'BUILDING_HEAD' ORDER BY started_at"
        ),
        {"b": building.id},
    )
    (earlier, _, ended), (current, started, _) = list(heads)
    assert await rp.building_head_at(session, pid(building), ended - timedelta(days=1)) == earlier
    assert await rp.building_head_at(session, pid(building), started) == current
    assert await rp.building_head_at(session, pid(building), utcnow()) == current
