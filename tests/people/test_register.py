"""The register kept up to date: updatePerson, movePerson with its history (renters in and
out), ending a 1+N pairing, a 双报到 pairing and a 党员中心户 designation, and appointing
part-time committee members (兼职委员); each audited and scoped like the other mutations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.support import gid, rows

ERRORS = "errors { code field message }"
UPDATE = f"""mutation($input: UpdatePersonInput!) {{ updatePerson(input: $input) {{
  person {{ id name phone isElderly healthNotes }} {ERRORS} }} }}"""
MOVE = f"""mutation($input: MovePersonInput!) {{ movePerson(input: $input) {{
  person {{ id household {{ id }}
            householdHistory {{ household {{ id }} startedAt endedAt reason }} }}
  {ERRORS} }} }}"""
END_PAIRING = f"""mutation($input: EndPairingInput!) {{ endPairing(input: $input) {{
  pairing {{ id endedAt }} {ERRORS} }} }}"""
END_CENTRAL = f"""mutation($input: EndInput!) {{ endCentralHousehold(input: $input) {{
  centralHousehold {{ id endedAt }} {ERRORS} }} }}"""
END_UNIT = f"""mutation($input: EndInput!) {{ endWorkUnitPairing(input: $input) {{
  workUnitPairing {{ id endedAt }} {ERRORS} }} }}"""
APPOINT = f"""mutation($input: AppointPositionInput!) {{ appointPosition(input: $input) {{
  position {{ id role orgUnit {{ id }} workUnit {{ id }} }} {ERRORS} }} }}"""

Signed = Callable[[str], GraphQLClient]


def errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def test_update_person_is_scoped_and_audited(as_account: Signed, demo: DemoCity) -> None:
    worker, admin, renter = (
        as_account("grid-worker"),
        as_account("community-admin"),
        as_account("renter"),
    )
    resident = gid("Person", demo.resident_alone.id)
    changed = (await worker(UPDATE, {"input": {"id": resident, "phone": "13900001111",
                                                "healthNotes": "高血压，糖尿病"}}))  # fmt: skip
    person = changed["updatePerson"]["person"]
    assert (person["phone"], person["healthNotes"]) == ("13900001111", "高血压，糖尿病")
    cleared = await worker(UPDATE, {"input": {"id": resident, "healthNotes": ""}})
    assert cleared["updatePerson"]["person"]["healthNotes"] is None
    bad = await worker(UPDATE, {"input": {"id": resident, "phone": "12345"}})
    assert errors(bad["updatePerson"]) == [("VALIDATION", "phone")]
    for client, target in (
        (renter, resident),  # a neighbour
        (worker, gid("Person", demo.building_head.id)),  # holds positions: admins' to edit
        (admin, gid("Person", demo.admins[next(iter(demo.admins))].id)),  # oneself
    ):
        refused = await client(UPDATE, {"input": {"id": target, "isElderly": True}})
        assert errors(refused["updatePerson"])[0][0] in ("FORBIDDEN", "NOT_FOUND")
    head = await admin(UPDATE, {"input": {"id": gid("Person", demo.building_head.id),
                                           "isElderly": False}})  # fmt: skip
    assert head["updatePerson"]["errors"] == []
    log = await as_account("city-admin")(
        '{ auditLog(objectType: "Person", first: 10) { nodes { fields } } }'
    )
    assert ["healthNotes", "id", "phone"] in [n["fields"] for n in log["auditLog"]["nodes"]]


async def test_a_renter_moves_out_and_in_with_history(
    as_account: Signed, session: AsyncSession, demo: DemoCity
) -> None:
    admin = as_account("community-admin")
    renter = gid("Person", demo.renter.id)
    old_home = gid("Household", demo.renter.household_id)
    [(new_home,)] = await rows(
        session,
        """SELECT h.id FROM household h WHERE h.path <@ CAST(:c AS ltree)
           AND h.building_id <> :b ORDER BY h.id LIMIT 1""",
        c=demo.renheyuan.path,
        b=demo.building.id,
    )
    same = await admin(MOVE, {"input": {"id": renter, "householdId": old_home}})
    assert errors(same["movePerson"]) == [("VALIDATION", "householdId")]
    moved = (await admin(MOVE, {"input": {"id": renter, "householdId": gid("Household", new_home),
                                           "reason": "换租"}}))["movePerson"]  # fmt: skip
    assert moved["errors"] == []
    person = moved["person"]
    assert person["household"]["id"] == gid("Household", new_home)
    history = person["householdHistory"]
    assert [(h["household"]["id"], h["endedAt"] is None, h["reason"]) for h in history] == [
        (gid("Household", new_home), True, "换租"),
        (old_home, False, None),
    ]
    old = await admin(
        "query($id: ID!) { node(id: $id) { ... on Household { members { id } } } }",
        {"id": old_home},
    )
    assert renter not in [m["id"] for m in old["node"]["members"]]
    out = (await admin(MOVE, {"input": {"id": renter, "reason": "退租离开"}}))["movePerson"]
    assert out["errors"] == []
    assert out["person"]["household"] is None
    after = await admin("query($id: ID!) { node(id: $id) { id } }", {"id": renter})
    assert after["node"] is None, "registered nowhere here: out of the admin's scope"
    ended = await rows(
        session,
        "SELECT count(*) FROM household_membership WHERE person_id = :p AND ended_at IS NULL",
        p=demo.renter.id,
    )
    assert ended == [(0,)]


async def test_only_staff_of_both_places_move_someone(as_account: Signed, demo: DemoCity) -> None:
    worker = as_account("grid-worker")
    [elsewhere] = [
        g for t, g in demo.grids.items() if g.code != demo.grids[next(iter(demo.grids))].code
    ][:1]
    assert elsewhere.id is not None
    resident = gid("Person", demo.resident_alone.id)
    to_other = await worker(
        MOVE, {"input": {"id": resident, "householdId": gid("Household", demo.renter.household_id)}}
    )
    assert to_other["movePerson"]["errors"] == [], "within his grid"
    refused = await as_account("renter")(MOVE, {"input": {"id": resident}})
    assert errors(refused["movePerson"])[0][0] in ("FORBIDDEN", "NOT_FOUND")


async def test_pairings_and_designations_end_and_stay_in_history(
    as_account: Signed, session: AsyncSession, demo: DemoCity
) -> None:
    admin, head = as_account("community-admin"), as_account("building-head")
    [(pairing,)] = await rows(
        session,
        "SELECT id FROM pairing WHERE path <@ CAST(:c AS ltree) AND ended_at IS NULL"
        " ORDER BY id LIMIT 1",
        c=demo.renheyuan.path,
    )
    [(central,)] = await rows(
        session,
        "SELECT id FROM central_household WHERE path <@ CAST(:c AS ltree) AND ended_at IS NULL"
        " ORDER BY id LIMIT 1",
        c=demo.renheyuan.path,
    )
    [(unit_pairing,)] = await rows(
        session,
        "SELECT id FROM work_unit_pairing WHERE community_id = :c AND ended_at IS NULL"
        " ORDER BY id LIMIT 1",
        c=demo.renheyuan.id,
    )
    for query, name, ident in (
        (END_PAIRING, "endPairing", gid("Pairing", pairing)),
        (END_CENTRAL, "endCentralHousehold", gid("CentralHousehold", central)),
        (END_UNIT, "endWorkUnitPairing", gid("WorkUnitPairing", unit_pairing)),
    ):
        refused = (await head(query, {"input": {"id": ident}}))[name]
        assert errors(refused)[0][0] in ("FORBIDDEN", "NOT_FOUND"), name
        done = (await admin(query, {"input": {"id": ident}}))[name]
        assert done["errors"] == [], name
        again = (await admin(query, {"input": {"id": ident}}))[name]
        assert errors(again) == [("ALREADY_ENDED", "id")], name
    kept = await rows(
        session, "SELECT ended_at IS NOT NULL FROM pairing WHERE id = :id", id=pairing
    )
    assert kept == [(True,)]


async def test_part_time_committee_members_are_positions(
    as_account: Signed, session: AsyncSession, demo: DemoCity
) -> None:
    street_admin = as_account("street-admin")
    [(member, organ)] = await rows(
        session,
        """SELECT p.id, (SELECT id FROM work_unit WHERE kind = 'GOVERNMENT_ORGAN' ORDER BY id
                          LIMIT 1)
           FROM person p WHERE p.is_party_member AND p.path <@ CAST(:c AS ltree)
           AND NOT EXISTS (SELECT 1 FROM position x WHERE x.person_id = p.id)
           ORDER BY p.id LIMIT 1""",
        c=demo.renheyuan.path,
    )
    base = {
        "personId": gid("Person", member),
        "role": "PARTY_COMMITTEE_MEMBER",
        "orgUnitId": gid("OrgUnit", demo.street.id),
    }
    assert errors((await street_admin(APPOINT, {"input": base}))["appointPosition"]) == [
        ("VALIDATION", "workUnitId")
    ]
    at_grid = base | {"orgUnitId": gid("OrgUnit", demo.grids[next(iter(demo.grids))].id),
                      "workUnitId": gid("WorkUnit", organ)}  # fmt: skip
    assert errors((await street_admin(APPOINT, {"input": at_grid}))["appointPosition"]) == [
        ("INVALID_PARENT_KIND", "orgUnitId")
    ]
    appointed = (await street_admin(APPOINT, {"input": base | {"workUnitId": gid(
        "WorkUnit", organ)}}))["appointPosition"]  # fmt: skip
    assert appointed["errors"] == []
    assert appointed["position"]["role"] == "PARTY_COMMITTEE_MEMBER"
    [(count,)] = await rows(
        session, "SELECT count(*) FROM position WHERE role = 'PARTY_COMMITTEE_MEMBER'"
    )
    assert count == 3, "the demo's two and this one"
