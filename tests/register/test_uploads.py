"""Multipart uploads to /graphql (the GraphQL multipart request spec): malformed requests are a
clean 400, the body is bounded like a JSON body, and a workbook that would unpack to far more
than it weighs is refused. The command line runs the same check and import."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import parser
from models.org import GridType
from permissions.limits import Limits
from resolvers.register import XLSX, RowStatus
from schema.register import import_from_command_line
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.support import gid, rows
from tests.register.support import CHECK, count, id_card, register_call, resident, upload, workbook

SMALL_UPLOADS = Limits(max_upload_bytes=20_000)


@pytest.fixture
def limits() -> Limits:
    return SMALL_UPLOADS


@pytest.fixture
async def grid(demo: DemoCity) -> str:
    return gid("OrgUnit", demo.grids[GridType.OLD_ESTATE].id)


def variables(grid: str) -> dict[str, Any]:
    return {"input": {"orgUnitId": grid, "file": None}}


async def raw(
    client: GraphQLClient, data: dict[str, str], files: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.http.post(
        "/graphql", data=data, files=files or {"x": ("a", b"")}, headers=client.headers
    )


def error_code(response: httpx.Response) -> str:
    [error] = response.json()["errors"]
    return str(error["extensions"]["code"])


async def test_malformed_multipart_requests_are_a_clean_400(
    as_account: Callable[[str], GraphQLClient], grid: str
) -> None:
    admin = as_account("community-admin")
    operations = json.dumps({"query": CHECK % "", "variables": variables(grid)})
    file = {"0": ("r.xlsx", b"PK", XLSX)}
    cases: list[tuple[dict[str, str], dict[str, Any]]] = [
        ({"operations": operations}, file),  # no map
        ({"map": json.dumps({"0": ["variables.input.file"]})}, file),  # no operations
        ({"operations": "[]", "map": "{}"}, file),  # a batch
        ({"operations": "{not json", "map": "{}"}, file),
        ({"operations": operations, "map": json.dumps({"0": ["variables.input.orgUnitId"]})}, file),
        ({"operations": operations, "map": json.dumps({"0": ["variables.input.nothing"]})}, file),
        ({"operations": operations, "map": json.dumps({"0": ["query"]})}, file),
        ({"operations": operations, "map": json.dumps({"1": ["variables.input.file"]})}, file),
        ({"operations": operations, "map": json.dumps({"0": "variables.input.file"})}, file),
        ({"operations": operations, "map": json.dumps({})}, file),  # a file not in the map
    ]
    for data, files in cases:
        response = await raw(admin, data, files)
        assert response.status_code == 400, (data, response.text)
        assert error_code(response) == "BAD_REQUEST", (data, response.text)


async def test_an_upload_is_bounded_like_a_body(
    as_account: Callable[[str], GraphQLClient], grid: str
) -> None:
    response = await upload(
        as_account("community-admin"),
        CHECK % "",
        variables(grid),
        {"0": ("big.xlsx", b"x" * (SMALL_UPLOADS.max_upload_bytes + 1))},
        {"0": ["variables.input.file"]},
    )
    assert response.status_code == 400
    assert error_code(response) == "BODY_TOO_LARGE"


async def test_a_workbook_that_unpacks_far_larger_is_refused(
    as_account: Callable[[str], GraphQLClient], grid: str
) -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 10_000_000)
    assert len(bomb.getvalue()) < SMALL_UPLOADS.max_upload_bytes
    payload = await register_call(as_account("community-admin"), CHECK, grid, bomb.getvalue())
    assert [e["code"] for e in payload["errors"]] == ["INVALID_FILE"]


async def test_an_upload_argument_sent_as_json_is_refused(
    as_account: Callable[[str], GraphQLClient], grid: str
) -> None:
    admin = as_account("community-admin")
    body = await admin.raw(CHECK % "", {"input": {"orgUnitId": grid, "file": "UEsDBA=="}})
    [error] = body["data"]["checkRegisterImport"]["errors"]
    assert (error["code"], error["field"]) == ("VALIDATION", "file")


async def test_the_command_line_checks_and_imports_as_the_system(
    demo: DemoCity, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    grid = demo.grids[GridType.OLD_ESTATE]
    [(building,)] = await rows(
        session, "SELECT name FROM building WHERE grid_id = :g ORDER BY id LIMIT 1", g=grid.id
    )
    content = workbook(
        [resident(building, "8", "801", "冯军", id_card(date(1975, 4, 4), 71, male=True))]
    )
    people = await count(session, "person")
    checked = await import_from_command_line(sessions, grid.code, content, "c.xlsx", write=False)
    assert checked.imported is None
    assert checked.check.count(RowStatus.NEW) == 1
    assert await count(session, "person") == people
    done = await import_from_command_line(sessions, grid.code, content, "c.xlsx", write=True)
    assert done.imported is not None
    assert len(done.imported.person_ids) == 1
    assert await count(session, "person") == people + 1
    [(kind, details)] = await rows(
        session,
        "SELECT actor_kind, details FROM audit_log WHERE object_type = 'Register'"
        " AND details->>'command' = 'import-register' AND details->>'dryRun' = 'false'",
    )
    assert kind == "SYSTEM"
    assert details["newResidents"] == 1
    args = parser().parse_args(["import-register", "r.xlsx", "--org-unit", grid.code, "--dry-run"])
    assert (args.file, args.org_unit, args.dry_run) == ("r.xlsx", grid.code, True)


async def test_one_register_file_per_request(
    as_account: Callable[[str], GraphQLClient], grid: str
) -> None:
    """Each file is seconds of CPU: three in one request are over any budget, refused before
    anything is read."""
    calls = " ".join(
        f'c{i}: checkRegisterImport(input: {{ orgUnitId: "{grid}", file: null }})'
        " { errors { code } }"
        for i in range(3)
    )
    body = await as_account("community-admin").raw(f"mutation {{ {calls} }}")
    assert [e["extensions"]["code"] for e in body["errors"]] == ["COST_LIMIT"]
    assert body["extensions"]["cost"]["requested"] > 30_000
