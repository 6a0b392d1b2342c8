"""`myQueue` and `petitionQueue(buildingId:)`, through GraphQL: every handler's queue lists
exactly the cases they may act on, across every place they handle, the nearer deadline
first, with counts per status."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.org import Building
from models.petitions import Level, Petition, PetitionAction, Priority, RatingValue
from models.wishes import WishAction
from resolvers import petitions as rp
from resolvers import wishes as rw
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, StatementCounter
from tests.metrics.story import Handler
from tests.petitions.helpers import Actors, pid
from tests.petitions.helpers import submit as submit_at
from tests.petitions_api.conftest import Signed
from tests.petitions_api.helpers import gid, moved

QUEUE = """
query($after: String, $filter: PetitionFilterInput) {
  myQueue {
    petitions(first: 100, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { id status version allowedActions dueAt caseDueAt ownerLevel }
    }
    petitionCounts { status count pastDeadline }
  }
}
"""

VISIBLE = """
query($after: String) {
  petitions(first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id status allowedActions reporter { id } }
  }
}
"""

WISHES = """
{ myQueue { wishes { totalCount nodes { id status allowedActions } } wishCounts { status count } } }
"""

BUILDING_QUEUE = """
query($building: ID, $unit: ID) {
  petitionQueue(buildingId: $building, orgUnitId: $unit, first: 100) {
    nodes { id ownerLevel }
  }
}
"""

AWAITING_RATING = ("RESOLVED", "NOT_RESOLVABLE")


async def walk(client: GraphQLClient, query: str, path: str, **variables: Any) -> list[Any]:
    """Every node of a connection, page by page."""
    found: list[Any] = []
    after = None
    while True:
        data = await client(query, {**variables, "after": after})
        for name in path.split("."):
            data = data[name]
        found += data["nodes"]
        if not data["pageInfo"]["hasNextPage"]:
            return found
        after = data["pageInfo"]["endCursor"]


async def queue_ids(client: GraphQLClient) -> set[str]:
    return {p["id"] for p in await walk(client, QUEUE, "myQueue.petitions")}


class Cases:
    """Petitions of the demo building's community at every level, made at given instants."""

    def __init__(self, session: AsyncSession, demo: DemoCity) -> None:
        self.session = session
        self.demo = demo
        self.actors = Actors.of(demo)
        self.handler = Handler(session, self.actors)

    async def owned_at(self, level: Level, hours_ago: float = 1, **fields: Any) -> Petition:
        now = utcnow()
        petition = await submit_at(
            self.session, self.demo, now=now - timedelta(hours=hours_ago), **fields
        )
        while petition.owner_level != level:
            petition = await rp.transition(
                self.session,
                pid(petition),
                PetitionAction.ESCALATE,
                petition.version,
                self.actors.admin,
                note="需上级协调",
                now=now,
            )
        return petition

    async def resolved(self, rating: RatingValue | None = None) -> Petition:
        at = utcnow() - timedelta(hours=5)
        petition = await submit_at(self.session, self.demo, now=at)
        petition = await self.handler.handle(
            petition,
            assign=at + timedelta(hours=1),
            ack=at + timedelta(hours=2),
            resolve=at + timedelta(hours=3),
        )
        if rating is not None:
            petition = await self.handler.rate(
                petition, self.actors.resident, rating, at + timedelta(hours=4)
            )
        return petition


def ids(*petitions: Petition) -> set[str]:
    return {gid("Petition", p.id) for p in petitions}


async def test_each_handler_gets_exactly_what_they_may_act_on(
    session: AsyncSession, demo: DemoCity, as_account: Signed
) -> None:
    cases = Cases(session, demo)
    at_building = await cases.owned_at(Level.BUILDING)
    at_grid = await cases.owned_at(Level.GRID)
    at_community = await cases.owned_at(Level.COMMUNITY)
    at_street = await cases.owned_at(Level.STREET)
    awaiting = await cases.resolved()
    closed = await cases.resolved(RatingValue.SATISFIED)
    elsewhere = await submit_at(
        session, demo, now=utcnow(), building_id=pid(await other_community_building(session, demo))
    )
    await session.commit()

    expected = {
        "building-head": ids(at_building),
        "grid-worker": ids(at_building, at_grid),  # it resolved `awaiting`: nothing left
        "community-admin": ids(at_building, at_grid, at_community),
        "street-admin": ids(at_building, at_grid, at_community, at_street),
        "resident": ids(awaiting),  # her own, waiting for her rating
        "renter": set(),
    }
    for handle, wanted in expected.items():
        found = await queue_ids(as_account(handle))
        assert found == wanted, handle
    made = ids(at_building, at_grid, at_community, at_street, awaiting, closed, elsewhere)
    assert ids(closed, elsewhere) & set().union(*expected.values()) == set()
    assert made >= set().union(*expected.values())


