"""红色代办 through GraphQL: ordered by a resident (or for one), dispatched, accepted by a
member of the team, scheduled, done with evidence, rated once; who sees what on the way; the
queues; versions and idempotency; the scheduler's escalations and returns."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from permissions import services as rules
from resolvers import services as rs
from resolvers.errors import DomainError
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.permissions.support import gid
from tests.services.conftest import Committed
from tests.services.helpers import act, codes, key, order, run, seen

POINTS = "{ myPoints { balance entries { points sourceType sourceId } } }"
HOURS = "{ myVolunteerHours { totalHours services entries(first: 5) { nodes { kind hours } } } }"


def team_of(demo: DemoCity) -> str:
    return gid("ServiceTeam", demo.services.running_team.id)


async def test_the_closed_loop_of_an_order(
    resident: GraphQLClient,
    worker: GraphQLClient,
    renter: GraphQLClient,
    head: GraphQLClient,
    demo: DemoCity,
) -> None:
    """The widow orders 爱心代购; the grid worker dispatches it to the running team; the
    renter, a member, takes it on, does it with evidence and is credited the hours; she rates
    it SATISFIED and the building's head earns the points (一事一评)."""
    placed = await order(resident, demo.services.elderly_item.id, details="买两斤鸡蛋和降压药")
    assert placed["errors"] == []
    o = placed["order"]
    assert (o["status"], o["channel"], o["specialGroup"], o["ownerLevel"]) == (
        "SUBMITTED", "ONLINE", True, "COMMUNITY"
    )  # fmt: skip
    assert o["allowedActions"] == ["CANCEL"]
    assert o["contactName"] == "王秀英"
    assert o["address"]

    seen_by_worker = await seen(worker, o["id"])
    assert seen_by_worker is not None
    assert seen_by_worker["allowedActions"] == ["CANCEL", "DISPATCH", "ESCALATE", "REJECT"]
    assert await seen(renter, o["id"]) is None, "not the renter's business before dispatch"

    dispatched = await act(worker, seen_by_worker, "DISPATCH", teamId=team_of(demo))
    assert dispatched["errors"] == []
    o = dispatched["order"]
    assert (o["status"], o["team"]["id"]) == ("DISPATCHED", team_of(demo))

    # a member of the team sees the task, not yet who and where
    before = await seen(renter, o["id"])
    assert before is not None
    assert before["allowedActions"] == ["ACCEPT", "RETURN"]
    assert (before["contactName"], before["contactPhone"], before["address"]) == (None,) * 3
    assert before["details"] is None
    assert before["specialGroup"] is True, "whoever may see the order knows it goes first"

    accepted = await act(renter, before, "ACCEPT")
    assert accepted["errors"] == []
    o = accepted["order"]
    assert o["assignee"]["id"] == gid("Person", demo.renter.id)
    assert o["contactName"] == "王秀英"
    assert o["contactPhone"]
    assert o["address"]
    assert o["details"] == "买两斤鸡蛋和降压药"
    assert o["allowedActions"] == ["COMPLETE", "RETURN", "SCHEDULE"]

    at = (utcnow() + timedelta(days=1)).isoformat()
    scheduled = await act(renter, o, "SCHEDULE", scheduledFor=at)
    assert scheduled["errors"] == []
    no_evidence = await act(renter, scheduled["order"], "COMPLETE")
    assert codes(no_evidence) == ["VALIDATION"]
    assert no_evidence["errors"][0]["field"] == "evidence"
    done = await act(
        renter,
        scheduled["order"],
        "COMPLETE",
        note="已送到",
        evidence=["services/a.jpg"],
        minutes=45,
    )
    assert done["errors"] == []
    assert done["order"]["status"] == "DONE"
    hours = (await renter(HOURS))["myVolunteerHours"]
    assert hours["entries"]["nodes"][0] == {"kind": "SERVICE", "hours": 0.75}

    before_points = (await head(POINTS))["myPoints"]["balance"]
    rated = await resident(
        """mutation($id: ID!) { rateServiceOrder(input: { id: $id, rating: SATISFIED,
             comment: "很及时" }) { order { status allowedActions } pointsCredited
             errors { code } } }""",
        {"id": o["id"]},
    )
    assert rated["rateServiceOrder"] == {
        "order": {"status": "CLOSED", "allowedActions": []},
        "pointsCredited": 10,
        "errors": [],
    }
    assert (await head(POINTS))["myPoints"]["balance"] == before_points + 10
    again = await resident(
        """mutation($id: ID!) { rateServiceOrder(input: { id: $id, rating: UNSATISFIED }) {
             pointsCredited errors { code field } } }""",
        {"id": o["id"]},
    )
    assert again["rateServiceOrder"] == {
        "pointsCredited": 0,
        "errors": [{"code": "ALREADY_RATED", "field": "id"}],
    }

    final = await seen(resident, o["id"])
    assert final is not None
    assert [(e["action"], e["toStatus"]) for e in final["timeline"]] == [
        ("SUBMIT", "SUBMITTED"),
        ("DISPATCH", "DISPATCHED"),
        ("ACCEPT", "ACCEPTED"),
        ("SCHEDULE", "SCHEDULED"),
        ("COMPLETE", "DONE"),
        ("CLOSE", "CLOSED"),
    ]
    assert "仁和苑红色跑团" in (final["timeline"][1]["note"] or "")


