"""The closed loop through transitionPetition and ratePetition, as the building head's
mini-program and the resident's 一事一评 send them: versions, notes, permissions per actor,
escalation, ratings and the points they earn."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.petitions_api.helpers import (
    errors,
    gid,
    moved,
    node,
    petition_input,
    rate,
    submitted,
    transition,
)

#: What the owner's handlers may do at each status of the happy path (transition table
#: intersected with the handler actions of permissions.petitions).
HANDLER_ACTIONS = {
    "SUBMITTED": ["ACCEPT", "ESCALATE", "MARK_DUPLICATE", "REJECT"],
    "ACCEPTED": ["ASSIGN", "ESCALATE", "MARK_DUPLICATE"],
    "ASSIGNED": ["ACKNOWLEDGE", "ASSIGN", "ESCALATE", "RETURN"],
    "ACKNOWLEDGED": ["ESCALATE", "RETURN", "START"],
    "IN_PROGRESS": ["DECLARE_NOT_RESOLVABLE", "ESCALATE", "RESOLVE", "RETURN"],
    "RESOLVED": [],  # closing and reopening go through the resident's rating only
    "CLOSED": [],
}

ALLOWED = """query($id: ID!) { node(id: $id) { ... on Petition { status allowedActions } } }"""
POINTS = "{ myPoints { balance entries { kind points sourceType sourceId note } } }"


async def allowed(client: GraphQLClient, petition_id: str) -> list[str] | None:
    """The actions `client` is offered, or None when it cannot see the petition at all."""
    found = (await client(ALLOWED, {"id": petition_id}))["node"]
    return None if found is None else list(found["allowedActions"])


async def a_petition(
    client: GraphQLClient, session: AsyncSession, demo: DemoCity, **fields: Any
) -> dict[str, Any]:
    """The resident's petition about corridor clutter: owned by the demo building."""
    petition = await submitted(client, await petition_input(session, demo, **fields))
    assert petition["ownerLevel"] == "BUILDING"
    return petition