async def other_community_building(session: AsyncSession, demo: DemoCity) -> Building:
    found = await session.scalar(
        sa.select(Building)
        .where(col(Building.path).op("<@")(demo.lingxi.path))
        .order_by(col(Building.id))
        .limit(1)
    )
    assert found is not None
    return found


async def test_the_queue_follows_the_case_as_it_moves(
    session: AsyncSession, demo: DemoCity, head: GraphQLClient, worker: GraphQLClient
) -> None:
    petition = await Cases(session, demo).owned_at(Level.BUILDING)
    await session.commit()
    mine = ids(petition)
    assert await queue_ids(head) == mine
    assert mine <= await queue_ids(worker), "the grid worker handles building cases too"

    node = (await walk(head, QUEUE, "myQueue.petitions"))[0]
    node = await moved(head, node, "ACCEPT")
    node = await moved(head, node, "ASSIGN", assigneeId=gid("Person", demo.grid_worker.id))
    assert await queue_ids(head) == mine, "the head may still act on it (reassign, escalate)"
    node = await moved(worker, node, "ACKNOWLEDGE")
    node = await moved(worker, node, "START")
    await moved(worker, node, "RESOLVE", note="已清理")
    assert await queue_ids(head) == set(), "resolved: it waits for the resident's rating"
    assert await queue_ids(worker) == set()


async def test_nearer_deadline_first_with_counts_per_status(
    session: AsyncSession, demo: DemoCity, community_admin: GraphQLClient
) -> None:
    cases = Cases(session, demo)
    # a GENERAL case received 8 days ago (its 7 days ran out), an URGENT one just now, a
    # GENERAL one escalated to the grid (its case deadline is nearer than the grid's)
    late = await cases.owned_at(Level.BUILDING, hours_ago=8 * 24)
    urgent = await cases.owned_at(Level.BUILDING, hours_ago=0.1, priority=Priority.URGENT)
    escalated = await cases.owned_at(Level.GRID, hours_ago=24)
    await session.commit()

    data = await community_admin(QUEUE, {"after": None})
    queue = data["myQueue"]
    nodes = queue["petitions"]["nodes"]
    assert [n["id"] for n in nodes] == [gid("Petition", p.id) for p in (late, urgent, escalated)], (
        "by the nearer of the case's and the level's deadline"
    )
    nearer = [min(datetime.fromisoformat(n[k]) for k in ("dueAt", "caseDueAt")) for n in nodes]
    assert nearer == sorted(nearer)
    assert queue["petitions"]["totalCount"] == 3
    assert queue["petitionCounts"] == [
        {"status": "ESCALATED", "count": 1, "pastDeadline": 0},
        {"status": "SUBMITTED", "count": 2, "pastDeadline": 1},
    ]
    # filters narrow the queue like any petition list
    overdue = await community_admin(QUEUE, {"after": None, "filter": {"caseOverdue": True}})
    assert [n["id"] for n in overdue["myQueue"]["petitions"]["nodes"]] == [gid("Petition", late.id)]


async def test_every_demo_queue_agrees_with_allowed_actions(
    demo_petitions: DemoCity, as_account: Signed, accounts: dict[str, Any]
) -> None:
    """On the demo city's petitions in every status: a queue holds exactly the visible cases
    with an allowed action, and the actor's own cases awaiting their rating."""
    busy = {"building-head", "grid-worker", "community-admin", "street-admin", "city-admin"}
    for handle, account in accounts.items():
        client = as_account(handle)
        me = account.person_id
        visible = await walk(client, VISIBLE, "petitions")
        own = {p["id"] for p in visible if p["reporter"] == {"id": gid("Person", me)}}
        expected = {
            p["id"]
            for p in visible
            if p["allowedActions"] or (p["status"] in AWAITING_RATING and p["id"] in own)
        }
        assert expected or handle not in busy, f"{handle}: the demo gives handlers work"
        queue = await walk(client, QUEUE, "myQueue.petitions")
        assert {p["id"] for p in queue} == expected, handle
        counts = (await client(QUEUE, {"after": None}))["myQueue"]["petitionCounts"]
        tally: dict[str, int] = {}
        for p in queue:
            tally[p["status"]] = tally.get(p["status"], 0) + 1
        assert {c["status"]: c["count"] for c in counts} == tally, handle


