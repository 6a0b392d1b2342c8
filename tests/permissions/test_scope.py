"""Row scope: lookups, lists, counts and stats only ever hold rows under the actor's places,
and a row out of scope answers exactly like a row that does not exist."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from models.org import GridType, OrgUnit
from models.people import Person
from permissions.limits import Limits
from permissions.masking import mask_name, mask_phone
from schema.root import schema
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.permissions.support import MISSING_ID, first_id_under, gid, ids, rows, token_client

NODE = "query($id: ID!) { node(id: $id) { id __typename } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }"
STATS_FIELDS = " ".join(schema._schema.type_map["OrgStats"].fields)  # type: ignore[attr-defined]

#: People an actor holding places `:paths` may see: those living there, and those without a
#: home here who hold an active position there (seconded cadres, grid workers ...).
PEOPLE_UNDER = """
SELECT p.id FROM person p
WHERE p.path <@ CAST(:paths AS ltree[])
   OR (p.path IS NULL AND EXISTS (
        SELECT 1 FROM position s
        WHERE s.person_id = p.id AND s.ended_at IS NULL AND s.path <@ CAST(:paths AS ltree[])))
"""


def grid_a(demo: DemoCity) -> OrgUnit:
    """The grid worker's grid (仁和苑 grid 1, holding `demo.building`)."""
    return demo.grids[GridType.OLD_ESTATE]


async def all_ids(client: GraphQLClient, root: str, args: str = "") -> tuple[int, list[str]]:
    """Every node of a root connection, page by page: (totalCount, ids)."""
    found: list[str] = []
    after: str | None = None
    total = 0
    while True:
        data = await client(
            f"query($after: String) {{ {root}(first: 100, after: $after{args}) "
            "{ totalCount nodes { id } pageInfo { hasNextPage endCursor } } }",
            {"after": after},
        )
        page = data[root]
        total = page["totalCount"]
        found += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return total, found
        after = page["pageInfo"]["endCursor"]


def gids(type_name: str, idents: set[int]) -> list[str]:
    return sorted(gid(type_name, i) for i in idents)


# --- the grid worker of grid A -------------------------------------------------------------


@pytest.fixture
def grid_worker(as_account: Callable[[str], GraphQLClient]) -> GraphQLClient:
    return as_account("grid-worker")


async def outside_rows(session: AsyncSession, demo: DemoCity) -> list[tuple[str, int]]:
    """(type, id) of rows in another grid of the same community and in another community."""
    found: list[tuple[str, int]] = []
    for place in (demo.grids[GridType.NEW_ESTATE].path, demo.lingxi.path):
        for type_name, table in (
            ("Person", "person"),
            ("Household", "household"),
            ("Building", "building"),
            ("Position", "position"),
            ("PartyOrganisation", "party_organisation"),
        ):
            found.append((type_name, await first_id_under(session, table, place)))
    found.append(("OrgUnit", int(demo.grids[GridType.NEW_ESTATE].id or 0)))
    found.append(("OrgUnit", int(demo.lingxi.id or 0)))
    return found


