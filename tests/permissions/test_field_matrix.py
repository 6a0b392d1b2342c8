"""The field policy, proven cell by cell: actor × type × field, generated from FIELD_POLICY.

Each case names an actor, a target row whose relation to the actor is known from the demo
city (`test_the_demo_facts_behind_the_matrix` pins those facts), and the relations that
follow. Every field of the target's type must then read FULL (the database value), MASKED
(the policy's mask of it, or null) or DENIED (null, or [] for lists) exactly as
`permissions.policy.decide` says for those relations.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from graphql import GraphQLList, GraphQLObjectType, get_named_type, get_nullable_type
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.crypto import decrypt_id_card
from models.identity import TokenRole
from models.org import Building, CentralHousehold, GridType, Household, PartyOrganisation
from models.people import HouseholdMembership, Pairing, Person, Position
from permissions.actor import Actor
from permissions.policy import FIELD_POLICY, Access, decide, rule
from permissions.roles import Relation
from permissions.scope import visible
from schema.root import schema
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.service_matrix import SERVICE_ROWS, SERVICE_VALUES
from tests.permissions.support import actor_of, gid, rows, token_client

R = Relation
CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Case:
    name: str
    actor: str  # an account handle, "integrator", "display" or "anonymous"
    type_name: str  # Person or Household
    target: str  # whose row: a key of `find_targets` (a household case: their household)
    relations: frozenset[Relation]


def case(name: str, actor: str, type_name: str, target: str, *relations: Relation) -> Case:
    return Case(name, actor, type_name, target, frozenset(relations))


#: Why each relation set holds: see `test_the_demo_facts_behind_the_matrix`.
CASES: tuple[Case, ...] = (
    # Person -------------------------------------------------------------------------
    case("city-admin>neighbour", "city-admin", "Person", "neighbour", R.ADMIN),
    case("community-admin>other", "community-admin", "Person", "other", R.ADMIN),
    case("community-admin>grid-worker", "community-admin", "Person", "grid-worker", R.ADMIN),
    # the head is also a volunteer and a registered Party member of the whole community
    case(
        "building-head>neighbour",
        "building-head",
        "Person",
        "neighbour",
        R.BUILDING_STAFF,
        R.SERVICE,
    ),
    case(
        "building-head>self",
        "building-head",
        "Person",
        "head",
        R.SELF,
        R.HOUSEHOLD,
        R.BUILDING_STAFF,
        R.SERVICE,
    ),
    case("building-head>other", "building-head", "Person", "other", R.SERVICE),
    # the grid worker of the head's own place is his contact, as for every resident there
    case(
        "building-head>grid-worker",
        "building-head",
        "Person",
        "grid-worker",
        R.SERVICE,
        R.CONTACT,
    ),
    case("grid-worker>neighbour", "grid-worker", "Person", "neighbour", R.GRID),
    case("grid-worker>self", "grid-worker", "Person", "grid-worker", R.SELF, R.GRID),
    case("seconded-cadre>neighbour", "seconded-cadre", "Person", "neighbour", R.SERVICE),
    case("resident>self", "resident", "Person", "resident", R.SELF, R.HOUSEHOLD),
    case("resident>building-head", "resident", "Person", "head", R.CONTACT),
    case("resident>grid-worker", "resident", "Person", "grid-worker", R.CONTACT),
    case("integrator>other", "integrator", "Person", "other", R.INTEGRATOR),
    case("display>neighbour", "display", "Person", "neighbour", R.DISPLAY),
    case("anonymous>neighbour", "anonymous", "Person", "neighbour"),
    # Household (of the target person) ----------------------------------------------
    case("city-admin>neighbour-home", "city-admin", "Household", "neighbour", R.ADMIN),
    case("community-admin>other-home", "community-admin", "Household", "other", R.ADMIN),
    case(
        "building-head>neighbour-home",
        "building-head",
        "Household",
        "neighbour",
        R.BUILDING_STAFF,
        R.SERVICE,
    ),
    case(
        "building-head>own-home",
        "building-head",
        "Household",
        "head",
        R.HOUSEHOLD,
        R.BUILDING_STAFF,
        R.SERVICE,
    ),
    case("building-head>other-home", "building-head", "Household", "other", R.SERVICE),
    case("grid-worker>neighbour-home", "grid-worker", "Household", "neighbour", R.GRID),
    case("seconded-cadre>neighbour-home", "seconded-cadre", "Household", "neighbour", R.SERVICE),
    case("resident>own-home", "resident", "Household", "resident", R.HOUSEHOLD),
    case("integrator>other-home", "integrator", "Household", "other", R.INTEGRATOR),
    case("display>neighbour-home", "display", "Household", "neighbour", R.DISPLAY),
    case("anonymous>neighbour-home", "anonymous", "Household", "neighbour"),
    # CentralHousehold (of the target's household): naming its Party member is membership
    case("city-admin>other-central", "city-admin", "CentralHousehold", "other", R.ADMIN),
    case("building-head>other-central", "building-head", "CentralHousehold", "other", R.SERVICE),
    case("integrator>other-central", "integrator", "CentralHousehold", "other", R.INTEGRATOR),
    case("display>other-central", "display", "CentralHousehold", "other", R.DISPLAY),
    case("anonymous>other-central", "anonymous", "CentralHousehold", "other"),
    # Pairing (1+N, of the target Party member): every household they look after
    case("city-admin>pairing", "city-admin", "Pairing", "pairer", R.ADMIN),
    case("integrator>pairing", "integrator", "Pairing", "pairer", R.INTEGRATOR),
    case("display>pairing", "display", "Pairing", "pairer", R.DISPLAY),
    case("anonymous>pairing", "anonymous", "Pairing", "pairer"),
    # ServiceOrder (the widow's order: carried out by the head for his team, recorded by the
    # grid worker); the renter is a member of that team, who did not take it on
    case("resident>order", "resident", "ServiceOrder", "resident", R.SELF),
    case(
        "building-head>order",
        "building-head",
        "ServiceOrder",
        "resident",
        R.BUILDING_STAFF,
        R.SERVICE,
        R.TASKED,
    ),
    case("grid-worker>order", "grid-worker", "ServiceOrder", "resident", R.GRID),
    case("renter>order", "renter", "ServiceOrder", "resident", R.OTHER),
    case("community-admin>order", "community-admin", "ServiceOrder", "resident", R.ADMIN),
    case("integrator>order", "integrator", "ServiceOrder", "resident", R.INTEGRATOR),
    case("display>order", "display", "ServiceOrder", "resident", R.DISPLAY),
    case("anonymous>order", "anonymous", "ServiceOrder", "resident"),
    # DoorVisit and VisitFinding (the grid worker's visit to the widow's household)
    case("resident>visit", "resident", "DoorVisit", "resident", R.HOUSEHOLD),
    case("grid-worker>visit", "grid-worker", "DoorVisit", "resident", R.GRID, R.TASKED),
    case(
        "building-head>visit", "building-head", "DoorVisit", "resident", R.BUILDING_STAFF, R.SERVICE
    ),
    case("community-admin>visit", "community-admin", "DoorVisit", "resident", R.ADMIN),
    case("integrator>visit", "integrator", "DoorVisit", "resident", R.INTEGRATOR),
    case("display>visit", "display", "DoorVisit", "resident", R.DISPLAY),
    case("anonymous>visit", "anonymous", "DoorVisit", "resident"),
    case("resident>finding", "resident", "VisitFinding", "resident", R.HOUSEHOLD),
    case("grid-worker>finding", "grid-worker", "VisitFinding", "resident", R.GRID, R.TASKED),
    case("community-admin>finding", "community-admin", "VisitFinding", "resident", R.ADMIN),
    case("integrator>finding", "integrator", "VisitFinding", "resident", R.INTEGRATOR),
    case("display>finding", "display", "VisitFinding", "resident", R.DISPLAY),
)

#: Cells where the application is known to be wrong: (case, field) -> the bug.
KNOWN_BUGS: dict[tuple[str, str], str] = {}

MATRIX = [
    pytest.param(
        c,
        field,
        id=f"{c.name}.{field}",
        marks=[pytest.mark.xfail(reason=KNOWN_BUGS[(c.name, field)], strict=True)]
        if (c.name, field) in KNOWN_BUGS
        else [],
    )
    for c in CASES
    for field in FIELD_POLICY[c.type_name]
]


# --- the GraphQL side ---------------------------------------------------------------------


def _graphql_type(type_name: str) -> GraphQLObjectType:
    found = schema._schema.type_map[type_name]
    assert isinstance(found, GraphQLObjectType)
    return found


def is_list_field(type_name: str, field: str) -> bool:
    return isinstance(get_nullable_type(_graphql_type(type_name).fields[field].type), GraphQLList)


def is_object_field(type_name: str, field: str) -> bool:
    named = get_named_type(_graphql_type(type_name).fields[field].type)
    return isinstance(named, GraphQLObjectType)


def has_ids(type_name: str, field: str) -> bool:
    """An object field whose objects have an id (else they are read as `__typename`)."""
    named = get_named_type(_graphql_type(type_name).fields[field].type)
    return isinstance(named, GraphQLObjectType) and "id" in named.fields


def selection(type_name: str) -> str:
    """Every field the policy names, objects by their id (or their type when they have none)."""
    return " ".join(
        (f"{field} {{ id }}" if has_ids(type_name, field) else f"{field} {{ __typename }}")
        if is_object_field(type_name, field)
        else field
        for field in FIELD_POLICY[type_name]
    )


def normalised(type_name: str, field: str, value: Any) -> Any:
    """A response value in the form the expectations use (ids for objects, dates parsed;
    objects without ids: how many of them, or their type)."""
    if value is None:
        return None
    if is_object_field(type_name, field):
        if not has_ids(type_name, field):
            return len(value) if isinstance(value, list) else value["__typename"]
        if isinstance(value, list):
            return sorted(item["id"] for item in value)
        return value["id"]
    if field.endswith("At"):
        return datetime.fromisoformat(value)
    if field == "birthDate":
        return date.fromisoformat(value)
    return value


# --- the database side --------------------------------------------------------------------


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def age_band(age: int) -> str:
    for upper, band in ((17, "UNDER_18"), (34, "FROM_18_TO_34"), (59, "FROM_35_TO_59")):
        if age <= upper:
            return band
    return "FROM_60_TO_79" if age <= 79 else "FROM_80"


async def visible_ids(
    session: AsyncSession, actor: Actor, type_name: str, model: Any, *where: Any
) -> list[str]:
    """Global ids of the rows matching `where` that lie in the actor's row scope."""
    found = await session.scalars(
        sa.select(model.id).where(*where, *visible(model, actor)).order_by(model.id)
    )
    return sorted(gid(type_name, i) for i in found)


