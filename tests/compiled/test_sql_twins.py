"""What the compiled statements compute in SQL equals what the resolvers compute in Python:
the masks (random inputs, Chinese names, every whitespace Python strips), the text of
datetimes, global ids and cursors, and the field policy as bit masks (every relation set)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.people import Person
from permissions.compiled import BIT, relations_of, rule_bits
from permissions.masking import mask_id_card, mask_name, mask_phone, mask_room
from permissions.policy import FIELD_POLICY, FIELD_RULES, Access
from permissions.roles import Relation
from resolvers.pagination import Ordering, asc, encode_cursor
from schema.relay import to_global_id

WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
ALPHABET = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾秀英建国丰娜"
    + "0123456789X"
    + "ab*-"
)


def _samples(seed: int, n: int = 300) -> list[str]:
    rng = random.Random(seed)
    found = ["", " ", "王", "王五", "欧阳娜娜", "13800001234", "5" * 17 + "X", "\u3000张三\u3000"]
    for _ in range(n):
        length = rng.randint(0, 20)
        core = "".join(rng.choice(ALPHABET) for _ in range(length))
        pad = "".join(rng.choice(WHITESPACE) for _ in range(rng.randint(0, 3)))
        tail = "".join(rng.choice(WHITESPACE) for _ in range(rng.randint(0, 3)))
        found.append(pad + core + tail)
    return found


async def test_masks_equal_their_sql_twins(session: AsyncSession) -> None:
    masks = {
        "gql_mask_name": mask_name,
        "gql_mask_phone": mask_phone,
        "gql_mask_id_card": mask_id_card,
        "gql_mask_room": mask_room,
    }
    for i, (sql_name, python) in enumerate(masks.items()):
        values = _samples(i)
        rows = await session.execute(
            sa.text(f"SELECT v, {sql_name}(v) FROM unnest(CAST(:values AS text[])) AS v"),
            {"values": values},
        )
        for value, masked in rows:
            assert masked == python(value), (sql_name, value)
    assert (await session.execute(sa.text("SELECT gql_mask_name(NULL)"))).scalar() is None


async def test_datetimes_ids_and_cursors_print_as_in_python(session: AsyncSession) -> None:
    rng = random.Random(7)
    moments = [datetime(2026, 3, 1, 8, 0, tzinfo=UTC), datetime(1999, 12, 31, 23, 59, 59, 1, UTC)]
    moments += [
        datetime(2020, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randint(0, 10**15))
        for _ in range(200)
    ]
    rows = await session.execute(
        sa.text("SELECT m, gql_datetime(m) FROM unnest(CAST(:ms AS timestamptz[])) AS m"),
        {"ms": moments},
    )
    for moment, text in rows:
        assert text == moment.astimezone(UTC).isoformat()
    for type_name, ident in [("Person", 1), ("PetitionCategory", 2**63 - 1), ("OrgUnit", 42)]:
        found = await session.execute(
            sa.text("SELECT gql_global_id(:t, :i)"), {"t": type_name, "i": ident}
        )
        assert found.scalar() == to_global_id(type_name, ident)
    ordering = Ordering.of(asc(Person.name), asc(Person.id))
    for value in _samples(11, 50):
        payload = '["' + ordering.tag + '",["s",' + "' || to_json(CAST(:v AS text))::text || '"
        found = await session.execute(
            sa.text(f"SELECT gql_cursor('{payload}],[\"i\",7]]')"), {"v": value}
        )
        assert found.scalar() == encode_cursor(ordering, (value, 7)), value


def _access(mask: int, full: int, masked: int) -> Access:
    if mask & full:
        return Access.FULL
    return Access.MASKED if mask & masked else Access.DENIED


def test_every_rule_as_bits_decides_every_relation_set_alike() -> None:
    rules: list[tuple[str, Any]] = [
        (f"{t}.{f}", r) for t, fields in FIELD_POLICY.items() for f, r in fields.items()
    ]
    rules += [(f"{t}.{f}", r) for (t, f), r in FIELD_RULES.items()]
    relations = list(Relation)
    for name, rule in rules:
        bits = rule_bits(rule)
        assert bits is not None
        for size in range(len(relations) + 1):
            for chosen in itertools.combinations(relations, size):
                mask = sum(BIT[r] for r in chosen)
                assert relations_of(mask) == set(chosen)
                for concealed in (False, True):
                    row = type("Row", (), {"anonymous": concealed})()
                    expected = rule.access(set(chosen), row)
                    assert bits.decide(mask, concealed) == int(expected), (name, chosen)