async def test_out_of_scope_nodes_answer_exactly_like_missing_ones(
    grid_worker: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> None:
    for type_name, ident in await outside_rows(session, demo):
        outside = await grid_worker.raw(NODE, {"id": gid(type_name, ident)})
        missing = await grid_worker.raw(NODE, {"id": gid(type_name, MISSING_ID)})
        assert outside == missing, (type_name, ident)
        assert outside["data"] == {"node": None}
        assert set(outside) == {"data", "extensions"}  # extensions: only the cost


async def test_in_scope_nodes_are_found(
    grid_worker: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> None:
    """The control: the same lookups inside grid A answer."""
    for type_name, table in (
        ("Person", "person"),
        ("Household", "household"),
        ("Building", "building"),
    ):
        ident = await first_id_under(session, table, grid_a(demo).path)
        data = await grid_worker(NODE, {"id": gid(type_name, ident)})
        assert data["node"] == {"id": gid(type_name, ident), "__typename": type_name}


async def test_nodes_returns_null_in_place_of_each_invisible_row(
    grid_worker: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> None:
    inside = [
        gid("Person", await first_id_under(session, "person", grid_a(demo).path)),
        gid("Building", demo.building.id),
    ]
    outside = [gid(t, i) for t, i in await outside_rows(session, demo)]
    missing = [gid("Person", MISSING_ID), gid("Household", MISSING_ID)]
    asked = [inside[0], *outside, missing[0], inside[1], missing[1]]
    data = await grid_worker(NODES, {"ids": asked})
    assert [n["id"] if n else None for n in data["nodes"]] == [
        inside[0],
        *[None] * len(outside),
        None,
        inside[1],
        None,
    ]


async def test_connections_hold_exactly_the_grid(
    grid_worker: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> None:
    grid = grid_a(demo).path
    expected_people = await ids(session, PEOPLE_UNDER, paths=[grid])
    total, found = await all_ids(grid_worker, "people")
    assert total == len(found) == len(expected_people)
    assert sorted(found) == gids("Person", expected_people)

    expected_buildings = await ids(
        session, "SELECT id FROM building WHERE path <@ CAST(:g AS ltree)", g=grid
    )
    total, found = await all_ids(grid_worker, "buildings")
    assert (total, sorted(found)) == (len(expected_buildings), gids("Building", expected_buildings))

    # positions and Party organisations: in the grid, or at places above it that it sees
    total, found = await all_ids(grid_worker, "positions")
    expected_positions = await ids(
        session,
        "SELECT id FROM position WHERE ended_at IS NULL AND path <@ CAST(:g AS ltree)",
        g=grid,
    )
    assert set(found) >= set(gids("Position", expected_positions))
    outside = await ids(
        session,
        "SELECT id FROM position "
        "WHERE NOT (path <@ CAST(:g AS ltree) OR path @> CAST(:g AS ltree))",
        g=grid,
    )
    assert not set(found) & set(gids("Position", outside))


async def test_counts_and_stats_never_include_other_grids(
    grid_worker: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> None:
    grid = grid_a(demo).path

    async def count(statement: str) -> int:
        return int(await scalar(session, statement, g=grid))

    want = {
        "grids": 1,
        "buildings": await count("SELECT count(*) FROM building WHERE path <@ CAST(:g AS ltree)"),
        "households": await count("SELECT count(*) FROM household WHERE path <@ CAST(:g AS ltree)"),
        "residents": await count("SELECT count(*) FROM person WHERE path <@ CAST(:g AS ltree)"),
        "partyMembers": await count(
            "SELECT count(*) FROM person WHERE path <@ CAST(:g AS ltree) AND is_party_member"
        ),
    }
    community_total = int(
        await scalar(
            session,
            "SELECT count(*) FROM person WHERE path <@ CAST(:c AS ltree)",
            c=demo.renheyuan.path,
        )
    )
    assert community_total > want["residents"] > 0
    selection = " ".join(want)
    data = await grid_worker(
        f"""query($community: ID!, $grid: ID!) {{
          city {{ stats {{ {selection} }} }}
          community: node(id: $community) {{ ... on OrgUnit {{
              stats {{ {selection} }}
              residents {{ totalCount }}
              buildings {{ totalCount }}
              children {{ totalCount }}
          }} }}
          grid: node(id: $grid) {{ ... on OrgUnit {{ stats {{ {selection} }} }} }}
        }}""",
        {"community": gid("OrgUnit", demo.renheyuan.id), "grid": gid("OrgUnit", grid_a(demo).id)},
    )
    assert data["city"]["stats"] == want
    assert data["community"]["stats"] == want
    assert data["grid"]["stats"] == want
    assert data["community"]["residents"]["totalCount"] == want["residents"]
    assert data["community"]["buildings"]["totalCount"] == want["buildings"]
    assert data["community"]["children"]["totalCount"] == 1


# --- a resident ------------------------------------------------------------------------------


async def test_a_resident_sees_self_household_and_contacts_only(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    resident = demo.resident_alone
    me = await session.get(Person, resident.id)
    assert me is not None
    assert me.path is not None
    expected = await ids(
        session,
        """
        SELECT p.id FROM person p
        WHERE p.household_id = :household
           OR EXISTS (SELECT 1 FROM position s
                      WHERE s.person_id = p.id AND s.ended_at IS NULL
                        AND s.role IN ('BUILDING_HEAD', 'HOUSEHOLD_LIAISON', 'GRID_WORKER')
                        AND s.path @> CAST(:home AS ltree))
        """,
        household=me.household_id,
        home=me.path,
    )
    # herself, the building head, the household liaison and the grid worker
    assert len(expected) == 4
    client = as_account("resident")
    total, found = await all_ids(client, "people")
    assert total == 4
    assert sorted(found) == gids("Person", expected)

    neighbour = demo.party_member
    data = await client(
        """query($me: ID!, $home: ID!, $neighbour: ID!, $theirs: ID!) {
          me: node(id: $me) { id }
          home: node(id: $home) { id }
          neighbour: node(id: $neighbour) { id }
          theirs: node(id: $theirs) { id }
          buildings { totalCount nodes { id households { totalCount } } }
          orgUnits(first: 10) { totalCount }
        }""",
        {
            "me": gid("Person", me.id),
            "home": gid("Household", me.household_id),
            "neighbour": gid("Person", neighbour.id),
            "theirs": gid("Household", neighbour.household_id),
        },
    )
    assert data["me"] == {"id": gid("Person", me.id)}
    assert data["home"] == {"id": gid("Household", me.household_id)}
    assert data["neighbour"] is None
    assert data["theirs"] is None
    # the public facts of her own building, and the places above it (city to grid)
    assert data["buildings"]["totalCount"] == 1
    [building] = data["buildings"]["nodes"]
    assert building == {"id": gid("Building", demo.building.id), "households": {"totalCount": 1}}
    assert data["orgUnits"]["totalCount"] == 5


# --- anonymous ------------------------------------------------------------------------------


async def test_anonymous_sees_nothing(
    anonymous: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> None:
    person = await first_id_under(session, "person", demo.city.path)
    data = await anonymous(
        """query($person: ID!, $building: ID!) {
          me { kind roles }
          city { id }
          people { totalCount }
          buildings { totalCount }
          orgUnits { totalCount }
          positions { totalCount }
          partyOrganisations { totalCount }
          workUnits { totalCount }
          person: node(id: $person) { id }
          building: node(id: $building) { id }
          unit: orgUnit(code: "520300") { id }
        }""",
        {"person": gid("Person", person), "building": gid("Building", demo.building.id)},
    )
    assert data == {
        "me": {"kind": "ANONYMOUS", "roles": []},
        "city": None,
        "people": {"totalCount": 0},
        "buildings": {"totalCount": 0},
        "orgUnits": {"totalCount": 0},
        "positions": {"totalCount": 0},
        "partyOrganisations": {"totalCount": 0},
        "workUnits": {"totalCount": 0},
        "person": None,
        "building": None,
        "unit": None,
    }


# --- API tokens -----------------------------------------------------------------------------


async def test_an_integrator_sees_its_community_masked_and_nothing_else(
    session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity
) -> None:
    client = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    expected = await ids(session, PEOPLE_UNDER, paths=[demo.renheyuan.path])
    data = await client("{ people(first: 100) { totalCount nodes { id name phone } } }")
    assert data["people"]["totalCount"] == len(expected)
    shown = data["people"]["nodes"]
    assert len(shown) == 100
    by_id = {
        gid("Person", int(i)): (name, phone)
        for i, name, phone in await rows(
            session,
            "SELECT id, name, phone FROM person WHERE id = ANY(:ids)",
            ids=sorted(expected),
        )
    }
    for node in shown:
        assert node["id"] in by_id
        name, phone = by_id[node["id"]]
        assert node["name"] == mask_name(name)
        assert node["phone"] == (mask_phone(phone) if phone else None)

    outside = await first_id_under(session, "person", demo.lingxi.path)
    data = await client(
        """query($person: ID!, $unit: ID!, $code: String!) {
          person: node(id: $person) { id }
          unit: node(id: $unit) { id }
          lingxi: orgUnit(code: $code) { id }
        }""",
        {
            "person": gid("Person", outside),
            "unit": gid("OrgUnit", demo.lingxi.id),
            "code": demo.lingxi.code,
        },
    )
    assert data == {"person": None, "unit": None, "lingxi": None}


async def test_a_display_gets_stats_with_small_cells_withheld_and_no_rows(
    session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity, gql: GraphQLClient
) -> None:
    display = await token_client(session, http, TokenRole.DISPLAY, demo.renheyuan)
    query = f"""query($id: ID!) {{ node(id: $id) {{ ... on OrgUnit {{
        stats {{ {STATS_FIELDS} }}
        children(first: 20) {{ nodes {{ code stats {{ {STATS_FIELDS} }} }} }}
    }} }} }}"""
    variables = {"id": gid("OrgUnit", demo.renheyuan.id)}
    shown = (await display(query, variables))["node"]
    truth = (await gql(query, variables))["node"]  # the city admin sees every row
    assert shown is not None

    places = {"grids", "buildings", "partyGroups", "pairedWorkUnits"}

    def withheld(true: dict[str, int], shown: dict[str, int | None]) -> dict[str, int | None]:
        """Places as they are; people withheld when small, or shown in full, or withheld as
        a complement (tests/metrics/test_display_attacks.py checks which)."""
        return {
            k: v if k in places else (None if 0 < v < 5 or shown[k] is None else v)
            for k, v in true.items()
        }

    residents = int(
        await scalar(
            session,
            "SELECT count(*) FROM person WHERE path <@ CAST(:c AS ltree)",
            c=demo.renheyuan.path,
        )
    )
    assert truth["stats"]["residents"] == residents
    assert shown["stats"] == withheld(truth["stats"], shown["stats"])
    cells: list[int | None] = []
    for mine, true in zip(shown["children"]["nodes"], truth["children"]["nodes"], strict=True):
        assert mine["code"] == true["code"]
        assert mine["stats"] == withheld(true["stats"], mine["stats"])
        cells += mine["stats"].values()
    assert None in cells, "the demo has small cells to withhold"

    neighbour = demo.party_member
    data = await display(
        """query($person: ID!, $household: ID!, $unit: ID!) {
          people { totalCount }
          buildings { totalCount }
          person: node(id: $person) { id }
          household: node(id: $household) { id }
          unit: node(id: $unit) { ... on OrgUnit { residents { totalCount } } }
        }""",
        {
            "person": gid("Person", neighbour.id),
            "household": gid("Household", neighbour.household_id),
            "unit": gid("OrgUnit", demo.renheyuan.id),
        },
    )
    assert data == {
        "people": {"totalCount": 0},
        "buildings": {"totalCount": 0},
        "person": None,
        "household": None,
        "unit": {"residents": {"totalCount": 0}},
    }


# --- a deep walk from every root never leaves the scope ------------------------------------

SWEEP = """{
  me { person { id household { id members { id } } } }
  people(first: 100) { nodes { id household { id building { id } members { id } }
                              positions { id building { id } person { id } }
                              pairings { household { id } } } }
  buildings(first: 100) { nodes { id head { id } positions { person { id } }
      households(first: 100) { nodes { id members { id } } }
      residents(first: 100) { nodes { id } }
      centralHouseholds { household { id } partyMember { id } }
      partyGroup { members(first: 100) { nodes { id } } } } }
  positions(first: 100) { nodes { id person { id } building { id } } }
  partyOrganisations(first: 100) { nodes { id building { id }
      members(first: 100) { nodes { id household { id } } } } }
  workUnits(first: 100) { nodes { pairings { community { id
      residents(first: 100) { nodes { id } }
      buildings(first: 100) { nodes { id } } } } } }
  city { descendants(first: 100) { nodes { id
      residents(first: 100) { nodes { id } }
      buildings(first: 100) { nodes { id } }
      positions(first: 100) { nodes { person { id } building { id } } } } } }
}"""


def reached(value: object, found: dict[str, set[str]]) -> dict[str, set[str]]:
    """Every global id in a response, by type."""
    if isinstance(value, dict):
        ident = value.get("id")
        if isinstance(ident, str):
            kind = base64.urlsafe_b64decode(ident).decode().partition(":")[0]
            found.setdefault(kind, set()).add(ident)
        for item in value.values():
            reached(item, found)
    elif isinstance(value, list):
        for item in value:
            reached(item, found)
    return found


@pytest.mark.parametrize("who", ["grid-worker", "resident", "integrator", "community-admin"])
@pytest.mark.parametrize("limits", [Limits.lifted()], ids=["limits-lifted"])  # walks it all
async def test_a_deep_walk_never_reaches_outside_the_scope(
    who: str,
    as_account: Callable[[str], GraphQLClient],
    session: AsyncSession,
    http: httpx.AsyncClient,
    demo: DemoCity,
) -> None:
    me = await session.get(Person, demo.resident_alone.id)
    assert me is not None
    if who == "resident":
        client = as_account("resident")
        people = await ids(
            session,
            """SELECT p.id FROM person p WHERE p.household_id = :h OR EXISTS (
                 SELECT 1 FROM position s WHERE s.person_id = p.id AND s.ended_at IS NULL
                   AND s.role IN ('BUILDING_HEAD', 'HOUSEHOLD_LIAISON', 'GRID_WORKER')
                   AND s.path @> CAST(:home AS ltree))""",
            h=me.household_id,
            home=me.path,
        )
        households = {int(me.household_id or 0)}
        buildings = {int(demo.building.id or 0)}
    else:
        if who == "integrator":
            client = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
        else:
            client = as_account(who)
        place = grid_a(demo).path if who == "grid-worker" else demo.renheyuan.path
        people = await ids(session, PEOPLE_UNDER, paths=[place])
        households = await ids(
            session, "SELECT id FROM household WHERE path <@ CAST(:p AS ltree)", p=place
        )
        buildings = await ids(
            session, "SELECT id FROM building WHERE path <@ CAST(:p AS ltree)", p=place
        )
    found = reached(await client(SWEEP), {})
    assert found.get("Person"), "the walk reaches people"
    assert found["Person"] <= set(gids("Person", people))
    assert found.get("Household", set()) <= set(gids("Household", households))
    assert found.get("Building", set()) <= set(gids("Building", buildings))
