"""Register files for tests: workbooks in the office layout, valid ID numbers, uploads the
way an upload client sends them (GraphQL multipart request spec)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.people import id_card_check_character
from resolvers.register import XLSX
from tests.conftest import GraphQLClient
from tests.permissions.support import rows

HEADER = [
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "性别",
    "身份证号",
    "联系电话",
    "与户主关系",
    "党员",
    "退役军人",
    "独居",
    "高龄",
    "租户",
]
ERRORS = "errors { code field message }"
CHECK = """mutation($input: RegisterFileInput!) { checkRegisterImport(input: $input) {
  check { rows newResidents newHouseholds unchanged invalidRows sha256
          problems(first: 500) { row column code message } %s }
  errors { code field message } } }"""
IMPORT = """mutation($input: RegisterFileInput!) { importRegister(input: $input) {
  householdsCreated residentsCreated
  check { rows newResidents newHouseholds unchanged invalidRows
          problems(first: 500) { row column code message } %s }
  errors { code field message } } }"""
REPORT = "report { filename mediaType byteSize sha256 contentBase64 }"


def id_card(born: date, serial: int, *, male: bool, region: str = "520303") -> str:
    """A well-formed 18-character number (GB 11643) for a made-up person."""
    sequence = serial * 2 + (1 if male else 0)
    first17 = f"{region}{born:%Y%m%d}{sequence % 1000:03d}"
    return first17 + id_card_check_character(first17)


def workbook(lines: Sequence[Sequence[Any]], header: Sequence[str] = HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(header))
    for line in lines:
        sheet.append(list(line))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def resident(
    building: str,
    unit: str,
    room: str,
    name: str,
    number: str,
    *,
    gender: str = "",
    phone: str = "",
    relationship: str = "户主",
    flags: Sequence[str] = ("", "", "", "", ""),
) -> list[Any]:
    if not gender:
        gender = "男" if int(number[16]) % 2 else "女"
    return [building, unit, room, name, gender, number, phone, relationship, *flags]


async def upload(
    client: GraphQLClient,
    query: str,
    variables: dict[str, Any],
    files: dict[str, tuple[str, bytes]],
    mapping: dict[str, list[str]],
) -> Any:
    """POST /graphql as multipart/form-data: `operations`, `map`, then the files."""
    return await client.http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": query, "variables": variables}),
            "map": json.dumps(mapping),
        },
        files={key: (name, content, XLSX) for key, (name, content) in files.items()},
        headers=client.headers,
    )


async def register_call(
    client: GraphQLClient,
    query: str,
    org_unit: str,
    content: bytes,
    *,
    selection: str = "",
    filename: str = "台账.xlsx",
) -> dict[str, Any]:
    """Run checkRegisterImport or importRegister with `content` as the upload; its payload."""
    response = await upload(
        client,
        query % selection,
        {"input": {"orgUnitId": org_unit, "file": None}},
        {"0": (filename, content)},
        {"0": ["variables.input.file"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body["errors"]
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


def opened(file: dict[str, Any]) -> Any:
    content = base64.b64decode(file["contentBase64"])
    assert len(content) == file["byteSize"]
    return load_workbook(io.BytesIO(content))


def sheet_rows(book: Any) -> list[list[Any]]:
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]


async def count(session: AsyncSession, table: str) -> int:
    [(found,)] = await rows(session, f"SELECT count(*) FROM {table}")
    return int(found)


def codes_of(check: dict[str, Any]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for problem in check["problems"]:
        found.setdefault(problem["row"], set()).add(problem["code"])
    return found
