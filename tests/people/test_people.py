"""People, their encrypted ID numbers, filters, positions (楼栋长 and other roles) and 1+N."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.org import GridType
from resolvers import people as r
from schema.relay import to_global_id
from seeds import builders
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar

TABLES = ("person", "position", "pairing", "household", "central_household")
ERRORS = "errors { code field message }"
PERSON = "person { id name gender phone idCardNumber birthDate household { id } isPartyMember }"
POSITION = (
    "position { id role active endedAt endReason person { id } building { id } orgUnit { id } }"
)


def gid(type_name: str, ident: int | None) -> str:
    assert ident is not None
    return str(to_global_id(type_name, ident))


def with_check_character(first17: str) -> str:
    """GB 11643: ISO 7064 MOD 11-2 check character, written out here independently."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


# 520302 (红花岗区) + 1985-06-15 + sequence 123.
VALID_ID = with_check_character("52030219850615123")


async def counts(session: AsyncSession) -> dict[str, int]:
    return {t: int(await scalar(session, f"SELECT count(*) FROM {t}")) for t in TABLES}


async def run(gql: GraphQLClient, name: str, input: dict[str, Any], selection: str) -> Any:
    input_type = {"appointPosition": "AppointPositionInput"}.get(
        name, name[0].upper() + name[1:] + "Input"
    )
    data = await gql(
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} {ERRORS} }} }}",
        {"input": input},
    )
    return data[name]


async def refused(
    gql: GraphQLClient,
    session: AsyncSession,
    name: str,
    input: dict[str, Any],
    code: str,
    field: str,
) -> None:
    before = await counts(session)
    payload = await run(gql, name, input, "__typename")
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)], payload
    assert await counts(session) == before


def test_the_check_character_helper_matches_the_standard_example() -> None:
    # The worked example of GB 11643-1999: 11010519491231002X.
    assert with_check_character("11010519491231002") == "11010519491231002X"
    assert VALID_ID == "520302198506151234"


# --- createPerson ---------------------------------------------------------------------------


async def reveal(gql: GraphQLClient, person_id: str) -> dict[str, Any]:
    """The personal data an admin may reveal in full (audited) for a stated purpose."""
    data = await gql(
        """mutation($id: ID!) { revealPersonalData(input: {
            personId: $id, fields: [PHONE, ID_CARD_NUMBER, BIRTH_DATE], purpose: "核对户籍信息" }) {
            phone idCardNumber birthDate errors { code field } } }""",
        {"id": person_id},
    )
    payload: dict[str, Any] = data["revealPersonalData"]
    assert payload.pop("errors") == []
    return payload


async def test_create_person(gql: GraphQLClient, demo: DemoCity, session: AsyncSession) -> None:
    household = await builders.household(session, demo.building_without_head)
    payload = await run(
        gql,
        "createPerson",
        {
            "name": " 周新民 ",
            "gender": "MALE",
            "householdId": gid("Household", household.id),
            "birthDate": "1985-06-15",
            "phone": "138-0013 8000",
            "idCardNumber": f" {VALID_ID} ",
            "isPartyMember": True,
        },
        PERSON,
    )
    assert payload["errors"] == []
    person = payload["person"]
    assert person["name"] == "周新民"
    assert person["household"] == {"id": gid("Household", household.id)}
    # A city admin sees personal data masked (permissions/masking.py) ...
    assert person["phone"] == "138****8000"
    assert person["idCardNumber"] == "5" + "*" * 16 + "4"
    assert person["birthDate"] is None
    # ... and the stored values in full only by revealing them, stating a purpose.
    assert await reveal(gql, person["id"]) == {
        "phone": "13800138000",
        "idCardNumber": VALID_ID,
        "birthDate": "1985-06-15",
    }
    row = (
        await session.execute(
            sa.text(
                "SELECT id, path::text, phone, id_card_cipher, id_card_hash FROM person "
                "WHERE name = '周新民'"
            )
        )
    ).one()
    assert person["id"] == gid("Person", row.id)
    assert row.path == household.path
    assert row.phone == "13800138000"
    # Stored encrypted: neither the cipher nor the lookup hash holds the number in any form.
    for blob in (bytes(row.id_card_cipher), bytes(row.id_card_hash)):
        assert VALID_ID.encode() not in blob
        assert VALID_ID[:17].encode() not in blob
        assert VALID_ID.encode("utf-16-le") not in blob
        assert b"19850615" not in blob
    assert len(row.id_card_cipher) > len(VALID_ID)
    assert (
        await scalar(
            session,
            "SELECT count(*) FROM person "
            "WHERE position(CAST(:plain AS bytea) IN id_card_cipher) > 0",
            plain=VALID_ID.encode(),
        )
        == 0
    )


