"""`python -m bench.register`: the register (台账) import at 10,000 residents.

On a throwaway database beside the application's (`<name>_register_bench`, migrated, the demo
city seeded, dropped afterwards), as the demo community admin over HTTP (in-process ASGI,
multipart uploads exactly as a client sends them): build a 10,000-row .xlsx for 仁和苑社区,
check it (the dry run), import it, import it again (nothing changes), export the community.
Prints the time of each step. Never a timed test: the target (validated and imported in under
30 s on the 2-core machine) is read here.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import time
from datetime import date, timedelta
from typing import Any

import httpx
import psycopg
from openpyxl import Workbook
from psycopg import sql
from sqlalchemy.ext.asyncio import AsyncSession

from models.db import database_name, libpq_url, make_engine, make_sessionmaker, with_database
from models.migrate import upgrade
from resolvers.identity import issue_access_token
from resolvers.people import id_card_check_character
from resolvers.register import XLSX
from schema.http import build_app
from schema.relay import to_global_id
from seeds.accounts import seed_demo_accounts
from seeds.demo import seed_demo

HEADER = ["楼栋", "单元", "房号", "姓名", "性别", "身份证号", "联系电话", "与户主关系",
          "党员", "退役军人", "独居", "高龄", "租户"]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "建华秀英志强丽娟明军芳伟敏静磊洋艳勇杰娜涛超"
RELATIONS = ["户主", "配偶", "子女", "子女", "父母"]


def register_file(buildings: list[str], residents: int, seed: int = 13) -> bytes:
    """`residents` rows, four or so to a household, over `buildings`, valid and unique."""
    rng = random.Random(seed)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append(HEADER)
    for index in range(residents):
        household = index // 4
        building = buildings[household % len(buildings)]
        unit = str(household // len(buildings) % 6 + 1)
        room = str(1000 + household // (6 * len(buildings)))
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 30_000))
        male = rng.random() < 0.5
        # region and sequence from the row's index: every number differs
        first17 = f"52{index // 500:04d}{born:%Y%m%d}{(index % 500) * 2 + male:03d}"
        number = first17 + id_card_check_character(first17)
        sheet.append([
            building, unit, room,
            rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            "男" if int(number[16]) % 2 else "女",
            number,
            f"13{rng.randrange(10**8, 10**9)}",
            RELATIONS[index % 4],
            "是" if rng.random() < 0.1 else "",
            "是" if rng.random() < 0.03 else "",
            "是" if rng.random() < 0.05 else "",
            "是" if born < date(1946, 1, 1) else "",
            "",
        ])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(http: httpx.AsyncClient, token: str, name: str, node: str, content: bytes) -> Any:
    query = (
        f"mutation($input: RegisterFileInput!) {{ {name}(input: $input) {{"
        " check { rows newResidents newHouseholds unchanged invalidRows"
        " problems(first: 3) { row code message } } errors { code message } } }"
    )
    response = await http.post(
        "/graphql",
        data={
            "operations": json.dumps(
                {"query": query, "variables": {"input": {"orgUnitId": node, "file": None}}}
            ),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": ("台账.xlsx", content, XLSX)},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"][name]


def _admin(uri: str, statement: sql.Composed) -> None:
    with psycopg.connect(with_database(uri, "postgres"), autocommit=True) as conn:
        conn.execute(statement)


async def run(residents: int) -> None:
    base = libpq_url()
    name = f"{database_name(base)}_register_bench"
    uri = with_database(base, name)
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    _admin(base, drop)
    _admin(base, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        upgrade(uri)
        engine = make_engine(uri, pool_size=2)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            city = await seed_demo(session)
            accounts = await seed_demo_accounts(session, city)
            await session.commit()
            rows = await session.execute(
                sql_text("SELECT name FROM building WHERE path <@ CAST(:p AS ltree) ORDER BY id"),
                {"p": city.renheyuan.path},
            )
            buildings = sorted({str(r[0]) for r in rows})
        account = accounts["community-admin"]
        assert account.id is not None
        assert city.renheyuan.id is not None
        token = issue_access_token(account.id)
        node = str(to_global_id("OrgUnit", city.renheyuan.id))
        started = time.perf_counter()
        content = register_file(buildings, residents)
        print(f"built a {residents}-row .xlsx ({len(content) // 1024} KiB) over"
              f" {len(buildings)} buildings in {time.perf_counter() - started:.1f} s")  # fmt: skip
        app = build_app(uri, make_sessionmaker(engine))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", timeout=600
        ) as http:
            for step in ("checkRegisterImport", "importRegister", "importRegister"):
                started = time.perf_counter()
                payload = await upload(http, token, step, node, content)
                check = payload["check"]
                print(f"{step:20} {time.perf_counter() - started:6.1f} s  rows {check['rows']},"
                      f" new {check['newResidents']} in {check['newHouseholds']} households,"
                      f" unchanged {check['unchanged']}, invalid {check['invalidRows']}"
                      f" {check['problems']}")  # fmt: skip
            started = time.perf_counter()
            exported = await http.post(
                "/graphql",
                json={"query": f'{{ exportRegister(orgUnitId: "{node}") {{ byteSize }} }}'},
                headers={"Authorization": f"Bearer {token}"},
            )
            size = exported.json()["data"]["exportRegister"]["byteSize"]
            print(
                f"{'exportRegister':20} {time.perf_counter() - started:6.1f} s  {size // 1024} KiB"
            )
        await engine.dispose()
    finally:
        _admin(base, drop)


def sql_text(statement: str) -> Any:
    import sqlalchemy as sa

    return sa.text(statement)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.register")
    parser.add_argument("--residents", type=int, default=10_000)
    asyncio.run(run(parser.parse_args().residents))


if __name__ == "__main__":
    main()