async def test_who_may_order_what(
    resident: GraphQLClient, renter: GraphQLClient, worker: GraphQLClient, demo: DemoCity
) -> None:
    """An item for the elderly and those living alone: the renter (34) may not order it for
    himself; staff may order it for the widow (红色代办), not for him."""
    refused = await order(renter, demo.services.elderly_item.id)
    assert codes(refused) == ["NOT_ELIGIBLE"]
    assert refused["errors"][0]["field"] == "itemId"
    assert refused["order"] is None
    allowed = await order(renter, demo.services.open_item.id)
    assert allowed["errors"] == []
    assert allowed["order"]["specialGroup"] is False

    for_her = await order(worker, demo.services.elderly_item.id, resident=demo.resident_alone.id)
    assert for_her["errors"] == []
    assert for_her["order"]["channel"] == "RECORDED"
    for_him = await order(worker, demo.services.elderly_item.id, resident=demo.renter.id)
    assert codes(for_him) == ["NOT_ELIGIBLE"]
    # nobody orders for someone else unless they serve that person's home
    for_neighbour = await order(renter, demo.services.open_item.id, resident=demo.resident_alone.id)
    assert codes(for_neighbour) == ["NOT_FOUND"], "he cannot even see her"


async def test_items_for_me_are_the_ones_i_may_order(
    resident: GraphQLClient, renter: GraphQLClient, demo: DemoCity
) -> None:
    query = """{ serviceItems(forMe: true, first: 100) { nodes { id eligibility } } }"""
    hers = {n["id"] for n in (await resident(query))["serviceItems"]["nodes"]}
    his = (await renter(query))["serviceItems"]["nodes"]
    elderly = gid("ServiceItem", demo.services.elderly_item.id)
    assert elderly in hers
    assert elderly not in {n["id"] for n in his}
    assert all(n["eligibility"] in ([], ["RENTER"]) for n in his)


