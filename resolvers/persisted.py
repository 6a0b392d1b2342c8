"""Registered operations (the catalogue allow-lists name) and the allow-lists of API tokens."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.persisted import RegisteredOperation, TokenAllowList
from resolvers.common import clean_note
from resolvers.errors import invalid

#: Registered operations listed at most (a catalogue, not a log).
MAX_LISTED = 500


async def register_operation(
    session: AsyncSession,
    *,
    sha256: str,
    document: str,
    operation_name: str | None,
    description: str | None,
    registered_by: int | None,
) -> RegisteredOperation:
    """Register a (checked) document under its hash; registering it again changes nothing
    but the description."""
    note = clean_note(description, "description", max_length=500)
    statement = (
        postgresql.insert(RegisteredOperation)
        .values(
            sha256=sha256,
            document=document,
            operation_name=operation_name,
            description=note,
            registered_by_person_id=registered_by,
        )
        .on_conflict_do_update(
            index_elements=[col(RegisteredOperation.sha256)],
            set_={"description": sa.func.coalesce(note, col(RegisteredOperation.description))},
        )
        .returning(RegisteredOperation)
    )
    found: RegisteredOperation = (await session.execute(statement)).scalar_one()
    return found


async def registered_operations(session: AsyncSession) -> list[RegisteredOperation]:
    rows = await session.scalars(
        sa.select(RegisteredOperation)
        .order_by(col(RegisteredOperation.registered_at), col(RegisteredOperation.sha256))
        .limit(MAX_LISTED)
    )
    return list(rows)


async def set_token_operations(
    session: AsyncSession,
    *,
    token_id: int,
    operations: Sequence[str] | None,
    updated_by: int | None,
) -> list[str] | None:
    """Hold a token to `operations` (registered hashes), or (None) let it run anything again."""
    if operations is None:
        await session.execute(
            sa.delete(TokenAllowList).where(col(TokenAllowList.token_id) == token_id)
        )
        return None
    wanted = sorted({o.strip().lower() for o in operations})
    known = set(
        await session.scalars(
            sa.select(col(RegisteredOperation.sha256)).where(
                col(RegisteredOperation.sha256).in_(wanted)
            )
        )
    )
    unknown = [o for o in wanted if o not in known]
    if unknown:
        raise invalid(
            f"{len(unknown)} of `operations` are not registered operations (register them"
            " first with registerOperation)",
            "operations",
        )
    statement = (
        postgresql.insert(TokenAllowList)
        .values(token_id=token_id, operations=wanted, updated_by_person_id=updated_by)
        .on_conflict_do_update(
            index_elements=[col(TokenAllowList.token_id)],
            set_={"operations": wanted, "updated_by_person_id": updated_by, "updated_at": utcnow()},
        )
    )
    await session.execute(statement)
    return wanted


async def token_operations(session: AsyncSession, token_id: int) -> list[str] | None:
    found = await session.scalar(
        sa.select(col(TokenAllowList.operations)).where(col(TokenAllowList.token_id) == token_id)
    )
    return list(found) if found is not None else None
