"""Anonymous means anonymous in the audit log too (issue 7, item 3).

Whatever the reporter of an anonymous petition does to it (submitting it, rating it, any
later step) is on record as having happened, but no entry of that request names her: no
actor id, no roles, no operation name, no request id that joins her other requests or the
server's logs, no row id of her person, her household or the case, including the READ
entries the same request writes. Everyone else stays accountable as before.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from schema.relay import from_global_id
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.petitions_api.helpers import (
    ERRORS,
    RATE,
    SUBMIT,
    TRANSITION,
    gid,
    moved,
    petition_input,
)

AUDIT = """query($since: DateTime!) { auditLog(since: $since, first: 100) {
  nodes { action actorKind actorPersonId actorTokenId roles requestId operationName
          objectType rowIds fields } } }"""

#: The mini-program's submit: the payload reads her own name and her building head's phone,
#: so the same request writes READ entries besides the mutation.
SUBMIT_AND_READ = f"""mutation MyAnonymousReport($input: SubmitPetitionInput!) {{
  submitPetition(input: $input) {{
    petition {{ id version reporter {{ id name phone }}
               building {{ head {{ name phone }} households(first: 50) {{ nodes {{ room }} }} }} }}
    {ERRORS} }} }}"""


async def run(client: GraphQLClient, query: str, input: dict[str, Any]) -> tuple[Any, str]:
    """The payload of a one-mutation request, and the request id the client sent."""
    request_id = f"req-{uuid.uuid4().hex}"
    body = await client.raw(query, {"input": input}, **{"X-Request-ID": request_id})
    assert not body.get("errors"), body
    [payload] = body["data"].values()
    assert payload["errors"] == [], payload
    return payload, request_id


async def log(gql: GraphQLClient, since: datetime) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (await gql(AUDIT, {"since": since.isoformat()}))["auditLog"][
        "nodes"
    ]
    return entries


def identifies(entry: dict[str, Any], demo: DemoCity, sent: set[str], case: int) -> list[str]:
    """What in one entry could tell the city admin who the reporter is."""
    reporter = demo.resident_alone
    found = []
    if entry["actorPersonId"] == gid("Person", reporter.id):
        found.append("actor")
    if entry["requestId"] in sent:
        found.append("request id")
    ids = set(entry["rowIds"])
    if entry["objectType"] == "Person" and str(reporter.id) in ids:
        found.append("her person row")
    if entry["objectType"] == "Household" and str(reporter.household_id) in ids:
        found.append("her household row")
    if entry["actorKind"] == "ANONYMOUS_REPORTER":
        if entry["roles"]:
            found.append("roles")
        if entry["operationName"]:
            found.append("operation name")
        if entry["objectType"] in ("Petition", "PetitionRating") and str(case) in ids:
            found.append("the case")
    return found


async def test_nothing_the_reporter_does_to_her_anonymous_case_names_her(
    resident: GraphQLClient,
    head: GraphQLClient,
    gql: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    since = datetime.now(UTC)
    draft = await petition_input(session, demo, anonymous=True, title="楼上夜间噪音")
    submitted, submit_rid = await run(resident, SUBMIT_AND_READ, draft)
    petition = submitted["petition"]
    assert petition["reporter"]["name"] == demo.resident_alone.name, "she reads her own case"
    _, case = from_global_id(petition["id"])
    retried, retry_rid = await run(resident, SUBMIT_AND_READ, draft)  # the same key, retried
    assert retried["petition"]["id"] == petition["id"]

    for action, extra in (
        ("ACCEPT", {}),
        ("ASSIGN", {"assigneeId": gid("Person", demo.building_head.id)}),
        ("ACKNOWLEDGE", {}),
        ("START", {}),
        ("RESOLVE", {"note": "已上门提醒楼上住户"}),
    ):
        petition = await moved(head, petition, action, **extra)
    rated, rate_rid = await run(
        resident, RATE, {"id": petition["id"], "rating": "SATISFIED", "comment": "谢谢"}
    )
    assert rated["petition"]["status"] == "CLOSED"

    sent = {submit_rid, retry_rid, rate_rid}
    entries = await log(gql, since)
    concealed = [e for e in entries if e["actorKind"] == "ANONYMOUS_REPORTER"]
    for entry in entries:
        assert identifies(entry, demo, sent, case) == [], entry
    # what happened is on record: two submissions (one a retry), reads of others' data, a rating
    assert sorted(
        (e["action"], e["objectType"]) for e in concealed if e["action"] == "MUTATION"
    ) == [("MUTATION", "Petition"), ("MUTATION", "Petition"), ("MUTATION", "PetitionRating")]
    reads = [e for e in concealed if e["action"] == "READ"]
    assert reads, "her head's phone, read in full in the same request, is still on record"
    assert any(str(demo.building_head.id) in e["rowIds"] for e in reads)
    assert all(e["actorPersonId"] is None and e["actorTokenId"] is None for e in concealed)
    # the handler stays accountable for every step, with the case
    handled = [e for e in entries if e["actorPersonId"] == gid("Person", demo.building_head.id)]
    assert len(handled) == 5
    assert all(e["rowIds"] == [str(case)] for e in handled)

    named = await gql(
        """query($actor: ID!) { auditLog(actorId: $actor, first: 100) { totalCount } }""",
        {"actor": gid("Person", demo.resident_alone.id)},
    )
    assert named["auditLog"]["totalCount"] == 0


async def test_a_reporter_who_handles_her_own_anonymous_case_is_not_named_either(
    head: GraphQLClient, gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    """The building head lives in his building: his anonymous report there is his alone,
    even while he moves it along as its handler."""
    since = datetime.now(UTC)
    draft = await petition_input(session, demo, anonymous=True, title="电梯异响")
    submitted, submit_rid = await run(head, SUBMIT, draft)
    petition = submitted["petition"]
    _, case = from_global_id(petition["id"])
    accepted, accept_rid = await run(
        head, TRANSITION, {"id": petition["id"], "action": "ACCEPT", "expectedVersion": 1}
    )
    assert accepted["petition"]["status"] == "ACCEPTED"
    me = gid("Person", demo.building_head.id)
    entries = await log(gql, since)
    assert [e["actorKind"] for e in entries] == ["ANONYMOUS_REPORTER"] * len(entries)
    for entry in entries:
        assert entry["actorPersonId"] != me
        assert entry["requestId"] not in {submit_rid, accept_rid}
        assert str(case) not in entry["rowIds"] or entry["objectType"] not in (
            "Petition",
            "PetitionRating",
        )
        assert str(demo.building_head.id) not in entry["rowIds"]


async def test_named_cases_and_recorders_stay_on_record(
    resident: GraphQLClient,
    worker: GraphQLClient,
    gql: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
) -> None:
    since = datetime.now(UTC)
    named, named_rid = await run(resident, SUBMIT, await petition_input(session, demo))
    _, recorded_rid = await run(
        worker,
        SUBMIT,
        await petition_input(
            session,
            demo,
            anonymous=True,
            channel="DOOR_VISIT",
            reporterId=gid("Person", demo.resident_alone.id),
        ),
    )
    entries = {e["requestId"]: e for e in await log(gql, since) if e["action"] == "MUTATION"}
    mine = entries[named_rid]
    assert mine["actorPersonId"] == gid("Person", demo.resident_alone.id)
    assert mine["rowIds"] == [str(from_global_id(named["petition"]["id"])[1])]
    by_worker = entries[recorded_rid]
    assert by_worker["actorPersonId"] == gid("Person", demo.grid_worker.id), "staff are named"
    assert by_worker["rowIds"] == [], "but not linked to the anonymous case they recorded"
