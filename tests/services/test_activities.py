"""Volunteer activities through GraphQL (sign-up, capacity, check-in, hours), and the
volunteer-hours ledger: append-only, its totals always the sum of its lines, also under
concurrent check-ins and capacity races on real connections."""

from __future__ import annotations

import asyncio
import enum
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.people import Gender, Person
from models.services import ActivityKind
from resolvers import services as rs
from resolvers.errors import DomainError
from resolvers.incentives import POINTS_PER_HOUR
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.permissions.support import gid
from tests.services.conftest import Committed
from tests.services.helpers import codes, run

ACTIVITY = """id title status version capacity signedUp checkedIn placesLeft hours
  allowedActions mySignup { signedUpAt checkedInAt }"""
POINTS = "{ myPoints { balance entries { points sourceType sourceId } } }"
HOURS = """{ myVolunteerHours { totalHours activities services goodDeeds
  entries(first: 100) { nodes { kind hours sourceType } } } }"""


async def create(
    client: GraphQLClient,
    demo: DemoCity,
    *,
    capacity: int = 3,
    starts_in: timedelta = timedelta(hours=1),
) -> dict[str, Any]:
    starts = utcnow() + starts_in
    payload = await run(
        client,
        "createVolunteerActivity",
        {
            "title": "邻里互助茶话会",
            "kind": "NEIGHBOURHOOD",
            "place": "仁和苑红城驿站活动室",
            "startsAt": starts.isoformat(),
            "endsAt": (starts + timedelta(hours=2)).isoformat(),
            "capacity": capacity,
            "teamId": gid("ServiceTeam", demo.services.running_team.id),
        },
        f"activity {{ {ACTIVITY} }}",
    )
    assert payload["errors"] == [], payload
    found: dict[str, Any] = payload["activity"]
    return found


async def test_sign_up_check_in_and_hours(
    head: GraphQLClient, renter: GraphQLClient, resident: GraphQLClient, demo: DemoCity
) -> None:
    """The team leader publishes; the renter and the widow sign up; the leader checks both
    in and each is credited the activity's two hours; the totals are the ledger's sum."""
    activity = await create(head, demo)
    assert activity["hours"] == 2.0
    assert activity["allowedActions"] == ["CANCEL", "FINISH"]
    before = (await renter(HOURS))["myVolunteerHours"]
    points_before = (await renter(POINTS))["myPoints"]
    for client in (renter, resident):
        signed = await run(
            client, "signUpForActivity", {"activityId": activity["id"]}, "signup { signedUpAt }"
        )
        assert signed["errors"] == []
    twice = await run(
        renter, "signUpForActivity", {"activityId": activity["id"]}, "signup { signedUpAt }"
    )
    assert codes(twice) == ["ALREADY_SIGNED_UP"]
    assert (
        await run(
            renter,
            "actOnVolunteerActivity",
            {"id": activity["id"], "action": "FINISH", "expectedVersion": 1},
            "activity { id }",
        )
    )["errors"][0]["code"] == "FORBIDDEN"

    for person in (demo.renter, demo.resident_alone):
        checked = await run(
            head,
            "checkInToActivity",
            {"activityId": activity["id"], "personId": gid("Person", person.id)},
            "signup { checkedInAt }",
        )
        assert checked["errors"] == []
        assert checked["signup"]["checkedInAt"]
    again = await run(
        head,
        "checkInToActivity",
        {"activityId": activity["id"], "personId": gid("Person", demo.renter.id)},
        "signup { checkedInAt }",
    )
    assert codes(again) == ["ALREADY_CHECKED_IN"]

    after = (await renter(HOURS))["myVolunteerHours"]
    assert after["activities"] == before["activities"] + 1
    points = (await renter(POINTS))["myPoints"]
    assert points["balance"] == points_before["balance"] + 2 * POINTS_PER_HOUR, "hours earn"
    earned = [e for e in points["entries"] if e not in points_before["entries"]]
    assert [(e["points"], e["sourceType"]) for e in earned] == [
        (2 * POINTS_PER_HOUR, "VOLUNTEER_HOURS")
    ]
    assert after["totalHours"] == pytest.approx(before["totalHours"] + 2.0)
    assert after["totalHours"] == pytest.approx(sum(e["hours"] for e in after["entries"]["nodes"]))
    state = await head(
        f"query($id: ID!) {{ node(id: $id) {{ ... on VolunteerActivity {{ {ACTIVITY} }} }} }}",
        {"id": activity["id"]},
    )
    assert (state["node"]["signedUp"], state["node"]["checkedIn"], state["node"]["placesLeft"]) == (
        2,
        2,
        1,
    )
    mine = await renter(
        f"query($id: ID!) {{ node(id: $id) {{ ... on VolunteerActivity {{ {ACTIVITY} }} }} }}",
        {"id": activity["id"]},
    )
    assert mine["node"]["mySignup"]["checkedInAt"]
    assert mine["node"]["allowedActions"] == []


