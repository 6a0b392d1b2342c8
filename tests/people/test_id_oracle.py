"""`createPerson` is no ID-number oracle: DUPLICATE only for a person in the caller's scope,
elsewhere the refusal any forbidden call gets, audited; refusals limited per caller in
PostgreSQL (every aliased call counts, every app instance sees the count)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models.crypto import decrypt_id_card, id_card_lookup_hash
from models.people import Gender
from resolvers import people as rp
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.identity.support import FromAddress, Settings
from tests.people.test_people import with_check_character
from tests.permissions.support import gid, rows

ERRORS = "errors { code field message }"
CREATE = f"""mutation($input: CreatePersonInput!) {{
    createPerson(input: $input) {{ person {{ id }} {ERRORS} }} }}"""


async def id_number(session: AsyncSession, person_id: int | None) -> str:
    cipher = await scalar(session, "SELECT id_card_cipher FROM person WHERE id = :p", p=person_id)
    return decrypt_id_card(bytes(cipher))


async def outsider(session: AsyncSession, demo: DemoCity, offset: int = 0) -> tuple[int, str]:
    """A person of 灵犀社区 with an ID number: far outside a 仁和苑 building head's scope."""
    [(person_id,)] = await rows(
        session,
        "SELECT id FROM person WHERE path <@ CAST(:c AS ltree) AND id_card_cipher IS NOT NULL "
        "ORDER BY id OFFSET :o LIMIT 1",
        c=demo.lingxi.path,
        o=offset,
    )
    return int(person_id), await id_number(session, person_id)


async def household_of_the_heads_building(session: AsyncSession, demo: DemoCity) -> str:
    [(household_id,)] = await rows(
        session,
        "SELECT id FROM household WHERE building_id = :b ORDER BY id LIMIT 1",
        b=demo.building.id,
    )
    return gid("Household", household_id)


def person(household: str | None, number: str | None = None, **more: Any) -> dict[str, Any]:
    given: dict[str, Any] = {"name": "新住户", "gender": "FEMALE", **more}
    if household:
        given["householdId"] = household
    if number:
        given["idCardNumber"] = number
    return given


async def create(client: GraphQLClient, given: dict[str, Any], **headers: str) -> Any:
    body = await client.raw(CREATE, {"input": given}, **headers)
    assert not body.get("errors"), body
    return body["data"]["createPerson"]


async def people(session: AsyncSession) -> int:
    return int(await scalar(session, "SELECT count(*) FROM person"))


async def test_a_duplicate_outside_scope_reads_like_any_other_refusal(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, session: AsyncSession
) -> None:
    """The attack: a building head learnt that an ID number is registered somewhere in the
    city (DUPLICATE) for a person it cannot see."""
    head = as_account("building-head")
    household = await household_of_the_heads_building(session, demo)
    stranger_id, stranger_number = await outsider(session, demo)
    neighbour_number = await id_number(session, demo.party_member.id)
    before = await people(session)

    in_scope = await create(head, person(household, neighbour_number))
    assert in_scope["errors"] == [
        {
            "code": "DUPLICATE",
            "field": "idCardNumber",
            "message": "a person with this ID number exists",
        }
    ]
    outside = await create(
        head, person(household, stranger_number), **{"X-Request-ID": "probe-outside"}
    )
    not_allowed = await create(head, person(None))  # a building head registers no staff
    assert outside == not_allowed
    assert outside["errors"] == [
        {"code": "FORBIDDEN", "field": None, "message": "you may not do this here"}
    ]
    assert await people(session) == before

    # audited: who probed which person, never the number itself
    entries = await rows(
        session,
        "SELECT object_type, row_ids, fields, details, row_to_json(a)::text FROM audit_log a "
        "WHERE request_id = 'probe-outside' ORDER BY id",
    )
    refusals = [e for e in entries if (e[3] or {}).get("refusal") == "DUPLICATE_OUTSIDE_SCOPE"]
    assert len(refusals) == 1
    object_type, row_ids, fields, details, _ = refusals[0]
    assert (object_type, list(row_ids), list(fields)) == ("Person", [stranger_id], ["idCardNumber"])
    assert details["mutation"] == "createPerson"
    assert any((e[3] or {}).get("errors") == ["FORBIDDEN"] for e in entries)
    for entry in entries:
        assert stranger_number not in entry[4]
        assert stranger_number[:17] not in entry[4]


