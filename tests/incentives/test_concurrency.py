"""The ledger under concurrent redemptions, on real connections with real commits (undone
afterwards): two devices issuing codes for the same points, two confirmations of one code,
and debits racing past the application straight into the database."""

from __future__ import annotations

import asyncio
import enum
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from models.base import utcnow
from models.incentives import OfferKind, PointsKind, RedemptionStatus
from resolvers import incentives as ri
from resolvers.errors import DomainError
from seeds.demo import DemoCity
from tests.incentives.conftest import Committed, Shops, shops_of

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


async def outcome(call: Any) -> Any:
    try:
        return await call
    except DomainError as error:
        return error.code


async def _setup(
    committed: Committed, demo: DemoCity, points: int, cost: int
) -> tuple[int, int, Shops]:
    """A resident of 仁和苑 with `points` (volunteer hours), an offer costing `cost`."""
    async with committed.session() as s, s.begin():
        shops = await shops_of(s, demo)
        person = int(
            await s.scalar(
                sa.text(
                    "SELECT id FROM person WHERE path <@ CAST(:c AS ltree)"
                    " AND NOT EXISTS (SELECT 1 FROM points_entry e WHERE e.person_id = person.id)"
                    " ORDER BY id LIMIT 1"
                ),
                {"c": demo.renheyuan.path},
            )
        )
        committed.people.add(person)
        await ri.credit_volunteer_hours(
            s,
            person_id=person,
            hours=Decimal(points) / ri.POINTS_PER_HOUR,
            source_id=900_000 + person,
            note="test hours",
        )
        offer = await ri.create_offer(
            s,
            shop_id=shops.local,
            terms=ri.OfferTerms(
                kind=OfferKind.FIXED_BENEFIT,
                title="并发测试",
                points_cost=cost,
                valid_from=utcnow() - timedelta(hours=1),
                valid_until=utcnow() + timedelta(days=1),
            ),
        )
        assert offer.id is not None
        committed.offers.add(offer.id)
    return person, offer.id, shops


async def _balance(committed: Committed, person: int) -> int:
    async with committed.session() as s:
        return await ri.points_balance(s, person)


async def test_two_devices_cannot_hold_the_same_points(
    committed: Committed, demo: DemoCity
) -> None:
    person, offer, _ = await _setup(committed, demo, points=30, cost=20)

    async def issue() -> Any:
        async with committed.session() as s, s.begin():
            return await ri.issue_redemption(s, offer_id=offer, person_id=person)

    results = await asyncio.gather(*(outcome(issue()) for _ in range(6)))
    issued = [r for r in results if isinstance(r, ri.Issued)]
    assert len(issued) == 1, results
    assert [str(r) for r in results if isinstance(r, enum.Enum)] == ["INSUFFICIENT_POINTS"] * 5
    async with committed.session() as s:
        assert await ri.held_points(s, person, utcnow()) == 20


async def test_a_code_is_used_once_under_concurrent_confirmations(
    committed: Committed, demo: DemoCity
) -> None:
    person, offer, shops = await _setup(committed, demo, points=25, cost=20)
    async with committed.session() as s, s.begin():
        issued = await ri.issue_redemption(s, offer_id=offer, person_id=person)

    async def confirm() -> Any:
        async with committed.session() as s, s.begin():
            return await ri.confirm_redemption(
                s, shop_id=shops.local, code=issued.code, operator_id=shops.local_operator
            )

    results = await asyncio.gather(*(outcome(confirm()) for _ in range(5)))
    confirmed = [r for r in results if not isinstance(r, enum.Enum)]
    assert len(confirmed) == 1
    assert confirmed[0].status == RedemptionStatus.CONFIRMED
    assert [str(r) for r in results if isinstance(r, enum.Enum)] == ["CODE_INVALID"] * 4
    assert await _balance(committed, person) == 5
    async with committed.session() as s:
        debits = await s.scalar(
            sa.text("SELECT count(*) FROM points_entry WHERE person_id = :p AND kind = 'REDEEMED'"),
            {"p": person},
        )
    assert debits == 1, "one debit for one code"


async def test_codes_of_two_devices_confirmed_at_once_never_overdraw(
    committed: Committed, demo: DemoCity
) -> None:
    """Both codes were issued while the points were there (one of them expires, the other is
    issued after it): confirmed together, only the points there are can be spent."""
    person, offer, shops = await _setup(committed, demo, points=30, cost=20)
    async with committed.session() as s, s.begin():
        first = await ri.issue_redemption(
            s, offer_id=offer, person_id=person, now=utcnow() - timedelta(minutes=ri.CODE_MINUTES)
        )
        # the first code's minutes ran out for holding, not yet for the shop's check below
        second = await ri.issue_redemption(s, offer_id=offer, person_id=person)
    async with committed.session() as s, s.begin():
        await s.execute(
            sa.text(
                "UPDATE redemption SET expires_at = now() + interval '5 minutes' WHERE id = :id"
            ),
            {"id": first.redemption.id},
        )

    async def confirm(code: str) -> Any:
        async with committed.session() as s, s.begin():
            return await ri.confirm_redemption(
                s, shop_id=shops.local, code=code, operator_id=shops.local_operator
            )

    results = await asyncio.gather(outcome(confirm(first.code)), outcome(confirm(second.code)))
    assert sorted(str(r) if isinstance(r, enum.Enum) else "OK" for r in results) == [
        "INSUFFICIENT_POINTS",
        "OK",
    ]
    assert await _balance(committed, person) == 10


async def test_the_database_refuses_a_debit_below_zero_whoever_writes_it(
    committed: Committed, demo: DemoCity
) -> None:
    """Two raw debits racing past the application: the trigger serialises them per person and
    refuses the one that would overdraw."""
    person, _, _ = await _setup(committed, demo, points=10, cost=0)

    async def raw_debit(source: int) -> str:
        async with committed.session() as s:
            try:
                async with s.begin():
                    await s.execute(
                        sa.text(
                            "INSERT INTO points_entry (person_id, kind, points, source_type,"
                            " source_id) VALUES (:p, 'REDEEMED', 8, 'TEST', :src)"
                        ),
                        {"p": person, "src": source},
                    )
                    await asyncio.sleep(0.05)  # hold the lock while the other waits
            except IntegrityError as error:
                return "refused" if "INSUFFICIENT_POINTS" in str(error.orig) else str(error)
            return "debited"

    results = await asyncio.gather(raw_debit(1), raw_debit(2))
    assert sorted(results) == ["debited", "refused"]
    assert await _balance(committed, person) == 2
    async with committed.session() as s:
        kinds = await s.scalars(
            sa.text("SELECT kind FROM points_entry WHERE person_id = :p ORDER BY id"),
            {"p": person},
        )
        assert list(kinds) == [PointsKind.EARNED, PointsKind.REDEEMED]
