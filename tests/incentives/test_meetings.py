"""A community admin runs a 楼栋共治会 that takes three petitions: each decision moves its
petition through the petition workflow, with the meeting named on the petition's timeline;
another item opens a 民生实事 task tracked to done."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.incentives.conftest import ERRORS
from tests.petitions_api.helpers import gid, petition_input, submitted

CREATE = f"""mutation($input: CreateMeetingInput!) {{ createMeeting(input: $input) {{
  meeting {{ id kind title agenda {{ id position subject petition {{ id }} }}
             attendees {{ person {{ id }} }} }} {ERRORS} }} }}"""
DECIDE = f"""mutation($input: DecideAgendaItemInput!) {{ decideAgendaItem(input: $input) {{
  agendaItem {{ id outcome decision petitionAction petitionVersion decidedAt
                task {{ id status version allowedActions }} }} {ERRORS} }} }}"""
PETITION = """query($id: ID!) { node(id: $id) { ... on Petition {
  status version timeline { action note actor { id } } } } }"""
TASK = f"""mutation($input: LivelihoodTaskActionInput!) {{ actOnLivelihoodTask(input: $input) {{
  task {{ id status version result doneAt timeline {{ action toStatus }} }} {ERRORS} }} }}"""


def errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def three_petitions(
    resident: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> list[dict[str, Any]]:
    return [
        await submitted(resident, await petition_input(session, demo, title=title))
        for title in ("楼道纸箱堆积", "单元门禁损坏", "楼顶漏水")
    ]


async def a_council(
    admin: GraphQLClient, demo: DemoCity, petitions: list[dict[str, Any]]
) -> dict[str, Any]:
    values = {
        "kind": "BUILDING_COUNCIL",
        "title": "十二月楼栋共治会",
        "heldAt": "2026-12-05T10:00:00+08:00",
        "place": "楼栋说事室",
        "buildingId": gid("Building", demo.building.id),
        "attendeeIds": [gid("Person", demo.building_head.id), gid("Person", demo.party_member.id)],
        "agenda": [{"subject": "居民诉求", "petitionId": p["id"]} for p in petitions]
        + [{"subject": "电动车充电棚"}],
    }
    payload = (await admin(CREATE, {"input": values}))["createMeeting"]
    assert payload["errors"] == [], payload
    meeting: dict[str, Any] = payload["meeting"]
    return meeting


async def test_a_council_decides_three_petitions_and_opens_a_task(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    resident, admin, head = (
        as_account("resident"),
        as_account("community-admin"),
        as_account("building-head"),
    )
    petitions = await three_petitions(resident, session, demo)
    meeting = await a_council(admin, demo, petitions)
    items = meeting["agenda"]
    assert [i["petition"]["id"] if i["petition"] else None for i in items] == [
        *(p["id"] for p in petitions),
        None,
    ]
    assert len(meeting["attendees"]) == 2
    decisions = [
        {"decision": "由楼栋长组织清理", "petitionAction": "ACCEPT"},
        {"decision": "门禁属物业管理，不予受理，转物业", "petitionAction": "REJECT"},
        {"decision": "楼顶防水需社区统筹", "petitionAction": "ESCALATE"},
    ]
    for item, petition, decision in zip(items[:3], petitions, decisions, strict=True):
        values = {"itemId": item["id"], "expectedVersion": petition["version"]} | decision
        payload = (await admin(DECIDE, {"input": values}))["decideAgendaItem"]
        assert payload["errors"] == [], payload
        decided = payload["agendaItem"]
        assert (decided["outcome"], decided["petitionAction"], decided["petitionVersion"]) == (
            "PETITION_MOVED",
            decision["petitionAction"],
            2,
        )
    statuses = []
    for petition, decision in zip(petitions, decisions, strict=True):
        found = (await admin(PETITION, {"id": petition["id"]}))["node"]
        statuses.append(found["status"])
        step = found["timeline"][-1]
        assert step["action"] == decision["petitionAction"]
        assert (
            step["note"]
            == f"楼栋共治会「十二月楼栋共治会」(2026-12-05) 决定: {decision['decision']}"
        )
        assert step["actor"]["id"] == gid("Person", demo.admins[next(iter(demo.admins))].id)
    assert statuses == ["ACCEPTED", "REJECTED", "ESCALATED"]

    again = {"itemId": items[0]["id"], "decision": "再议", "petitionAction": "ASSIGN",
             "expectedVersion": 2, "assigneeId": gid("Person", demo.building_head.id)}  # fmt: skip
    assert errors((await admin(DECIDE, {"input": again}))["decideAgendaItem"]) == [
        ("ALREADY_DECIDED", "itemId")
    ]

    task_item = {
        "itemId": items[3]["id"],
        "decision": "年底前建成充电棚",
        "task": {"title": "建设电动车充电棚", "dueOn": "2026-12-31"},
    }
    decided = (await admin(DECIDE, {"input": task_item}))["decideAgendaItem"]["agendaItem"]
    assert decided["outcome"] == "TASK_CREATED"
    task = decided["task"]
    assert (task["status"], task["version"]) == ("OPEN", 1)
    seen = (
        await head(
            """query($id: ID!) { node(id: $id) { ... on LivelihoodTask {
        allowedActions } } }""",
            {"id": task["id"]},
        )
    )["node"]
    assert seen["allowedActions"] == ["CANCEL", "COMPLETE", "START"]
    start = {"id": task["id"], "action": "START", "expectedVersion": 1}
    started = (await head(TASK, {"input": start}))["actOnLivelihoodTask"]
    assert started["task"]["status"] == "IN_PROGRESS"
    no_result = {"id": task["id"], "action": "COMPLETE", "expectedVersion": 2}
    assert errors((await head(TASK, {"input": no_result}))["actOnLivelihoodTask"]) == [
        ("VALIDATION", "note")
    ]
    done = (await head(TASK, {"input": no_result | {"note": "充电棚已投用"}}))[
        "actOnLivelihoodTask"
    ]["task"]
    assert (done["status"], done["result"]) == ("DONE", "充电棚已投用")
    assert done["doneAt"] is not None
    assert [e["toStatus"] for e in done["timeline"]] == ["OPEN", "IN_PROGRESS", "DONE"]
    assert (
        await resident(
            """query($id: ID!) { node(id: $id) { ... on LivelihoodTask {
        status } } }""",
            {"id": task["id"]},
        )
    )["node"] == {"status": "DONE"}


async def test_a_decision_moves_a_petition_only_as_its_maker_may(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    resident, admin, head = (
        as_account("resident"),
        as_account("community-admin"),
        as_account("building-head"),
    )
    owned_above = await submitted(
        resident, await petition_input(session, demo, code="PROPERTY_MANAGEMENT")
    )
    here = await submitted(resident, await petition_input(session, demo))
    meeting = await a_council(head, demo, [owned_above, here])
    first, second = meeting["agenda"][0]["id"], meeting["agenda"][1]["id"]
    not_his = {"itemId": first, "decision": "受理", "petitionAction": "ACCEPT",
               "expectedVersion": 1}  # fmt: skip
    assert errors((await head(DECIDE, {"input": not_his}))["decideAgendaItem"]) == [
        ("FORBIDDEN", None)
    ], "the community owns that petition: a building head's meeting cannot move it"
    stale = {"itemId": second, "decision": "受理", "petitionAction": "ACCEPT",
             "expectedVersion": 5}  # fmt: skip
    assert errors((await head(DECIDE, {"input": stale}))["decideAgendaItem"]) == [
        ("VERSION_CONFLICT", "expectedVersion")
    ]
    fresh = (await head(DECIDE, {"input": stale | {"expectedVersion": 1}}))["decideAgendaItem"]
    assert fresh["errors"] == [], "the refused attempt left the item undecided"
    missing = {"itemId": second, "decision": "x", "petitionAction": "ACCEPT"}
    assert errors((await admin(DECIDE, {"input": missing}))["decideAgendaItem"]) == [
        ("ALREADY_DECIDED", "itemId")
    ]


async def test_meetings_are_held_where_they_belong(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    admin, resident = as_account("community-admin"), as_account("resident")
    base = {"title": "议事", "heldAt": "2026-12-05T10:00:00+08:00", "place": "议事厅"}
    building = gid("Building", demo.building.id)
    cases: list[tuple[GraphQLClient, dict[str, Any], list[tuple[str, str | None]]]] = [
        (resident, base | {"kind": "BUILDING_COUNCIL",
                           "buildingId": gid("Building", demo.building.id)}, [("FORBIDDEN", None)]),
        (admin, base | {"kind": "BUILDING_COUNCIL", "orgUnitId": gid("OrgUnit", demo.renheyuan.id)},
         [("INVALID_PARENT_KIND", "orgUnitId")]),
        (admin, base | {"kind": "JOINT_CONFERENCE", "buildingId": building},
         [("INVALID_PARENT_KIND", "buildingId")]),
        (admin, base | {"kind": "JOINT_CONFERENCE", "orgUnitId": gid("OrgUnit", demo.street.id)},
         [("FORBIDDEN", None)]),
        (admin, base | {"kind": "RED_COUNCIL_HALL", "orgUnitId": gid("OrgUnit", demo.renheyuan.id)},
         []),
    ]  # fmt: skip
    for client, values, expected in cases:
        payload = (await client(CREATE, {"input": values}))["createMeeting"]
        assert errors(payload) == expected, values
    elsewhere = await submitted(resident, await petition_input(session, demo))
    other_building = base | {
        "kind": "BUILDING_COUNCIL",
        "buildingId": gid("Building", demo.building_with_history.id),
        "agenda": [{"subject": "别楼的事", "petitionId": elsewhere["id"]}],
    }
    assert errors((await admin(CREATE, {"input": other_building}))["createMeeting"]) == [
        ("VALIDATION", "agenda")
    ]
