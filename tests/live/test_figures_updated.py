"""`figuresUpdated`: the figures of a node right away, then whenever they change (a petition,
a position: any counted row), at most once a second per node, on every instance."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx

from tests.live.support import ERRORS, LiveCity, Servers, Socket, connected, gid, gql, submit

FIGURES = "subscription($u: ID!) { figuresUpdated(under: $u) { figures { key value } } }"


def values(message: dict[str, Any]) -> dict[str, int]:
    return {f["key"]: f["value"] for f in message["data"]["figuresUpdated"]["figures"]}


async def pushes(socket: Socket, into: list[tuple[float, dict[str, int]]]) -> None:
    """Every figures message, with when it came, until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        frame = await socket.receive(within=60)
        if frame.get("id") == "f" and frame["type"] == "next":
            into.append((loop.time(), values(frame["payload"])))


async def test_figures_come_at_once_then_on_change_at_most_once_a_second(
    servers: Servers, city: LiveCity
) -> None:
    first, second = servers.start(), servers.start()
    admin = city.token("community-admin")
    under = {"u": gid("OrgUnit", city.demo.renheyuan.id)}
    sockets = [await connected(first, admin), await connected(second, admin)]
    for socket in sockets:
        await socket.subscribe("f", FIGURES, under)
    before = [values(await socket.next("f")) for socket in sockets]
    assert before[0] == before[1]
    seen: list[list[tuple[float, dict[str, int]]]] = [[], []]
    readers = [asyncio.create_task(pushes(s, got)) for s, got in zip(sockets, seen, strict=True)]
    building = gid("Building", city.demo.building.id)
    async with httpx.AsyncClient(base_url=first) as http:
        units = await gql(http, "{ workUnits(first: 1) { nodes { id } } }", token=admin)
        for _ in range(3):  # three changes in quick succession
            await submit(http, city.token("resident"), building)
        appointed = await gql(
            http,
            f"""mutation($i: AppointPositionInput!) {{
                  appointPosition(input: $i) {{ position {{ id }} {ERRORS} }} }}""",
            {
                "i": {
                    "personId": gid("Person", city.demo.party_member.id),
                    "role": "REGISTERED_PARTY_MEMBER",
                    "orgUnitId": under["u"],
                    "workUnitId": units["workUnits"]["nodes"][0]["id"],
                }
            },
            token=admin,
        )
        assert appointed["appointPosition"]["errors"] == []
    await asyncio.sleep(3)
    for reader in readers:
        reader.cancel()
    for socket, was, got in zip(sockets, before, seen, strict=True):
        assert 1 <= len(got) <= 4
        times = [at for at, _ in got]
        # a push leaves at most once a second; resolving it takes some time of its own
        assert all(b - a >= 0.7 for a, b in itertools.pairwise(times))
        last = got[-1][1]
        assert last["petitions"] == was["petitions"] + 3
        assert last["registeredPartyMembers"] == was["registeredPartyMembers"] + 1
        await socket.close()
    async with httpx.AsyncClient(base_url=first) as http:
        ended = await gql(
            http,
            f"mutation($i: EndPositionInput!) {{ endPosition(input: $i) {{ {ERRORS} }} }}",
            {"i": {"id": appointed["appointPosition"]["position"]["id"]}},
            token=admin,
        )
        assert ended["endPosition"]["errors"] == []


async def test_a_polling_screen_is_answered_from_the_cache_request_after_request(
    server: str, city: LiveCity, client: httpx.AsyncClient
) -> None:
    """A listening instance keeps what a screen asks for (the node, its counts) across
    requests, each in a transaction of its own that is rolled back."""
    admin = city.token("community-admin")
    query = """query($code: String!) { displayFigures(code: $code) {
        node { name code } figures { key value } trend(count: 3) { submitted }
        petitions { totals { submitted } } rankings { name rank } } }"""
    answers = [
        await gql(client, query, {"code": city.demo.renheyuan.code}, token=admin) for _ in range(3)
    ]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["displayFigures"]["node"]["name"] == city.demo.renheyuan.name
