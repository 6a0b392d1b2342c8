"""Password hashing runs on a small thread pool: a burst of sign-ins neither stalls the
event loop nor takes more than its few threads. Real connections and commits (the
requests run at once); the throttle rows they leave are deleted afterwards."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models.db import make_sessionmaker
from models.identity import security_settings
from resolvers import identity as ri
from schema.http import build_app
from tests.conftest import GraphQLClient

BURST = 8
SIGN_IN = (
    """mutation($input: SignInInput!) { signIn(input: $input) { accessToken errors { code } } }"""
)


def attempts() -> list[tuple[str, str]]:
    """(phone, client address) pairs nobody else uses: no account, no shared throttle."""
    return [(f"1990000{i:04d}", f"192.0.2.{100 + i}") for i in range(BURST)]


@pytest.fixture
async def cleanup(engine: AsyncEngine) -> AsyncIterator[None]:
    yield
    keys = [ri._keyed("sign-in", phone, address) for phone, address in attempts()]
    keys += [ri._keyed("sign-in-address", address) for _, address in attempts()]
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(
            sa.text("DELETE FROM sign_in_throttle WHERE key = ANY(:keys)"), {"keys": keys}
        )


@pytest.mark.usefixtures("cleanup")
async def test_a_burst_of_sign_ins_runs_off_the_event_loop_on_a_bounded_pool(
    engine: AsyncEngine, database_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    lock = threading.Lock()
    running = peak = 0
    threads: set[str] = set()

    def held_verify(password_hash: str | None, password: str) -> bool:
        """A verification that lasts until the test lets it finish."""
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            threads.add(threading.current_thread().name)
        try:
            release.wait(30)
            return False
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(ri, "_verify", held_verify)
    app = build_app(database_uri, sessionmaker=make_sessionmaker(engine))
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(address, 40_000)),
            base_url="http://test",
        )
        for _, address in attempts()
    ]
    try:
        burst = [
            asyncio.create_task(
                GraphQLClient(client)(
                    SIGN_IN, {"input": {"phone": phone, "password": "a-guessed-password"}}
                )
            )
            for client, (phone, _) in zip(clients, attempts(), strict=True)
        ]
        bound = security_settings().password_threads
        for _ in range(1000):
            if running == bound:
                break
            await asyncio.sleep(0.01)
        assert running == bound
        # every thread of the pool is busy hashing, and the event loop still answers
        health = await clients[0].get("/healthz")
        assert health.status_code == 200
        me = await GraphQLClient(clients[0])("{ me { kind } }")
        assert me == {"me": {"kind": "ANONYMOUS"}}
        assert not any(task.done() for task in burst)
        release.set()
        answers = await asyncio.gather(*burst)
    finally:
        release.set()
        for client in clients:
            await client.aclose()
    assert all(
        a == {"signIn": {"accessToken": None, "errors": [{"code": "INVALID_CREDENTIALS"}]}}
        for a in answers
    )
    assert peak == bound
    assert threads
    assert all(name.startswith("argon2") for name in threads)