async def test_a_full_activity_refuses_the_next_and_a_cancelled_place_frees_one(
    head: GraphQLClient, renter: GraphQLClient, resident: GraphQLClient, worker: GraphQLClient,
    demo: DemoCity,
) -> None:  # fmt: skip
    activity = await create(head, demo, capacity=1)
    take = {"activityId": activity["id"]}
    assert (await run(renter, "signUpForActivity", take, "signup { signedUpAt }"))["errors"] == []
    full = await run(resident, "signUpForActivity", take, "signup { signedUpAt }")
    assert codes(full) == ["ACTIVITY_FULL"]
    walk_in = await run(
        head,
        "checkInToActivity",
        {**take, "personId": gid("Person", demo.resident_alone.id)},
        "signup { checkedInAt }",
    )
    assert codes(walk_in) == ["ACTIVITY_FULL"], "a walk-in needs a free place too"
    freed = await run(renter, "cancelActivitySignup", take, "signup { cancelledAt }")
    assert freed["errors"] == []
    assert freed["signup"]["cancelledAt"]
    assert (await run(resident, "signUpForActivity", take, "signup { signedUpAt }"))["errors"] == []


async def test_finishing_closes_check_ins_and_cancelling_needs_a_reason(
    head: GraphQLClient, renter: GraphQLClient, demo: DemoCity
) -> None:
    activity = await create(head, demo)
    await run(renter, "signUpForActivity", {"activityId": activity["id"]}, "signup { signedUpAt }")
    act = {"id": activity["id"], "expectedVersion": 1}
    no_reason = await run(
        head, "actOnVolunteerActivity", {**act, "action": "CANCEL"}, "activity { status }"
    )
    assert codes(no_reason) == ["VALIDATION"]
    finished = await run(
        head, "actOnVolunteerActivity", {**act, "action": "FINISH"}, "activity { status version }"
    )
    assert finished["activity"] == {"status": "FINISHED", "version": 2}
    late = await run(
        head,
        "checkInToActivity",
        {"activityId": activity["id"], "personId": gid("Person", demo.renter.id)},
        "signup { checkedInAt }",
    )
    assert codes(late) == ["ACTIVITY_CLOSED"]


async def test_check_in_opens_two_hours_before_the_start(
    head: GraphQLClient, demo: DemoCity
) -> None:
    activity = await create(head, demo, starts_in=timedelta(days=2))
    early = await run(
        head,
        "checkInToActivity",
        {"activityId": activity["id"], "personId": gid("Person", demo.renter.id)},
        "signup { checkedInAt }",
    )
    assert codes(early) == ["ACTIVITY_CLOSED"]


async def test_only_organisers_check_people_in(
    renter: GraphQLClient, head: GraphQLClient, demo: DemoCity
) -> None:
    activity = await create(head, demo)
    refused = await run(
        renter,
        "checkInToActivity",
        {"activityId": activity["id"], "personId": gid("Person", demo.renter.id)},
        "signup { checkedInAt }",
    )
    assert codes(refused) == ["FORBIDDEN"], "nobody credits their own hours"
    himself = await run(
        head,
        "checkInToActivity",
        {"activityId": activity["id"], "personId": gid("Person", demo.building_head.id)},
        "signup { checkedInAt }",
    )
    assert codes(himself) == ["FORBIDDEN"], "not even the organiser"


