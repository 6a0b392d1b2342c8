"""An admin's positions never widen what the field policy shows the admin: where one
administers a row, personal data comes in full only through `revealPersonalData`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from models.org import GridType
from models.people import Role
from permissions.actor import Actor, Grant, narrowed
from permissions.policy import FIELD_POLICY, decide
from permissions.roles import Relation
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.support import gid, mutation

PERSON = """query($id: ID!) { node(id: $id) { ... on Person {
    name phone idCardNumber birthDate age isElderly livesAlone healthNotes
    household { room }
} } }"""


async def read(client: GraphQLClient, person_id: int | None) -> Any:
    return (await client(PERSON, {"id": gid("Person", person_id)}))["node"]


async def test_an_admin_appointed_grid_worker_still_sees_the_admin_view(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity
) -> None:
    """The attack: the street admin (or a colluding peer) makes the community admin grid
    worker of a grid in the community; the admin then read full phones and birth dates."""
    admin = as_account("community-admin")
    resident = demo.resident_alone.id
    before = await read(admin, resident)
    assert "****" in before["phone"]
    assert before["birthDate"] is None

    appointed = await mutation(
        as_account("street-admin"),
        "appointPosition",
        "AppointPositionInput",
        {
            "personId": gid("Person", demo.admins[Role.COMMUNITY_ADMIN].id),
            "role": "GRID_WORKER",
            "orgUnitId": gid("OrgUnit", demo.grids[GridType.OLD_ESTATE].id),
        },
        "position { id }",
    )
    assert appointed["errors"] == []
    me = await admin("{ me { roles } }")
    assert "GRID_WORKER" in me["me"]["roles"]  # the position is real and active

    assert await read(admin, resident) == before
    # a grid worker who is no admin sees the grid's residents in full (the contrast)
    worker_view = await read(as_account("grid-worker"), resident)
    assert "****" not in worker_view["phone"]
    assert worker_view["birthDate"] is not None

    # what the admin needs in full, it reveals: with a purpose, audited
    revealed = await mutation(
        admin,
        "revealPersonalData",
        "RevealPersonalDataInput",
        {
            "personId": gid("Person", resident),
            "fields": ["PHONE", "BIRTH_DATE"],
            "purpose": "独居老人走访联系",
        },
        "phone birthDate",
    )
    assert revealed["errors"] == []
    assert revealed["phone"] == worker_view["phone"]
    assert revealed["birthDate"] == worker_view["birthDate"]


@pytest.mark.parametrize("role", [Role.GRID_WORKER, Role.BUILDING_HEAD, Role.VOLUNTEER])
def test_no_position_adds_to_an_admins_relations_over_a_row(role: Role) -> None:
    community, grid = "1.2.3.4", "1.2.3.4.5"
    admin = Actor(kind="PERSON", grants=(Grant(Role.COMMUNITY_ADMIN, community),))
    both = Actor(kind="PERSON", grants=(*admin.grants, Grant(role, grid)))
    row = f"{grid}.b7.h9"
    assert both.relations_to(row) == admin.relations_to(row) == {Relation.ADMIN}
    assert both.possible_relations() == admin.possible_relations()
    # outside the admin's subtree the position gives what it gives to anyone
    elsewhere = Actor(kind="PERSON", grants=(*admin.grants, Grant(role, "1.2.9.8")))
    assert elsewhere.relations_to("1.2.9.8.b1.h1") == {Grant(role, "1.2.9.8").relation}


def test_whatever_accompanies_admin_every_field_reads_as_the_admin_view() -> None:
    """Beyond the admin view, personal data comes only through revealPersonalData."""
    for type_name, fields in FIELD_POLICY.items():
        for field in fields:
            admin = decide(type_name, field, {Relation.ADMIN})
            for extra in (Relation.GRID, Relation.BUILDING_STAFF, Relation.SERVICE):
                got = decide(type_name, field, narrowed({Relation.ADMIN, extra}))
                assert got is admin, (type_name, field, extra)
            # what stays personal (living here, being a contact) is not taken away
            assert narrowed({Relation.ADMIN, Relation.SELF}) == {Relation.ADMIN, Relation.SELF}