async def one_visible(
    session: AsyncSession, actor: Actor, type_name: str, model: Any, *where: Any
) -> str | None:
    found = await visible_ids(session, actor, type_name, model, *where)
    assert len(found) <= 1, found
    return found[0] if found else None


async def person_values(session: AsyncSession, actor: Actor, person: Person) -> dict[str, Any]:
    """Each field of `person` as a FULL read returns it (relations limited to row scope)."""
    birth = person.birth_date
    age = age_on(birth, datetime.now(CHINA).date()) if birth else None
    return {
        "id": gid("Person", person.id),
        "createdAt": person.created_at,
        "name": person.name,
        "gender": str(person.gender),
        "phone": person.phone,
        "idCardNumber": decrypt_id_card(person.id_card_cipher) if person.id_card_cipher else None,
        "birthDate": birth,
        "age": age,
        "ageBand": age_band(age) if age is not None else None,
        "isPartyMember": person.is_party_member,
        "isVeteran": person.is_veteran,
        "isRenter": person.is_renter,
        "isElderly": person.is_elderly,
        "livesAlone": person.lives_alone,
        "healthNotes": person.health_notes,
        "relationship": str(person.relationship) if person.relationship else None,
        "household": await one_visible(
            session, actor, "Household", Household, col(Household.id) == person.household_id
        ),
        "partyOrganisation": await one_visible(
            session,
            actor,
            "PartyOrganisation",
            PartyOrganisation,
            col(PartyOrganisation.id) == person.party_org_id,
        ),
        "positions": await visible_ids(
            session,
            actor,
            "Position",
            Position,
            col(Position.person_id) == person.id,
            col(Position.ended_at).is_(None),
        ),
        "pairings": await visible_ids(
            session,
            actor,
            "Pairing",
            Pairing,
            col(Pairing.party_member_id) == person.id,
            col(Pairing.ended_at).is_(None),
        ),
        "householdHistory": await visible_ids(
            session,
            actor,
            "HouseholdMembership",
            HouseholdMembership,
            col(HouseholdMembership.person_id) == person.id,
        ),
    }


