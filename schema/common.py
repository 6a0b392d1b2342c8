"""Helpers every domain module of the schema uses: authorised, audited mutations; IDs; pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlmodel import SQLModel
from strawberry.types.nodes import SelectedField

from models.audit import AuditAction
from models.people import Person, Position
from permissions.operations import allowed, may_manage_person
from resolvers.errors import DomainError, ErrorCode, not_found
from resolvers.pagination import PageArgs
from resolvers.people import PositionFilter, active_grants, positions_of
from schema.context import Info
from schema.errors import UserError
from schema.relay import expect_id

T = TypeVar("T")


def forbidden() -> DomainError:
    """A fresh refusal each time (a shared exception instance would pile up tracebacks)."""
    return DomainError(ErrorCode.FORBIDDEN, "you may not do this here")


async def mutate(
    info: Info,
    authorize: Callable[[], Awaitable[None]],
    change: Callable[[], Awaitable[T]],
    *,
    subject: Callable[[T], Any] | None = None,
    object_type: str | None = None,
) -> tuple[T | None, list[UserError]]:
    """Authorise, then run a change in a savepoint: a refusal undoes everything it wrote.

    Every attempt, refused or not, is appended to the audit log with the names (never
    the values) of the input fields given; `subject` picks the stored row a result
    stands for when the result is not that row itself.
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
    audited = subject(row) if subject and row is not None else row
    audit_mutation(info, audited, errors, object_type=object_type)
    return row, errors


def audit_mutation(
    info: Info,
    row: Any,
    errors: list[UserError],
    *,
    object_type: str | None = None,
    **details: Any,
) -> None:
    """One MUTATION entry: the stored row changed (if any), input field names, error codes."""
    stored = isinstance(row, SQLModel)
    row_id = getattr(row, "id", None) if stored else None
    info.context.audit.record(
        info.context.who,
        AuditAction.MUTATION,
        type(row).__name__ if stored else object_type or info.field_name,
        [row_id] if isinstance(row_id, int) else [],
        _given_input_fields(info),
        details={
            "mutation": info.field_name,
            "errors": [str(e.code) for e in errors],
            **details,
        },
    )


def _given_input_fields(info: Info) -> list[str]:
    selected = info.selected_fields[0] if info.selected_fields else None
    if not isinstance(selected, SelectedField):
        return []
    given = selected.arguments.get("input")
    return sorted(k for k, v in given.items() if v is not None) if isinstance(given, dict) else []


Target = tuple[Any, int | None, str]


async def require(
    info: Info,
    operation: str,
    *targets: Target,
    role: str | None = None,
    parent_of_first: bool = False,
    anywhere: bool | str = False,
    see: tuple[Target, ...] = (),
) -> None:
    """Refuse unless the actor may run `operation` on the places of `targets`.

    A target is (table, id, input field); one the actor cannot see is NOT_FOUND on that
    field, exactly like one that does not exist. `see` names further rows (people the
    change involves) that must merely be visible. With no target, `anywhere=True` accepts
    a qualifying grant anywhere; `anywhere="root"` requires one at the city.
    """
    loaders = info.context.loaders
    for model, ident, field in see:
        if ident is not None and await loaders.get(model, ident) is None:
            raise not_found(model.__name__, field)
    paths: list[str] = []
    for index, (model, ident, field) in enumerate(targets):
        if ident is None:
            continue
        row = await loaders.get(model, ident)
        if row is None:
            raise not_found(model.__name__, field)
        if row.path is None and model is Person:
            paths.append(await _serving_place(info, operation, row, role))
            continue
        path = str(row.path)
        if parent_of_first and index == 0:
            path = path.rpartition(".")[0]
        paths.append(path)
    if not paths and anywhere == "root":
        root = info.context.actor.root_path
        paths = [root] if root else []
        if not paths and not info.context.actor.unrestricted:
            raise forbidden()
    if not paths and not anywhere:
        if info.context.actor.unrestricted:
            return
        raise forbidden()
    if not allowed(info.context.actor, operation, paths or None, role):
        raise forbidden()


async def _serving_place(info: Info, operation: str, person: Person, role: str | None) -> str:
    """For someone with no home here, the place of a position of theirs the actor covers."""
    assert person.id is not None
    held = await positions_of(info.context.loaders, Position.person_id, person.id, PositionFilter())
    places = [str(p.path) for p in held]
    for place in places:
        if allowed(info.context.actor, operation, [place], role):
            return place
    raise forbidden()


async def require_manageable(info: Info, person_id: int, *, credentials: bool) -> None:
    """Refuse acting on the account or positions of oneself, or of someone whose grants reach
    beyond the actor's own (see `permissions.operations.may_manage_person`)."""
    grants = await active_grants(info.context.session, person_id)
    if not may_manage_person(info.context.actor, person_id, grants, credentials=credentials):
        raise forbidden()


async def require_position_end(info: Info, position_id: int) -> None:
    position = await info.context.loaders.get(Position, position_id)
    if position is None:
        raise not_found("position", "id")
    if not allowed(info.context.actor, "endPosition", [str(position.path)], str(position.role)):
        raise forbidden()
    await require_manageable(info, position.person_id, credentials=False)


def optional_id(global_id: str | None, type_name: str, field: str) -> int | None:
    return expect_id(global_id, type_name, field) if global_id is not None else None


def page_args(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> PageArgs:
    return PageArgs.parse(first=first, after=after, last=last, before=before)
