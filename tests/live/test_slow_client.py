"""A client that does not read is disconnected with 1013 ("try again later") once more than
`LIVE_SEND_QUEUE` messages wait for it: the server holds no more than that for it, however
many events come, and everyone else goes on being served."""

from __future__ import annotations

import asyncio
import json
import socket as sockets

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from models.live import LiveSettings
from tests.live.support import PROTOCOL, LiveCity, Servers, Socket, connected, gid, submit

#: A payload of a few KiB per event, as a front end reading the whole case would ask for.
HEAVY = """subscription($u: ID!) {
  petitionEvents(under: $u) {
    id event { action fromStatus toStatus note at version }
    petition {
      id title description status channel priority submittedAt dueAt photos ownerLevel
      category { name code remitLevels }
      building { name address motto cultureLabels }
      timeline { action at note toStatus fromStatus version }
    }
  }
}"""
SETTINGS = LiveSettings(init_timeout=1, max_subscriptions=100, send_queue=20)


async def test_a_client_that_stops_reading_is_disconnected_and_costs_a_bounded_queue(
    servers: Servers, city: LiveCity
) -> None:
    base = servers.start(SETTINGS)
    live = servers.live(base)
    host, port = base.removeprefix("http://").split(":")
    raw = sockets.socket()
    raw.setsockopt(sockets.SOL_SOCKET, sockets.SO_RCVBUF, 4096)  # a tiny window: no slack
    raw.connect((host, int(port)))
    raw.setblocking(False)
    slow = await connect(
        f"ws://{host}:{port}/graphql",
        sock=raw,
        subprotocols=[Subprotocol(PROTOCOL)],
        max_queue=1,  # the client library stops reading as soon as one frame waits
    )
    token = city.token("community-admin")
    await slow.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    assert "connection_ack" in str(await slow.recv())
    building = gid("Building", city.demo.building.id)
    for n in range(SETTINGS.max_subscriptions):
        payload = {"query": HEAVY, "variables": {"u": building}}
        await slow.send(json.dumps({"id": f"s{n}", "type": "subscribe", "payload": payload}))
    healthy = await connected(base, token)
    await healthy.subscribe("s", HEAVY, {"u": building})
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for _ in range(200):  # until the buffers on the way (kernel, transport) are full
            petition = await submit(http, city.token("resident"), building)
            if live.stats.slow_closed:
                break
    assert live.stats.slow_closed == 1
    assert live.stats.peak_queue <= SETTINGS.send_queue
    # the other client got every event, the last one included
    while True:
        message = await healthy.next("s")
        if message["data"]["petitionEvents"]["petition"]["id"] == petition["id"]:
            break
    await healthy.close()
    # reading again, the slow client finds what was sent before, then the close code
    code = None
    try:
        while True:
            await asyncio.wait_for(slow.recv(), 15)
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
    assert code == 1013
    # both connections are gone once their handlers have returned (moments after the close)
    deadline = asyncio.get_running_loop().time() + 10
    while live.stats.connections:
        assert asyncio.get_running_loop().time() < deadline, live.stats
        await asyncio.sleep(0.05)
    assert live.stats.subscriptions == 0


async def test_a_client_reading_at_its_own_pace_is_not_disconnected(
    servers: Servers, city: LiveCity
) -> None:
    base = servers.start(SETTINGS)
    live = servers.live(base)
    building = gid("Building", city.demo.building.id)
    socket: Socket = await connected(base, city.token("community-admin"))
    await socket.subscribe("s", HEAVY, {"u": building})
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for _ in range(SETTINGS.send_queue // 2):
            await submit(http, city.token("resident"), building)
    for _ in range(SETTINGS.send_queue // 2):
        await socket.next("s")
    assert live.stats.slow_closed == 0
    await socket.close()
