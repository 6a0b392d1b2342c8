"""Events across app instances on one database: every subscriber of every instance gets
every event it may see, in commit order; a client that reconnects with the last cursor it
saw gets what it missed, then live events, nothing missed or repeated; the listener comes
back by itself when its connection to PostgreSQL is lost."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from models.live import LiveSettings
from resolvers.live import LISTENER_NAME
from schema.relay import from_global_id
from schema.subscriptions import cursor
from tests.live.conftest import TEST_SETTINGS
from tests.live.support import LiveCity, Servers, Socket, connected, gid, move, submit

EVENTS = """subscription($u: ID!, $after: ID) {
  petitionEvents(under: $u, after: $after) {
    id event { action toStatus version } petition { id status } } }"""


def worker_id(city: LiveCity) -> str:
    return gid("Person", city.demo.grid_worker.id)


def steps(frames: list[dict[str, Any]], petition_id: str, sub_id: str = "events") -> list[str]:
    return [
        f["payload"]["data"]["petitionEvents"]["event"]["action"]
        for f in frames
        if f.get("id") == sub_id
        and f["type"] == "next"
        and f["payload"]["data"]["petitionEvents"]["petition"]["id"] == petition_id
    ]


async def until(socket: Socket, petition_id: str, count: int, within: float = 10) -> None:
    """Read frames until `count` events of the petition have arrived."""
    while len(steps(socket.frames, petition_id)) < count:
        await socket.receive(within)


async def watch(base: str, token: str, under: str, after: str | None = None) -> Socket:
    socket = await connected(base, token)
    await socket.subscribe("events", EVENTS, {"u": under, "after": after})
    await socket.send({"type": "ping"})
    while (await socket.receive())["type"] != "pong":
        pass
    return socket


async def test_every_instance_delivers_every_event_to_its_own_subscribers(
    servers: Servers, city: LiveCity
) -> None:
    first, second = servers.start(), servers.start()
    admin = city.token("community-admin")
    under = gid("OrgUnit", city.demo.renheyuan.id)
    sockets = [await watch(first, admin, under), await watch(second, admin, under)]
    sockets.append(await watch(second, admin, under))  # a second screen of the same admin
    building = gid("Building", city.demo.building.id)
    sockets.append(await watch(second, city.token("grid-worker"), building))
    async with httpx.AsyncClient(base_url=second) as http:
        petition = await submit(http, city.token("resident"), building)
        accepted = await move(http, admin, petition, "ACCEPT")
    async with httpx.AsyncClient(base_url=first) as http:
        await move(http, admin, accepted, "ASSIGN", assigneeId=worker_id(city))
    for socket in sockets:
        await until(socket, petition["id"], 3)
        assert steps(socket.frames, petition["id"]) == ["SUBMIT", "ACCEPT", "ASSIGN"]
        cursors = [f["payload"]["data"]["petitionEvents"]["id"] for f in socket.frames
                   if f.get("type") == "next"]  # fmt: skip
        assert len(cursors) == len(set(cursors))
        await socket.close()
    assert servers.live(first).stats.executions >= 3
    assert servers.live(second).stats.shared >= 3  # the admin's two screens resolved once


async def test_a_reconnecting_client_gets_what_it_missed_then_live_events(
    server: str, city: LiveCity, client: httpx.AsyncClient
) -> None:
    admin = city.token("community-admin")
    under = gid("OrgUnit", city.demo.renheyuan.id)
    socket = await watch(server, admin, under)
    petition = await submit(client, city.token("resident"), gid("Building", city.demo.building.id))
    await until(socket, petition["id"], 1)
    seen = socket.frames[-1]["payload"]["data"]["petitionEvents"]["id"]
    await socket.close()
    accepted = await move(client, admin, petition, "ACCEPT")  # missed while away
    worker = city.token("grid-worker")
    assigned = await move(client, admin, accepted, "ASSIGN", assigneeId=worker_id(city))
    again = await watch(server, admin, under, after=seen)
    await until(again, petition["id"], 2)
    await move(client, worker, assigned, "ACKNOWLEDGE")  # live
    await until(again, petition["id"], 3)
    await again.quiet(0.5)
    assert steps(again.frames, petition["id"]) == ["ACCEPT", "ASSIGN", "ACKNOWLEDGE"]
    await again.close()


async def test_resuming_while_events_keep_coming_misses_and_repeats_nothing(
    server: str, city: LiveCity, client: httpx.AsyncClient
) -> None:
    """A client drops its connection again and again while a petition moves along; each time
    it resumes after the last cursor it saw. In the end it has every step, once, in order."""
    admin = city.token("community-admin")
    under = gid("Building", city.demo.building.id)
    petition = await submit(client, city.token("resident"), under)
    async with city.engine.connect() as conn:
        seq = (
            await conn.execute(
                text(
                    "SELECT seq FROM live_event l JOIN petition_event e ON e.id = l.source_id"
                    " WHERE l.topic = 'petition' AND e.action = 'SUBMIT' AND e.petition_id = :p"
                ),
                {"p": from_global_id(petition["id"])[1]},
            )
        ).scalar_one()
    route = ["ACCEPT", "ASSIGN", "ACKNOWLEDGE"]
    extra: dict[str, dict[str, str]] = {"ASSIGN": {"assigneeId": worker_id(city)}}

    async def handler() -> None:
        current = petition
        for action in route:
            await asyncio.sleep(0.15)
            current = await move(client, admin, current, action, **extra.get(action, {}))

    moving = asyncio.create_task(handler())
    got: list[str] = []
    cursors: list[str] = []
    after = str(cursor(int(seq) - 1))  # just before the SUBMIT
    deadline = asyncio.get_running_loop().time() + 30
    while len(got) < 1 + len(route) and asyncio.get_running_loop().time() < deadline:
        socket = await watch(server, admin, under, after=after)
        with contextlib.suppress(TimeoutError):
            while not any(f["type"] == "next" for f in socket.frames):
                await socket.receive(within=1)
            frame = next(f for f in socket.frames if f["type"] == "next")
            data = frame["payload"]["data"]["petitionEvents"]
            if data["petition"]["id"] == petition["id"]:
                got.append(data["event"]["action"])
            cursors.append(data["id"])
            after = data["id"]
        await socket.close()  # drop the connection after each event
    await moving
    assert got == ["SUBMIT", *route]
    assert len(cursors) == len(set(cursors))


async def test_a_resume_beyond_the_window_is_refused(
    servers: Servers, city: LiveCity, client: httpx.AsyncClient
) -> None:
    admin = city.token("community-admin")
    base = servers.start(LiveSettings(init_timeout=1, max_subscriptions=3, send_queue=20,
                                      resume_max=2))  # fmt: skip
    under = gid("Building", city.demo.building.id)
    socket = await watch(base, admin, under)
    petition = await submit(client, city.token("resident"), under)
    await until(socket, petition["id"], 1)
    seen = socket.frames[-1]["payload"]["data"]["petitionEvents"]["id"]
    await socket.close()
    current = await move(client, admin, petition, "ACCEPT")
    current = await move(client, admin, current, "ASSIGN", assigneeId=worker_id(city))
    await move(client, admin, current, "ACKNOWLEDGE")
    again = await connected(base, admin)
    await again.subscribe("events", EVENTS, {"u": under, "after": seen})
    frame = await again.receive()
    assert frame["type"] == "error"
    assert [e["extensions"]["code"] for e in frame["payload"]] == ["RESUME_REFUSED"]
    # older than the retention: below the horizon of purged events
    async with city.engine.begin() as conn:
        top = (await conn.execute(text("SELECT max(seq) FROM live_event"))).scalar_one()
        old = (await conn.execute(text("SELECT seq FROM live_horizon"))).scalar_one()
        await conn.execute(text("UPDATE live_horizon SET seq = :s"), {"s": top})
    try:
        await again.subscribe("late", EVENTS, {"u": under, "after": seen})
        frame = await again.receive()
        assert frame["type"] == "error"
        assert [e["extensions"]["code"] for e in frame["payload"]] == ["RESUME_REFUSED"]
    finally:
        async with city.engine.begin() as conn:
            await conn.execute(text("UPDATE live_horizon SET seq = :s"), {"s": old})
    await again.close()


async def test_the_listener_reconnects_and_catches_up_when_its_connection_is_lost(
    servers: Servers, city: LiveCity, live_uri: str
) -> None:
    base = servers.start()
    hub = servers.live(base).hub
    admin = city.token("community-admin")
    under = gid("Building", city.demo.building.id)
    socket = await watch(base, admin, under)
    async with city.engine.begin() as conn:
        killed = (
            await conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = :name"
                ),
                {"name": LISTENER_NAME},
            )
        ).scalar_one()
    assert killed >= 1
    async with httpx.AsyncClient(base_url=base) as http:
        petition = await submit(http, city.token("resident"), under)  # perhaps while away
        await until(socket, petition["id"], 1, within=15)
    assert hub.stats.reconnects >= 1
    await socket.close()


@pytest.mark.parametrize("settings", [TEST_SETTINGS])
async def test_completing_a_subscription_stops_its_events(
    server: str, city: LiveCity, client: httpx.AsyncClient, settings: LiveSettings
) -> None:
    admin = city.token("community-admin")
    under = gid("Building", city.demo.building.id)
    socket = await watch(server, admin, under)
    await socket.send({"id": "events", "type": "complete"})
    await submit(client, city.token("resident"), under)
    assert [f for f in await socket.quiet(1.0) if f.get("id") == "events"] == []
    await socket.close()
