"""graphql-transport-ws on /graphql, frame by frame, against a real server: initialisation and
its timeout, credentials at `connection_init`, the order of messages, ids, ping/pong, the
limits every subscribe obeys, and the close codes of the protocol."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from models.base import utcnow
from models.identity import TokenRole
from models.live import LiveSettings
from ops.metrics import REGISTRY
from resolvers.identity import ACCESS_TTL
from tests.live.conftest import TEST_SETTINGS
from tests.live.support import LiveCity, Servers, Socket, connected, gid

EVENTS = "subscription($u: ID!) { petitionEvents(under: $u) { id event { action } } }"


def renheyuan(city: LiveCity) -> dict[str, str]:
    return {"u": gid("OrgUnit", city.demo.renheyuan.id)}


async def test_an_access_token_and_an_api_token_are_acknowledged(
    server: str, city: LiveCity
) -> None:
    socket = await connected(server, city.token("community-admin"))
    await socket.close()
    _, secret = await city.api_token(TokenRole.DISPLAY, city.demo.renheyuan)
    socket = await connected(server, secret)
    await socket.send({"type": "ping"})
    assert await socket.receive() == {"type": "pong"}
    await socket.close()


async def test_the_default_initialisation_timeout_is_three_seconds() -> None:
    assert LiveSettings().init_timeout == 3.0


async def test_no_connection_init_in_time_closes_with_4408(server: str) -> None:
    socket = await Socket.open(server)
    started = asyncio.get_running_loop().time()
    code, reason = await socket.closed()
    assert code == 4408
    assert reason == "Connection initialisation timeout"
    waited = asyncio.get_running_loop().time() - started
    assert TEST_SETTINGS.init_timeout * 0.8 <= waited < TEST_SETTINGS.init_timeout + 2


@pytest.mark.parametrize("offered", [[], ["graphql-ws"]])
async def test_a_client_without_the_subprotocol_is_closed_with_4406(
    server: str, offered: list[str]
) -> None:
    socket = await Socket.open(server, subprotocols=offered)
    assert (await socket.closed())[0] == 4406


async def test_subscribe_before_the_acknowledgement_closes_with_4401(
    server: str, city: LiveCity
) -> None:
    socket = await Socket.open(server)
    await socket.subscribe("1", EVENTS, renheyuan(city))
    assert (await socket.closed())[0] == 4401


@pytest.mark.parametrize(
    "payload",
    [
        None,
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer rbt_no-such-api-token"},
    ],
)
async def test_missing_or_bad_credentials_close_with_4403(
    server: str, payload: dict[str, str] | None
) -> None:
    socket = await Socket.open(server)
    await socket.send({"type": "connection_init", "payload": payload})
    code, reason = await socket.closed()
    assert code == 4403
    assert reason.startswith("Forbidden")


async def test_an_expired_access_token_closes_with_4403(server: str, city: LiveCity) -> None:
    stale = city.token("community-admin", now=utcnow() - ACCESS_TTL - timedelta(seconds=1))
    socket = await Socket.open(server)
    await socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {stale}"}})
    assert await socket.closed() == (4403, "Forbidden: the access token has expired")


async def test_an_expired_api_token_closes_with_4403(
    server: str, city: LiveCity, client: httpx.AsyncClient
) -> None:
    token_id, secret = await city.api_token(TokenRole.DISPLAY, city.demo.renheyuan)
    async with city.engine.begin() as conn:
        await conn.exec_driver_sql(
            "UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = $1",
            (token_id,),
        )
    socket = await Socket.open(server)
    await socket.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {secret}"}})
    assert (await socket.closed())[0] == 4403


async def test_a_token_that_expires_while_connected_closes_the_connection(
    server: str, city: LiveCity
) -> None:
    almost = city.token("community-admin", now=utcnow() - ACCESS_TTL + timedelta(seconds=2))
    socket = await connected(server, almost)
    await socket.subscribe("1", EVENTS, renheyuan(city))
    assert await socket.closed(within=10) == (4403, "Forbidden: the credentials expired")


async def test_a_second_connection_init_closes_with_4429(server: str, city: LiveCity) -> None:
    socket = await connected(server, city.token("community-admin"))
    await socket.send({"type": "connection_init", "payload": {}})
    assert (await socket.closed())[0] == 4429


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1, 2]",
        '{"type": 42}',
        '{"type": "no_such_type"}',
        '{"type": "subscribe", "payload": {"query": "subscription { x }"}}',
        '{"type": "subscribe", "id": 7, "payload": {}}',
        '{"type": "subscribe", "id": "1", "payload": "subscription { x }"}',
        '{"type": "complete"}',
    ],
)
async def test_malformed_messages_close_with_4400(server: str, city: LiveCity, frame: str) -> None:
    socket = await connected(server, city.token("community-admin"))
    await socket.send(frame)
    assert (await socket.closed())[0] == 4400


async def test_binary_and_oversized_frames_close_with_4400(server: str, city: LiveCity) -> None:
    socket = await connected(server, city.token("community-admin"))
    await socket.ws.send(b'{"type": "ping"}')
    assert (await socket.closed())[0] == 4400
    socket = await connected(server, city.token("community-admin"))
    await socket.send('{"type": "ping", "payload": {"x": "' + "x" * 300_000 + '"}}')
    assert (await socket.closed())[0] == 4400


async def test_an_id_already_subscribed_closes_with_4409(server: str, city: LiveCity) -> None:
    socket = await connected(server, city.token("community-admin"))
    await socket.subscribe("same", EVENTS, renheyuan(city))
    await socket.subscribe("same", EVENTS, renheyuan(city))
    assert await socket.closed() == (4409, "Subscriber for same already exists")


async def test_a_completed_id_may_be_used_again(server: str, city: LiveCity) -> None:
    socket = await connected(server, city.token("community-admin"))
    await socket.subscribe("again", EVENTS, renheyuan(city))
    await socket.send({"id": "again", "type": "complete"})
    await socket.subscribe("again", EVENTS, renheyuan(city))
    await socket.send({"type": "ping"})
    assert await socket.receive() == {"type": "pong"}  # still open: no 4409
    await socket.close()


async def test_ping_is_answered_with_pong_and_a_pong_needs_no_answer(
    server: str, city: LiveCity
) -> None:
    socket = await connected(server, city.token("community-admin"))
    await socket.send({"type": "pong"})
    await socket.send({"type": "ping", "payload": {"at": 1}})
    assert await socket.receive() == {"type": "pong"}
    await socket.close()


async def errors_of(socket: Socket, sub_id: str) -> list[str]:
    frame = await socket.receive()
    assert frame["type"] == "error", frame
    assert frame["id"] == sub_id
    for error in frame["payload"]:
        assert error["extensions"]["requestId"]
    return [str(error["extensions"]["code"]) for error in frame["payload"]]


async def test_subscribe_obeys_the_http_limits_and_validation(server: str, city: LiveCity) -> None:
    socket = await connected(server, city.token("community-admin"))
    deep = "subscription($u: ID!) { petitionEvents(under: $u) { petition { building { grid {" \
        " parent { parent { parent { name } } } } } } } }"  # fmt: skip
    await socket.subscribe("deep", deep, renheyuan(city))
    assert await errors_of(socket, "deep") == ["DEPTH_LIMIT"]
    aliases = "subscription($u: ID!) { petitionEvents(under: $u) { " + " ".join(
        f"a{i}: id" for i in range(16)
    ) + " } }"  # fmt: skip
    await socket.subscribe("aliases", aliases, renheyuan(city))
    assert await errors_of(socket, "aliases") == ["ALIAS_LIMIT"]
    await socket.subscribe("parse", "subscription {", {})
    assert await errors_of(socket, "parse") == ["GRAPHQL_PARSE_FAILED"]
    await socket.subscribe("unknown", "subscription { noSuchField }", {})
    assert await errors_of(socket, "unknown") == ["GRAPHQL_VALIDATION_FAILED"]
    await socket.subscribe("two", "subscription($u: ID!) { a: petitionEvents(under: $u) { id }"
                           " b: displayFeed(under: $u) { id } }", renheyuan(city))  # fmt: skip
    assert await errors_of(socket, "two") == ["GRAPHQL_VALIDATION_FAILED"]
    await socket.subscribe("vars", EVENTS, {})
    assert await errors_of(socket, "vars") == ["VALIDATION"]
    await socket.subscribe("nul", EVENTS, {"u": "a\u0000b"})
    assert await errors_of(socket, "nul") == ["VALIDATION"]
    await socket.subscribe("query", "{ me { kind } }", {})
    assert await errors_of(socket, "query") == ["SUBSCRIPTIONS_ONLY"]
    await socket.subscribe("badid", EVENTS, {"u": "not-an-id"})
    assert await errors_of(socket, "badid") == ["VALIDATION"]
    await socket.subscribe("absent", EVENTS, {"u": gid("OrgUnit", 987_654_321)})
    assert await errors_of(socket, "absent") == ["NOT_FOUND"]
    # every refusal left the connection open
    await socket.send({"type": "ping"})
    assert await socket.receive() == {"type": "pong"}
    await socket.close()


async def test_a_subscription_over_the_cost_budget_of_a_display_is_refused(
    server: str, city: LiveCity
) -> None:
    _, secret = await city.api_token(TokenRole.DISPLAY, city.demo.city)
    socket = await connected(server, secret)
    costly = (
        "subscription($u: ID!) { figuresUpdated(under: $u) { node { children(first: 100) {"
        " nodes { children(first: 100) { nodes { name code kind createdAt } } } } } } }"
    )
    await socket.subscribe("costly", costly, {"u": gid("OrgUnit", city.demo.city.id)})
    assert await errors_of(socket, "costly") == ["COST_LIMIT"]
    await socket.close()


async def test_subscriptions_per_connection_are_capped(server: str, city: LiveCity) -> None:
    socket = await connected(server, city.token("community-admin"))
    for n in range(TEST_SETTINGS.max_subscriptions):
        await socket.subscribe(f"s{n}", EVENTS, renheyuan(city))
    await socket.subscribe("one-more", EVENTS, renheyuan(city))
    assert await errors_of(socket, "one-more") == ["SUBSCRIPTION_LIMIT"]
    await socket.send({"id": "s0", "type": "complete"})
    await socket.subscribe("now-fits", EVENTS, renheyuan(city))
    await socket.send({"type": "ping"})
    assert await socket.receive() == {"type": "pong"}  # no error for now-fits
    await socket.close()


async def test_the_graphql_endpoint_still_answers_http(
    client: httpx.AsyncClient, servers: Servers
) -> None:
    response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert response.json() == {
        "data": {"__typename": "Query"},
        "extensions": {"cost": {"requested": 0, "budget": 12000}},
    }


async def test_open_subscriptions_are_a_gauge_at_metrics(server: str, city: LiveCity) -> None:
    """`graphql_subscriptions_open` follows subscribe, complete and a closed connection."""

    async def gauge_becomes(value: float) -> None:
        deadline = asyncio.get_running_loop().time() + 10
        while REGISTRY.get_sample_value("graphql_subscriptions_open") != value:
            assert asyncio.get_running_loop().time() < deadline, "the gauge did not follow"
            await asyncio.sleep(0.02)

    before = REGISTRY.get_sample_value("graphql_subscriptions_open") or 0.0
    socket = await connected(server, city.token("community-admin"))
    await socket.subscribe("a", EVENTS, renheyuan(city))
    await socket.subscribe("b", EVENTS, renheyuan(city))
    await gauge_becomes(before + 2)
    await socket.send({"id": "a", "type": "complete"})
    await gauge_becomes(before + 1)
    await socket.close()
    await gauge_becomes(before)