async def test_refusals_are_limited_per_caller_every_alias_and_instance_counted(
    as_account: Callable[[str], GraphQLClient],
    from_address: FromAddress,
    accounts: dict[str, Any],
    demo: DemoCity,
    session: AsyncSession,
    settings: Settings,
) -> None:
    settings(CREATE_PERSON_REFUSALS=3)
    head = as_account("building-head")
    household = await household_of_the_heads_building(session, demo)
    numbers = [(await outsider(session, demo, i))[1] for i in range(2)]
    fresh = [with_check_character(f"5203021990010112{i}") for i in range(3)]
    before = await people(session)
    aliases = {
        "a1": person(household, numbers[0]),
        "a2": person(household, phone="12345"),  # any refusal counts: hits stay hidden
        "a3": person(household, numbers[1]),
        "a4": person(household, fresh[0]),
        "a5": person(household, fresh[1]),
    }
    document = "mutation({}) {{ {} }}".format(
        ", ".join(f"${a}: CreatePersonInput!" for a in aliases),
        " ".join(f"{a}: createPerson(input: ${a}) {{ person {{ id }} {ERRORS} }}" for a in aliases),
    )
    data = await head(document, aliases)
    assert [[e["code"] for e in data[a]["errors"]] for a in aliases] == [
        ["FORBIDDEN"],
        ["VALIDATION"],
        ["FORBIDDEN"],
        ["RATE_LIMITED"],
        ["RATE_LIMITED"],
    ]
    assert await people(session) == before
    # the count is in PostgreSQL: another app instance refuses the same caller too
    elsewhere = from_address("192.0.2.7", dict(head.headers))
    assert [
        e["code"] for e in (await create(elsewhere, person(household, fresh[2])))["errors"]
    ] == ["RATE_LIMITED"]
    assert (
        await scalar(
            session,
            "SELECT hits FROM rate_counter WHERE key = :k",
            k=f"createPerson:person:{demo.building_head.id}",
        )
        == 3
    )
    # others are not limited by it
    other = await create(as_account("grid-worker"), person(household, fresh[2]))
    assert other["errors"] == []
    # a new window, a new allowance
    await scalar(
        session,
        "UPDATE rate_counter SET window_started_at = now() - interval '2 hours' RETURNING 1",
    )
    again = await create(head, person(household, fresh[0]))
    assert again["errors"] == []
    assert await people(session) == before + 2


async def test_concurrent_registrations_of_one_number_create_one_person(
    engine: AsyncEngine, demo: DemoCity
) -> None:
    """Real connections and commits: the second waits for the first, then finds it."""
    number = with_check_character("52030219770707555")
    lookup = id_card_lookup_hash(number)

    async def register(name: str) -> Any:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            try:
                created = await rp.create_person(
                    session,
                    rp.PersonData(name=name, gender=Gender.MALE, id_card_number=number),
                )
                await asyncio.sleep(0.2)  # hold the transaction open while the other waits
            except rp.DuplicateIdCardError as duplicate:
                return duplicate.code
            return created.id

    try:
        results = await asyncio.gather(register("甲"), register("乙"), register("丙"))
        assert [r for r in results if r == "DUPLICATE"] == ["DUPLICATE"] * 2
        async with AsyncSession(engine) as session:
            stored = await scalar(
                session, "SELECT count(*) FROM person WHERE id_card_hash = :h", h=lookup
            )
        assert stored == 1
    finally:
        async with AsyncSession(engine) as session, session.begin():
            await session.execute(
                sa.text("DELETE FROM person WHERE id_card_hash = :h"), {"h": lookup}
            )


async def test_updating_a_number_probes_against_the_same_limit(
    as_account: Callable[[str], GraphQLClient],
    demo: DemoCity,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """A building head could test numbers by giving them to a resident he manages: a holder
    outside his scope reads FORBIDDEN, is noted for the audit log, and such refusals share
    createPerson's limit; past it nothing is answered but RATE_LIMITED."""
    settings(CREATE_PERSON_REFUSALS=2)
    head = as_account("building-head")
    document = f"""mutation($input: UpdatePersonInput!) {{ updatePerson(input: $input) {{
      person {{ id }} {ERRORS} }} }}"""
    resident = gid("Person", demo.resident_alone.id)
    numbers = [(await outsider(session, demo, i))[1] for i in range(2)]
    fresh = with_check_character("52030219900101129")
    codes = []
    for number in (*numbers, fresh):
        data = await head(document, {"input": {"id": resident, "idCardNumber": number}})
        codes.append([e["code"] for e in data["updatePerson"]["errors"]])
    assert codes == [["FORBIDDEN"], ["FORBIDDEN"], ["RATE_LIMITED"]]
    noted = await scalar(
        session,
        "SELECT count(*) FROM audit_log WHERE details->>'refusal' = 'DUPLICATE_OUTSIDE_SCOPE'"
        " AND details->>'mutation' = 'updatePerson'",
    )
    assert noted == 2
    renamed = await head(document, {"input": {"id": resident, "name": "王秀英"}})
    assert renamed["updatePerson"]["errors"] == [], "calls without a number are not limited"