async def test_person_reads_their_own_id_card_number(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, session: AsyncSession
) -> None:
    """SELF sees the number in full: it is decrypted on read."""
    me = as_account("resident")
    data = await me(
        "query($id: ID!) { node(id: $id) { ... on Person { name idCardNumber } } }",
        {"id": gid("Person", demo.resident_alone.id)},
    )
    number = data["node"]["idCardNumber"]
    assert data["node"]["name"] == "王秀英"
    assert len(number) == 18
    assert with_check_character(number[:17]) == number
    cipher = await scalar(
        session, "SELECT id_card_cipher FROM person WHERE id = :id", id=demo.resident_alone.id
    )
    assert number.encode() not in bytes(cipher)


async def test_lower_case_x_check_character_is_accepted(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    number = next(
        with_check_character(f"520303199001011{n:02d}")
        for n in range(100)
        if with_check_character(f"520303199001011{n:02d}").endswith("X")
    )
    household = await builders.household(session, demo.building_without_head)
    payload = await run(
        gql,
        "createPerson",
        {
            "name": "李晓",
            "gender": "FEMALE",
            "householdId": gid("Household", household.id),
            "idCardNumber": number.lower(),
        },
        PERSON,
    )
    assert payload["errors"] == []
    assert payload["person"]["idCardNumber"] == number[0] + "*" * 16 + "X"
    assert (await reveal(gql, payload["person"]["id"]))["idCardNumber"] == number


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"phone": "12345"}, "phone", id="short-phone"),
        pytest.param({"phone": "23800138000"}, "phone", id="phone-not-starting-with-1"),
        pytest.param({"phone": "12800138000"}, "phone", id="phone-second-digit"),
        pytest.param({"phone": "1380013800a"}, "phone", id="phone-letter"),
        pytest.param(
            {"idCardNumber": VALID_ID[:17] + str((int(VALID_ID[17]) + 1) % 10)},
            "idCardNumber",
            id="bad-check-digit",
        ),
        pytest.param({"idCardNumber": VALID_ID[:17]}, "idCardNumber", id="17-characters"),
        pytest.param({"idCardNumber": "X" + VALID_ID[1:]}, "idCardNumber", id="letter-inside"),
        pytest.param({"name": "  "}, "name", id="blank-name"),
        pytest.param({"birthDate": "2999-01-01"}, "birthDate", id="birth-date-in-future"),
        pytest.param({"birthDate": "1850-01-01"}, "birthDate", id="birth-date-too-early"),
    ],
)
async def test_create_person_validation(
    gql: GraphQLClient, session: AsyncSession, changes: dict[str, str], field: str
) -> None:
    await refused(
        gql,
        session,
        "createPerson",
        {"name": "测试人", "gender": "FEMALE", "phone": "13912345678", **changes},
        "VALIDATION",
        field,
    )


