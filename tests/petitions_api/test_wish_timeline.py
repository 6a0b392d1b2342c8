"""Micro-wishes run on the shared workflow like petitions: each viewer is told what they may
do next (`allowedActions`), and every step is on the wish's timeline."""

from __future__ import annotations

from collections.abc import Callable

from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.petitions_api.helpers import gid
from tests.petitions_api.test_categories_wishes import POST, acted, run

SEEN = """query($id: ID!) { node(id: $id) { ... on MicroWish {
  status allowedActions timeline { action fromStatus toStatus note version actor { id } } } } }"""


async def seen(client: GraphQLClient, wish: dict[str, object]) -> dict[str, object]:
    data = await client(SEEN, {"id": wish["id"]})
    node: dict[str, object] = data["node"]
    return node


async def test_allowed_actions_and_timeline_follow_each_viewer(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity
) -> None:
    resident = as_account("resident")
    head = as_account("building-head")
    renter = as_account("renter")
    posted = await run(
        resident,
        POST,
        {
            "title": "想要一副老花镜",
            "description": "眼睛看不清报纸",
            "buildingId": gid("Building", demo.building.id),
        },
    )
    assert posted["errors"] == []
    wish = posted["wish"]
    assert (await seen(resident, wish))["allowedActions"] == ["CANCEL"]
    assert (await seen(head, wish))["allowedActions"] == ["CANCEL", "PUBLISH"]
    assert (await renter(SEEN, {"id": wish["id"]}))["node"] is None, "a draft is hers alone"

    wish = await acted(head, wish, "PUBLISH")
    assert (await seen(resident, wish))["allowedActions"] == ["CANCEL"]
    assert (await seen(head, wish))["allowedActions"] == ["CANCEL", "CLAIM"], "a Party member"
    assert (await seen(renter, wish))["allowedActions"] == []

    wish = await acted(head, wish, "CLAIM")
    assert (await seen(head, wish))["allowedActions"] == ["CANCEL", "FULFIL", "RELEASE"]
    wish = await acted(head, wish, "FULFIL", note="已配好送到")
    assert (await seen(resident, wish))["allowedActions"] == ["CONFIRM"]
    wish = await acted(resident, wish, "CONFIRM", note="谢谢张师傅")

    timeline = (await seen(resident, wish))["timeline"]
    assert isinstance(timeline, list)
    assert [(e["action"], e["fromStatus"], e["toStatus"], e["version"]) for e in timeline] == [
        ("POST", None, "POSTED", 1),
        ("PUBLISH", "POSTED", "PUBLISHED", 2),
        ("CLAIM", "PUBLISHED", "CLAIMED", 3),
        ("FULFIL", "CLAIMED", "FULFILLED", 4),
        ("CONFIRM", "FULFILLED", "CONFIRMED", 5),
    ]
    assert timeline[3]["note"] == "已配好送到"
    head_id = gid("Person", demo.building_head.id)
    assert [e["actor"]["id"] if e["actor"] else None for e in timeline][1:4] == [head_id] * 3