async def test_wish_keepers_claimants_and_residents(
    session: AsyncSession, demo: DemoCity, as_account: Signed
) -> None:
    actors = Actors.of(demo)

    async def wish(*steps: tuple[WishAction, int]) -> Any:
        made = await rw.post_wish(
            session,
            resident_id=actors.resident,
            title="帮忙换灯泡",
            description="厨房灯泡坏了，够不着。",
            building_id=pid(demo.building),
        )
        for action, person in steps:
            evidence = ["wishes/bulb.jpg"] if action == WishAction.FULFIL else []
            made = await rw.act_on_wish(
                session, pid(made), action, made.version, person, evidence=evidence
            )
        return made

    posted = await wish()
    claimed = await wish((WishAction.PUBLISH, actors.head), (WishAction.CLAIM, actors.cadre))
    fulfilled = await wish(
        (WishAction.PUBLISH, actors.head),
        (WishAction.CLAIM, actors.party_member),
        (WishAction.FULFIL, actors.party_member),
    )
    await wish((WishAction.PUBLISH, actors.head))  # on the wall: nobody's work yet
    await session.commit()

    def wid(*wishes: Any) -> set[str]:
        return {gid("MicroWish", w.id) for w in wishes}

    async def wishes_of(handle: str) -> tuple[set[str], dict[str, int]]:
        data = (await as_account(handle)(WISHES))["myQueue"]
        assert data["wishes"]["totalCount"] == len(data["wishes"]["nodes"])
        for w in data["wishes"]["nodes"]:
            assert w["allowedActions"], (handle, w)
        counts = {c["status"]: c["count"] for c in data["wishCounts"]}
        return {w["id"] for w in data["wishes"]["nodes"]}, counts

    assert await wishes_of("building-head") == (wid(posted), {"POSTED": 1})
    assert await wishes_of("seconded-cadre") == (wid(claimed), {"CLAIMED": 1})
    assert await wishes_of("resident") == (wid(fulfilled), {"FULFILLED": 1})
    head_queue, _ = await wishes_of("building-head")
    assert wid(claimed).isdisjoint(head_queue)


async def test_a_building_queue_and_its_refusals(
    session: AsyncSession, demo: DemoCity, head: GraphQLClient, anonymous: GraphQLClient
) -> None:
    cases = Cases(session, demo)
    at_building = await cases.owned_at(Level.BUILDING)
    await cases.owned_at(Level.GRID)  # placed at the building, owned by its grid
    await session.commit()
    data = await head(BUILDING_QUEUE, {"building": gid("Building", demo.building.id)})
    assert data["petitionQueue"]["nodes"] == [
        {"id": gid("Petition", at_building.id), "ownerLevel": "BUILDING"}
    ]
    grid = await head(BUILDING_QUEUE, {"unit": gid("OrgUnit", demo.building.grid_id)})
    assert [n["ownerLevel"] for n in grid["petitionQueue"]["nodes"]] == ["GRID"]

    for variables in ({}, {"building": gid("Building", demo.building.id), "unit": "x"}):
        errors = await head.errors(BUILDING_QUEUE, variables)
        assert errors[0]["extensions"]["code"] == "VALIDATION"
    errors = await head.errors(BUILDING_QUEUE, {"building": gid("OrgUnit", demo.renheyuan.id)})
    assert errors[0]["extensions"]["code"] == "NOT_FOUND", "an id of another type names nothing"
    errors = await anonymous.errors("{ myQueue { petitionCounts { count } } }")
    assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED"


DEEP = """
{ myQueue {
    petitions(first: 50) {
      totalCount
      nodes { id category { code } stages { level onTime owner { name } } timeline { action } }
    }
    petitionCounts { status count }
    wishes { nodes { id } }
    serviceOrders(first: 50) { nodes { id item { name } building { name } allowedActions } }
    serviceOrderCounts { status count pastDeadline }
} }
"""


async def test_the_queue_runs_a_fixed_number_of_statements(
    session: AsyncSession,
    demo: DemoCity,
    community_admin: GraphQLClient,
    sql_statements: StatementCounter,
) -> None:
    cases = Cases(session, demo)

    async def statements(made: int) -> int:
        for _ in range(made):
            await cases.owned_at(Level.GRID)
        await session.commit()
        sql_statements.reset()
        data = await community_admin(DEEP)
        assert (
            len(data["myQueue"]["petitions"]["nodes"]) == data["myQueue"]["petitions"]["totalCount"]
        )
        return sql_statements.count

    few = await statements(2)
    many = await statements(10)
    assert few == many, sql_statements.statements
