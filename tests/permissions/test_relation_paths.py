"""Every path to a person or a household obeys the field policy (issue 7, item 7).

The walker follows the GraphQL schema (graphql-core's view of `schema.root.schema`) from its
roots through every field, `node` and `nodes` included, and finds each field that leads
from one type to a Person or a Household. Each such field must be named in
`permissions.policy.RELATION_PATHS` with the personal relation it reveals; for every actor
kind (every relation an actor can stand in to a row) it must give no more than that
relation's own rule, through a guard of its own: a relation denied in one place is denied
on every path. Then, through HTTP, an integrator tries every path to household membership.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import httpx
import strawberry
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from permissions.policy import FIELD_POLICY, RELATION_PATHS, VISIBLE, FieldRule, public
from permissions.roles import Relation
from schema.policy import Guard, guard
from schema.root import schema
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.support import gid, rows, token_client

TARGETS = frozenset({"Person", "Household"})
#: Relay plumbing: the connection field itself is the path, not its `nodes` or `edges`.
PLUMBING = {f"{t}{suffix}": t for t in TARGETS for suffix in ("Connection", "Edge")}

Edge = tuple[str, str]
RelationPaths = Mapping[Edge, Edge | None]


def _target(field: GraphQLField) -> str | None:
    named = get_named_type(field.type).name
    return named if named in TARGETS else PLUMBING.get(named)


def paths_to_people(walked: GraphQLSchema) -> dict[Edge, list[str]]:
    """Each field leading from a type to a Person or Household, with the shortest path from
    a root that reaches it (breadth first; an interface leads to all its implementations)."""
    roots = [t for t in (walked.query_type, walked.mutation_type) if t is not None]
    route: dict[str, list[str]] = {t.name: [t.name] for t in roots}
    queue = deque(roots)
    found: dict[Edge, list[str]] = {}
    while queue:
        current = queue.popleft()
        for name, field in current.fields.items():
            step = [*route[current.name], f"{current.name}.{name}"]
            if current.name not in PLUMBING and _target(field):
                found.setdefault((current.name, name), step)
            named = get_named_type(field.type)
            following: list[Any] = [named]
            if isinstance(named, GraphQLInterfaceType):
                following += walked.get_implementations(named).objects
            for gtype in following:
                if isinstance(gtype, GraphQLObjectType) and gtype.name not in route:
                    route[gtype.name] = step
                    queue.append(gtype)
    return found


def _guards(walked: GraphQLSchema, edge: Edge) -> list[tuple[str, str]]:
    owner = walked.type_map[edge[0]]
    assert isinstance(owner, GraphQLObjectType)
    field = owner.fields[edge[1]]
    definition = (field.extensions or {}).get("strawberry-definition")
    return [
        (g.type_name, g.field)
        for g in getattr(definition, "extensions", [])
        if isinstance(g, Guard)
    ]


def path_violations(
    walked: strawberry.Schema,
    policy: Mapping[str, Mapping[str, FieldRule]],
    relation_paths: RelationPaths,
) -> list[str]:
    """Every path to a person or household that could outdo the relation it reveals."""
    found: list[str] = []
    edges = paths_to_people(walked._schema)
    for edge, route in sorted(edges.items()):
        where = " -> ".join(route)
        if edge not in relation_paths:
            found.append(f"{where}: not named in RELATION_PATHS")
            continue
        revealed = relation_paths[edge]
        if revealed is None:
            continue
        limit = policy.get(revealed[0], {}).get(revealed[1])
        own = policy.get(edge[0], {}).get(edge[1])
        if limit is None or own is None:
            found.append(f"{where}: reveals {revealed} but one of them has no rule")
            continue
        if _guards(walked._schema, edge) != [edge]:
            found.append(f"{where}: reveals {revealed} but is not guarded by its own rule")
        for relation in [*Relation, None]:  # every actor kind; None: no relation at all
            held = {relation} if relation else set()
            if own.access(held) > limit.access(held):
                found.append(
                    f"{where}: gives {own.access(held).name} to {relation}, "
                    f"where {revealed[0]}.{revealed[1]} gives {limit.access(held).name}"
                )
    found.extend(
        f"{edge[0]}.{edge[1]}: in RELATION_PATHS but not in the schema"
        for edge in sorted(set(relation_paths) - set(edges))
    )
    return found


# --- the real schema ----------------------------------------------------------------------


def test_every_path_to_a_person_or_household_obeys_the_relation_it_reveals() -> None:
    assert path_violations(schema, FIELD_POLICY, RELATION_PATHS) == []


def test_the_walk_reaches_every_way_in() -> None:
    """The walk is not vacuous: it finds the membership paths through 党员中心户 and 1+N
    pairings, reached from the roots through `node` and through other types."""
    edges = paths_to_people(schema._schema)
    for edge in [
        ("Household", "members"),
        ("Person", "household"),
        ("CentralHousehold", "partyMember"),
        ("Pairing", "household"),
        ("Building", "residents"),
        ("Petition", "reporter"),
    ]:
        assert edge in edges, edge
    assert edges[("CentralHousehold", "partyMember")][0] == "Query"
    assert len(edges) == len(RELATION_PATHS)


# --- the walker, on a schema that breaks each rule ----------------------------------------


@strawberry.type(name="Person")
class FakePerson:
    name: str | None = None


@strawberry.type(name="Household")
class FakeHousehold:
    members: list[FakePerson] = strawberry.field(
        default_factory=list, extensions=guard("Household", "members")
    )


@strawberry.type(name="Central")
class FakeCentral:
    household: FakeHousehold | None = None
    party_member: FakePerson | None = None  # reveals membership, unguarded: must be caught
    loose: FakePerson | None = strawberry.field(default=None, extensions=guard("Central", "loose"))


@strawberry.type(name="Query")
class FakeQuery:
    central: FakeCentral | None = None
    stranger: FakePerson | None = None  # a new way in, not named: must be caught


MEMBERSHIP = FieldRule(full=VISIBLE - {Relation.INTEGRATOR})
FAKE_POLICY: dict[str, dict[str, FieldRule]] = {
    "Household": {"members": MEMBERSHIP},
    "Central": {"partyMember": MEMBERSHIP, "loose": public()},
}
FAKE_PATHS: dict[Edge, Edge | None] = {
    ("Query", "central"): None,
    ("Central", "household"): None,
    ("Central", "partyMember"): ("Household", "members"),
    ("Central", "loose"): ("Household", "members"),
    ("Household", "members"): ("Household", "members"),
    ("Central", "gone"): None,
}


def test_the_walker_catches_every_kind_of_leak() -> None:
    fake = strawberry.Schema(query=FakeQuery)
    found = path_violations(fake, FAKE_POLICY, FAKE_PATHS)
    assert sorted(found) == sorted(
        [
            "Query -> Query.stranger: not named in RELATION_PATHS",
            "Query -> Query.central -> Central.partyMember: reveals ('Household', 'members') "
            "but is not guarded by its own rule",
            "Query -> Query.central -> Central.loose: gives FULL to INTEGRATOR, "
            "where Household.members gives DENIED",
            "Central.gone: in RELATION_PATHS but not in the schema",
            "Query.central: in RELATION_PATHS but not in the schema",
        ]
    )


# --- through HTTP: an integrator tries every way to household membership -------------------

MEMBERSHIP_PATHS = """query($building: ID!, $household: ID!, $central: ID!, $person: ID!,
                            $pairing: ID!) {
  building: node(id: $building) { ... on Building {
    centralHouseholds { household { id } partyMember { id } }
    households(first: 100) { nodes { id members { id }
                                     centralHousehold { partyMember { id } } } }
    residents(first: 100) { nodes { id household { id } } } } }
  household: node(id: $household) { ... on Household { id members { id }
    centralHousehold { household { id } partyMember { id } } } }
  central: node(id: $central) { ... on CentralHousehold { household { id } partyMember { id } } }
  person: node(id: $person) { ... on Person { id household { id } } }
  pairing: node(id: $pairing) { ... on Pairing { household { id } partyMember { id } } }
}"""


async def membership_reads(
    client: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> dict[str, Any]:
    [(central, household, building, person, pairing)] = await rows(
        session,
        """SELECT c.id, c.household_id, c.building_id, c.party_member_id,
                  (SELECT min(id) FROM pairing WHERE household_id = c.household_id
                     OR path <@ CAST(:community AS ltree))
           FROM central_household c
           WHERE c.ended_at IS NULL AND c.path <@ CAST(:community AS ltree)
           ORDER BY c.id LIMIT 1""",
        community=demo.renheyuan.path,
    )
    data: dict[str, Any] = await client(
        MEMBERSHIP_PATHS,
        {
            "building": gid("Building", building),
            "household": gid("Household", household),
            "central": gid("CentralHousehold", central),
            "person": gid("Person", person),
            "pairing": gid("Pairing", pairing),
        },
    )
    return data


def members_named(data: dict[str, Any]) -> list[str]:
    """Every place in the answer that ties a person to a household."""
    found = []
    building = data["building"]
    found += [f"building.central {c}" for c in building["centralHouseholds"] if c["partyMember"]]
    for h in building["households"]["nodes"]:
        found += [f"household {h['id']} members" for _ in h["members"]]
        central = h["centralHousehold"]
        if central and central["partyMember"]:
            found.append(f"household {h['id']} central household's member")
    found += [
        f"resident {p['id']} household" for p in building["residents"]["nodes"] if p["household"]
    ]
    found += ["household.members" for _ in data["household"]["members"]]
    if data["household"]["centralHousehold"]["partyMember"]:
        found.append("household.centralHousehold.partyMember")
    if data["central"]["partyMember"]:
        found.append("central.partyMember")
    if data["person"]["household"]:
        found.append("person.household")
    return found


async def test_an_integrator_reaches_household_membership_on_no_path(
    session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity
) -> None:
    integrator = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    data = await membership_reads(integrator, session, demo)
    assert data["building"]["households"]["nodes"], "the integrator sees the rows themselves"
    assert data["central"] is not None
    assert members_named(data) == []
    assert data["pairing"]["household"] is not None, "1+N pairings are no household membership"


async def test_the_community_admin_reaches_membership_on_every_path(
    as_account: Any, session: AsyncSession, demo: DemoCity
) -> None:
    """The control: the same query names the members to whom membership is not denied."""
    data = await membership_reads(as_account("community-admin"), session, demo)
    named = members_named(data)
    for path in ("central.partyMember", "household.centralHousehold.partyMember"):
        assert path in named
    assert "person.household" in named
    assert any(p.startswith("building.central") for p in named)
