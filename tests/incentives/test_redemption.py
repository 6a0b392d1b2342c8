"""A building head redeems points at a partner shop (红城星店): eligibility, a one-time code,
the operator's confirmation (a masked name, nothing else of the person), the ledger."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from resolvers import incentives as ri
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.incentives.conftest import ERRORS, Shops
from tests.petitions_api.helpers import gid, moved, petition_input, rate, submitted

ClientOf = Callable[[int], Awaitable[GraphQLClient]]

CREATE_OFFER = f"""mutation($input: CreateOfferInput!) {{ createOffer(input: $input) {{
  offer {{ id kind percentOff pointsCost eligibility }} {ERRORS} }} }}"""
ISSUE = f"""mutation($input: IssueRedemptionInput!) {{ issueRedemption(input: $input) {{
  code redemption {{ id status version pointsCost expiresAt holderName allowedActions }}
  {ERRORS} }} }}"""
CONFIRM = f"""mutation($input: ConfirmRedemptionInput!) {{ confirmRedemption(input: $input) {{
  redemption {{ id status holderName holder {{ id }} offer {{ title }} confirmedAt }}
  {ERRORS} }} }}"""
CANCEL = f"""mutation($input: CancelRedemptionInput!) {{ cancelRedemption(input: $input) {{
  redemption {{ id status }} {ERRORS} }} }}"""
POINTS = """{ myPoints { balance held entries { kind points sourceType }
  redemptions(first: 10) { nodes { id status holderName shop { name } } } } }"""
REDEMPTION = """query($id: ID!) { node(id: $id) { ... on Redemption {
  id status holderName holder { id name } timeline { action toStatus } } } }"""


async def earn_satisfied_points(
    resident: GraphQLClient, head: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> None:
    """The head closes a case of his building and its resident rates it 「满意」: 10 points."""
    petition = await submitted(resident, await petition_input(session, demo))
    head_id = gid("Person", demo.building_head.id)
    for action, extra in (
        ("ACCEPT", {}),
        ("ASSIGN", {"assigneeId": head_id}),
        ("ACKNOWLEDGE", {}),
        ("START", {}),
        ("RESOLVE", {"note": "已清理"}),
    ):
        petition = await moved(head, petition, action, **extra)
    rated = await rate(resident, petition, "SATISFIED")
    assert rated["pointsCredited"] == 10


async def an_offer(admin: GraphQLClient, shop: int, **terms: Any) -> dict[str, Any]:
    values = {
        "shopId": gid("Shop", shop),
        "kind": "PERCENT_DISCOUNT",
        "title": "楼栋长满意件九折",
        "percentOff": 10,
        "pointsCost": 10,
        "eligibility": ["BUILDING_HEAD_SATISFIED"],
        "validUntil": (utcnow() + timedelta(days=30)).isoformat(),
    } | terms
    payload = (await admin(CREATE_OFFER, {"input": values}))["createOffer"]
    assert payload["errors"] == [], payload
    offer: dict[str, Any] = payload["offer"]
    return offer


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def test_a_building_head_redeems_points_at_a_shop(
    as_account: Callable[[str], GraphQLClient],
    client_of: ClientOf,
    shops: Shops,
    session: AsyncSession,
    demo: DemoCity,
) -> None:
    resident, head, renter = (
        as_account("resident"),
        as_account("building-head"),
        as_account("renter"),
    )
    admin = as_account("community-admin")
    base = (await head(POINTS))["myPoints"]["balance"]  # the demo's volunteer hours
    assert base < 10, "the offer below costs more than the head has before the case"
    await earn_satisfied_points(resident, head, session, demo)
    offer = await an_offer(admin, shops.local)

    refused = (await renter(ISSUE, {"input": {"offerId": offer["id"]}}))["issueRedemption"]
    assert codes(refused) == ["NOT_ELIGIBLE"]
    issued = (await head(ISSUE, {"input": {"offerId": offer["id"]}}))["issueRedemption"]
    assert issued["errors"] == []
    code = issued["code"]
    assert re.fullmatch(r"\d{8}", code)
    redemption = issued["redemption"]
    assert (redemption["status"], redemption["pointsCost"]) == ("ISSUED", 10)
    assert redemption["holderName"] == "张建国"
    assert redemption["allowedActions"] == ["CANCEL"]
    mine = (await head(POINTS))["myPoints"]
    assert (mine["balance"], mine["held"]) == (base + 10, 10), "held, not yet spent"
    again = (await head(ISSUE, {"input": {"offerId": offer["id"]}}))["issueRedemption"]
    assert codes(again) == ["INSUFFICIENT_POINTS"], "the same points cannot be held twice"

    local, other = await client_of(shops.local_operator), await client_of(shops.other_operator)
    wrong_shop = await other(CONFIRM, {"input": {"shopId": gid("Shop", shops.local), "code": code}})
    assert codes(wrong_shop["confirmRedemption"]) == ["NOT_FOUND"], "another district's shop"
    by_admin_code = {"input": {"shopId": gid("Shop", shops.local), "code": code}}
    not_operator = (await admin(CONFIRM, by_admin_code))["confirmRedemption"]
    assert codes(not_operator) == ["FORBIDDEN"], "only the shop's operator confirms"
    elsewhere = await other(CONFIRM, {"input": {"shopId": gid("Shop", shops.other), "code": code}})
    assert codes(elsewhere["confirmRedemption"]) == ["CODE_INVALID"], "not a code of his shop"

    confirmed = await local(CONFIRM, {"input": {"shopId": gid("Shop", shops.local), "code": code}})
    payload = confirmed["confirmRedemption"]
    assert payload["errors"] == []
    assert payload["redemption"]["status"] == "CONFIRMED"
    assert payload["redemption"]["holderName"] == "张*国", "the operator sees a masked name"
    assert payload["redemption"]["holder"] is None, "and nothing else of the person"
    used = await local(CONFIRM, {"input": {"shopId": gid("Shop", shops.local), "code": code}})
    assert codes(used["confirmRedemption"]) == ["CODE_INVALID"], "a code is used once"

    mine = (await head(POINTS))["myPoints"]
    assert (mine["balance"], mine["held"]) == (base, 0)
    newest = mine["entries"][0]
    assert (newest["kind"], newest["points"], newest["sourceType"]) == (
        "REDEEMED",
        10,
        "REDEMPTION",
    )
    [listed] = mine["redemptions"]["nodes"]
    assert (listed["status"], listed["holderName"]) == ("CONFIRMED", "张建国")

    head_person = gid("Person", demo.building_head.id)
    person = await local("query($id: ID!) { node(id: $id) { id } }", {"id": head_person})
    assert person["node"] is None, "the operator cannot look the person up"
    seen = await local(REDEMPTION, {"id": redemption["id"]})
    assert seen["node"]["holderName"] == "张*国"
    assert seen["node"]["holder"] is None
    assert seen["node"]["timeline"] == []
    assert (await resident(REDEMPTION, {"id": redemption["id"]}))["node"] is None
    by_admin = (await admin(REDEMPTION, {"id": redemption["id"]}))["node"]
    assert by_admin["holderName"] == "张*国"
    assert by_admin["holder"]["id"] == head_person
    assert [e["action"] for e in by_admin["timeline"]] == ["CONFIRM", "ISSUE"]


async def test_codes_expire_and_cancel_and_free_their_points(
    as_account: Callable[[str], GraphQLClient],
    client_of: ClientOf,
    shops: Shops,
    session: AsyncSession,
    demo: DemoCity,
) -> None:
    resident, head = as_account("resident"), as_account("building-head")
    base = (await head(POINTS))["myPoints"]["balance"]
    await earn_satisfied_points(resident, head, session, demo)
    offer = await an_offer(as_account("community-admin"), shops.local)
    first = (await head(ISSUE, {"input": {"offerId": offer["id"]}}))["issueRedemption"]
    await session.execute(sa.text("UPDATE redemption SET expires_at = now() - interval '1 second'"))
    local = await client_of(shops.local_operator)
    late = await local(
        CONFIRM, {"input": {"shopId": gid("Shop", shops.local), "code": first["code"]}}
    )
    assert codes(late["confirmRedemption"]) == ["CODE_EXPIRED"]
    expired = await ri.expire_redemptions(session, utcnow())
    assert len(expired) == 1
    assert (await head(POINTS))["myPoints"]["held"] == 0

    second = (await head(ISSUE, {"input": {"offerId": offer["id"]}}))["issueRedemption"]
    assert second["errors"] == [], "expired codes hold nothing"
    stale = {"id": second["redemption"]["id"], "expectedVersion": 7}
    assert codes((await head(CANCEL, {"input": stale}))["cancelRedemption"]) == ["VERSION_CONFLICT"]
    by_other = {"id": second["redemption"]["id"], "expectedVersion": 1}
    assert codes((await resident(CANCEL, {"input": by_other}))["cancelRedemption"]) == ["NOT_FOUND"]
    cancelled = (await head(CANCEL, {"input": by_other}))["cancelRedemption"]
    assert cancelled["redemption"]["status"] == "CANCELLED"
    gone = await local(
        CONFIRM, {"input": {"shopId": gid("Shop", shops.local), "code": second["code"]}}
    )
    assert codes(gone["confirmRedemption"]) == ["CODE_INVALID"]
    assert (await head(POINTS))["myPoints"]["balance"] == base + 10, "nothing was spent"


async def test_wrong_codes_are_counted_until_the_shop_is_held_back(
    client_of: ClientOf, shops: Shops
) -> None:
    local = await client_of(shops.local_operator)
    shop = gid("Shop", shops.local)
    for attempt in range(20):
        payload = await local(CONFIRM, {"input": {"shopId": shop, "code": f"{attempt:08d}"}})
        assert codes(payload["confirmRedemption"]) == ["CODE_INVALID"]
    held = await local(CONFIRM, {"input": {"shopId": shop, "code": "12345678"}})
    assert codes(held["confirmRedemption"]) == ["RATE_LIMITED"]
    malformed = await (await client_of(shops.other_operator))(
        CONFIRM, {"input": {"shopId": gid("Shop", shops.other), "code": "12ab"}}
    )
    assert [(e["code"], e["field"]) for e in malformed["confirmRedemption"]["errors"]] == [
        ("VALIDATION", "code")
    ]


async def test_offers_are_the_community_s_to_make(
    as_account: Callable[[str], GraphQLClient], client_of: ClientOf, shops: Shops
) -> None:
    values = {
        "shopId": gid("Shop", shops.local),
        "kind": "PERCENT_DISCOUNT",
        "title": "九折",
        "percentOff": 10,
        "validUntil": (utcnow() + timedelta(days=30)).isoformat(),
    }
    for who in (as_account("building-head"), await client_of(shops.local_operator)):
        payload = (await who(CREATE_OFFER, {"input": values}))["createOffer"]
        assert codes(payload) == ["FORBIDDEN"]
    bad = await as_account("community-admin")(CREATE_OFFER, {"input": values | {"percentOff": 0}})
    assert [(e["code"], e["field"]) for e in bad["createOffer"]["errors"]] == [
        ("VALIDATION", "percentOff")
    ]
    other_shop = values | {"shopId": gid("Shop", shops.other)}
    outside = await as_account("community-admin")(CREATE_OFFER, {"input": other_shop})
    assert codes(outside["createOffer"]) == ["NOT_FOUND"], "a shop of another district"
