"""The npm `graphql-ws` client, unchanged (pinned in graphql_ws/package-lock.json and
installed with `npm ci` when missing), against our /graphql WebSocket endpoint: it connects,
gets a refused subscription's errors, receives live events, completes, and is told with
4403 when its credentials are refused."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live.support import LiveCity, Servers, gid, move, submit

HERE = Path(__file__).resolve().parent / "graphql_ws"


def node_modules() -> str:
    """Node.js, with the pinned packages installed from the lock file."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node.js and npm are needed to run the graphql-ws client")
    if not (HERE / "node_modules" / "graphql-ws" / "package.json").exists():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            check=True,
            timeout=300,
        )
    return node


async def lines(process: asyncio.subprocess.Process) -> list[dict[str, Any]]:
    assert process.stdout is not None
    return [json.loads(raw) async for raw in process.stdout]


async def test_the_graphql_ws_client_subscribes_receives_and_completes(
    servers: Servers, city: LiveCity
) -> None:
    node = node_modules()
    base = servers.start()
    live = servers.live(base)
    building = gid("Building", city.demo.building.id)
    admin = city.token("community-admin")
    process = await asyncio.create_subprocess_exec(
        node,
        str(HERE / "client.mjs"),
        base.replace("http://", "ws://") + "/graphql",
        admin,
        building,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    reading = asyncio.create_task(lines(process))
    for _ in range(200):  # until its subscription is in place
        if live.stats.subscriptions == 1:
            break
        await asyncio.sleep(0.05)
    assert live.stats.subscriptions == 1
    async with httpx.AsyncClient(base_url=base) as http:
        petition = await submit(http, city.token("resident"), building)
        await move(http, admin, petition, "ACCEPT")
    seen = await asyncio.wait_for(reading, 30)
    await process.wait()
    assert process.returncode == 0
    kinds = [line["event"] for line in seen]
    assert kinds == ["connected", "error", "subscribed", "next", "next", "completed", "closed"]
    [refused] = [line for line in seen if line["event"] == "error"]
    assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    events = [line["result"]["data"]["petitionEvents"] for line in seen if line["event"] == "next"]
    assert [e["petition"]["id"] for e in events] == [petition["id"]] * 2
    assert [e["event"]["action"] for e in events] == ["SUBMIT", "ACCEPT"]
    assert seen[-1]["code"] == 1000  # the client's own normal close, after `complete`
    for _ in range(100):
        if live.stats.subscriptions == 0 and live.stats.connections == 0:
            break
        await asyncio.sleep(0.05)
    assert (live.stats.subscriptions, live.stats.connections) == (0, 0)


async def test_the_graphql_ws_client_is_told_its_credentials_are_refused(
    server: str,
) -> None:
    node = node_modules()
    process = await asyncio.create_subprocess_exec(
        node,
        str(HERE / "refused.mjs"),
        server.replace("http://", "ws://") + "/graphql",
        "not-a-token",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    seen = await asyncio.wait_for(lines(process), 30)
    await process.wait()
    assert seen[0]["event"] == "closed"
    assert seen[0]["code"] == 4403
    assert seen[0]["reason"].startswith("Forbidden")
    assert seen[1] == {"event": "error", "code": 4403}
