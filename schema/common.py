"""Helpers every domain module of the schema uses: authorised, audited mutations; IDs; pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from strawberry.types.nodes import SelectedField

from models.audit import AuditAction
from models.people import Position
from permissions.operations import allowed
from resolvers.errors import DomainError, ErrorCode, not_found
from resolvers.pagination import PageArgs
from schema.context import Info
from schema.errors import UserError
from schema.relay import expect_id

T = TypeVar("T")

FORBIDDEN = DomainError(ErrorCode.FORBIDDEN, "you may not do this here")


async def mutate(
    info: Info,
    authorize: Callable[[], Awaitable[None]],
    change: Callable[[], Awaitable[T]],
) -> tuple[T | None, list[UserError]]:
    """Authorise, then run a change in a savepoint: a refusal undoes everything it wrote.

    Every attempt, refused or not, is appended to the audit log with the names (never
    the values) of the input fields given.
    """
    session = info.context.session
    row: T | None = None
    errors: list[UserError] = []
    try:
        await authorize()
        async with session.begin_nested():
            row = await change()
    except DomainError as error:
        errors = [UserError.of(error)]
    given = _given_input_fields(info)
    row_id = getattr(row, "id", None)
    info.context.audit.record(
        info.context.who,
        AuditAction.MUTATION,
        type(row).__name__ if row is not None else info.field_name,
        [row_id] if isinstance(row_id, int) else [],
        given,
        details={"mutation": info.field_name, "errors": [str(e.code) for e in errors]},
    )
    return row, errors


def _given_input_fields(info: Info) -> list[str]:
    selected = info.selected_fields[0] if info.selected_fields else None
    if not isinstance(selected, SelectedField):
        return []
    given = selected.arguments.get("input")
    return sorted(k for k, v in given.items() if v is not None) if isinstance(given, dict) else []


async def require(
    info: Info,
    operation: str,
    *targets: tuple[Any, int | None, str],
    role: str | None = None,
    parent_of_first: bool = False,
    anywhere: bool = False,
) -> None:
    """Refuse unless the actor may run `operation` on the places of `targets`.

    A target is (table, id, input field); one the actor cannot see is NOT_FOUND on that
    field, exactly like one that does not exist.
    """
    paths: list[str] = []
    for index, (model, ident, field) in enumerate(targets):
        if ident is None:
            continue
        row = await info.context.loaders.get(model, ident)
        if row is None:
            raise not_found(model.__name__, field)
        path = str(row.path)
        if parent_of_first and index == 0:
            path = path.rpartition(".")[0]
        paths.append(path)
    if not paths and not anywhere:
        if info.context.actor.unrestricted:
            return
        raise FORBIDDEN
    if not allowed(info.context.actor, operation, paths or None, role):
        raise FORBIDDEN


async def require_position_end(info: Info, position_id: int) -> None:
    position = await info.context.loaders.get(Position, position_id)
    if position is None:
        raise not_found("position", "id")
    if not allowed(info.context.actor, "endPosition", [str(position.path)], str(position.role)):
        raise FORBIDDEN


def optional_id(global_id: str | None, type_name: str, field: str) -> int | None:
    return expect_id(global_id, type_name, field) if global_id is not None else None


def page_args(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> PageArgs:
    return PageArgs.parse(first=first, after=after, last=last, before=before)