async def test_duplicate_id_card_number(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    number = (await reveal(gql, gid("Person", demo.building_head.id)))["idCardNumber"]
    assert len(number) == 18
    assert with_check_character(number[:17]) == number
    for variant in (number, f"  {number.lower()} "):
        await refused(
            gql,
            session,
            "createPerson",
            {"name": "冒名者", "gender": "MALE", "idCardNumber": variant},
            "DUPLICATE",
            "idCardNumber",
        )
    first = await run(
        gql,
        "createPerson",
        {"name": "新人", "gender": "MALE", "idCardNumber": VALID_ID},
        "__typename",
    )
    assert first["errors"] == []
    await refused(
        gql,
        session,
        "createPerson",
        {"name": "另一个新人", "gender": "MALE", "idCardNumber": VALID_ID},
        "DUPLICATE",
        "idCardNumber",
    )


# --- filters --------------------------------------------------------------------------------

PEOPLE = """query($filter: PersonFilterInput) {
    people(filter: $filter, first: 100) { totalCount nodes { id } } }"""

AGE = "date_part('year', age(CAST(now() AT TIME ZONE 'Asia/Shanghai' AS date), birth_date))"


async def ids_by_sql(session: AsyncSession, where: str, **params: Any) -> list[str]:
    rows = await session.execute(
        sa.text(f"SELECT id FROM person WHERE {where} ORDER BY name, id"),
        params,
    )
    return [gid("Person", row[0]) for row in rows]


@pytest.mark.parametrize(
    ("filter", "where"),
    [
        pytest.param({"namePrefix": "张"}, "name LIKE '张%'", id="name-prefix"),
        pytest.param({"namePrefix": "王秀"}, "name LIKE '王秀%'", id="two-character-prefix"),
        pytest.param({"namePrefix": "%"}, "false", id="percent-is-literal"),
        pytest.param({"isPartyMember": True}, "is_party_member", id="party"),
        pytest.param({"isPartyMember": False}, "NOT is_party_member", id="not-party"),
        pytest.param({"livesAlone": True}, "lives_alone", id="alone"),
        pytest.param({"isVeteran": True}, "is_veteran", id="veteran"),
        pytest.param(
            {"isRenter": True, "gender": "FEMALE"},
            "is_renter AND gender = 'FEMALE'",
            id="renter-women",
        ),
        pytest.param(
            {"livesAlone": True, "isPartyMember": True},
            "lives_alone AND is_party_member",
            id="alone-party",
        ),
        pytest.param({"ageBand": "UNDER_18"}, f"{AGE} < 18", id="under-18"),
        pytest.param({"ageBand": "FROM_18_TO_34"}, f"{AGE} BETWEEN 18 AND 34", id="18-34"),
        pytest.param({"ageBand": "FROM_35_TO_59"}, f"{AGE} BETWEEN 35 AND 59", id="35-59"),
        pytest.param({"ageBand": "FROM_60_TO_79"}, f"{AGE} BETWEEN 60 AND 79", id="60-79"),
        pytest.param({"ageBand": "FROM_80"}, f"{AGE} >= 80", id="80-plus"),
        pytest.param(
            {"ageBand": "FROM_80", "livesAlone": True},
            f"{AGE} >= 80 AND lives_alone",
            id="80-alone",
        ),
    ],
)
async def test_people_filters_match_sql(
    gql: GraphQLClient, session: AsyncSession, filter: dict[str, Any], where: str
) -> None:
    data = await gql(PEOPLE, {"filter": filter})
    expected = await ids_by_sql(session, where)
    assert data["people"]["totalCount"] == len(expected)
    assert [n["id"] for n in data["people"]["nodes"]] == expected[:100]


async def test_age_bands_partition_everyone_with_a_birth_date(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    bands = ("UNDER_18", "FROM_18_TO_34", "FROM_35_TO_59", "FROM_60_TO_79", "FROM_80")
    totals = [
        (await gql(PEOPLE, {"filter": {"ageBand": band}}))["people"]["totalCount"] for band in bands
    ]
    assert all(totals)
    assert sum(totals) == await scalar(
        session, "SELECT count(*) FROM person WHERE birth_date IS NOT NULL"
    )


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


async def test_age_band_boundaries(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    today = await scalar(session, "SELECT CAST(now() AT TIME ZONE 'Asia/Shanghai' AS date)")
    one_day = timedelta(days=1)
    born = {
        "边界甲": (years_before(today, 18), 18, "FROM_18_TO_34"),
        "边界乙": (years_before(today, 18) + one_day, 17, "UNDER_18"),
        "边界丙": (years_before(today, 80), 80, "FROM_80"),
        "边界丁": (years_before(today, 80) + one_day, 79, "FROM_60_TO_79"),
        "边界戊": (years_before(today, 35) + one_day, 34, "FROM_18_TO_34"),
        "边界己": (years_before(today, 60), 60, "FROM_60_TO_79"),
    }
    household = await builders.household(session, demo.building_without_head)
    for name, (birth, _, _) in born.items():
        await builders.person(session, household, name=name, birth_date=birth)
    data = await gql('{ people(filter: { namePrefix: "边界" }) { nodes { name age ageBand } } }')
    # to an admin the birth date is masked, so is the exact age: the band is what they get
    assert {n["name"]: (n["age"], n["ageBand"]) for n in data["people"]["nodes"]} == {
        name: (None, band) for name, (_, _, band) in born.items()
    }
    assert {r.age_on(birth, today) for birth, _, _ in born.values()} == {
        age for _, age, _ in born.values()
    }
    query = """query($band: AgeBand!) {
        people(filter: { namePrefix: "边界", ageBand: $band }) { nodes { name } } }"""
    for band in ("UNDER_18", "FROM_18_TO_34", "FROM_60_TO_79", "FROM_80"):
        data = await gql(query, {"band": band})
        assert sorted(n["name"] for n in data["people"]["nodes"]) == sorted(
            name for name, (_, _, b) in born.items() if b == band
        ), band


async def test_residents_filter_under_an_org_unit(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    data = await gql(
        """query($id: ID!) { node(id: $id) { ... on OrgUnit {
            residents(filter: { isPartyMember: true, isElderly: true }, first: 100) {
                totalCount nodes { id } } } } }""",
        {"id": gid("OrgUnit", demo.renheyuan.id)},
    )
    expected = await ids_by_sql(
        session,
        "is_party_member AND is_elderly AND path <@ (SELECT path FROM org_unit WHERE id = :u)",
        u=demo.renheyuan.id,
    )
    assert expected
    assert data["node"]["residents"]["totalCount"] == len(expected)
    assert [n["id"] for n in data["node"]["residents"]["nodes"]] == expected[:100]


# --- a person's positions, pairings and household ------------------------------------------


async def test_person_positions_pairings_household(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    data = await gql(
        """query($id: ID!) { node(id: $id) { ... on Person {
            household { id }
            partyOrganisation { kind building { id } }
            positions { id role active building { id } orgUnit { id } }
            allPositions: positions(activeOnly: false) { id }
            pairings { id household { id } partyMember { id } } } } }""",
        {"id": gid("Person", demo.building_head.id)},
    )
    person = data["node"]
    assert person["household"] == {"id": gid("Household", demo.building_head.household_id)}
    assert person["partyOrganisation"] == {
        "kind": "BUILDING_PARTY_GROUP",
        "building": {"id": gid("Building", demo.building.id)},
    }
    positions = await session.execute(
        sa.text(
            "SELECT id, role FROM position WHERE person_id = :p AND ended_at IS NULL "
            "ORDER BY started_at DESC, id"
        ),
        {"p": demo.building_head.id},
    )
    expected = [(gid("Position", i), role) for i, role in positions]
    assert [(p["id"], p["role"]) for p in person["positions"]] == expected
    assert {role for _, role in expected} >= {"BUILDING_HEAD", "VOLUNTEER"}
    (head,) = [p for p in person["positions"] if p["role"] == "BUILDING_HEAD"]
    assert head["building"] == {"id": gid("Building", demo.building.id)}
    assert head["orgUnit"] is None
    (volunteer,) = [p for p in person["positions"] if p["role"] == "VOLUNTEER"]
    assert volunteer["orgUnit"] == {"id": gid("OrgUnit", demo.renheyuan.id)}
    assert len(person["allPositions"]) == await scalar(
        session, "SELECT count(*) FROM position WHERE person_id = :p", p=demo.building_head.id
    )
    paired = await session.execute(
        sa.text("SELECT household_id FROM pairing WHERE party_member_id = :p AND ended_at IS NULL"),
        {"p": demo.building_head.id},
    )
    expected_households = sorted(gid("Household", h) for (h,) in paired)
    assert 3 <= len(expected_households) <= 5  # 1+N: three to five households
    assert sorted(p["household"]["id"] for p in person["pairings"]) == expected_households
    assert {p["partyMember"]["id"] for p in person["pairings"]} == {
        gid("Person", demo.building_head.id)
    }


# --- positions --------------------------------------------------------------------------------


async def test_one_active_head_per_building_and_history(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    building = gid("Building", demo.building.id)
    successor = gid("Person", demo.party_member.id)  # 赵德明, a Party member in the building
    appoint = {"personId": successor, "role": "BUILDING_HEAD", "buildingId": building}
    await refused(gql, session, "appointPosition", appoint, "POSITION_CONFLICT", "buildingId")

    old = gid("Position", demo.building_head_position.id)
    ended = await run(gql, "endPosition", {"id": old, "reason": "换届"}, POSITION)
    assert ended["errors"] == []
    assert ended["position"]["active"] is False
    assert ended["position"]["endedAt"] is not None
    assert ended["position"]["endReason"] == "换届"

    appointed = await run(
        gql,
        "appointPosition",
        {**appoint, "priorityBasis": ["PARTY_MEMBER"], "selectionMethod": "APPOINTMENT"},
        "position { id role active selectionMethod priorityBasis person { name } }",
    )
    assert appointed["errors"] == []
    new = appointed["position"]
    assert (new["role"], new["active"], new["selectionMethod"]) == (
        "BUILDING_HEAD",
        True,
        "APPOINTMENT",
    )
    assert new["priorityBasis"] == ["PARTY_MEMBER"]
    assert new["person"] == {"name": "赵德明"}

    data = await gql(
        """query($id: ID!) { node(id: $id) { ... on Building {
            head { name } headPosition { id }
            history: positions(activeOnly: false) { id role active }
            current: positions { id role } } } }""",
        {"id": building},
    )
    b = data["node"]
    assert b["head"] == {"name": "赵德明"}
    assert b["headPosition"] == {"id": new["id"]}
    heads = [(p["id"], p["active"]) for p in b["history"] if p["role"] == "BUILDING_HEAD"]
    assert heads == [(new["id"], True), (old, False)]  # newest first
    assert [p["id"] for p in b["current"] if p["role"] == "BUILDING_HEAD"] == [new["id"]]
    assert (
        await scalar(
            session,
            "SELECT count(*) FROM position WHERE building_id = :b AND role = 'BUILDING_HEAD' "
            "AND ended_at IS NULL",
            b=demo.building.id,
        )
        == 1
    )


async def test_building_with_history_lists_the_earlier_head(
    gql: GraphQLClient, demo: DemoCity
) -> None:
    data = await gql(
        """query($id: ID!) { node(id: $id) { ... on Building {
            positions(activeOnly: false) { role active endReason } } } }""",
        {"id": gid("Building", demo.building_with_history.id)},
    )
    heads = [p for p in data["node"]["positions"] if p["role"] == "BUILDING_HEAD"]
    assert heads == [
        {"role": "BUILDING_HEAD", "active": True, "endReason": None},
        {"role": "BUILDING_HEAD", "active": False, "endReason": "换届"},
    ]


async def test_end_position_twice(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    position = gid("Position", demo.building_head_position.id)
    first = await run(gql, "endPosition", {"id": position}, POSITION)
    assert first["errors"] == []
    ended_at = first["position"]["endedAt"]
    await refused(gql, session, "endPosition", {"id": position}, "ALREADY_ENDED", "id")
    again = await gql(
        "query($id: ID!) { node(id: $id) { ... on Position { endedAt } } }", {"id": position}
    )
    assert again["node"]["endedAt"] == ended_at
    await refused(
        gql, session, "endPosition", {"id": gid("Position", 987_654_321)}, "NOT_FOUND", "id"
    )


@pytest.mark.parametrize(
    ("role", "place"),
    [
        pytest.param("GRID_WORKER", "community", id="grid-worker-at-community"),
        pytest.param("BUILDING_HEAD", "grid", id="head-at-grid"),
        pytest.param("COMMUNITY_ADMIN", "street", id="community-admin-at-street"),
        pytest.param("CITY_ADMIN", "district", id="city-admin-at-district"),
        pytest.param("SHOP_OPERATOR", "street", id="shop-operator-at-street"),
    ],
)
async def test_role_at_the_wrong_kind_of_org_unit(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession, role: str, place: str
) -> None:
    units = {
        "community": demo.renheyuan,
        "grid": demo.grids[GridType.OLD_ESTATE],
        "street": demo.street,
        "district": demo.districts["汇川区"],
    }
    await refused(
        gql,
        session,
        "appointPosition",
        {
            "personId": gid("Person", demo.grid_worker.id),
            "role": role,
            "orgUnitId": gid("OrgUnit", units[place].id),
        },
        "INVALID_PARENT_KIND",
        "orgUnitId",
    )


async def test_org_unit_role_at_a_building(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    await refused(
        gql,
        session,
        "appointPosition",
        {
            "personId": gid("Person", demo.grid_worker.id),
            "role": "GRID_WORKER",
            "buildingId": gid("Building", demo.building.id),
        },
        "INVALID_PARENT_KIND",
        "buildingId",
    )


async def test_seconded_cadre_needs_team_and_work_unit(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    work_unit = await builders.work_unit(session)
    cadre = await builders.person(session, is_party_member=True)
    base = {
        "personId": gid("Person", cadre.id),
        "role": "SECONDED_CADRE",
        "buildingId": gid("Building", demo.building_without_head.id),
    }
    await refused(
        gql,
        session,
        "appointPosition",
        {**base, "workUnitId": gid("WorkUnit", work_unit.id)},
        "VALIDATION",
        "team",
    )
    await refused(
        gql, session, "appointPosition", {**base, "team": "下沉一组"}, "VALIDATION", "workUnitId"
    )
    payload = await run(
        gql,
        "appointPosition",
        {**base, "team": "下沉一组", "workUnitId": gid("WorkUnit", work_unit.id)},
        "position { role team workUnit { id } building { id } }",
    )
    assert payload["errors"] == []
    assert payload["position"] == {
        "role": "SECONDED_CADRE",
        "team": "下沉一组",
        "workUnit": {"id": gid("WorkUnit", work_unit.id)},
        "building": {"id": gid("Building", demo.building_without_head.id)},
    }


async def test_priority_basis_must_fit_the_person(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    household = await builders.household(session, demo.building_without_head)
    plain = await builders.person(session, household, is_party_member=False, is_veteran=False)
    base = {
        "personId": gid("Person", plain.id),
        "role": "BUILDING_HEAD",
        "buildingId": gid("Building", demo.building_without_head.id),
    }
    for basis in ("VETERAN", "PARTY_MEMBER"):
        await refused(
            gql,
            session,
            "appointPosition",
            {**base, "priorityBasis": [basis]},
            "VALIDATION",
            "priorityBasis",
        )
    payload = await run(
        gql,
        "appointPosition",
        {**base, "priorityBasis": ["OUTSTANDING_VOLUNTEER"]},
        "position { priorityBasis selectionMethod }",
    )
    assert payload["errors"] == []
    assert payload["position"] == {
        "priorityBasis": ["OUTSTANDING_VOLUNTEER"],
        "selectionMethod": "NOMINATION_AND_ELECTION",
    }


async def test_registered_party_member_must_be_a_party_member(
    gql: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    work_unit = await builders.work_unit(session)
    await refused(
        gql,
        session,
        "appointPosition",
        {
            "personId": gid("Person", demo.resident_alone.id),  # 王秀英, not a Party member
            "role": "REGISTERED_PARTY_MEMBER",
            "orgUnitId": gid("OrgUnit", demo.renheyuan.id),
            "workUnitId": gid("WorkUnit", work_unit.id),
        },
        "VALIDATION",
        "personId",
    )


# --- 1+N pairings -------------------------------------------------------------------------------


async def test_create_pairing(gql: GraphQLClient, demo: DemoCity, session: AsyncSession) -> None:
    household = await builders.household(session, demo.building)
    args = {"householdId": gid("Household", household.id)}
    await refused(
        gql,
        session,
        "createPairing",
        {**args, "partyMemberId": gid("Person", demo.renter.id)},  # 刘强, not a Party member
        "VALIDATION",
        "partyMemberId",
    )
    payload = await run(
        gql,
        "createPairing",
        {**args, "partyMemberId": gid("Person", demo.party_member.id)},
        "pairing { id endedAt partyMember { id } household { id } }",
    )
    assert payload["errors"] == []
    pairing = payload["pairing"]
    assert pairing["partyMember"] == {"id": gid("Person", demo.party_member.id)}
    assert pairing["household"] == {"id": args["householdId"]}
    assert pairing["endedAt"] is None
    data = await gql(
        "query($id: ID!) { node(id: $id) { ... on Person { pairings { id } } } }",
        {"id": gid("Person", demo.party_member.id)},
    )
    assert {"id": pairing["id"]} in data["node"]["pairings"]
    await refused(
        gql,
        session,
        "createPairing",
        {**args, "partyMemberId": gid("Person", demo.party_member.id)},
        "DUPLICATE",
        "householdId",
    )


# --- NOT_FOUND names the input at fault -------------------------------------------------------

MISSING = 987_654_321


@pytest.mark.parametrize(
    ("mutation", "input", "field"),
    [
        pytest.param(
            "createPerson",
            {"name": "测试人", "gender": "MALE", "householdId": ("Household", MISSING)},
            "householdId",
        ),
        pytest.param(
            "createPairing",
            {"householdId": ("Household", MISSING), "partyMemberId": "party_member"},
            "householdId",
        ),
        pytest.param(
            "createPairing",
            {"householdId": "household", "partyMemberId": ("Person", MISSING)},
            "partyMemberId",
        ),
        pytest.param(
            "appointPosition",
            {"personId": ("Person", MISSING), "role": "VOLUNTEER", "orgUnitId": "community"},
            "personId",
        ),
        pytest.param(
            "appointPosition",
            {
                "personId": "party_member",
                "role": "BUILDING_HEAD",
                "buildingId": ("Building", MISSING),
            },
            "buildingId",
        ),
        pytest.param("endPosition", {"id": ("Position", MISSING)}, "id"),
    ],
)
async def test_missing_target_is_not_found_on_its_field(
    gql: GraphQLClient,
    demo: DemoCity,
    session: AsyncSession,
    mutation: str,
    input: dict[str, Any],
    field: str,
) -> None:
    assert demo.party_member.household_id is not None
    known = {
        "party_member": gid("Person", demo.party_member.id),
        "household": gid("Household", demo.party_member.household_id),
        "community": gid("OrgUnit", demo.renheyuan.id),
    }
    resolved = {
        key: gid(*value) if isinstance(value, tuple) else known.get(value, value)
        for key, value in input.items()
    }
    await refused(gql, session, mutation, resolved, "NOT_FOUND", field)


async def test_staff_living_elsewhere_are_visible_where_they_serve(
    gql: GraphQLClient, as_account: Callable[[str], GraphQLClient], demo: DemoCity
) -> None:
    """A grid worker has no household in the demo city, yet the admins above the grid and
    the worker herself see her; her position's `person` is not null."""
    query = "query($id: ID!) { node(id: $id) { ... on Person { id positions { role } } } }"
    variables = {"id": gid("Person", demo.grid_worker.id)}
    for client in (gql, as_account("community-admin"), as_account("grid-worker")):
        data = await client(query, variables)
        assert data["node"] is not None
        assert data["node"]["id"] == variables["id"]
        assert "GRID_WORKER" in {p["role"] for p in data["node"]["positions"]}
    grid = await gql(
        """query($id: ID!) { node(id: $id) { ... on OrgUnit {
            positions(role: GRID_WORKER) { nodes { person { id } } } } } }""",
        {"id": gid("OrgUnit", demo.grids[GridType.OLD_ESTATE].id)},
    )
    assert grid["node"]["positions"]["nodes"] == [{"person": variables}]