async def test_services_and_good_deeds_are_recorded_and_corrected_by_new_lines(
    cadre: GraphQLClient, gql: GraphQLClient, renter: GraphQLClient, demo: DemoCity,
    session: AsyncSession,
) -> None:  # fmt: skip
    """A cadre records their own 实事好事 at a building they serve; the city admin corrects
    it with a negative line; the ledger keeps every line, the total follows."""
    building = gid("Building", demo.building.id)
    recorded = await run(
        cadre,
        "recordVolunteerService",
        {"buildingId": building, "kind": "GOOD_DEED", "minutes": 90, "note": "修好单元门禁"},
        "entry { kind hours asCadre }",
    )
    assert recorded["entry"] == {"kind": "GOOD_DEED", "hours": 1.5, "asCadre": True}
    not_for_others = await run(
        renter,
        "recordVolunteerService",
        {"buildingId": building, "kind": "SERVICE", "minutes": 60, "note": "x",
         "personId": gid("Person", demo.renter.id)},
        "entry { kind }",
    )  # fmt: skip
    assert codes(not_for_others) == ["FORBIDDEN"], "a resident records no hours"
    cadre_id = demo.seconded_cadre.id
    total = await scalar(
        session, "SELECT minutes FROM volunteer_total WHERE person_id = :p", p=cadre_id
    )
    corrected = await run(
        gql,
        "correctVolunteerHours",
        {"personId": gid("Person", cadre_id), "minutes": -30, "note": "时长登记有误"},
        "entry { kind hours }",
    )
    assert corrected["entry"] == {"kind": "ADJUSTMENT", "hours": -0.5}
    too_much = await run(
        gql,
        "correctVolunteerHours",
        {"personId": gid("Person", cadre_id), "minutes": -100_00, "note": "x"},
        "entry { kind }",
    )
    assert codes(too_much) == ["VALIDATION"]
    assert (
        await scalar(
            session, "SELECT minutes FROM volunteer_total WHERE person_id = :p", p=cadre_id
        )
        == total - 30
    )
    assert await _sums_match(session)


async def _sums_match(session: AsyncSession) -> bool:
    """Every person's totals are the sums of their ledger lines."""
    wrong = await scalar(
        session,
        """SELECT count(*) FROM volunteer_total t FULL JOIN (
             SELECT person_id, sum(minutes) AS minutes, count(*) AS entries,
                    count(*) FILTER (WHERE kind = 'ACTIVITY') AS activities,
                    count(*) FILTER (WHERE kind = 'SERVICE') AS services,
                    count(*) FILTER (WHERE kind = 'GOOD_DEED') AS good_deeds
             FROM volunteer_hours GROUP BY person_id) s USING (person_id)
           WHERE (t.minutes, t.entries, t.activities, t.services, t.good_deeds)
                 IS DISTINCT FROM (s.minutes, s.entries, s.activities, s.services, s.good_deeds)""",
    )
    return bool(wrong == 0)