async def household_values(
    session: AsyncSession, actor: Actor, household: Household
) -> dict[str, Any]:
    return {
        "id": gid("Household", household.id),
        "createdAt": household.created_at,
        "unit": household.unit,
        "room": household.room,
        "tenure": str(household.tenure),
        "building": await one_visible(
            session, actor, "Building", Building, col(Building.id) == household.building_id
        ),
        "members": await visible_ids(
            session, actor, "Person", Person, col(Person.household_id) == household.id
        ),
        "centralHousehold": await one_visible(
            session,
            actor,
            "CentralHousehold",
            CentralHousehold,
            col(CentralHousehold.household_id) == household.id,
            col(CentralHousehold.ended_at).is_(None),
        ),
    }


async def central_household_values(
    session: AsyncSession, actor: Actor, central: CentralHousehold
) -> dict[str, Any]:
    return {
        "id": gid("CentralHousehold", central.id),
        "building": await one_visible(
            session, actor, "Building", Building, col(Building.id) == central.building_id
        ),
        "household": await one_visible(
            session, actor, "Household", Household, col(Household.id) == central.household_id
        ),
        "partyMember": await one_visible(
            session, actor, "Person", Person, col(Person.id) == central.party_member_id
        ),
        "designatedAt": central.designated_at,
        "endedAt": central.ended_at,
    }


