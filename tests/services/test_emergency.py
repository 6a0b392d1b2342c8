"""平急结合 through GraphQL: an admin switches a community to emergency, every seconded cadre
of it is rostered to the buildings of their posts and checks in there; switching back ends
the roster; the history stays queryable."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.support import gid, rows
from tests.services.helpers import codes, run

PERIOD = """id reason active startedAt endedAt
  roster(first: 100) { totalCount nodes { id checkedInAt endedAt cadre { id } building { id } } }"""


async def test_emergency_rosters_every_cadre_and_switching_back_ends_it(
    admin: GraphQLClient,
    cadre: GraphQLClient,
    gql: GraphQLClient,
    session: AsyncSession,
    demo: DemoCity,
) -> None:
    unit = gid("OrgUnit", demo.renheyuan.id)
    posts = await rows(
        session,
        """SELECT person_id, building_id FROM position WHERE role = 'SECONDED_CADRE'
           AND ended_at IS NULL AND path <@ CAST(:p AS ltree)""",
        p=demo.renheyuan.path,
    )
    assert posts
    started = await run(
        admin,
        "startEmergency",
        {"orgUnitId": unit, "reason": "暴雪：全员下沉楼栋"},
        f"period {{ {PERIOD} }}",
    )
    assert started["errors"] == []
    period = started["period"]
    assert period["active"] is True
    rostered = {(n["cadre"]["id"], n["building"]["id"]) for n in period["roster"]["nodes"]}
    assert rostered == {(gid("Person", p), gid("Building", b)) for p, b in posts}
    again = await run(admin, "startEmergency", {"orgUnitId": unit, "reason": "x"}, "period { id }")
    assert codes(again) == ["EMERGENCY_ACTIVE"]

    state = await admin(
        "query($id: ID!) { node(id: $id) { ... on OrgUnit { emergency { id } } } }", {"id": unit}
    )
    assert state["node"]["emergency"] == {"id": period["id"]}

    me = gid("Person", demo.seconded_cadre.id)
    mine = [n for n in period["roster"]["nodes"] if n["cadre"]["id"] == me]
    assert len(mine) == 2, "the cadre's two buildings"
    others = [n for n in period["roster"]["nodes"] if n["cadre"]["id"] != me]
    not_mine = await run(cadre, "checkInEmergency", {"id": others[0]["id"]}, "entry { id }")
    assert codes(not_mine) in (["FORBIDDEN"], ["NOT_FOUND"])
    checked = await run(cadre, "checkInEmergency", {"id": mine[0]["id"]}, "entry { checkedInAt }")
    assert checked["errors"] == []
    assert checked["entry"]["checkedInAt"]
    twice = await run(cadre, "checkInEmergency", {"id": mine[0]["id"]}, "entry { checkedInAt }")
    assert codes(twice) == ["ALREADY_CHECKED_IN"]

    ended = await run(
        admin, "endEmergency", {"orgUnitId": unit, "note": "雪停"}, f"period {{ {PERIOD} }}"
    )
    assert ended["errors"] == []
    assert ended["period"]["active"] is False
    assert all(n["endedAt"] for n in ended["period"]["roster"]["nodes"])
    late = await run(cadre, "checkInEmergency", {"id": mine[1]["id"]}, "entry { checkedInAt }")
    assert codes(late) == ["NOT_IN_EMERGENCY"]
    no_more = await run(admin, "endEmergency", {"orgUnitId": unit}, "period { id }")
    assert codes(no_more) == ["NOT_IN_EMERGENCY"]

    history = """query($id: ID!) { emergencyPeriods(under: $id, first: 10) {
        nodes { id active roster(first: 100) { nodes { checkedInAt } } } } }"""
    city = {"id": gid("OrgUnit", demo.city.id)}
    periods = (await admin(history, city))["emergencyPeriods"]["nodes"]
    assert [p["id"] for p in periods] == [period["id"]], "灵犀's is none of his business"
    assert sum(n["checkedInAt"] is not None for n in periods[0]["roster"]["nodes"]) == 1
    everything = (await gql(history, city))["emergencyPeriods"]["nodes"]
    assert len(everything) == 2, "灵犀's flood emergency of the demo is history too"


async def test_only_admins_above_the_unit_switch_it(
    worker: GraphQLClient, admin: GraphQLClient, demo: DemoCity
) -> None:
    unit = {"orgUnitId": gid("OrgUnit", demo.renheyuan.id), "reason": "x"}
    assert codes(await run(worker, "startEmergency", unit, "period { id }")) == ["FORBIDDEN"]
    far = {"orgUnitId": gid("OrgUnit", demo.lingxi.id), "reason": "x"}
    assert codes(await run(admin, "startEmergency", far, "period { id }")) == ["NOT_FOUND"]


async def test_a_unit_inside_one_in_emergency_cannot_start_its_own(
    gql: GraphQLClient, demo: DemoCity
) -> None:
    street = await run(
        gql,
        "startEmergency",
        {"orgUnitId": gid("OrgUnit", demo.street.id), "reason": "疫情封控"},
        "period { roster(first: 100) { totalCount } }",
    )
    assert street["errors"] == []
    assert street["period"]["roster"]["totalCount"] > 0
    inner = await run(
        gql,
        "startEmergency",
        {"orgUnitId": gid("OrgUnit", demo.renheyuan.id), "reason": "x"},
        "period { id }",
    )
    assert codes(inner) == ["EMERGENCY_ACTIVE"]
