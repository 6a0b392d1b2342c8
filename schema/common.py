"""Helpers every domain module of the schema uses: mutation savepoints, ID decoding."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from resolvers.errors import DomainError
from resolvers.pagination import PageArgs
from schema.context import Info
from schema.errors import UserError
from schema.relay import expect_id

T = TypeVar("T")


async def mutate(
    info: Info, change: Callable[[], Awaitable[T]]
) -> tuple[T | None, list[UserError]]:
    """Run a change in a savepoint: a refusal undoes everything it wrote, nothing else."""
    session = info.context.session
    try:
        async with session.begin_nested():
            return await change(), []
    except DomainError as error:
        return None, [UserError.of(error)]


def optional_id(global_id: str | None, type_name: str, field: str) -> int | None:
    return expect_id(global_id, type_name, field) if global_id is not None else None


def page_args(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> PageArgs:
    return PageArgs.parse(first=first, after=after, last=last, before=before)
