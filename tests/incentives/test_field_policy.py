"""The field policy of every new personal field, cell by cell: actor × type × field, read
through the API the way each type is reached (a redemption and a fee reduction by `node`,
the ledger by `myPoints`, signatures under the building's convention, a household history
by `node`), compared with what `permissions.policy.decide` says for the actor's relations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from permissions.policy import FIELD_POLICY, Access, decide, rule
from permissions.roles import Relation
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.incentives.conftest import shops_of
from tests.permissions.support import gid, rows, token_client

R = Relation
COVERED_TYPES = frozenset(
    {"PointsEntry", "Redemption", "FeeReduction", "ConventionSignature", "HouseholdMembership"}
)


@dataclass(frozen=True)
class Case:
    name: str
    actor: str  # an account handle, a target key (a demo person given an account), a token
    type_name: str
    relations: frozenset[Relation]


def case(name: str, actor: str, type_name: str, *relations: Relation) -> Case:
    return Case(name, actor, type_name, frozenset(relations))


CASES = (
    case("star>own-entry", "star", "PointsEntry", R.SELF),
    case("community-admin>star-entry", "community-admin", "PointsEntry", R.ADMIN),
    case("star>own-redemption", "star", "Redemption", R.SELF, R.SERVICE),
    case("operator>redemption", "operator", "Redemption", R.SHOP),
    case("other-operator>redemption", "other-operator", "Redemption"),
    case("community-admin>redemption", "community-admin", "Redemption", R.ADMIN),
    case("resident>redemption", "resident", "Redemption"),
    case("integrator>redemption", "integrator", "Redemption"),  # out of its reach
    case("winner>own-fee", "winner", "FeeReduction", R.SELF, R.BUILDING_STAFF),
    case("community-admin>fee", "community-admin", "FeeReduction", R.ADMIN),
    case("building-head>fee", "building-head", "FeeReduction"),  # out of his reach
    case("integrator>fee", "integrator", "FeeReduction"),
    case("signer>own-signature", "signer", "ConventionSignature", R.SELF, R.HOUSEHOLD),
    case("building-head>signature", "building-head", "ConventionSignature", R.BUILDING_STAFF),
    case("grid-worker>signature", "grid-worker", "ConventionSignature", R.GRID),
    case("seconded-cadre>signature", "seconded-cadre", "ConventionSignature", R.SERVICE),
    case("community-admin>signature", "community-admin", "ConventionSignature", R.ADMIN),
    case("integrator>signature", "integrator", "ConventionSignature", R.INTEGRATOR),
    case("renter>signature", "renter", "ConventionSignature"),
    case("city-admin>history", "city-admin", "HouseholdMembership", R.ADMIN),
    case("community-admin>history", "community-admin", "HouseholdMembership"),
    case("integrator>history", "wulibei-integrator", "HouseholdMembership", R.INTEGRATOR),
)


@dataclass(frozen=True)
class Targets:
    star: int  # the volunteer star: a confirmed redemption, a ledger
    entry: int  # a ledger line of the star's
    redemption: int
    operator: int
    other_operator: int
    winner: int  # the head of the most beautiful building: a fee reduction
    fee: int
    signer: int  # a member of a household of the pinned building that signed
    signature: int
    moved: int  # history rows of the person who moved in 五里碑
    membership: int


async def find_targets(session: AsyncSession, demo: DemoCity) -> Targets:
    shops = await shops_of(session, demo)
    [(redemption, star)] = await rows(
        session, "SELECT id, person_id FROM redemption WHERE status = 'CONFIRMED'"
    )
    [(entry,)] = await rows(
        session,
        "SELECT id FROM points_entry WHERE person_id = :p ORDER BY at DESC, id DESC LIMIT 1",
        p=star,
    )
    [(fee, winner)] = await rows(session, "SELECT id, person_id FROM fee_reduction")
    [(signature, signer)] = await rows(
        session,
        """SELECT s.id, s.signed_by_id FROM convention_signature s
           JOIN convention c ON c.id = s.convention_id WHERE c.building_id = :b
           AND s.household_id NOT IN (SELECT household_id FROM person WHERE id IN (:head, :renter))
           ORDER BY s.id LIMIT 1""",
        b=demo.building.id,
        head=demo.building_head.id,
        renter=demo.renter.id,
    )
    [(membership, moved)] = await rows(
        session, "SELECT id, person_id FROM household_membership ORDER BY id LIMIT 1"
    )
    return Targets(
        int(star), int(entry), int(redemption), shops.local_operator, shops.other_operator,
        int(winner), int(fee), int(signer), int(signature), int(moved), int(membership),
    )  # fmt: skip


async def full_values(session: AsyncSession, t: Targets, type_name: str) -> dict[str, Any]:
    """Each field as a FULL read returns it."""
    if type_name == "PointsEntry":
        [(kind, points, source_type, source_id, note, hours, at)] = await rows(
            session,
            "SELECT kind, points, source_type, source_id, note, hours, at FROM points_entry"
            " WHERE id = :id",
            id=t.entry,
        )
        return {
            "kind": kind, "points": points, "sourceType": source_type,
            "sourceId": str(source_id), "note": note,
            "hours": str(hours) if hours is not None else None, "at": at,
        }  # fmt: skip
    if type_name == "Redemption":
        [(status, version, cost, issued, expires, confirmed, offer, shop, name)] = await rows(
            session,
            """SELECT r.status, r.version, r.points_cost, r.issued_at, r.expires_at,
                      r.confirmed_at, r.offer_id, r.shop_id, p.name
               FROM redemption r JOIN person p ON p.id = r.person_id WHERE r.id = :id""",
            id=t.redemption,
        )
        return {
            "id": gid("Redemption", t.redemption), "status": status, "version": version,
            "pointsCost": cost, "issuedAt": issued, "expiresAt": expires,
            "confirmedAt": confirmed, "offer": gid("Offer", offer), "shop": gid("Shop", shop),
            "allowedActions": [], "holderName": name, "holder": gid("Person", t.star),
            "timeline": ["CONFIRM", "ISSUE"],
        }  # fmt: skip
    if type_name == "FeeReduction":
        [(basis, points, amount, period, granted, award, unit, household)] = await rows(
            session,
            """SELECT basis, points, amount_yuan, period, granted_at, award_id, org_unit_id,
                      household_id FROM fee_reduction WHERE id = :id""",
            id=t.fee,
        )
        return {
            "id": gid("FeeReduction", t.fee), "basis": basis, "points": points,
            "amountYuan": str(Decimal(amount)), "period": period, "grantedAt": granted,
            "award": gid("Award", award), "estate": gid("OrgUnit", unit),
            "person": gid("Person", t.winner), "household": gid("Household", household),
        }  # fmt: skip
    if type_name == "ConventionSignature":
        [(household, signed_at)] = await rows(
            session,
            "SELECT household_id, signed_at FROM convention_signature WHERE id = :id",
            id=t.signature,
        )
        return {
            "id": gid("ConventionSignature", t.signature),
            "household": gid("Household", household),
            "signedBy": gid("Person", t.signer),
            "signedAt": signed_at,
        }
    [(household, started, ended, reason)] = await rows(
        session,
        "SELECT household_id, started_at, ended_at, reason FROM household_membership"
        " WHERE id = :id",
        id=t.membership,
    )
    return {
        "id": gid("HouseholdMembership", t.membership), "household": gid("Household", household),
        "startedAt": started, "endedAt": ended, "reason": reason,
    }  # fmt: skip


SELECTIONS = {
    "PointsEntry": "kind points sourceType sourceId note hours at",
    "Redemption": """id status version pointsCost issuedAt expiresAt confirmedAt offer { id }
        shop { id } allowedActions holderName holder { id } timeline { action }""",
    "FeeReduction": """id basis points amountYuan period grantedAt award { id } estate { id }
        person { id } household { id }""",
    "ConventionSignature": "id household { id } signedBy { id } signedAt",
    "HouseholdMembership": "id household { id } startedAt endedAt reason",
}


async def read(client: GraphQLClient, t: Targets, type_name: str, demo: DemoCity) -> Any:
    """The row as the actor reads it, None when it is out of their reach."""
    selection = SELECTIONS[type_name]
    if type_name == "PointsEntry":
        data = await client(f"{{ myPoints {{ entries {{ {selection} }} }} }}")
        entries = (data["myPoints"] or {}).get("entries", [])
        mine = [e for e in entries if e["sourceId"] is not None]
        return next((e for e in entries if e == mine[0]), None) if mine else None
    if type_name == "ConventionSignature":
        data = await client(
            f"""query($b: ID!) {{ node(id: $b) {{ ... on Building {{
                  convention {{ signatures {{ {selection} }} }} }} }} }}""",
            {"b": gid("Building", demo.building.id)},
        )
        found = ((data["node"] or {}).get("convention") or {}).get("signatures", [])
        wanted = gid("ConventionSignature", t.signature)
        return next((s for s in found if s["id"] == wanted), None)
    ident = {"Redemption": t.redemption, "FeeReduction": t.fee}.get(type_name, t.membership)
    data = await client(
        f"query($id: ID!) {{ node(id: $id) {{ ... on {type_name} {{ {selection} }} }} }}",
        {"id": gid(type_name, ident)},
    )
    return data["node"]


def normalised(field: str, value: Any) -> Any:
    if isinstance(value, dict):
        return value.get("id")
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [v["action"] for v in value]
    if isinstance(value, str) and (field == "at" or field.endswith("At")):
        return datetime.fromisoformat(value)
    return value


def expected(type_name: str, field: str, access: Access, full: Any) -> Any:
    if access is Access.FULL:
        return full
    found = rule(type_name, field)
    if access is Access.MASKED and found is not None and found.mask and full is not None:
        return found.mask(full)
    return [] if isinstance(full, list) else None


_READS: dict[str, tuple[Any, dict[str, Any]]] = {}

ClientFor = Callable[[str], Awaitable[GraphQLClient]]


@pytest.fixture
def client_for(
    session: AsyncSession,
    http: httpx.AsyncClient,
    demo: DemoCity,
    as_account: Callable[[str], GraphQLClient],
    client_of: Callable[[int], Awaitable[GraphQLClient]],
) -> Callable[[str, Targets], Awaitable[GraphQLClient]]:
    async def make(actor: str, t: Targets) -> GraphQLClient:
        people = {
            "star": t.star, "operator": t.operator, "other-operator": t.other_operator,
            "winner": t.winner, "signer": t.signer,
        }  # fmt: skip
        if actor in people:
            return await client_of(people[actor])
        if actor == "integrator":
            return await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
        if actor == "wulibei-integrator":
            return await token_client(session, http, TokenRole.INTEGRATOR, demo.wulibei)
        return as_account(actor)

    return make


@pytest.mark.parametrize(
    ("c", "field"),
    [pytest.param(c, f, id=f"{c.name}.{f}") for c in CASES for f in FIELD_POLICY[c.type_name]],
)
async def test_field_access(
    c: Case,
    field: str,
    session: AsyncSession,
    demo: DemoCity,
    client_for: Callable[[str, Targets], Awaitable[GraphQLClient]],
) -> None:
    if c.name not in _READS:
        t = await find_targets(session, demo)
        client = await client_for(c.actor, t)
        _READS[c.name] = (await read(client, t, c.type_name, demo), await full_values(
            session, t, c.type_name))  # fmt: skip
    node, full = _READS[c.name]
    access = decide(c.type_name, field, set(c.relations))
    if node is None:
        assert access is Access.DENIED, f"{c.name} cannot see the row, yet {field} is {access}"
        return
    want = expected(c.type_name, field, access, full[field])
    assert normalised(field, node[field]) == want, (c.relations, access)


def test_every_policy_cell_of_these_types_is_covered() -> None:
    for type_name in COVERED_TYPES:
        cases = [c for c in CASES if c.type_name == type_name]
        for field in FIELD_POLICY[type_name]:
            seen = {decide(type_name, field, set(c.relations)) for c in cases}
            assert Access.FULL in seen, (type_name, field)
            assert Access.DENIED in seen, (type_name, field)
            found = rule(type_name, field)
            assert found is not None
            if found.masked:
                assert Access.MASKED in seen, (type_name, field)
