"""The register (台账) import: a dry run with a report per row, then an import that is all or
nothing, idempotent, audited and scoped, through multipart uploads to /graphql."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.crypto import decrypt_id_card, id_card_lookup_hash
from models.identity import TokenRole
from models.org import GridType
from models.people import Role
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.identity.support import Settings
from tests.permissions.support import gid, rows, token_client
from tests.register.support import (
    CHECK,
    IMPORT,
    REPORT,
    codes_of,
    count,
    id_card,
    opened,
    register_call,
    resident,
    sheet_rows,
    workbook,
)


async def buildings_of(session: AsyncSession, grid_id: int | None) -> list[str]:
    found = await rows(
        session, "SELECT name FROM building WHERE grid_id = :g ORDER BY id", g=grid_id
    )
    return [str(r[0]) for r in found]


def good_file(building: str, other: str) -> bytes:
    return workbook(
        [
            resident(
                building,
                "1",
                "1901",
                "王建华",
                id_card(date(1950, 3, 4), 11, male=True),
                phone="13800001111",
                flags=("是", "", "", "是", ""),
            ),
            resident(
                building,
                "1",
                "1901",
                "李秀兰",
                id_card(date(1952, 7, 8), 12, male=False),
                relationship="配偶",
                flags=("", "", "", "是", ""),
            ),
            resident(
                building,
                "2",
                "1902",
                "赵小明",
                id_card(date(1990, 1, 2), 13, male=True),
                phone="13900002222",
                flags=("", "", "", "", "是"),
            ),
            resident(
                other,
                "1",
                "101",
                "孙丽",
                id_card(date(1985, 5, 6), 14, male=False),
                phone="15900003333",
                flags=("", "", "是", "", ""),
            ),
            resident(
                other,
                "1",
                "101",
                "孙小丽",
                id_card(date(2015, 9, 9), 15, male=False),
                relationship="子女",
            ),
        ]
    )


@pytest.fixture
async def grid(demo: DemoCity) -> str:
    return gid("OrgUnit", demo.grids[GridType.OLD_ESTATE].id)


async def test_a_dry_run_writes_nothing_then_the_import_writes_everything_once(
    as_account: Callable[[str], GraphQLClient],
    demo: DemoCity,
    session: AsyncSession,
    grid: str,
) -> None:
    names = await buildings_of(session, demo.grids[GridType.OLD_ESTATE].id)
    content = good_file(names[0], names[1])
    admin = as_account("community-admin")
    people, households = await count(session, "person"), await count(session, "household")

    checked = await register_call(admin, CHECK, grid, content, selection=REPORT)
    assert checked["errors"] == []
    check = checked["check"]
    assert (check["rows"], check["newResidents"], check["newHouseholds"]) == (5, 5, 3)
    assert (check["unchanged"], check["invalidRows"], check["problems"]) == (0, 0, [])
    assert check["report"]["mediaType"].endswith("spreadsheetml.sheet")
    assert (await count(session, "person"), await count(session, "household")) == (
        people,
        households,
    )

    done = await register_call(admin, IMPORT, grid, content)
    assert done["errors"] == []
    assert (done["residentsCreated"], done["householdsCreated"]) == (5, 3)
    assert await count(session, "person") == people + 5
    assert await count(session, "household") == households + 3
    number = id_card(date(1950, 3, 4), 11, male=True)
    [(cipher, born, relationship, party, elderly, path, tenure)] = await rows(
        session,
        "SELECT p.id_card_cipher, p.birth_date, p.relationship, p.is_party_member,"
        " p.is_elderly, p.path::text, h.tenure FROM person p JOIN household h"
        " ON h.id = p.household_id WHERE p.id_card_hash = :h",
        h=id_card_lookup_hash(number),
    )
    assert decrypt_id_card(bytes(cipher)) == number  # encrypted at rest, as createPerson does
    assert born == date(1950, 3, 4)  # read from the number
    assert (relationship, party, elderly, tenure) == ("HEAD", True, True, "OWNER_OCCUPIED")
    assert path.startswith(str(demo.grids[GridType.OLD_ESTATE].path) + ".")
    [(renting,)] = await rows(
        session,
        "SELECT h.tenure FROM person p JOIN household h ON h.id = p.household_id"
        " WHERE p.id_card_hash = :h",
        h=id_card_lookup_hash(id_card(date(1990, 1, 2), 13, male=True)),
    )
    assert renting == "RENTED"  # every resident of the new household rents

    again = await register_call(admin, IMPORT, grid, content)
    assert again["errors"] == []
    assert (again["residentsCreated"], again["householdsCreated"]) == (0, 0)
    assert again["check"]["unchanged"] == 5
    assert await count(session, "person") == people + 5
    assert await count(session, "household") == households + 3


async def test_the_import_is_audited_with_what_it_created(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, session: AsyncSession, grid: str
) -> None:
    names = await buildings_of(session, demo.grids[GridType.OLD_ESTATE].id)
    content = good_file(names[0], names[1])
    done = await register_call(as_account("community-admin"), IMPORT, grid, content)
    assert done["residentsCreated"] == 5
    entries = await rows(
        session,
        "SELECT object_type, cardinality(row_ids), details->>'sha256', actor_person_id"
        " FROM audit_log WHERE details->>'mutation' = 'importRegister' ORDER BY id",
    )
    by_type = {e[0]: e for e in entries}
    assert set(by_type) == {"Register", "Household", "Person"}
    assert by_type["Person"][1] == 5
    assert by_type["Household"][1] == 3
    assert by_type["Person"][2] == by_type["Register"][2]  # the file's digest
    assert by_type["Register"][3] == demo.admins[Role.COMMUNITY_ADMIN].id


async def test_every_problem_is_reported_per_row_and_marked_in_the_report(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, session: AsyncSession, grid: str
) -> None:
    names = await buildings_of(session, demo.grids[GridType.OLD_ESTATE].id)
    [(known_cipher,)] = await rows(
        session,
        "SELECT id_card_cipher FROM person WHERE household_id IS NOT NULL AND path <@"
        " CAST(:g AS ltree) AND id_card_cipher IS NOT NULL ORDER BY id LIMIT 1",
        g=demo.grids[GridType.OLD_ESTATE].path,
    )
    registered = decrypt_id_card(bytes(known_cipher))
    good = id_card(date(1960, 2, 2), 21, male=True)
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    content = workbook(
        [
            resident(names[0], "1", "2001", "周一", bad_check),  # row 2: check character
            resident(
                names[0],
                "1",
                "2001",
                "周二",
                id_card(date(1961, 1, 1), 22, male=True),
                phone="12345",
            ),  # row 3: phone
            resident("不存在的楼", "1", "1", "周三", id_card(date(1962, 1, 1), 23, male=True)),  # 4
            resident(names[0], "1", "2002", "周四", good),  # row 5: first of a pair
            resident(names[0], "1", "2002", "周五", good),  # row 6: the same number again
            resident(names[0], "1", "2003", "周六", registered),  # row 7: in the register
            resident(
                names[0], "1", "2004", "周七", id_card(date(1963, 1, 1), 24, male=True), gender="女"
            ),  # row 8: gender against the number
            resident(
                names[0],
                "1",
                "2005",
                "周八",
                id_card(date(1964, 1, 1), 25, male=True),
                flags=("也许", "", "", "", ""),
            ),  # row 9: a flag
            resident(names[0], "", "2006", "周九", id_card(date(1965, 1, 1), 26, male=True)),  # 10
            resident(
                names[0],
                "1",
                "2007",
                "周十",
                id_card(date(1966, 1, 1), 27, male=True),
                relationship="邻居",
            ),  # row 11: relationship
        ]
    )
    people = await count(session, "person")
    admin = as_account("community-admin")
    check = (await register_call(admin, CHECK, grid, content, selection=REPORT))["check"]
    assert codes_of(check) == {
        2: {"INVALID_ID_CARD"},
        3: {"INVALID_PHONE"},
        4: {"UNKNOWN_BUILDING"},
        6: {"DUPLICATE_IN_FILE"},
        7: {"DUPLICATE_IN_REGISTER"},
        8: {"INVALID_VALUE"},
        9: {"INVALID_VALUE"},
        10: {"MISSING_VALUE"},
        11: {"INVALID_VALUE"},
    }
    assert check["invalidRows"] == 9
    assert all(registered not in p["message"] for p in check["problems"])
    # the report: the rows as sent, a status and a 问题 column, the cells at fault filled
    book = opened(check["report"])
    lines = sheet_rows(book)
    assert lines[0][-2:] == ["状态", "问题"]
    assert "INVALID_ID_CARD" in lines[1][-1]
    assert lines[4][-2] == "新增"  # row 5 itself is fine
    sheet = book.worksheets[0]
    assert sheet.cell(row=2, column=6).fill.start_color.rgb.endswith("FFC7CE")  # 身份证号
    assert sheet.cell(row=3, column=7).comment is not None  # 联系电话
    assert sheet.cell(row=5, column=6).comment is None

    refused = await register_call(admin, IMPORT, grid, content)
    assert [e["code"] for e in refused["errors"]] == ["ROWS_REFUSED"]
    assert refused["check"]["invalidRows"] == 9
    assert refused["residentsCreated"] == 0
    assert await count(session, "person") == people  # all or nothing


async def test_a_number_registered_outside_the_scope_reads_like_a_forbidden_row(
    as_account: Callable[[str], GraphQLClient],
    demo: DemoCity,
    session: AsyncSession,
    grid: str,
    settings: Settings,
) -> None:
    """The attack: a grid worker probes whether ID numbers are registered anywhere in the city.
    A number outside her grid answers FORBIDDEN as a row she may not import would, the person
    is noted in the audit log (never the number), and such refusals share createPerson's limit.
    A file with more probing rows than she has left is refused as a whole: row by row, the
    refusals past the limit would still tell a registered number from a new one."""
    settings(CREATE_PERSON_REFUSALS=3)
    names = await buildings_of(session, demo.grids[GridType.OLD_ESTATE].id)
    outsiders = await rows(
        session,
        "SELECT id, id_card_cipher FROM person WHERE path <@ CAST(:c AS ltree)"
        " AND id_card_cipher IS NOT NULL ORDER BY id LIMIT 3",
        c=demo.lingxi.path,
    )
    numbers = [decrypt_id_card(bytes(c)) for _, c in outsiders]
    newcomer = id_card(date(1970, 1, 1), 31, male=True)
    content = workbook(
        [resident(names[0], "1", f"30{i}", f"陌生{i}", n) for i, n in enumerate(numbers[:2])]
        + [resident(names[0], "1", "399", "新人", newcomer)]
    )
    worker = as_account("grid-worker")
    check = (await register_call(worker, CHECK, grid, content))["check"]
    problems = {p["row"]: p for p in check["problems"]}
    assert problems[2]["code"] == problems[3]["code"] == "FORBIDDEN"
    assert problems[2]["message"] == "you may not do this here"
    assert 4 not in problems
    assert all(n not in str(check) for n in numbers)
    entries = await rows(
        session,
        "SELECT row_ids, fields, details->>'refusal' FROM audit_log"
        " WHERE details->>'refusal' = 'DUPLICATE_OUTSIDE_SCOPE'",
    )
    assert [sorted(e[0]) for e in entries] == [sorted(int(i) for i, _ in outsiders[:2])]
    assert entries[0][1] == ["idCardNumber"]

    async def hits() -> int:
        found: int = await scalar(
            session,
            "SELECT hits FROM rate_counter WHERE key = :k",
            k=f"createPerson:person:{demo.grid_worker.id}",
        )
        return found

    assert await hits() == 2  # the limit is createPerson's
    # one refusal left, two probing rows: nothing row by row, and both count
    over = workbook(
        [resident(names[0], "1", "310", "陌生", numbers[2])]
        + [resident(names[0], "1", f"31{i}", f"陌生{i}", n) for i, n in enumerate(numbers[:1], 1)]
        + [resident(names[0], "1", "399", "新人", newcomer)]
    )
    refused = await register_call(worker, CHECK, grid, over)
    assert refused["check"] is None
    assert [e["code"] for e in refused["errors"]] == ["RATE_LIMITED"]
    assert await hits() == 4
    again = await register_call(worker, CHECK, grid, content)
    assert again["check"] is None
    assert [e["code"] for e in again["errors"]] == ["RATE_LIMITED"]


async def test_a_duplicate_in_scope_also_counts_as_a_probe(
    as_account: Callable[[str], GraphQLClient],
    demo: DemoCity,
    session: AsyncSession,
    grid: str,
) -> None:
    """Were only the outside numbers counted, the count itself would tell them apart."""
    names = await buildings_of(session, demo.grids[GridType.OLD_ESTATE].id)
    [(cipher,)] = await rows(
        session,
        "SELECT id_card_cipher FROM person WHERE path <@ CAST(:g AS ltree)"
        " AND id_card_cipher IS NOT NULL ORDER BY id LIMIT 1",
        g=demo.grids[GridType.OLD_ESTATE].path,
    )
    content = workbook([resident(names[0], "9", "909", "某人", decrypt_id_card(bytes(cipher)))])
    check = (await register_call(as_account("grid-worker"), CHECK, grid, content))["check"]
    assert codes_of(check) == {2: {"DUPLICATE_IN_REGISTER"}}
    hits = await scalar(
        session,
        "SELECT hits FROM rate_counter WHERE key = :k",
        k=f"createPerson:person:{demo.grid_worker.id}",
    )
    assert hits == 1


@pytest.mark.parametrize(
    ("handle", "code"),
    [
        ("building-head", "FORBIDDEN"),
        ("seconded-cadre", "FORBIDDEN"),
        ("resident", "FORBIDDEN"),
    ],
)
async def test_only_admins_and_grid_workers_over_the_node_import(
    handle: str,
    code: str,
    as_account: Callable[[str], GraphQLClient],
    demo: DemoCity,
    session: AsyncSession,
    grid: str,
) -> None:
    names = await buildings_of(session, demo.grids[GridType.OLD_ESTATE].id)
    people = await count(session, "person")
    payload = await register_call(as_account(handle), IMPORT, grid, good_file(names[0], names[1]))
    assert [e["code"] for e in payload["errors"]] == [code]
    assert payload["check"] is None
    assert await count(session, "person") == people


async def test_nothing_outside_the_callers_subtree(
    as_account: Callable[[str], GraphQLClient],
    demo: DemoCity,
    session: AsyncSession,
    http: httpx.AsyncClient,
) -> None:
    grid_one = demo.grids[GridType.OLD_ESTATE]
    [(other_grid, other_building)] = await rows(
        session,
        "SELECT g.id, b.name FROM org_unit g JOIN building b ON b.grid_id = g.id"
        " WHERE g.parent_id = :c AND g.id <> :g ORDER BY g.id, b.id LIMIT 1",
        c=demo.renheyuan.id,
        g=grid_one.id,
    )
    worker = as_account("grid-worker")
    content = workbook(
        [resident(other_building, "1", "1", "外人", id_card(date(1980, 1, 1), 41, male=True))]
    )
    # the grid worker imports into her grid: a building of the next grid is not "here"
    check = (await register_call(worker, CHECK, gid("OrgUnit", grid_one.id), content))["check"]
    assert codes_of(check) == {2: {"UNKNOWN_BUILDING"}}
    # the next grid is out of her scope (absent to her); the community above she may not
    for node, code in ((other_grid, "NOT_FOUND"), (demo.renheyuan.id, "FORBIDDEN")):
        refused = await register_call(worker, IMPORT, gid("OrgUnit", node), content)
        assert [e["code"] for e in refused["errors"]] == [code]
    # a community admin does not even find another community
    lingxi = await register_call(
        as_account("community-admin"), IMPORT, gid("OrgUnit", demo.lingxi.id), content
    )
    assert [e["code"] for e in lingxi["errors"]] == ["NOT_FOUND"]
    # tokens read; they import nothing
    integrator = await token_client(session, http, TokenRole.INTEGRATOR, demo.renheyuan)
    refused = await register_call(integrator, IMPORT, gid("OrgUnit", grid_one.id), content)
    assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]


async def test_a_file_that_is_no_register_is_refused_whole(
    as_account: Callable[[str], GraphQLClient], grid: str
) -> None:
    admin = as_account("community-admin")
    not_xlsx = await register_call(admin, CHECK, grid, b"name,phone\n")
    assert [e["code"] for e in not_xlsx["errors"]] == ["INVALID_FILE"]
    assert not_xlsx["errors"][0]["field"] == "file"
    wrong_columns = workbook([["x", "y"]], header=["姓名", "电话"])
    missing = await register_call(admin, CHECK, grid, wrong_columns)
    assert [e["code"] for e in missing["errors"]] == ["MISSING_COLUMN"]
    assert "楼栋" in missing["errors"][0]["message"]


async def test_columns_are_found_by_their_headers_in_any_order(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, session: AsyncSession, grid: str
) -> None:
    names = await buildings_of(session, demo.grids[GridType.OLD_ESTATE].id)
    number = id_card(date(1977, 7, 7), 51, male=False)
    content = workbook(
        [[number, "吴芳", "女", "3", "301", names[0], "1", 13812345678]],
        header=["身份证号码", "姓名", "性别", "单元", "房间号", "楼栋", "是否党员", "手机号"],
    )
    check = (await register_call(as_account("community-admin"), CHECK, grid, content))["check"]
    assert check["problems"] == []
    assert check["newResidents"] == 1


async def test_a_community_is_imported_by_its_admin(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, session: AsyncSession
) -> None:
    names = await buildings_of(session, demo.grids[GridType.OLD_ESTATE].id)
    done = await register_call(
        as_account("community-admin"),
        IMPORT,
        gid("OrgUnit", demo.renheyuan.id),
        good_file(names[0], names[1]),
    )
    assert done["residentsCreated"] == 5
