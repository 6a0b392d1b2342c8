"""A duplicate refused by a unique index leaves the caller's transaction usable, also outside
a mutation's savepoint (seeds, imports, scheduled jobs call the business functions bare)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.org import WorkUnitKind
from resolvers.errors import DomainError
from resolvers.org import create_work_unit


async def test_a_refused_duplicate_leaves_the_transaction_usable(session: AsyncSession) -> None:
    kind = WorkUnitKind.ENTERPRISE_OR_INSTITUTION
    await create_work_unit(session, name="重复登记单位", kind=kind)
    with pytest.raises(DomainError) as refused:
        await create_work_unit(session, name="重复登记单位", kind=kind)
    assert refused.value.code == "DUPLICATE"
    held = await session.scalar(
        sa.text("SELECT count(*) FROM work_unit WHERE name = '重复登记单位'")
    )
    assert held == 1
    await session.flush()  # nothing of the refused row is left pending
