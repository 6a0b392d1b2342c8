"""The audit log: one READ row per request for personal data read in full, one row per
mutation naming input fields but never their values, REVEAL rows with their purpose; the
database refuses to change it; only city admins may query it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.crypto import decrypt_id_card
from models.identity import TokenRole
from models.people import Person, Role
from permissions.masking import mask_phone
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.permissions.support import ERRORS, codes, gid, rows, token_client

AUDIT_COLUMNS = (
    "action, object_type, row_ids, fields, request_id, operation_name, actor_kind, "
    "actor_person_id, actor_token_id, roles, purpose"
)
PHONES = """query HeadReadsPhones($id: ID!) {
  node(id: $id) { ... on Building { residents(first: 100) { nodes { id phone } } } }
}"""


def with_check_character(first17: str) -> str:
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return (
        first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]
    )


async def audit_rows(session: AsyncSession, request_id: str) -> list[dict[str, Any]]:
    found = await session.execute(
        sa.text(f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE request_id = :r ORDER BY id"),
        {"r": request_id},
    )
    return [dict(row._mapping) for row in found]


async def audit_count(session: AsyncSession) -> int:
    return int(await scalar(session, "SELECT count(*) FROM audit_log"))


async def audit_mentions(session: AsyncSession, text: str) -> int:
    return int(
        await scalar(
            session,
            "SELECT count(*) FROM audit_log a WHERE strpos(row_to_json(a)::text, :t) > 0",
            t=text,
        )
    )


async def post(
    client: GraphQLClient,
    query: str,
    variables: dict[str, Any],
    request_id: str,
    operation_name: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"query": query, "variables": variables}
    if operation_name:
        body["operationName"] = operation_name
    return await client.http.post(
        "/graphql", json=body, headers={**client.headers, "X-Request-ID": request_id}
    )


async def run_mutation(
    client: GraphQLClient,
    name: str,
    input_type: str,
    input: dict[str, Any],
    selection: str,
    request_id: str,
) -> dict[str, Any]:
    response = await post(
        client,
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} {ERRORS} }} }}",
        {"input": input},
        request_id,
    )
    body = response.json()
    assert response.status_code == 200, body
    assert not body.get("errors"), body
    payload: dict[str, Any] = body["data"][name]
    return payload


# --- reads ------------------------------------------------------------------------------------


async def test_a_full_read_of_phones_adds_exactly_one_audit_row(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    with_phone = sorted(
        int(i)
        for (i,) in await rows(
            session,
            "SELECT id FROM person WHERE path <@ CAST(:b AS ltree) AND phone IS NOT NULL",
            b=demo.building.path,
        )
    )
    assert len(with_phone) >= 5
    before = await audit_count(session)
    response = await post(
        as_account("building-head"),
        PHONES,
        {"id": gid("Building", demo.building.id)},
        "req-audit-read",
        "HeadReadsPhones",
    )
    assert response.status_code == 200
    nodes = response.json()["data"]["node"]["residents"]["nodes"]
    assert all("*" not in (n["phone"] or "") for n in nodes)  # FULL for the building head
    assert await audit_count(session) == before + 1
    [entry] = await audit_rows(session, "req-audit-read")
    assert entry["action"] == "READ"
    assert entry["object_type"] == "Person"
    assert entry["row_ids"] == with_phone
    assert entry["fields"] == ["phone"]
    assert entry["operation_name"] == "HeadReadsPhones"
    assert entry["actor_kind"] == "PERSON"
    assert entry["actor_person_id"] == demo.building_head.id
    assert "BUILDING_HEAD" in entry["roles"]
    assert entry["purpose"] is None


async def test_a_masked_read_adds_no_audit_row(
    as_account: Callable[[str], GraphQLClient],
    session: AsyncSession,
    http: httpx.AsyncClient,
    demo: DemoCity,
) -> None:
    phones = {
        gid("Person", int(i)): phone
        for i, phone in await rows(
            session,
            "SELECT id, phone FROM person WHERE path <@ CAST(:b AS ltree) AND phone IS NOT NULL",
            b=demo.building.path,
        )
    }
    before = await audit_count(session)
    integrator = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    for rid, client in (
        ("req-masked-admin", as_account("community-admin")),
        ("req-masked-token", integrator),
    ):
        response = await post(client, PHONES, {"id": gid("Building", demo.building.id)}, rid)
        nodes = response.json()["data"]["node"]["residents"]["nodes"]
        shown = {n["id"]: n["phone"] for n in nodes if n["phone"]}
        assert shown == {i: mask_phone(p) for i, p in phones.items()}
        assert await audit_rows(session, rid) == []
    assert await audit_count(session) == before


async def test_a_read_is_on_record_even_when_the_query_fails(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    response = await post(
        as_account("building-head"),
        """query Partly($id: ID!) {
          node(id: $id) { ... on Building { residents(first: 100) { nodes { id phone } } } }
          orgUnit { id }
        }""",
        {"id": gid("Building", demo.building.id)},
        "req-partly",
        "Partly",
    )
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION"
    assert body["data"]["node"]["residents"]["nodes"]
    [entry] = await audit_rows(session, "req-partly")
    assert (entry["action"], entry["fields"], entry["operation_name"]) == (
        "READ",
        ["phone"],
        "Partly",
    )


async def test_full_reads_by_a_token_are_attributed_to_the_token(
    session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity
) -> None:
    """An integrator sees gender and Party membership in full: those reads are on record."""
    integrator = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    token_id = int(await scalar(session, "SELECT max(id) FROM api_token"))
    response = await post(
        integrator,
        "{ people(first: 3) { nodes { id name gender isPartyMember } } }",
        {},
        "req-token-read",
    )
    shown = response.json()["data"]["people"]["nodes"]
    [entry] = await audit_rows(session, "req-token-read")
    assert entry["action"] == "READ"
    assert entry["actor_kind"] == "TOKEN"
    assert entry["actor_token_id"] == token_id
    assert entry["actor_person_id"] is None
    assert entry["roles"] == ["INTEGRATOR"]
    assert entry["fields"] == ["gender", "isPartyMember"]  # the masked name is not a full read
    assert len(entry["row_ids"]) == len(shown) == 3


async def test_the_operation_name_comes_from_the_document(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    await post(
        as_account("building-head"), PHONES, {"id": gid("Building", demo.building.id)}, "req-op"
    )
    [entry] = await audit_rows(session, "req-op")
    assert entry["operation_name"] == "HeadReadsPhones"


# --- mutations ---------------------------------------------------------------------------------


async def test_create_person_is_audited_by_field_names_and_never_leaks_the_id_number(
    gql: GraphQLClient,
    session: AsyncSession,
    demo: DemoCity,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    number = with_check_character("52030319870412561")
    values = {
        "name": "测试人员甲",
        "gender": "FEMALE",
        "householdId": gid("Household", demo.party_member.household_id),
        "phone": "13912345678",
        "idCardNumber": number,
        "healthNotes": "对青霉素过敏",
        "birthDate": "1987-04-12",
    }
    before = await audit_count(session)
    payload = await run_mutation(
        gql, "createPerson", "CreatePersonInput", values, "person { id }", "req-create-person"
    )
    assert payload["errors"] == []
    person_id = int(
        await scalar(session, "SELECT id FROM person WHERE name = :n", n=values["name"])
    )
    assert await audit_count(session) == before + 1
    [entry] = await audit_rows(session, "req-create-person")
    assert entry["action"] == "MUTATION"
    assert entry["object_type"] == "Person"
    assert entry["row_ids"] == [person_id]
    assert set(values) <= set(entry["fields"])
    assert set(entry["fields"]) <= {
        "name",
        "gender",
        "householdId",
        "birthDate",
        "phone",
        "idCardNumber",
        "isPartyMember",
        "isVeteran",
        "isElderly",
        "livesAlone",
        "isRenter",
        "healthNotes",
    }
    for value in ("测试人员甲", "13912345678", number, "对青霉素过敏", "1987-04-12"):
        assert await audit_mentions(session, value) == 0, value
        assert value not in caplog.text, value
    # the number is stored encrypted, not in clear
    stored = await scalar(session, "SELECT id_card_cipher FROM person WHERE id = :p", p=person_id)
    assert number.encode() not in bytes(stored)
    assert decrypt_id_card(bytes(stored)) == number


@pytest.mark.parametrize("kind", ["duplicate", "bad-check-character"])
async def test_a_refused_id_number_appears_in_no_error_log_or_audit_row(
    kind: str,
    gql: GraphQLClient,
    session: AsyncSession,
    demo: DemoCity,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    if kind == "duplicate":
        taken = await session.get(Person, demo.party_member.id)
        assert taken is not None
        assert taken.id_card_cipher is not None
        number = decrypt_id_card(taken.id_card_cipher)
        code = "DUPLICATE"
    else:
        valid = with_check_character("52030319870412561")
        number = valid[:17] + ("0" if valid[17] != "0" else "1")
        code = "VALIDATION"
    response = await post(
        gql,
        f"mutation($input: CreatePersonInput!) {{ createPerson(input: $input) "
        f"{{ person {{ id }} {ERRORS} }} }}",
        {"input": {"name": "测试人员乙", "gender": "MALE", "idCardNumber": number}},
        f"req-id-{kind}",
    )
    payload = response.json()["data"]["createPerson"]
    assert codes(payload) == [code]
    assert payload["errors"][0]["field"] == "idCardNumber"
    assert number not in response.text
    assert number not in caplog.text
    assert await audit_mentions(session, number) == 0
    [entry] = await audit_rows(session, f"req-id-{kind}")
    assert entry["action"] == "MUTATION"
    assert entry["row_ids"] == []
    assert "idCardNumber" in entry["fields"]


async def test_an_id_number_of_the_wrong_type_is_not_echoed(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    number = with_check_character("52030319870412561")
    assert number.isdigit(), "a number that JSON can carry as an integer"
    response = await post(
        gql,
        "mutation($input: CreatePersonInput!) { createPerson(input: $input) { person { id } } }",
        {"input": {"name": "测试人员丙", "gender": "MALE", "idCardNumber": int(number)}},
        "req-id-wrong-type",
    )
    assert response.json()["errors"]
    assert number not in response.text
    assert number not in caplog.text


NUL_PERSON = {
    "name": "测试\u0000人员丁",
    "gender": "MALE",
    "phone": "13912345679",
    "healthNotes": "二型糖尿病",
    "idCardNumber": with_check_character("52030319870412562"),
}


async def test_a_nul_character_in_a_name_is_a_validation_error(gql: GraphQLClient) -> None:
    response = await post(
        gql,
        f"mutation($input: CreatePersonInput!) {{ createPerson(input: $input) "
        f"{{ person {{ id }} {ERRORS} }} }}",
        {"input": NUL_PERSON},
        "req-nul-validation",
    )
    body = response.json()
    assert "data" not in body  # refused before execution: one shared check of every string
    [error] = body["errors"]
    assert error["extensions"]["code"] == "VALIDATION"
    assert error["extensions"]["field"] == "input.name"
    assert error["extensions"]["requestId"] == "req-nul-validation"


async def test_an_unexpected_write_error_logs_no_personal_data(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await post(
        gql,
        "mutation($input: CreatePersonInput!) { createPerson(input: $input) { person { id } } }",
        {"input": NUL_PERSON},
        "req-nul-logs",
    )
    for value in (NUL_PERSON["phone"], NUL_PERSON["healthNotes"], NUL_PERSON["idCardNumber"]):
        assert value not in response.text
        assert value not in caplog.text, value


def _mutation_cases(demo: DemoCity) -> dict[str, tuple[str, str, dict[str, Any], str, str]]:
    """name -> (mutation, input type, input, selection, expected object type)."""
    return {
        "createHousehold": (
            "createHousehold",
            "CreateHouseholdInput",
            {
                "buildingId": gid("Building", demo.building.id),
                "unit": "9单元",
                "room": "909",
                "tenure": "RENTED",
            },
            "household { id }",
            "Household",
        ),
        "appointPosition": (
            "appointPosition",
            "AppointPositionInput",
            {
                "personId": gid("Person", demo.party_member.id),
                "role": "VOLUNTEER",
                "orgUnitId": gid("OrgUnit", demo.renheyuan.id),
            },
            "position { id }",
            "Position",
        ),
        "renameOrgUnit": (
            "renameOrgUnit",
            "RenameOrgUnitInput",
            {"id": gid("OrgUnit", demo.lingxi.id), "name": "灵犀新社区"},
            "orgUnit { id }",
            "OrgUnit",
        ),
        "createApiToken": (
            "createApiToken",
            "CreateApiTokenInput",
            {"name": "审计测试", "role": "DISPLAY", "orgUnitId": gid("OrgUnit", demo.lingxi.id)},
            "apiToken { id }",
            "ApiToken",
        ),
    }


def _created_id(payload: dict[str, Any]) -> int:
    import base64

    [node] = [v for k, v in payload.items() if k != "errors"]
    return int(base64.urlsafe_b64decode(node["id"]).decode().rpartition(":")[2])


@pytest.mark.parametrize(
    "name",
    [
        "createHousehold",
        "appointPosition",
        "renameOrgUnit",
        pytest.param("createApiToken"),
    ],
)
async def test_each_mutation_adds_one_row_naming_its_object(
    name: str, gql: GraphQLClient, session: AsyncSession, demo: DemoCity
) -> None:
    mutation_name, input_type, values, selection, object_type = _mutation_cases(demo)[name]
    before = await audit_count(session)
    payload = await run_mutation(
        gql, mutation_name, input_type, values, selection, f"req-mutation-{name}"
    )
    assert payload["errors"] == []
    assert await audit_count(session) == before + 1
    [entry] = await audit_rows(session, f"req-mutation-{name}")
    assert entry["action"] == "MUTATION"
    assert set(values) <= set(entry["fields"])
    for value in values.values():
        if not str(value).isupper():  # enum constants are not personal values
            assert await audit_mentions(session, str(value)) == 0, value
    assert entry["actor_person_id"] is not None
    assert "CITY_ADMIN" in entry["roles"]
    assert (entry["object_type"], entry["row_ids"]) == (object_type, [_created_id(payload)])


async def test_a_refused_mutation_is_audited_too(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    payload = await run_mutation(
        as_account("grid-worker"),
        "appointPosition",
        "AppointPositionInput",
        {
            "personId": gid("Person", demo.party_member.id),
            "role": "COMMUNITY_ADMIN",
            "orgUnitId": gid("OrgUnit", demo.renheyuan.id),
        },
        "position { id }",
        "req-refused",
    )
    assert codes(payload) == ["FORBIDDEN"]
    [entry] = await audit_rows(session, "req-refused")
    assert entry["action"] == "MUTATION"
    assert entry["actor_person_id"] == demo.grid_worker.id
    assert entry["row_ids"] == []
    assert {"personId", "role", "orgUnitId"} <= set(entry["fields"])


@pytest.mark.parametrize("which", ["signIn", "signIn-refused", "signOut", "changePassword"])
async def test_session_mutations_are_audited(
    which: str,
    anonymous: GraphQLClient,
    as_account: Callable[[str], GraphQLClient],
    session: AsyncSession,
    demo: DemoCity,
) -> None:
    from seeds.accounts import DEMO_PASSWORD

    phone = demo.resident_alone.phone
    rid = f"req-session-{which}"
    if which.startswith("signIn"):
        password = DEMO_PASSWORD if which == "signIn" else "wrong-password"
        await run_mutation(
            anonymous,
            "signIn",
            "SignInInput",
            {"phone": phone, "password": password},
            "accessToken",
            rid,
        )
    elif which == "signOut":
        await run_mutation(
            anonymous, "signOut", "RefreshSessionInput", {"refreshToken": "unknown"}, "ok", rid
        )
    else:
        await run_mutation(
            as_account("resident"),
            "changePassword",
            "ChangePasswordInput",
            {"currentPassword": DEMO_PASSWORD, "newPassword": "another-long-password"},
            "ok",
            rid,
        )
    [entry] = await audit_rows(session, rid)
    assert entry["action"] == "MUTATION"
    assert entry["object_type"] in {"Account", "RefreshToken"}
    for secret in ("wrong-password", DEMO_PASSWORD, "another-long-password"):
        assert await audit_mentions(session, secret) == 0


# --- reveal ---------------------------------------------------------------------------------


async def reveal(
    client: GraphQLClient, person_id: int | None, fields: list[str], purpose: str, rid: str
) -> dict[str, Any]:
    return await run_mutation(
        client,
        "revealPersonalData",
        "RevealPersonalDataInput",
        {"personId": gid("Person", person_id), "fields": fields, "purpose": purpose},
        "phone idCardNumber",
        rid,
    )


async def test_reveal_adds_a_reveal_row_with_its_purpose(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    person = await session.get(Person, demo.party_member.id)
    assert person is not None
    assert person.id_card_cipher is not None
    number = decrypt_id_card(person.id_card_cipher)
    before = await audit_count(session)
    payload = await reveal(
        as_account("community-admin"),
        person.id,
        ["PHONE", "ID_CARD_NUMBER"],
        "  上门核实低保申请材料  ",
        "req-reveal",
    )
    assert payload == {"phone": person.phone, "idCardNumber": number, "errors": []}
    assert await audit_count(session) == before + 1
    [entry] = await audit_rows(session, "req-reveal")
    assert entry["action"] == "REVEAL"
    assert entry["object_type"] == "Person"
    assert entry["row_ids"] == [person.id]
    assert entry["fields"] == ["idCardNumber", "phone"]
    assert entry["purpose"] == "上门核实低保申请材料"
    assert entry["actor_person_id"] == demo.admins[Role.COMMUNITY_ADMIN].id
    assert await audit_mentions(session, number) == 0


async def test_reveal_needs_a_purpose_and_a_revealer(
    as_account: Callable[[str], GraphQLClient],
    session: AsyncSession,
    http: httpx.AsyncClient,
    demo: DemoCity,
) -> None:
    person = demo.party_member.id
    short = await reveal(as_account("community-admin"), person, ["PHONE"], "看看", "req-r1")
    assert codes(short) == ["VALIDATION"]
    assert short["phone"] is None
    head = await reveal(as_account("building-head"), person, ["PHONE"], "核实联系方式", "req-r2")
    assert codes(head) == ["FORBIDDEN"]
    assert head["phone"] is None
    token = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    machine = await reveal(token, person, ["PHONE"], "批量导出联系方式", "req-r3")
    assert codes(machine) == ["FORBIDDEN"]
    assert machine["phone"] is None
    assert not [
        e
        for rid in ("req-r1", "req-r2", "req-r3")
        for e in await audit_rows(session, rid)
        if e["action"] == "REVEAL"
    ]


async def test_a_refused_reveal_is_audited(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    refused = await reveal(
        as_account("building-head"), demo.party_member.id, ["PHONE"], "核实联系方式", "req-r4"
    )
    assert codes(refused) == ["FORBIDDEN"]
    [entry] = await audit_rows(session, "req-r4")
    assert entry["actor_person_id"] == demo.building_head.id


# --- append-only ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET purpose = 'rewritten' WHERE id = :id",
        "UPDATE audit_log SET row_ids = '{}' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
        "TRUNCATE audit_log",
        "TRUNCATE audit_log CASCADE",
    ],
)
async def test_the_database_refuses_to_change_the_audit_log(
    statement: str, session: AsyncSession
) -> None:
    [(entry_id,)] = await rows(
        session,
        "INSERT INTO audit_log (action, actor_kind, request_id, object_type, row_ids, purpose) "
        "VALUES ('READ', 'SYSTEM', 'req-append-only', 'Person', '{1,2}', 'original') RETURNING id",
    )
    total = await audit_count(session)
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(
                sa.text(statement), {"id": entry_id} if ":id" in statement else {}
            )
    # the savepoint rolled back; the test transaction and the row are intact
    assert await audit_count(session) == total
    [(purpose, row_ids)] = await rows(
        session, "SELECT purpose, row_ids FROM audit_log WHERE id = :id", id=entry_id
    )
    assert (purpose, row_ids) == ("original", [1, 2])


# --- querying the log -------------------------------------------------------------------------

AUDIT_LOG = """query($actor: ID, $type: String, $row: ID, $action: AuditAction,
                    $since: DateTime, $until: DateTime) {
  auditLog(actorId: $actor, objectType: $type, rowId: $row, action: $action,
           since: $since, until: $until, first: 100) {
    totalCount
    nodes { id action objectType rowIds fields requestId operationName actorPersonId roles }
  }
}"""


async def test_city_admins_query_the_log_with_filters(
    gql: GraphQLClient,
    as_account: Callable[[str], GraphQLClient],
    session: AsyncSession,
    demo: DemoCity,
) -> None:
    start = utcnow() - timedelta(seconds=1)
    await post(
        as_account("building-head"),
        PHONES,
        {"id": gid("Building", demo.building.id)},
        "req-log-read",
        "HeadReadsPhones",
    )
    await run_mutation(
        as_account("community-admin"),
        "createHousehold",
        "CreateHouseholdInput",
        {
            "buildingId": gid("Building", demo.building.id),
            "unit": "8单元",
            "room": "808",
            "tenure": "OWNER_OCCUPIED",
        },
        "household { id }",
        "req-log-mutation",
    )
    head = gid("Person", demo.building_head.id)

    async def log(**variables: Any) -> dict[str, Any]:
        data = await gql(AUDIT_LOG, variables)
        found: dict[str, Any] = data["auditLog"]
        return found

    by_head = await log(actor=head)
    assert by_head["totalCount"] >= 1
    assert {n["actorPersonId"] for n in by_head["nodes"]} == {head}
    [read] = [n for n in by_head["nodes"] if n["requestId"] == "req-log-read"]
    assert read["action"] == "READ"
    assert read["objectType"] == "Person"
    assert read["fields"] == ["phone"]
    assert read["operationName"] == "HeadReadsPhones"
    assert str(demo.party_member.id) in read["rowIds"]
    assert "BUILDING_HEAD" in read["roles"]

    households = await log(type="Household", action="MUTATION")
    assert households["nodes"]
    assert {(n["objectType"], n["action"]) for n in households["nodes"]} == {
        ("Household", "MUTATION")
    }
    assert "req-log-mutation" in {n["requestId"] for n in households["nodes"]}

    about = await log(row=gid("Person", demo.party_member.id))
    assert "req-log-read" in {n["requestId"] for n in about["nodes"]}

    window = await log(since=start.isoformat(), until=(utcnow() + timedelta(minutes=1)).isoformat())
    assert {"req-log-read", "req-log-mutation"} <= {n["requestId"] for n in window["nodes"]}
    future = await log(since=(utcnow() + timedelta(hours=1)).isoformat())
    assert future == {"totalCount": 0, "nodes": []}
    past = await log(until=start.isoformat())
    assert not {"req-log-read", "req-log-mutation"} & {n["requestId"] for n in past["nodes"]}

    # an entry is also a node, for city admins only
    entry_id = read["id"]
    assert (await gql("query($id: ID!) { node(id: $id) { id } }", {"id": entry_id}))["node"]
    hidden = await as_account("community-admin")(
        "query($id: ID!) { node(id: $id) { id } }", {"id": entry_id}
    )
    assert hidden == {"node": None}


async def test_the_log_filters_by_a_token_actor(
    gql: GraphQLClient, session: AsyncSession, http: httpx.AsyncClient, demo: DemoCity
) -> None:
    integrator = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    token_id = int(await scalar(session, "SELECT max(id) FROM api_token"))
    await post(integrator, "{ people(first: 2) { nodes { gender } } }", {}, "req-token-filter")
    body = await gql.raw(AUDIT_LOG, {"actor": gid("ApiToken", token_id)})
    assert not body.get("errors"), body["errors"]
    assert [n["requestId"] for n in body["data"]["auditLog"]["nodes"]] == ["req-token-filter"]


@pytest.mark.parametrize(
    "who", ["community-admin", "district-admin", "building-head", "token", "anonymous"]
)
async def test_nobody_but_city_admins_may_query_the_log(
    who: str,
    as_account: Callable[[str], GraphQLClient],
    anonymous: GraphQLClient,
    session: AsyncSession,
    http: httpx.AsyncClient,
    demo: DemoCity,
) -> None:
    if who == "anonymous":
        client = anonymous
    elif who == "token":
        client = await token_client(session, http, TokenRole.INTEGRATOR, demo.city)
    else:
        client = as_account(who)
    body = await client.raw("{ auditLog { totalCount nodes { id } } }")
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["requestId"]