async def test_a_retry_returns_the_same_order_and_a_reused_key_is_refused(
    resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    k = key()
    first = await order(resident, demo.services.open_item.id, idempotencyKey=k, details="周末")
    second = await order(resident, demo.services.open_item.id, idempotencyKey=k, details="周末")
    assert first["order"]["id"] == second["order"]["id"]
    other = await order(resident, demo.services.open_item.id, idempotencyKey=k, details="周一")
    assert codes(other) == ["IDEMPOTENCY_KEY_REUSED"]
    assert other["errors"][0]["field"] == ("idempotencyKey")
    assert (
        await scalar(session, "SELECT count(*) FROM service_order WHERE idempotency_key = :k", k=k)
        == 1
    )


async def test_a_stale_version_and_an_illegal_step_change_nothing(
    resident: GraphQLClient, worker: GraphQLClient, demo: DemoCity
) -> None:
    o = (await order(resident, demo.services.open_item.id))["order"]
    moved = await act(worker, o, "DISPATCH", teamId=team_of(demo))
    assert moved["errors"] == []
    stale = await act(worker, o, "REJECT", note="不受理")
    assert codes(stale) == ["VERSION_CONFLICT"]
    assert stale["errors"][0]["field"] == "expectedVersion"
    illegal = await act(worker, moved["order"], "COMPLETE", note="x")
    assert codes(illegal) == ["FORBIDDEN"], "the worker is no assignee"
    after = await seen(worker, o["id"])
    assert after is not None
    assert (after["status"], after["version"]) == ("DISPATCHED", 2)
    assert len(after["timeline"]) == 2


async def test_steps_need_their_arguments(worker: GraphQLClient, demo: DemoCity) -> None:
    o = await seen(worker, gid("ServiceOrder", demo.services.order_dispatched.id))
    assert o is not None
    back = await act(worker, o, "RETURN")
    assert codes(back) == ["VALIDATION"]
    assert back["errors"][0]["field"] == "note"
    station = gid("ServiceStation", demo.services.station.id)
    both = await run(
        worker,
        "actOnServiceOrder",
        {"id": o["id"], "action": "RETURN", "expectedVersion": o["version"], "note": "改派",
         "stationId": station},
        "order { status }",
    )  # fmt: skip
    assert codes(both) == ["VALIDATION"]
    assert both["errors"][0]["field"] == "teamId"


async def test_a_provider_outside_the_community_is_refused(
    admin: GraphQLClient, gql: GraphQLClient, resident: GraphQLClient, demo: DemoCity
) -> None:
    """Dispatching to 五里碑's team (another district) is refused: it serves its own."""
    o = (await order(resident, demo.services.open_item.id))["order"]
    far = gid("ServiceTeam", demo.services.wulibei_teams[0].id)
    refused = await act(gql, o, "DISPATCH", teamId=far)
    assert codes(refused) == ["VALIDATION"]
    assert refused["errors"][0]["field"] == "teamId"
    hidden = await act(admin, o, "DISPATCH", teamId=far)
    assert codes(hidden) == ["NOT_FOUND"], "the community admin cannot even see that team"


async def test_the_resident_cancels_and_others_are_refused(
    resident: GraphQLClient, renter: GraphQLClient, demo: DemoCity
) -> None:
    o = (await order(resident, demo.services.open_item.id))["order"]
    assert codes(await act(renter, o, "CANCEL", note="x")) == ["NOT_FOUND"]
    done = await act(resident, o, "CANCEL", note="不需要了")
    assert done["errors"] == []
    assert done["order"]["status"] == "CANCELLED"


async def test_queues_put_special_groups_first(
    resident: GraphQLClient, renter: GraphQLClient, admin: GraphQLClient, worker: GraphQLClient,
    demo: DemoCity,
) -> None:  # fmt: skip
    """The renter orders first, the widow (elderly, living alone) after: she comes first in
    the community's dispatch queue and in the grid worker's own queue."""
    his = (await order(renter, demo.services.open_item.id))["order"]
    hers = (await order(resident, demo.services.open_item.id))["order"]
    query = """query($unit: ID!) { serviceDispatchQueue(orgUnitId: $unit, first: 100) {
        nodes { id specialGroup } } }"""
    nodes = (await admin(query, {"unit": gid("OrgUnit", demo.renheyuan.id)}))[
        "serviceDispatchQueue"
    ]["nodes"]
    ids = [n["id"] for n in nodes]
    assert ids.index(hers["id"]) < ids.index(his["id"])
    ranks = [n["specialGroup"] for n in nodes]
    assert ranks == sorted(ranks, reverse=True), "every special case before every other"

    mine = (await worker("{ myQueue { serviceOrders(first: 100) { nodes { id } } } }"))["myQueue"][
        "serviceOrders"
    ]["nodes"]
    mine_ids = [n["id"] for n in mine]
    assert mine_ids.index(hers["id"]) < mine_ids.index(his["id"])


async def test_the_renter_queue_holds_what_his_team_was_given(
    renter: GraphQLClient, worker: GraphQLClient, resident: GraphQLClient, demo: DemoCity
) -> None:
    o = (await order(resident, demo.services.open_item.id))["order"]
    query = "{ myQueue { serviceOrders(first: 100) { nodes { id status } } } }"

    async def queue() -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = (await renter(query))["myQueue"]["serviceOrders"]["nodes"]
        return nodes

    assert o["id"] not in {n["id"] for n in await queue()}
    await act(worker, o, "DISPATCH", teamId=team_of(demo))
    queued = {n["id"]: n["status"] for n in await queue()}
    assert queued[o["id"]] == "DISPATCHED"
    assert gid("ServiceOrder", demo.services.order_dispatched.id) in queued


async def test_an_integrator_may_not_read_the_queue_order(
    integrator: GraphQLClient, demo: DemoCity
) -> None:
    """The queue's order tells who goes first, which an integrator may not read."""
    body = await integrator.raw(
        """query($unit: ID!) { serviceDispatchQueue(orgUnitId: $unit) { nodes { id } } }""",
        {"unit": gid("OrgUnit", demo.renheyuan.id)},
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


async def _order_row(session: AsyncSession, ident: str) -> dict[str, Any]:
    number = int(__import__("base64").urlsafe_b64decode(ident).decode().split(":")[1])
    row = (
        await session.execute(
            sa.text("SELECT status, owner_level, team_id FROM service_order WHERE id = :id"),
            {"id": number},
        )
    ).one()
    return dict(row._mapping) | {"id": number}


async def test_the_scheduler_returns_and_escalates_what_is_late(
    resident: GraphQLClient, worker: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    """Not accepted in time: back to dispatch; not dispatched in time: one level up, where
    the street admin dispatches it."""
    waiting = (await order(resident, demo.services.open_item.id))["order"]
    given = (await order(resident, demo.services.open_item.id))["order"]
    await act(worker, given, "DISPATCH", teamId=team_of(demo))
    later = utcnow() + timedelta(hours=5)  # past her 4 hours (elderly, living alone)
    moved = await rs.handle_late_orders(session, later, batch=1000)
    w, g = await _order_row(session, waiting["id"]), await _order_row(session, given["id"])
    assert {w["id"], g["id"]} <= set(moved)
    assert (w["status"], w["owner_level"]) == ("ESCALATED", "STREET")
    assert (g["status"], g["owner_level"], g["team_id"]) == ("RETURNED", "COMMUNITY", None)
    again = await rs.handle_late_orders(session, later, batch=1000)
    assert w["id"] not in again, "one lapse, one move"
    assert g["id"] not in again

    after = await seen(worker, waiting["id"])
    assert after is not None
    assert "DISPATCH" not in after["allowedActions"], "the street owns it now"
    assert after["timeline"][-1]["actor"] is None


async def test_a_done_order_nobody_rated_closes_after_a_week(
    resident: GraphQLClient,
    worker: GraphQLClient,
    renter: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    o = (await order(resident, demo.services.open_item.id))["order"]
    o = (await act(worker, o, "DISPATCH", teamId=team_of(demo)))["order"]
    o = (await act(renter, o, "ACCEPT"))["order"]
    o = (await act(renter, o, "COMPLETE", note="教会了视频通话"))["order"]
    assert o["status"] == "DONE"
    number = (await _order_row(session, o["id"]))["id"]
    assert number not in await rs.close_unrated_orders(session, utcnow() + timedelta(days=6))
    assert number in await rs.close_unrated_orders(session, utcnow() + timedelta(days=8))
    assert (await _order_row(session, o["id"]))["status"] == "CLOSED_UNRATED"
    late = await resident(
        """mutation($id: ID!) { rateServiceOrder(input: { id: $id, rating: SATISFIED }) {
             errors { code } } }""",
        {"id": o["id"]},
    )
    assert late["rateServiceOrder"]["errors"] == [{"code": "INVALID_TRANSITION"}]


async def test_concurrent_retries_of_one_order_make_one(
    committed: Committed, demo: DemoCity
) -> None:
    """Eight retries of one submission at once, on their own connections: one order, one
    timeline entry; the same key with other content is refused."""
    k = key()
    draft = rs.OrderDraft(
        item_id=demo.services.open_item.id or 0,
        resident_id=demo.renter.id or 0,
        details="周末上午",
    )

    async def retry(d: rs.OrderDraft) -> Any:
        async with committed.session() as s, s.begin():
            return await rs.order_service(
                s, d, idempotency_key=k, eligible=rules.eligible, rank=rules.queue_rank
            )

    results = await asyncio.gather(*(retry(draft) for _ in range(8)))
    ids = {r.id for r in results}
    committed.orders.update(i for i in ids if i is not None)
    assert len(ids) == 1
    async with committed.session() as s:
        events = await s.scalar(
            sa.text("SELECT count(*) FROM service_order_event WHERE order_id = :o"),
            {"o": ids.pop()},
        )
    assert events == 1
    other = dataclasses.replace(draft, details="周一下午")
    with pytest.raises(DomainError) as refused:
        await retry(other)
    assert refused.value.code == rs.ServiceCode.IDEMPOTENCY_KEY_REUSED


FORWARD = {"DISPATCH", "ACCEPT", "SCHEDULE", "COMPLETE"}
VISIBLE = """query($after: String) { serviceOrders(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor } nodes { id status allowedActions resident { id } } } }"""
QUEUE = """query($after: String) { myQueue { serviceOrders(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor } nodes { id status allowedActions } }
  serviceOrderCounts { status count pastDeadline } } }"""


async def walk(client: GraphQLClient, query: str, field: str) -> list[dict[str, Any]]:
    """Every node of the connection at `field` (dotted: `myQueue.serviceOrders`)."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        page = await client(query, {"after": after})
        for name in field.split("."):
            page = page[name]
        found += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def test_every_demo_service_queue_agrees_with_allowed_actions(
    as_account: Any, accounts: dict[str, Any], anonymous: GraphQLClient, demo: DemoCity
) -> None:
    """A service queue holds exactly the visible orders the account may move on (dispatch,
    accept, schedule, complete), and its own done orders awaiting its rating."""
    busy = {"grid-worker", "community-admin", "building-head", "renter"}
    for handle, account in accounts.items():
        client = as_account(handle)
        me = gid("Person", account.person_id)
        visible = await walk(client, VISIBLE, "serviceOrders")
        expected = {
            o["id"]
            for o in visible
            if FORWARD & set(o["allowedActions"])
            or (o["status"] == "DONE" and o["resident"] == {"id": me})
        }
        assert expected or handle not in busy, f"{handle}: the demo gives them work"
        queue = await walk(client, QUEUE, "myQueue.serviceOrders")
        assert {o["id"] for o in queue} == expected, handle
        counts = (await client(QUEUE, {"after": None}))["myQueue"]["serviceOrderCounts"]
        per_status = Counter(o["status"] for o in queue)
        assert {c["status"]: c["count"] for c in counts} == dict(per_status), handle
        assert all(0 <= c["pastDeadline"] <= c["count"] for c in counts), handle
    refused = await anonymous.errors("{ myQueue { serviceOrders { nodes { id } } } }")
    assert refused[0]["extensions"]["code"] == "UNAUTHENTICATED"