async def test_the_building_head_closes_the_loop_and_earns_points(
    resident: GraphQLClient,
    head: GraphQLClient,
    worker: GraphQLClient,
    community_admin: GraphQLClient,
    outsider_admin: GraphQLClient,
    gql: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    head_id = gid("Person", demo.building_head.id)
    resident_id = gid("Person", demo.resident_alone.id)
    before = (await head(POINTS))["myPoints"]  # the demo's volunteer hours earned some
    reporter_before = (await resident(POINTS))["myPoints"]["balance"]
    assert all(e["sourceType"] != "PETITION" for e in before["entries"])
    petition = await a_petition(resident, session, demo)
    pid = petition["id"]

    async def offered(status: str) -> None:
        """allowedActions per actor, as the permission layer decides them."""
        expected = HANDLER_ACTIONS[status]
        assert await allowed(head, pid) == expected, ("building head", status)
        assert await allowed(worker, pid) == expected, ("grid worker", status)
        assert await allowed(community_admin, pid) == expected, ("community admin", status)
        assert await allowed(gql, pid) == expected, ("city admin", status)
        assert await allowed(resident, pid) == [], ("resident", status)
        assert await allowed(outsider_admin, pid) is None, "another community's admin"

    await offered("SUBMITTED")
    steps: list[tuple[str, dict[str, Any], str]] = [
        ("ACCEPT", {}, "ACCEPTED"),
        ("ASSIGN", {"assigneeId": head_id}, "ASSIGNED"),
        ("ACKNOWLEDGE", {"note": "已电话联系王奶奶，约好下午上门"}, "ACKNOWLEDGED"),
        ("START", {}, "IN_PROGRESS"),
        ("RESOLVE", {"note": "已组织住户清理楼道纸箱"}, "RESOLVED"),
    ]
    for action, extra, status in steps:
        petition = await moved(head, petition, action, **extra)
        assert petition["status"] == status
        await offered(status)
    assert petition["version"] == 6
    assert petition["assignee"] == {"id": head_id}
    assert petition["resolutionNote"] == "已组织住户清理楼道纸箱"
    for stamp in ("acceptedAt", "assignedAt", "firstContactAt", "resolvedAt"):
        assert petition[stamp] is not None, stamp
    assert petition["closedAt"] is None

    rated = await rate(resident, petition, "SATISFIED", "处理及时，谢谢！")
    assert rated["errors"] == []
    assert rated["pointsCredited"] > 0
    closed = rated["petition"]
    assert (closed["status"], closed["version"]) == ("CLOSED", 7)
    assert closed["closedAt"] is not None
    assert closed["ratings"] == [
        {
            "rating": "SATISFIED",
            "comment": "处理及时，谢谢！",
            "round": 0,
            "resolvedLevel": "BUILDING",
        }
    ]
    await offered("CLOSED")

    points = (await head(POINTS))["myPoints"]
    assert points["balance"] == before["balance"] + rated["pointsCredited"]
    [entry] = [e for e in points["entries"] if e not in before["entries"]]
    assert (entry["kind"], entry["points"], entry["sourceType"]) == (
        "EARNED",
        rated["pointsCredited"],
        "PETITION",
    )
    assert (await resident(POINTS))["myPoints"]["balance"] == reporter_before, "raters earn none"

    found = await node(head, pid)
    assert found is not None
    timeline = [
        (
            e["action"],
            e["fromStatus"],
            e["toStatus"],
            e["version"],
            (e["actor"] or {}).get("id"),
            e["byReporter"],
            e["note"],
        )
        for e in found["timeline"]
    ]
    assert timeline == [
        ("SUBMIT", None, "SUBMITTED", 1, resident_id, True, None),
        ("ACCEPT", "SUBMITTED", "ACCEPTED", 2, head_id, False, None),
        ("ASSIGN", "ACCEPTED", "ASSIGNED", 3, head_id, False, None),
        (
            "ACKNOWLEDGE",
            "ASSIGNED",
            "ACKNOWLEDGED",
            4,
            head_id,
            False,
            "已电话联系王奶奶，约好下午上门",
        ),
        ("START", "ACKNOWLEDGED", "IN_PROGRESS", 5, head_id, False, None),
        ("RESOLVE", "IN_PROGRESS", "RESOLVED", 6, head_id, False, "已组织住户清理楼道纸箱"),
        ("CLOSE", "RESOLVED", "CLOSED", 7, resident_id, True, "rated SATISFIED: 处理及时，谢谢！"),
    ]
    assert [e["assignee"] for e in found["timeline"]] == [
        None,
        None,
        {"id": head_id},
        None,
        None,
        None,
        None,
    ]
    # the resident follows her case step by step in the mini-program
    mine = await node(resident, pid)
    assert mine is not None
    assert [e["action"] for e in mine["timeline"]] == [t[0] for t in timeline]


async def test_another_communitys_admin_cannot_see_or_touch_it(
    resident: GraphQLClient, outsider_admin: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    petition = await a_petition(resident, session, demo)
    assert await node(outsider_admin, petition["id"]) is None
    listed = await outsider_admin("{ petitions { totalCount } }")
    assert listed["petitions"]["totalCount"] == 0
    payload = await transition(outsider_admin, petition, "ACCEPT")
    assert errors(payload) == [("NOT_FOUND", "id")]


async def test_required_notes(
    resident: GraphQLClient, head: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    petition = await a_petition(resident, session, demo)
    for note in (None, "   "):
        payload = await transition(head, petition, "REJECT", note=note)
        assert errors(payload) == [("VALIDATION", "note")], note
        assert payload["petition"] is None
    payload = await transition(head, petition, "ESCALATE")
    assert errors(payload) == [("VALIDATION", "note")]
    payload = await transition(head, await moved(head, petition, "ACCEPT"), "ASSIGN")
    assert errors(payload) == [("VALIDATION", "assigneeId")]

    rejected = await a_petition(resident, session, demo)
    rejected = await moved(head, rejected, "REJECT", note="属于物业合同纠纷，已告知居民找物业")
    assert rejected["status"] == "REJECTED"
    assert rejected["rejectionReason"] == "属于物业合同纠纷，已告知居民找物业"
    assert rejected["closedAt"] is not None


async def test_illegal_transitions_and_stale_versions(
    resident: GraphQLClient, head: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    petition = await a_petition(resident, session, demo)
    for action in ("START", "RESOLVE", "ACKNOWLEDGE"):
        payload = await transition(head, petition, action, note="办结")
        assert errors(payload) == [("INVALID_TRANSITION", "action")], action

    accepted = await moved(head, petition, "ACCEPT")
    stale = await transition(head, petition, "ESCALATE", note="需要网格协调")  # saw version 1
    assert errors(stale) == [("VERSION_CONFLICT", "expectedVersion")]
    ahead = await transition(
        head, {**accepted, "version": 9}, "ASSIGN", assigneeId=gid("Person", demo.building_head.id)
    )
    assert errors(ahead) == [("VERSION_CONFLICT", "expectedVersion")]
    found = await node(head, petition["id"])
    assert found is not None
    assert (found["status"], found["version"]) == ("ACCEPTED", 2), "nothing changed"

    # closing is the resident's rating, never a handler's transition
    for action in ("CLOSE", "REOPEN", "CLOSE_UNRATED", "SUBMIT"):
        payload = await transition(head, accepted, action)
        assert errors(payload) == [("FORBIDDEN", None)], action


async def test_escalation_hands_the_petition_to_the_grid(
    resident: GraphQLClient,
    head: GraphQLClient,
    worker: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    petition = await a_petition(resident, session, demo)
    escalated = await moved(head, petition, "ESCALATE", note="涉及多栋楼，需要网格协调")
    grid = gid("OrgUnit", demo.building.grid_id)
    assert escalated["status"] == "ESCALATED"
    assert (escalated["ownerLevel"], escalated["owner"]) == ("GRID", {"id": grid})
    assert escalated["escalationCount"] == 1
    assert datetime.fromisoformat(escalated["dueAt"]) > datetime.fromisoformat(petition["dueAt"])

    # the building no longer owns it: the head is offered nothing and refused
    assert await allowed(head, petition["id"]) == []
    for action, extra in (
        ("ACCEPT", {}),
        ("ASSIGN", {"assigneeId": gid("Person", demo.building_head.id)}),
        ("ESCALATE", {"note": "再上报"}),
    ):
        payload = await transition(head, escalated, action, **extra)
        assert errors(payload) == [("FORBIDDEN", None)], action

    # the grid worker handles it now. (An ESCALATED petition is taken on by ASSIGN: the
    # transition table has no ACCEPT from ESCALATED, so ACCEPT is a legal-permission but
    # illegal-transition request for her.)
    assert await allowed(worker, petition["id"]) == [
        "ASSIGN",
        "ESCALATE",
        "MARK_DUPLICATE",
        "REJECT",
    ]
    payload = await transition(worker, escalated, "ACCEPT")
    assert errors(payload) == [("INVALID_TRANSITION", "action")]
    assigned = await moved(
        worker, escalated, "ASSIGN", assigneeId=gid("Person", demo.grid_worker.id)
    )
    assert assigned["status"] == "ASSIGNED"
    assert assigned["ownerLevel"] == "GRID"

    found = await node(worker, petition["id"])
    assert found is not None
    step = found["timeline"][1]
    assert (step["action"], step["fromLevel"], step["toLevel"], step["note"]) == (
        "ESCALATE",
        "BUILDING",
        "GRID",
        "涉及多栋楼，需要网格协调",
    )
    assert step["actor"]["id"] == gid("Person", demo.building_head.id)


async def test_the_assignee_may_take_the_hands_on_steps(
    resident: GraphQLClient,
    head: GraphQLClient,
    as_account: Any,
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    """A seconded cadre serving the building is no handler: he does not even see its cases
    until one is assigned to him, then carries out what he is assigned (acknowledge, start,
    resolve, return, escalate) and nothing else."""
    cadre = as_account("seconded-cadre")
    petition = await a_petition(resident, session, demo)
    assert await allowed(cadre, petition["id"]) is None
    assigned = await moved(
        head,
        await moved(head, petition, "ACCEPT"),
        "ASSIGN",
        assigneeId=gid("Person", demo.seconded_cadre.id),
    )
    assert await allowed(cadre, petition["id"]) == ["ACKNOWLEDGE", "ESCALATE", "RETURN"]
    payload = await transition(
        cadre, assigned, "ASSIGN", assigneeId=gid("Person", demo.building_head.id)
    )
    assert errors(payload) == [("FORBIDDEN", None)]
    acknowledged = await moved(cadre, assigned, "ACKNOWLEDGE")
    started = await moved(cadre, acknowledged, "START")
    resolved = await moved(cadre, started, "RESOLVE", note="已联系物业清运")
    assert resolved["status"] == "RESOLVED"
    assert await allowed(cadre, petition["id"]) == []


async def test_an_unsatisfied_rating_reopens_and_only_the_reporter_rates(
    resident: GraphQLClient,
    renter: GraphQLClient,
    head: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    base = (await head(POINTS))["myPoints"]["balance"]
    petition = await a_petition(resident, session, demo)
    too_early = await rate(resident, petition, "SATISFIED")
    assert errors(too_early) == [("INVALID_TRANSITION", "id")]
    for action, extra in (
        ("ACCEPT", {}),
        ("ASSIGN", {"assigneeId": gid("Person", demo.building_head.id)}),
        ("ACKNOWLEDGE", {}),
        ("START", {}),
        ("RESOLVE", {"note": "已清理"}),
    ):
        petition = await moved(head, petition, action, **extra)

    # the head sees the case but is not its resident; the renter does not even see it
    by_head = await rate(head, petition, "SATISFIED")
    assert errors(by_head) == [("FORBIDDEN", None)]
    by_neighbour = await rate(renter, petition, "SATISFIED")
    assert errors(by_neighbour) == [("NOT_FOUND", "id")]

    rated = await rate(resident, petition, "UNSATISFIED", "纸箱又堆回来了")
    assert rated["errors"] == []
    assert rated["pointsCredited"] == 0
    reopened = rated["petition"]
    assert (reopened["status"], reopened["reopenCount"]) == ("REOPENED", 1)
    assert reopened["resolvedAt"] is None
    assert reopened["resolutionNote"] is None
    assert await allowed(head, petition["id"]) == ["ASSIGN", "ESCALATE", "START"]
    again = await rate(resident, reopened, "SATISFIED")
    assert errors(again) == [("ALREADY_RATED", "id")]
    assert (await head(POINTS))["myPoints"]["balance"] == base

    # round two: resolved again, rated satisfied, the head earns his points once
    petition = await moved(head, reopened, "START")
    petition = await moved(head, petition, "RESOLVE", note="已彻底清理并张贴告示")
    rated = await rate(resident, petition, "SATISFIED")
    assert rated["errors"] == []
    assert rated["petition"]["status"] == "CLOSED"
    assert [r["rating"] for r in rated["petition"]["ratings"]] == ["UNSATISFIED", "SATISFIED"]
    assert (await head(POINTS))["myPoints"]["balance"] == base + rated["pointsCredited"] > base
    twice = await rate(resident, rated["petition"], "SATISFIED")
    assert errors(twice) == [("ALREADY_RATED", "id")]


@pytest.mark.parametrize("rating", ["BASICALLY_SATISFIED", "SATISFIED"])
async def test_points_only_for_satisfied_at_building_level(
    resident: GraphQLClient,
    head: GraphQLClient,
    worker: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
    rating: str,
) -> None:
    """Resolved at grid level (after an escalation) or rated basically satisfied: no points."""
    base = (await head(POINTS))["myPoints"]["balance"]
    petition = await a_petition(resident, session, demo)
    petition = await moved(head, petition, "ESCALATE", note="需要网格协调")
    for action, extra in (
        ("ASSIGN", {"assigneeId": gid("Person", demo.grid_worker.id)}),
        ("ACKNOWLEDGE", {}),
        ("START", {}),
        ("RESOLVE", {"note": "已协调清理"}),
    ):
        petition = await moved(worker, petition, action, **extra)
    rated = await rate(resident, petition, rating)
    assert rated["errors"] == []
    assert rated["petition"]["status"] == "CLOSED"
    assert rated["pointsCredited"] == 0
    assert rated["petition"]["ratings"][0]["resolvedLevel"] == "GRID"
    assert (await head(POINTS))["myPoints"]["balance"] == base
