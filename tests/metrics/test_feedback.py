"""The building's feedback report (楼栋说事室): what was raised in the period and what came of
it, with nobody's personal data."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.people import Role
from models.petitions import PetitionStatus, RatingValue
from permissions.actor import Actor, ActorKind, Grant
from resolvers import metrics as rm
from resolvers.loaders import Loaders
from seeds.demo import DemoCity
from tests.metrics.conftest import loaders_of
from tests.metrics.story import SINCE, UNTIL, Story
from tests.petitions.helpers import pid, refuses


async def report_of(loaders: Loaders, demo: DemoCity) -> rm.FeedbackReport:
    return await rm.feedback_report(
        loaders, building_id=pid(demo.building), since=SINCE, until=UNTIL
    )


async def test_received_resolved_pending_and_outcomes(
    loaders: Loaders, story: Story, demo: DemoCity
) -> None:
    report = await report_of(loaders, demo)
    assert (report.building_id, report.building_name) == (pid(demo.building), demo.building.name)
    # A-F were submitted in March (G in February; H I J elsewhere). Resolved: A C D (B's
    # resolution was cleared by its reopening). Pending: B (REOPENED), F (ASSIGNED).
    assert (report.received, report.resolved, report.pending) == (6, 3, 2)
    items = {i.title[0]: i for i in report.items}
    assert list(items) == ["A", "B", "C", "D", "E", "F"], "in submission order"
    assert [i.petition_id for i in report.items] == [story.id(n) for n in "ABCDEF"]
    c = items["C"]  # anonymous: listed like any other
    assert (c.status, c.rating, c.resolution_note) == (
        PetitionStatus.CLOSED,
        RatingValue.SATISFIED,
        "再次清理并张贴告示",
    )
    assert (c.submitted_on, c.resolved_on) == (date(2021, 3, 10), date(2021, 3, 22))
    assert c.category_name == "楼道堵塞"
    b = items["B"]
    assert (b.status, b.rating, b.resolved_on, b.resolution_note) == (
        PetitionStatus.REOPENED,
        RatingValue.UNSATISFIED,
        None,
        None,
    )
    e = items["E"]  # submitted 19th 20:00 UTC: the 20th in Zunyi
    assert (e.status, e.submitted_on, e.rating, e.category_name) == (
        PetitionStatus.REJECTED,
        date(2021, 3, 20),
        None,
        "环境卫生",
    )
    assert items["D"].rating == RatingValue.BASICALLY_SATISFIED
    assert items["F"].status == PetitionStatus.ASSIGNED


async def test_no_personal_data(loaders: Loaders, story: Story, demo: DemoCity) -> None:
    report = await report_of(loaders, demo)
    serialized = json.dumps(dataclasses.asdict(report), default=str, ensure_ascii=False)
    assert story.people, "reporters, the recorder and handlers"
    for person in story.people:
        assert person.name not in serialized, person.name
        if person.phone:
            assert person.phone not in serialized
            assert person.phone[-4:] not in serialized
    assert "评价留言" not in serialized, "rating comments are the rater's words"
    fields = {f.name for f in dataclasses.fields(rm.FeedbackItem)} | {
        f.name for f in dataclasses.fields(rm.FeedbackReport)
    }
    for word in ("reporter", "recorded", "assignee", "actor", "anonymous", "phone", "name"):
        assert not any(word in f and f not in {"building_name", "category_name"} for f in fields)


async def test_empty_period_scope_and_refusals(
    session: AsyncSession, loaders: Loaders, story: Story, demo: DemoCity
) -> None:
    empty = await rm.feedback_report(
        loaders,
        building_id=pid(demo.building),
        since=datetime(2019, 1, 1, tzinfo=UTC),
        until=datetime(2019, 2, 1, tzinfo=UTC),
    )
    assert (empty.received, empty.resolved, empty.pending, empty.items) == (0, 0, 0, ())
    assert empty.building_name == demo.building.name

    grid1_path = story.places.grid1.path
    assert grid1_path is not None
    worker = Actor(
        kind=ActorKind.PERSON,
        person_id=story.actors.grid_worker,
        grants=(Grant(Role.GRID_WORKER, grid1_path),),
    )
    mine = await report_of(loaders_of(session, worker), demo)
    assert mine.received == 6
    await refuses(
        "NOT_FOUND",
        rm.feedback_report(
            loaders_of(session, worker),
            building_id=pid(story.places.lingxi_building),
            since=SINCE,
            until=UNTIL,
        ),
        "building_id",
    )
    await refuses(
        "NOT_FOUND",
        rm.feedback_report(loaders, building_id=10**12, since=SINCE, until=UNTIL),
    )
    await refuses(
        "VALIDATION",
        rm.feedback_report(loaders, building_id=pid(demo.building), since=UNTIL, until=SINCE),
    )
