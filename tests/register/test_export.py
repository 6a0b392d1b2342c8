"""The register's export: the import layout, every cell through the field policy (a masked value
exports masked, a withheld one empty), full reads audited like any other read."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from models.org import GridType
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.support import gid, rows, token_client
from tests.register.support import (
    HEADER,
    IMPORT,
    id_card,
    opened,
    register_call,
    resident,
    sheet_rows,
    workbook,
)

EXPORT = """query($org: ID, $building: ID) {
  exportRegister(orgUnitId: $org, buildingId: $building) {
  filename mediaType byteSize sha256 contentBase64 } }"""
MASKED_PHONE = re.compile(r"^1\d\d\*{4}\d{4}$")
MASKED_ID = re.compile(r"^\d\*{16}[\dX]$")


async def export(client: GraphQLClient, **ids: str) -> list[list[Any]]:
    data = await client(EXPORT, ids)
    return sheet_rows(opened(data["exportRegister"]))


async def residents_under(session: AsyncSession, path: str | None) -> int:
    [(found,)] = await rows(
        session,
        "SELECT count(*) FROM person WHERE household_id IS NOT NULL AND path <@ CAST(:p AS ltree)",
        p=path,
    )
    return int(found)


def column(lines: list[list[Any]], header: str) -> list[Any]:
    at = lines[0].index(header)
    return [line[at] for line in lines[1:]]


async def test_the_grid_worker_exports_her_grid_as_she_reads_it(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, session: AsyncSession
) -> None:
    grid = demo.grids[GridType.OLD_ESTATE]
    lines = await export(as_account("grid-worker"), org=gid("OrgUnit", grid.id))
    assert lines[0] == HEADER
    assert len(lines) - 1 == await residents_under(session, grid.path)
    phones = [p for p in column(lines, "联系电话") if p]
    assert phones
    assert all(re.fullmatch(r"1\d{10}", p) for p in phones)
    ids = [n for n in column(lines, "身份证号") if n]
    assert ids
    assert all(MASKED_ID.fullmatch(n) for n in ids)
    rooms = [r for r in column(lines, "房号") if r]
    assert rooms
    assert not any("*" in r for r in rooms)
    # full reads of personal data are on record, as through the API
    [(fields, count)] = await rows(
        session,
        "SELECT fields, cardinality(row_ids) FROM audit_log WHERE action = 'READ'"
        " AND object_type = 'Person' AND actor_person_id = :p",
        p=demo.grid_worker.id,
    )
    assert "phone" in fields
    assert "idCardNumber" not in fields
    assert count >= len(phones)
    [(details,)] = await rows(
        session,
        "SELECT details FROM audit_log WHERE action = 'READ' AND object_type = 'Register'"
        " AND actor_person_id = :p",
        p=demo.grid_worker.id,
    )
    assert details["residents"] == len(lines) - 1
    assert details["export"] == "register"


async def test_an_admin_exports_masked_what_the_admin_reads_masked(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, session: AsyncSession
) -> None:
    lines = await export(as_account("community-admin"), org=gid("OrgUnit", demo.renheyuan.id))
    assert len(lines) - 1 == await residents_under(session, demo.renheyuan.path)
    phones = [p for p in column(lines, "联系电话") if p]
    assert phones
    assert all(MASKED_PHONE.fullmatch(p) for p in phones)
    assert all(MASKED_ID.fullmatch(n) for n in column(lines, "身份证号") if n)
    rooms = [r for r in column(lines, "房号") if r]
    assert rooms
    assert all(re.fullmatch(r".\*+", r) for r in rooms)
    names = [n for n in column(lines, "姓名") if n]
    assert names
    assert not any("*" in n for n in names)
    flags = set(column(lines, "独居"))
    assert flags <= {"是", "否"}
    assert "是" in flags


async def test_the_building_head_exports_the_building(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, session: AsyncSession
) -> None:
    lines = await export(as_account("building-head"), building=gid("Building", demo.building.id))
    assert len(lines) - 1 == await residents_under(session, demo.building.path)
    assert set(column(lines, "楼栋")) == {demo.building.name}
    assert any(re.fullmatch(r"1\d{10}", p) for p in column(lines, "联系电话") if p)


async def test_an_import_comes_back_in_the_export(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, session: AsyncSession
) -> None:
    grid = demo.grids[GridType.OLD_ESTATE]
    [(building,)] = await rows(
        session, "SELECT name FROM building WHERE grid_id = :g ORDER BY id LIMIT 1", g=grid.id
    )
    number = id_card(date(1948, 8, 8), 61, male=False)
    line = resident(
        building,
        "6",
        "601",
        "钱桂英",
        number,
        phone="13700006666",
        relationship="配偶",
        flags=("是", "否", "是", "是", "否"),
    )
    done = await register_call(
        as_account("community-admin"), IMPORT, gid("OrgUnit", grid.id), workbook([line])
    )
    assert done["residentsCreated"] == 1
    lines = await export(as_account("grid-worker"), org=gid("OrgUnit", grid.id))
    [found] = [row for row in lines[1:] if row[3] == "钱桂英"]
    assert found[:5] == [building, "6", "601", "钱桂英", "女"]
    assert found[6:] == ["13700006666", "配偶", "是", "否", "是", "是", "否"]
    assert MASKED_ID.fullmatch(found[5])


@pytest.mark.parametrize(
    ("kind", "code"), [(TokenRole.INTEGRATOR, "FORBIDDEN"), (TokenRole.DISPLAY, "FORBIDDEN")]
)
async def test_tokens_export_nothing(
    kind: TokenRole, code: str, demo: DemoCity, session: AsyncSession, http: httpx.AsyncClient
) -> None:
    client = await token_client(session, http, kind, demo.renheyuan)
    [error] = await client.errors(EXPORT, {"org": gid("OrgUnit", demo.renheyuan.id)})
    assert error["extensions"]["code"] == code


async def test_outside_the_scope_is_not_found_and_one_place_at_a_time(
    as_account: Callable[[str], GraphQLClient], demo: DemoCity, anonymous: GraphQLClient
) -> None:
    worker = as_account("grid-worker")
    [error] = await worker.errors(EXPORT, {"org": gid("OrgUnit", demo.lingxi.id)})
    assert error["extensions"]["code"] == "NOT_FOUND"
    [error] = await anonymous.errors(EXPORT, {"org": gid("OrgUnit", demo.renheyuan.id)})
    assert error["extensions"]["code"] == "NOT_FOUND"
    [error] = await worker.errors(EXPORT, {})
    assert error["extensions"]["code"] == "VALIDATION"
