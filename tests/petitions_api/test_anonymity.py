"""An anonymous petition's reporter is known to her alone: not to the building head, the
grid worker, the admins or an integrator; not in lists, single reads or the timeline; not
in the audit rows those reads write."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from schema.relay import from_global_id
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.petitions_api.helpers import ERRORS, gid, moved, petition_input, rate, submitted

READ = """
query AnonymityRead($id: ID!) {
  petitions(first: 100) {
    nodes {
      id anonymous
      reporter { id name phone }
      recordedBy { id name }
      timeline { action byReporter actor { id name phone } }
    }
  }
  node(id: $id) {
    ... on Petition {
      id anonymous
      reporter { id name phone idCardNumber }
      timeline { action byReporter note actor { id name } assignee { id } }
      ratings { rating comment }
    }
  }
}
"""


async def integrator(gql: GraphQLClient, http: httpx.AsyncClient, demo: DemoCity) -> GraphQLClient:
    """An INTEGRATOR token for 仁和苑社区, made by the city admin as the admin SPA does."""
    made = await gql(
        f"""mutation($unit: ID!) {{
              createApiToken(input: {{
                name: "12345 热线对接", role: INTEGRATOR, orgUnitId: $unit }}) {{
                  token {ERRORS} }} }}""",
        {"unit": gid("OrgUnit", demo.renheyuan.id)},
    )
    assert made["createApiToken"]["errors"] == [], made
    return GraphQLClient(http, {"Authorization": f"Bearer {made['createApiToken']['token']}"})


async def audit_of(session: AsyncSession, request_id: str) -> list[dict[str, Any]]:
    found = await session.execute(
        sa.text(
            "SELECT action, object_type, row_ids, actor_person_id, row_to_json(a)::text AS raw"
            " FROM audit_log a WHERE request_id = :r ORDER BY id"
        ),
        {"r": request_id},
    )
    return [dict(row._mapping) for row in found]


async def read(client: GraphQLClient, petition_id: str) -> tuple[dict[str, Any], str, str]:
    """The response of one read, its JSON text, and its request id."""
    request_id = uuid.uuid4().hex
    body = await client.raw(READ, {"id": petition_id}, **{"X-Request-ID": request_id})
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data, json.dumps(body, ensure_ascii=False), request_id


@pytest.fixture
async def cases(
    resident: GraphQLClient,
    renter: GraphQLClient,
    head: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
) -> tuple[str, str]:
    """(anonymous petition of the resident, closed by her rating; named one of the renter)."""
    anonymous = await submitted(
        resident,
        await petition_input(
            session,
            demo,
            anonymous=True,
            title="楼上夜间噪音",
            description="晚上十一点后仍有噪音。",
        ),
    )
    assert anonymous["anonymous"] is True
    assert anonymous["reporter"]["id"] == gid("Person", demo.resident_alone.id), "hers to see"
    petition = anonymous
    for action, extra in (
        ("ACCEPT", {}),
        ("ASSIGN", {"assigneeId": gid("Person", demo.building_head.id)}),
        ("ACKNOWLEDGE", {}),
        ("START", {}),
        ("RESOLVE", {"note": "已上门提醒楼上住户"}),
    ):
        petition = await moved(head, petition, action, **extra)
    rated = await rate(resident, petition, "SATISFIED", "谢谢")
    assert rated["errors"] == []
    named = await submitted(renter, await petition_input(session, demo, title="楼道灯不亮"))
    return anonymous["id"], named["id"]


@pytest.mark.parametrize(
    "reader", ["building-head", "grid-worker", "community-admin", "city-admin", "integrator"]
)
async def test_nobody_but_the_reporter_learns_who_she_is(
    reader: str,
    cases: tuple[str, str],
    as_account: Any,
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    anonymous_id, named_id = cases
    client = await integrator(gql, http, demo) if reader == "integrator" else as_account(reader)
    data, text, request_id = await read(client, anonymous_id)
    reporter = demo.resident_alone
    assert reporter.id is not None
    hidden = (gid("Person", reporter.id), reporter.name, reporter.phone or "-")

    listed = {p["id"]: p for p in data["petitions"]["nodes"]}
    assert set(listed) == {anonymous_id, named_id}
    assert listed[anonymous_id]["reporter"] is None
    assert listed[named_id]["reporter"]["id"] == gid("Person", demo.renter.id)
    found = data["node"]
    assert (found["id"], found["anonymous"], found["reporter"]) == (anonymous_id, True, None)
    steps = {e["action"]: e for e in found["timeline"]}
    for step in ("SUBMIT", "CLOSE"):  # her own steps: flagged, but nameless
        assert steps[step]["byReporter"] is True
        assert steps[step]["actor"] is None
    assert steps["ACCEPT"]["actor"]["id"] == gid("Person", demo.building_head.id)
    for value in hidden:
        assert value not in text, (reader, value)

    audit = await audit_of(session, request_id)
    for row in audit:
        assert reporter.id not in row["row_ids"], (reader, row)
        assert row["actor_person_id"] != reporter.id
        for value in hidden:
            assert value not in row["raw"], (reader, row)
    if reader != "integrator":
        # the check is live: the named reporter's name, read in full, is on record
        person_reads = [r for r in audit if (r["action"], r["object_type"]) == ("READ", "Person")]
        assert any(demo.renter.id in r["row_ids"] for r in person_reads), audit


async def test_the_reporter_sees_herself(
    cases: tuple[str, str], resident: GraphQLClient, demo: DemoCity
) -> None:
    anonymous_id, _ = cases
    data, _, _ = await read(resident, anonymous_id)
    me = gid("Person", demo.resident_alone.id)
    assert [p["id"] for p in data["petitions"]["nodes"]] == [anonymous_id]
    assert data["petitions"]["nodes"][0]["reporter"]["id"] == me
    assert data["node"]["reporter"]["id"] == me
    assert data["node"]["reporter"]["name"] == demo.resident_alone.name
    # the timeline keeps her steps nameless even for her: it is stored that way
    steps = {e["action"]: e for e in data["node"]["timeline"]}
    assert steps["SUBMIT"]["byReporter"] is True
    assert steps["SUBMIT"]["actor"] is None


async def test_the_stored_timeline_never_names_her(
    cases: tuple[str, str], demo: DemoCity, session: AsyncSession
) -> None:
    """Not only hidden by the API: the reporter's steps are stored without an actor."""
    anonymous_id, _ = cases
    _, ident = from_global_id(anonymous_id)
    found = await session.execute(
        sa.text(
            "SELECT action, actor_person_id, by_reporter FROM petition_event"
            " WHERE petition_id = :p ORDER BY version"
        ),
        {"p": ident},
    )
    rows = [tuple(r) for r in found]
    assert [r[0] for r in rows if r[2]] == ["SUBMIT", "CLOSE"]
    assert all(r[1] is None for r in rows if r[2])
    assert demo.resident_alone.id not in {r[1] for r in rows}


async def test_the_audit_log_does_not_tie_her_to_the_case(
    cases: tuple[str, str], gql: GraphQLClient, demo: DemoCity
) -> None:
    """'null to everyone but the reporter, everywhere': the city admin's audit-log screen
    must not answer 'who filed anonymous petition N' either."""
    anonymous_id, _ = cases
    data = await gql(
        """query($actor: ID!) { auditLog(actorId: $actor, first: 100) {
              nodes { action objectType rowIds fields } } }""",
        {"actor": gid("Person", demo.resident_alone.id)},
    )
    _, ident = from_global_id(anonymous_id)
    linked = [
        entry
        for entry in data["auditLog"]["nodes"]
        if entry["objectType"] == "Petition" and str(ident) in entry["rowIds"]
    ]
    assert linked == []