async def pairing_values(session: AsyncSession, actor: Actor, pairing: Pairing) -> dict[str, Any]:
    return {
        "id": gid("Pairing", pairing.id),
        "startedAt": pairing.started_at,
        "endedAt": pairing.ended_at,
        "partyMember": await one_visible(
            session, actor, "Person", Person, col(Person.id) == pairing.party_member_id
        ),
        "household": await one_visible(
            session, actor, "Household", Household, col(Household.id) == pairing.household_id
        ),
    }


async def row_of(session: AsyncSession, type_name: str, person: Person) -> Any:
    """The row a case reads: the person, their household, its 党员中心户, their pairing, their
    first service order, the first visit to their household or its first finding."""
    if type_name in SERVICE_ROWS:
        return await SERVICE_ROWS[type_name](session, person)
    if type_name == "Person":
        return person
    if type_name == "Household":
        return await session.get(Household, person.household_id)
    if type_name == "CentralHousehold":
        return await session.scalar(
            sa.select(CentralHousehold).where(
                col(CentralHousehold.household_id) == person.household_id,
                col(CentralHousehold.ended_at).is_(None),
            )
        )
    return await session.scalar(
        sa.select(Pairing)
        .where(col(Pairing.party_member_id) == person.id, col(Pairing.ended_at).is_(None))
        .order_by(col(Pairing.id))
        .limit(1)
    )


VALUES: dict[str, Callable[[AsyncSession, Actor, Any], Awaitable[dict[str, Any]]]] = {
    "Person": person_values,
    "Household": household_values,
    "CentralHousehold": central_household_values,
    "Pairing": pairing_values,
    **SERVICE_VALUES,
}


def withheld(type_name: str, field: str) -> Any:
    return [] if is_list_field(type_name, field) else None


def expected(type_name: str, field: str, access: Access, full: Any) -> Any:
    if access is Access.FULL:
        return full
    if access is Access.MASKED:
        found = rule(type_name, field)
        assert found is not None
        if found.mask is not None and full is not None:
            return found.mask(full)
    return withheld(type_name, field)


# --- fixtures -----------------------------------------------------------------------------

Targets = dict[str, Person]


async def find_targets(session: AsyncSession, demo: DemoCity) -> Targets:
    """The people the cases read (a household case reads the person's household)."""
    grid = demo.grids[GridType.OLD_ESTATE]
    # Someone of 仁和苑 outside the building head's grid with every personal field filled,
    # preferring a Party member in a 党员中心户 so that relation fields have values too.
    [(other_id,)] = await rows(
        session,
        """
        SELECT p.id FROM person p
        WHERE p.path <@ CAST(:community AS ltree) AND NOT p.path <@ CAST(:grid AS ltree)
          AND p.phone IS NOT NULL AND p.health_notes IS NOT NULL
          AND p.id_card_cipher IS NOT NULL AND p.birth_date IS NOT NULL
        ORDER BY EXISTS (SELECT 1 FROM central_household c WHERE c.household_id = p.household_id)
                 DESC,
                 p.party_org_id IS NULL, p.id
        LIMIT 1
        """,
        community=demo.renheyuan.path,
        grid=grid.path,
    )
    [(pairer_id,)] = await rows(
        session,
        """SELECT party_member_id FROM pairing WHERE ended_at IS NULL
           AND path <@ CAST(:community AS ltree) ORDER BY id LIMIT 1""",
        community=demo.renheyuan.path,
    )
    wanted = {
        "pairer": pairer_id,
        "neighbour": demo.party_member.id,
        "head": demo.building_head.id,
        "resident": demo.resident_alone.id,
        "grid-worker": demo.grid_worker.id,
        "other": other_id,
    }
    found: Targets = {}
    for key, ident in wanted.items():
        person = await session.get(Person, ident)
        assert person is not None, key
        found[key] = person
    return found


