"""Every payload passes the row scope and field policy of a query by the same actor: a
resident hears of her own cases only and never of another's anonymous reporter, masks hold,
full reads are audited, drafts of wishes stay private, and a display reads no case at all:
only the display feed, which shows what `permissions.live` lets it show."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import sqlalchemy as sa
from graphql import GraphQLObjectType
from sqlmodel import col

from models.audit import AuditEntry
from models.identity import TokenRole
from permissions.live import DISPLAY_FEED_FIELDS
from schema.relay import from_global_id
from schema.root import schema
from tests.live.support import ERRORS, LiveCity, Socket, connected, gid, gql, submit

EVENTS = """subscription($u: ID!) {
  petitionEvents(under: $u) {
    id
    event { action byReporter actor { id name } }
    petition { id anonymous title reporter { id name phone } recordedBy { id } }
  }
}"""


async def watching(base: str, token: str, under: str, query: str = EVENTS) -> Socket:
    socket = await connected(base, token)
    await socket.subscribe("s", query, {"u": under})
    await socket.send({"type": "ping"})
    while (await socket.receive())["type"] != "pong":
        pass
    return socket


def about(socket: Socket, petition_id: str) -> list[dict[str, Any]]:
    return [
        f["payload"]["data"]["petitionEvents"]
        for f in socket.frames
        if f.get("type") == "next"
        and f["payload"]["data"]["petitionEvents"]["petition"]["id"] == petition_id
    ]


async def test_an_anonymous_reporter_is_known_to_herself_alone(
    server: str, city: LiveCity, client: httpx.AsyncClient
) -> None:
    building = gid("Building", city.demo.building.id)
    resident = await watching(server, city.token("resident"), building)
    renter = await watching(server, city.token("renter"), building)
    head = await watching(server, city.token("building-head"), building)
    worker = await watching(server, city.token("grid-worker"), building)
    admin = await watching(
        server, city.token("community-admin"), gid("OrgUnit", city.demo.renheyuan.id)
    )
    _, secret = await city.api_token(TokenRole.INTEGRATOR, city.demo.renheyuan)
    integrator = await watching(server, secret, building)
    petition = await submit(client, city.token("resident"), building, anonymous=True,
                            title="楼上噪音")  # fmt: skip
    for socket in (resident, head, worker, admin, integrator):
        while not about(socket, petition["id"]):
            await socket.receive()
    [own] = about(resident, petition["id"])
    assert own["petition"]["reporter"]["id"] == gid("Person", city.demo.resident_alone.id)
    assert own["event"]["byReporter"] is True
    for socket in (head, worker, admin, integrator):
        [seen] = about(socket, petition["id"])
        assert seen["petition"]["anonymous"] is True
        assert seen["petition"]["reporter"] is None
        assert seen["event"]["actor"] is None
        assert seen["event"]["byReporter"] is True
    # a neighbour hears nothing of a case that is not hers
    assert [f for f in await renter.quiet(0.5) if f.get("id") == "s"] == []
    assert about(renter, petition["id"]) == []
    for socket in (resident, renter, head, worker, admin, integrator):
        await socket.close()


async def test_masks_hold_and_full_reads_are_audited(
    server: str, city: LiveCity, client: httpx.AsyncClient
) -> None:
    building = gid("Building", city.demo.building.id)
    head = await watching(server, city.token("building-head"), building)
    _, secret = await city.api_token(TokenRole.INTEGRATOR, city.demo.renheyuan)
    integrator = await watching(server, secret, building)
    petition = await submit(client, city.token("renter"), building, title="电梯异响")
    for socket in (head, integrator):
        while not about(socket, petition["id"]):
            await socket.receive()
    renter = city.demo.renter
    [shown] = about(head, petition["id"])
    assert shown["petition"]["reporter"] == {
        "id": gid("Person", renter.id),
        "name": renter.name,
        "phone": renter.phone,
    }
    [masked] = about(integrator, petition["id"])
    assert masked["petition"]["reporter"]["name"] != renter.name
    assert "*" in masked["petition"]["reporter"]["name"]
    assert "****" in masked["petition"]["reporter"]["phone"]
    await asyncio.sleep(0.5)
    async with city.engine.connect() as conn:
        reads = (
            await conn.execute(
                sa.select(col(AuditEntry.row_ids), col(AuditEntry.fields)).where(
                    col(AuditEntry.actor_person_id) == city.demo.building_head.id,
                    col(AuditEntry.object_type) == "Person",
                    col(AuditEntry.action) == "READ",
                )
            )
        ).all()
    assert any(renter.id in rows and "phone" in fields for rows, fields in reads)
    for socket in (head, integrator):
        await socket.close()


async def refused(base: str, token: str, query: str, variables: dict[str, str]) -> list[str]:
    socket = await connected(base, token)
    await socket.subscribe("s", query, variables)
    frame = await socket.receive()
    await socket.close()
    assert frame["type"] == "error", frame
    return [str(e["extensions"]["code"]) for e in frame["payload"]]


async def test_a_display_reads_no_case_and_no_wish(server: str, city: LiveCity) -> None:
    _, secret = await city.api_token(TokenRole.DISPLAY, city.demo.renheyuan)
    community = {"u": gid("OrgUnit", city.demo.renheyuan.id)}
    assert await refused(server, secret, EVENTS, community) == ["FORBIDDEN"]
    wishes = "subscription($u: ID) { wishEvents(orgUnitId: $u) { id wish { title } } }"
    assert await refused(server, secret, wishes, community) == ["FORBIDDEN"]
    # nor may a resident read a display's feed, nor anyone above their own node
    feed = "subscription($u: ID!) { displayFeed(under: $u) { id } }"
    assert await refused(server, city.token("resident"), feed, community) == ["FORBIDDEN"]
    city_node = {"u": gid("OrgUnit", city.demo.city.id)}
    assert await refused(server, secret, feed, city_node) == ["FORBIDDEN"]


async def test_the_display_feed_shows_what_the_policy_lets_it_show(
    server: str, city: LiveCity, client: httpx.AsyncClient
) -> None:
    _, secret = await city.api_token(TokenRole.DISPLAY, city.demo.renheyuan)
    feed = """subscription($u: ID!) { displayFeed(under: $u) {
        id at action fromStatus toStatus category grid community } }"""
    display = await watching(server, secret, gid("OrgUnit", city.demo.renheyuan.id), feed)
    building = gid("Building", city.demo.building.id)
    await submit(client, city.token("resident"), building, anonymous=True, title="私人纠纷")
    item = (await display.next("s"))["data"]["displayFeed"]
    assert item["action"] == "SUBMIT"
    assert item["toStatus"] == "SUBMITTED"
    assert item["category"] == "楼道堵塞"
    assert item["community"] == city.demo.renheyuan.name
    grid = city.demo.grids
    assert item["grid"] in {g.name for g in grid.values()}
    assert from_global_id(item["id"])[0] == "LiveEvent"
    await display.close()
    feed_item = schema._schema.type_map["DisplayFeedItem"]
    assert isinstance(feed_item, GraphQLObjectType)
    fields = feed_item.fields
    assert set(fields) == DISPLAY_FEED_FIELDS


async def test_wish_drafts_reach_their_keepers_only(
    server: str, city: LiveCity, client: httpx.AsyncClient
) -> None:
    building = gid("Building", city.demo.building.id)
    query = """subscription($u: ID) {
      wishEvents(buildingId: $u) {
        id event { action toStatus } wish { id title resident { id } } } }"""
    keeper = await watching(server, city.token("building-head"), building, query)
    neighbour = await watching(server, city.token("renter"), building, query)
    posted = await gql(
        client,
        f"""mutation($i: PostWishInput!) {{ postWish(input: $i) {{ wish {{ id version }}
              {ERRORS} }} }}""",
        {"i": {"buildingId": building, "title": "想要一副老花镜", "description": "看报纸用"}},
        token=city.token("resident"),
    )
    wish = posted["postWish"]["wish"]
    draft = (await keeper.next("s"))["data"]["wishEvents"]
    assert (draft["event"]["action"], draft["wish"]["id"]) == ("POST", wish["id"])
    assert [f for f in await neighbour.quiet(0.5) if f.get("id") == "s"] == []
    acted = await gql(
        client,
        f"""mutation($i: WishActionInput!) {{ actOnWish(input: $i) {{ wish {{ status }}
              {ERRORS} }} }}""",
        {"i": {"id": wish["id"], "action": "PUBLISH", "expectedVersion": wish["version"]}},
        token=city.token("building-head"),
    )
    assert acted["actOnWish"]["errors"] == []
    for socket in (keeper, neighbour):
        published = (await socket.next("s"))["data"]["wishEvents"]["event"]
        assert (published["action"], published["toStatus"]) == ("PUBLISH", "PUBLISHED")
        await socket.close()
