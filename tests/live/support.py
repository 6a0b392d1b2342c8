"""Helpers of the live tests: tokens, GraphQL over HTTP against a real server, and a
graphql-transport-ws client that exposes every frame and close code."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from models.identity import Account, TokenRole
from models.org import OrgUnit
from resolvers.identity import create_api_token, issue_access_token
from schema.relay import to_global_id
from schema.websocket import Live
from seeds.demo import DemoCity
from tests.server import serving

PROTOCOL = "graphql-transport-ws"
ERRORS = "errors { code field message }"


def gid(type_name: str, ident: int | None) -> str:
    assert ident is not None
    return str(to_global_id(type_name, ident))


@dataclass
class LiveCity:
    demo: DemoCity
    accounts: dict[str, Account]
    engine: AsyncEngine

    def token(self, handle: str, *, now: datetime | None = None) -> str:
        """A fresh access token of a demo account (issued at `now`: in the past, it expires
        sooner)."""
        account = self.accounts[handle]
        assert account.id is not None
        return issue_access_token(account.id, now)

    async def api_token(self, role: TokenRole, unit: OrgUnit, *, days: int = 30) -> tuple[int, str]:
        """A new API token (committed): its id and its secret."""
        assert unit.id is not None
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            issued = await create_api_token(
                session, name=f"live {role}", role=role, org_unit_id=unit.id, days=days,
                created_by=None,
            )  # fmt: skip
            await session.commit()
            assert issued.token.id is not None
            return issued.token.id, issued.secret


@dataclass
class Servers:
    start: Callable[..., str]
    apps: dict[str, FastAPI] = field(default_factory=dict)

    def live(self, base: str) -> Live:
        """The subscriptions service of the app serving `base`."""
        found: Live = self.apps[base].state.live
        return found


async def gql(
    http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, *, token: str
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data


SUBMIT = f"""mutation($input: SubmitPetitionInput!) {{
  submitPetition(input: $input) {{ petition {{ id version }} {ERRORS} }} }}"""
TRANSITION = f"""mutation($input: TransitionPetitionInput!) {{
  transitionPetition(input: $input) {{ petition {{ id status version }} {ERRORS} }} }}"""


async def category_id(http: httpx.AsyncClient, token: str) -> str:
    data = await gql(http, "{ petitionCategories { id code } }", token=token)
    found = {c["code"]: c["id"] for c in data["petitionCategories"]}
    return str(found["CORRIDOR_CLUTTER"])


async def submit(
    http: httpx.AsyncClient,
    token: str,
    building: str,
    *,
    anonymous: bool = False,
    title: str = "楼道堆放杂物",
) -> dict[str, Any]:
    """Submit a petition (committed by the server); its id and version."""
    data = await gql(
        http,
        SUBMIT,
        {
            "input": {
                "idempotencyKey": f"live-{uuid.uuid4().hex}",
                "channel": "ONLINE",
                "categoryId": await category_id(http, token),
                "buildingId": building,
                "title": title,
                "description": "3单元楼道里堆满了纸箱",
                "anonymous": anonymous,
            }
        },
        token=token,
    )
    payload = data["submitPetition"]
    assert payload["errors"] == [], payload
    petition: dict[str, Any] = payload["petition"]
    return petition


async def move(
    http: httpx.AsyncClient, token: str, petition: dict[str, Any], action: str, **extra: Any
) -> dict[str, Any]:
    data = await gql(
        http,
        TRANSITION,
        {
            "input": {
                "id": petition["id"],
                "action": action,
                "expectedVersion": petition["version"],
                **extra,
            }
        },
        token=token,
    )
    payload = data["transitionPetition"]
    assert payload["errors"] == [], payload
    moved: dict[str, Any] = payload["petition"]
    return moved


@dataclass
class Socket:
    """One graphql-transport-ws connection, read frame by frame."""

    ws: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def open(cls, base: str, *, subprotocols: list[str] | None = None) -> Socket:
        offered = [PROTOCOL] if subprotocols is None else subprotocols
        ws = await connect(
            base.replace("http://", "ws://") + "/graphql",
            subprotocols=[Subprotocol(p) for p in offered] or None,
            max_size=2**22,
        )
        return cls(ws)

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def init(self, token: str | None) -> None:
        """`connection_init` with the token; must be acknowledged."""
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await self.send({"type": "connection_init", "payload": payload})
        assert await self.receive() == {"type": "connection_ack"}

    async def subscribe(
        self, sub_id: str, query: str, variables: dict[str, Any] | None = None
    ) -> None:
        await self.send(
            {
                "id": sub_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )

    async def receive(self, within: float = 10) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), within))
        self.frames.append(frame)
        return frame

    async def next(self, sub_id: str, within: float = 10) -> dict[str, Any]:
        """The next `next` payload of `sub_id` (pongs and other ids are skipped)."""
        while True:
            frame = await self.receive(within)
            if frame.get("id") != sub_id:
                continue
            assert frame["type"] == "next", frame
            payload: dict[str, Any] = frame["payload"]
            return payload

    async def quiet(self, seconds: float) -> list[dict[str, Any]]:
        """Every frame that arrives within `seconds`."""
        found: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                found.append(await self.receive(left))
            except TimeoutError:
                break
        return found

    async def closed(self, within: float = 10) -> tuple[int | None, str]:
        """Wait for the server to close; the close code and reason."""
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), within)
        except ConnectionClosed as closed:
            received = closed.rcvd
            return (received.code, received.reason) if received else (None, "")

    async def close(self) -> None:
        await self.ws.close()


async def connected(base: str, token: str) -> Socket:
    socket = await Socket.open(base)
    await socket.init(token)
    return socket


@contextmanager
def serving_on(app: FastAPI, port: int) -> Iterator[str]:
    """Serve `app` on `port` until the block ends (a server restarted on the port its
    clients know); yields its base URL."""
    with serving(app, port) as base:
        yield base
