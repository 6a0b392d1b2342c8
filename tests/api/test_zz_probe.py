import json
from typing import Any
import sqlalchemy as sa
from schema.relay import to_global_id
from tests.conftest import GraphQLClient
from seeds.demo import DemoCity
from seeds import builders


async def test_probe(gql: GraphQLClient, demo: DemoCity, session: Any, sql_statements: Any) -> None:
    p = lambda *a: print(*[json.dumps(x, ensure_ascii=False) if not isinstance(x, str) else x for x in a])
    p(await gql.raw("{ nope }"))
    p(await gql.raw("{ nope "))
    p(await gql.raw('{ node(id: "%s") { id } }' % to_global_id("OrgUnit", 10**30)))
    p(await gql.raw('{ node(id: "%s") { id } }' % to_global_id("OrgUnit", 2**40)))
    import base64
    c = base64.urlsafe_b64encode("cursor:²".encode()).decode()
    p(await gql.raw('{ city { children(after: "%s") { totalCount } } }' % c))
    c = base64.urlsafe_b64encode(("cursor:" + "9" * 30).encode()).decode()
    p(await gql.raw('{ city { children(after: "%s") { totalCount } } }' % c))
    hh = to_global_id("Household", (await session.execute(sa.text("select id from household limit 1"))).scalar())
    b = to_global_id("Building", demo.building.id)
    q = 'mutation($b: ID!) { createHousehold(input: {buildingId: $b, unit: "1单元", room: "101", tenure: RENTED}) { household { id } errors { code field message } } }'
    p(await gql.raw(q, {"b": b}))
    wu = to_global_id("WorkUnit", (await session.execute(sa.text("select work_unit_id from work_unit_pairing where community_id=:c limit 1"), {"c": demo.renheyuan.id})).scalar())
    q = 'mutation($w: ID!, $c: ID!) { pairWorkUnit(input: {workUnitId: $w, communityId: $c}) { workUnitPairing { id } errors { code field message } } }'
    p(await gql.raw(q, {"w": wu, "c": to_global_id("OrgUnit", demo.renheyuan.id)}))
    p(await gql.raw('{ city { stats { grids buildings households residents partyMembers buildingHeads partyGroups centralHouseholds secondedCadres registeredPartyMembers pairedWorkUnits } } }'))
    ids = [to_global_id("OrgUnit", i) for i in range(1, 11)]
    sql_statements.reset()
    await gql('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', {"ids": ids})
    p("nodes stmts", sql_statements.count)