async def test_the_ledger_refuses_edits(session: AsyncSession, demo: DemoCity) -> None:
    line = await scalar(session, "SELECT min(id) FROM volunteer_hours")
    for statement in (
        "UPDATE volunteer_hours SET minutes = 6000 WHERE id = :id",
        "DELETE FROM volunteer_hours WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(sa.text(statement), {"id": line})
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(sa.text("TRUNCATE volunteer_hours CASCADE"))
    assert await _sums_match(session)


# --- on real connections ----------------------------------------------------------------


async def _person(committed: Committed, demo: DemoCity, name: str) -> int:
    async with committed.session() as s, s.begin():
        person = Person(name=name, gender=Gender.FEMALE, household_id=demo.renter.household_id)
        s.add(person)
        await s.flush()
    assert person.id is not None
    committed.people.add(person.id)
    return person.id


async def _activity(committed: Committed, demo: DemoCity, capacity: int) -> int:
    now = utcnow()
    async with committed.session() as s, s.begin():
        found = await rs.create_activity(
            s,
            rs.ActivityDraft(
                title="并发测试", kind=ActivityKind.OTHER, place="驿站", starts_at=now,
                ends_at=now + timedelta(hours=1), capacity=capacity,
                team_id=demo.services.running_team.id, minutes=30,
            ),
            created_by_id=None,
        )  # fmt: skip
    assert found.id is not None
    committed.activities.add(found.id)
    return found.id


async def outcome(call: Any) -> Any:
    try:
        return await call
    except DomainError as error:
        return error.code


async def test_concurrent_sign_ups_never_overfill(committed: Committed, demo: DemoCity) -> None:
    """Twelve people race for five places: five get one, seven are told it is full."""
    activity = await _activity(committed, demo, capacity=5)
    people = [await _person(committed, demo, f"并发{i}") for i in range(12)]

    async def take(person: int) -> Any:
        async with committed.session() as s, s.begin():
            return await rs.sign_up(s, activity_id=activity, person_id=person)

    results = await asyncio.gather(*(outcome(take(p)) for p in people))
    refused = [r for r in results if isinstance(r, enum.Enum)]
    assert len(results) - len(refused) == 5
    assert set(refused) == {rs.ServiceCode.ACTIVITY_FULL}
    async with committed.session() as s:
        signed = await s.scalar(
            sa.text("SELECT signed_up FROM volunteer_activity WHERE id = :a"), {"a": activity}
        )
        rows = await s.scalar(
            sa.text(
                "SELECT count(*) FROM activity_signup"
                " WHERE activity_id = :a AND cancelled_at IS NULL"
            ),
            {"a": activity},
        )
    assert signed == rows == 5


async def test_concurrent_check_ins_keep_every_total_equal_to_its_lines(
    committed: Committed, demo: DemoCity
) -> None:
    """Six people, each checked in at four activities at once (and twice at one of them):
    every check-in credits exactly one line, and each total is the sum of its lines."""
    activities = [await _activity(committed, demo, capacity=50) for _ in range(4)]
    people = [await _person(committed, demo, f"并发签到{i}") for i in range(6)]

    async def check(activity: int, person: int) -> Any:
        async with committed.session() as s, s.begin():
            return await rs.check_in(
                s, activity_id=activity, person_id=person, checked_in_by_id=None
            )

    calls = [check(a, p) for a in activities for p in people]
    calls += [check(activities[0], p) for p in people]  # the same check-in twice, at once
    results = await asyncio.gather(*(outcome(c) for c in calls))
    refused = [r for r in results if isinstance(r, enum.Enum)]
    assert len(refused) == len(people)
    assert set(refused) <= {rs.ServiceCode.ALREADY_CHECKED_IN, rs.ServiceCode.ALREADY_SIGNED_UP}
    async with committed.session() as s:
        rows = (
            await s.execute(
                sa.text(
                    """SELECT t.person_id, t.minutes, t.activities, t.entries,
                              (SELECT sum(minutes) FROM volunteer_hours h
                                WHERE h.person_id = t.person_id)
                       FROM volunteer_total t WHERE t.person_id = ANY(:people)"""
                ),
                {"people": people},
            )
        ).all()
        checked = await s.scalar(
            sa.text("SELECT sum(checked_in) FROM volunteer_activity WHERE id = ANY(:a)"),
            {"a": activities},
        )
    assert len(rows) == len(people)
    for _, minutes, attended, entries, lines in rows:
        assert (minutes, attended, entries, lines) == (4 * 30, 4, 4, 4 * 30)
    assert checked == len(people) * len(activities)


async def test_a_persons_hours_are_theirs_and_their_admins(
    admin: GraphQLClient,
    renter: GraphQLClient,
    integrator: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    """The head's hours (a volunteer of 仁和苑, living there): his admin reads them, with
    totals equal to the lines; his neighbour and an integrator read nothing."""
    query = """query($id: ID!) { volunteerHours(personId: $id) { totalHours
        entries(first: 100) { totalCount nodes { hours } } } }"""
    head = {"id": gid("Person", demo.building_head.id)}
    found = (await admin(query, head))["volunteerHours"]
    lines = await scalar(
        session,
        "SELECT count(*) FROM volunteer_hours WHERE person_id = :p",
        p=demo.building_head.id,
    )
    assert found["entries"]["totalCount"] == lines > 0
    assert found["totalHours"] == pytest.approx(sum(n["hours"] for n in found["entries"]["nodes"]))
    assert (await renter(query, head))["volunteerHours"] is None
    assert (await integrator(query, head))["volunteerHours"] is None