@pytest.fixture
async def targets(session: AsyncSession, demo: DemoCity) -> Targets:
    return await find_targets(session, demo)


@pytest.fixture
def lazy_targets(session: AsyncSession, demo: DemoCity) -> Callable[[], Awaitable[Targets]]:
    return lambda: find_targets(session, demo)


ClientFor = Callable[[str], Awaitable[GraphQLClient]]


@pytest.fixture
def client_for(
    session: AsyncSession,
    http: httpx.AsyncClient,
    demo: DemoCity,
    as_account: Callable[[str], GraphQLClient],
    anonymous: GraphQLClient,
) -> ClientFor:
    async def make(actor: str) -> GraphQLClient:
        if actor == "anonymous":
            return anonymous
        if actor in ("integrator", "display"):
            return await token_client(session, http, TokenRole(actor.upper()), demo.renheyuan)
        return as_account(actor)

    return make


# --- the matrix ---------------------------------------------------------------------------

#: case name -> (the node as the actor read it, the FULL value of each field). The demo city
#: is committed once per run and reads leave it unchanged, so each case asks the API once and
#: its field tests share the answer (this keeps ~400 tests at a few milliseconds each).
_READS: dict[str, tuple[dict[str, Any] | None, dict[str, Any]]] = {}


async def read_case(
    c: Case, session: AsyncSession, targets: Callable[[], Awaitable[Targets]], client_for: ClientFor
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    if c.name in _READS:
        return _READS[c.name]
    client = await client_for(c.actor)
    person = (await targets())[c.target]
    row = await row_of(session, c.type_name, person)
    assert row is not None, (c.name, c.type_name)
    assert row.id is not None
    fragment = f"... on {c.type_name} {{ {selection(c.type_name)} }}"
    data = await client(
        f"query($id: ID!) {{ node(id: $id) {{ {fragment} }} }}", {"id": gid(c.type_name, row.id)}
    )
    actor = await actor_of(session, client)
    full = await VALUES[c.type_name](session, actor, row)
    _READS[c.name] = (data["node"], full)
    return _READS[c.name]


@pytest.mark.parametrize(("c", "field"), MATRIX)
async def test_field_access(
    c: Case,
    field: str,
    session: AsyncSession,
    lazy_targets: Callable[[], Awaitable[Targets]],
    client_for: ClientFor,
) -> None:
    node, full = await read_case(c, session, lazy_targets, client_for)
    access = decide(c.type_name, field, set(c.relations))
    if node is None:  # the row is out of scope: only right if the policy denies the field too
        assert access is Access.DENIED, f"{c.name} cannot see the row, yet {field} is {access}"
        return
    assert field in full, f"the matrix does not know the value of {c.type_name}.{field}"
    want = expected(c.type_name, field, access, full[field])
    assert normalised(c.type_name, field, node[field]) == want, (c.relations, access)


def test_every_policy_cell_is_covered() -> None:
    """Each field of each guarded type is read under every access level somewhere (here, or
    in the matrix of the domain whose types are read otherwise than by `node`)."""
    from tests.incentives.test_field_policy import COVERED_TYPES

    for type_name, fields in FIELD_POLICY.items():
        if type_name in COVERED_TYPES:
            continue
        cases = [c for c in CASES if c.type_name == type_name]
        assert cases, type_name
        for field in fields:
            seen = {decide(type_name, field, set(c.relations)) for c in cases}
            assert Access.DENIED in seen, (type_name, field)
            assert Access.FULL in seen, (type_name, field)
            found = rule(type_name, field)
            assert found is not None
            if found.masked:
                assert Access.MASKED in seen, (type_name, field)


async def test_the_demo_facts_behind_the_matrix(
    session: AsyncSession, demo: DemoCity, targets: Targets
) -> None:
    """The relations written in CASES follow from these facts of the demo city."""

    async def grants(person: Person) -> set[tuple[str, str]]:
        held = await rows(
            session,
            "SELECT role, path::text FROM position WHERE person_id = :p AND ended_at IS NULL",
            p=person.id,
        )
        return {(str(role), str(path)) for role, path in held}

    grid = demo.grids[GridType.OLD_ESTATE]
    assert demo.building.path is not None
    assert grid.path is not None
    assert demo.building.path.startswith(grid.path + ".")
    assert await grants(demo.building_head) == {
        ("BUILDING_HEAD", demo.building.path),
        ("VOLUNTEER", demo.renheyuan.path),
        ("REGISTERED_PARTY_MEMBER", demo.renheyuan.path),
    }
    assert await grants(demo.grid_worker) == {("GRID_WORKER", grid.path)}
    assert ("SECONDED_CADRE", demo.building.path) in await grants(demo.seconded_cadre)
    assert await grants(demo.resident_alone) == set()
    neighbour, head, resident, other = (
        targets[k] for k in ("neighbour", "head", "resident", "other")
    )
    for person in (neighbour, head, resident):
        assert person.path is not None
        assert person.path.startswith(demo.building.path + ".")
    assert len({neighbour.household_id, head.household_id, resident.household_id}) == 3
    assert other.path is not None
    assert demo.renheyuan.path is not None
    assert other.path.startswith(demo.renheyuan.path + ".")
    assert not other.path.startswith(grid.path + ".")
    assert targets["grid-worker"].path is None  # lives elsewhere: judged by where they serve
    # the seconded cadre does not serve the other target's building
    assert not any(
        other.path.startswith(path + ".") for _, path in await grants(demo.seconded_cadre)
    )
    # values that make FULL, MASKED and DENIED distinguishable
    for person in (neighbour, resident, other):
        assert person.phone, person.name
        assert person.health_notes, person.name
        assert person.id_card_cipher, person.name
    # the other target lives in a 党员中心户 the head (a volunteer) sees; the pairer, a
    # Party member, looks after a household in 仁和苑 (1+N)
    central = await row_of(session, "CentralHousehold", other)
    assert central is not None
    assert central.path == other.path
    pairing = await row_of(session, "Pairing", targets["pairer"])
    assert pairing is not None
    assert pairing.path is not None
    assert pairing.path.startswith(demo.renheyuan.path + ".")


# --- filters must not read what the fields may not show -----------------------------------


@pytest.mark.parametrize(
    ("actor", "field", "one", "other"),
    [
        pytest.param(
            "integrator", "livesAlone", "livesAlone: true", "livesAlone: false", id="livesAlone"
        ),
        pytest.param(
            "integrator", "isElderly", "isElderly: true", "isElderly: false", id="isElderly"
        ),
        pytest.param(
            "integrator", "name", 'namePrefix: "王秀"', 'namePrefix: "王丽"', id="namePrefix"
        ),
        pytest.param("resident", "gender", "gender: FEMALE", "gender: MALE", id="contact-gender"),
        pytest.param(
            "resident", "isRenter", "isRenter: true", "isRenter: false", id="contact-isRenter"
        ),
    ],
)
async def test_a_filter_on_a_field_the_actor_may_not_read_reveals_nothing(
    actor: str, field: str, one: str, other: str, client_for: ClientFor, demo: DemoCity
) -> None:
    """Rows whose field the actor cannot read must match two opposite filters alike (all of
    them, none of them, or a refusal): otherwise the filter reads the field for the actor."""
    relation = R.INTEGRATOR if actor == "integrator" else R.CONTACT
    assert decide("Person", field, {relation}) is not Access.FULL
    client = await client_for(actor)
    readable = {gid("Person", demo.resident_alone.id)} if actor == "resident" else set()

    async def matching(condition: str) -> tuple[int, set[str]] | None:
        body = await client.raw(
            f"{{ people(first: 100, filter: {{ {condition} }}) {{ totalCount nodes {{ id }} }} }}"
        )
        if body.get("errors"):
            assert body["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "VALIDATION"), body
            return None
        page = body["data"]["people"]
        shown = {n["id"] for n in page["nodes"]}
        return page["totalCount"] - len(shown & readable), shown - readable

    first, second = await matching(one), await matching(other)
    if first is None or second is None:  # the filter is refused
        return
    assert first == second, "the filter told rows apart by a value the actor may not read"


async def test_filters_on_fields_read_in_full_work(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    """The control for the above: the city admin reads livesAlone in full and may filter on it."""
    [(alone,)] = await rows(session, "SELECT count(*) FROM person WHERE lives_alone")
    data = await gql("{ people(filter: { livesAlone: true }) { totalCount } }")
    assert data["people"]["totalCount"] == alone
