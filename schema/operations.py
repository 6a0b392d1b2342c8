"""Mutations, one class each: decode the input's ids, decide the rule, run one domain action.

```python
class CreateBuilding(Mutation[CreateBuildingInput, Building, BuildingPayload]):
    refs = {"grid_id": OrgUnit}
    permission = rules.CREATE_BUILDING
    errors = OrgError

    async def perform(self, ctx, input, refs):
        return await r.create_building(ctx.session, grid_id=refs.need("grid_id"), ...)
```
`run` decodes every global id named in `refs` once (VALIDATION for a malformed one, NOT_FOUND
for one of another type), loads the rows through the actor's row scope (absent and out of
scope both answer NOT_FOUND), decides `permission` (FORBIDDEN), runs `perform` in a savepoint
(a refusal undoes everything it wrote), audits the attempt, and shapes the payload. Error
fields are the names of resolver arguments; they leave as the GraphQL names of the input
type's fields, mapped here, so they cannot drift from the input.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import sqlalchemy as sa
import strawberry
from sqlmodel import SQLModel, col
from strawberry.types.nodes import SelectedField
from strawberry.utils.str_converters import to_camel_case

from models.audit import AuditAction
from models.config import get_settings
from models.people import Position
from permissions.roles import Relation
from permissions.rules import ActionTable, Rule, decide
from resolvers.errors import Common, DomainError
from resolvers.workflow import Workflow
from schema.context import Context, Info
from schema.declare import ROW_TYPES
from schema.errors import UserError, graphql_names
from schema.relay import expect_id

M = TypeVar("M")
A = TypeVar("A", bound=enum.StrEnum)
InputT = TypeVar("InputT")
ResultT = TypeVar("ResultT")
PayloadT = TypeVar("PayloadT")


def forbidden() -> DomainError:
    """A fresh refusal each time (a shared exception instance would pile up tracebacks)."""
    return DomainError(Common.FORBIDDEN, "you may not do this here")


def refused(rule: Rule) -> DomainError:
    """The refusal of `rule`: FORBIDDEN, about the actor and no input field, unless the rule
    names what the caller lacks."""
    if getattr(rule, "refusal", None) == Common.UNAUTHENTICATED:
        return DomainError(Common.UNAUTHENTICATED, "sign in first")
    return forbidden()


@dataclass
class Refs:
    """The database ids and rows of the global ids an input carries."""

    ids: dict[str, int | None] = field(default_factory=dict)
    rows: dict[str, Any] = field(default_factory=dict)

    def id(self, name: str) -> int | None:
        return self.ids.get(name)

    def need(self, name: str) -> int:
        found = self.ids.get(name)
        assert found is not None, name
        return found

    def row(self, name: str) -> Any | None:
        return self.rows.get(name)

    def row_of(self, name: str, model: type[M]) -> M:
        found = self.rows.get(name)
        assert isinstance(found, model), name
        return found


class Facts:
    """What the permission rules may know of one mutation's input (see permissions.rules)."""

    def __init__(self, context: Context, input: Any, refs: Refs) -> None:
        self.context = context
        self.input = input
        self.refs = refs

    def row(self, name: str) -> Any | None:
        return self.refs.row(name)

    def value(self, name: str) -> Any:
        return getattr(self.input, name, None)

    async def places(self, row: Any) -> list[str]:
        if row.path is not None:
            return [str(row.path)]
        # Someone living nowhere here (a seconded cadre ...) is where they serve.
        from resolvers.people import ACTIVE_POSITIONS_OF_PERSON

        held = await self.context.loaders.children(ACTIVE_POSITIONS_OF_PERSON, row.id)
        return [str(p.path) for p in held]

    async def relations(self, type_name: str, row: Any) -> set[Relation]:
        from schema.policy import relations_to

        return await relations_to(self.context, type_name, row)

    async def grants_of(self, person_id: int) -> list[tuple[str, str]]:
        rows = await self.context.session.execute(
            sa.select(col(Position.role), col(Position.path)).where(
                col(Position.person_id) == person_id, col(Position.ended_at).is_(None)
            )
        )
        return [(str(role), str(path)) for role, path in rows]


def type_name_of(model: type[Any]) -> str:
    return ROW_TYPES[model].name


async def bind(context: Context, input: Any, refs: Mapping[str, type[Any]]) -> Refs:
    """Decode and load every global id `refs` names; absent and out of scope are NOT_FOUND."""
    bound = Refs()
    for name, model in refs.items():
        value = getattr(input, name, None)
        if value is None:
            bound.ids[name] = None
            continue
        ident = expect_id(value, type_name_of(model), name)
        bound.ids[name] = ident
        row = await context.loaders.get(model, ident)
        if row is None:
            raise DomainError(Common.NOT_FOUND, f"{type_name_of(model)} not found", name)
        bound.rows[name] = row
    return bound


def input_fields(input_type: type[Any]) -> dict[str, str]:
    """python name -> GraphQL name of an input type's fields."""
    definition = input_type.__strawberry_definition__
    return {
        f.python_name: f.graphql_name or to_camel_case(f.python_name) for f in definition.fields
    }


class Mutation(Generic[InputT, ResultT, PayloadT]):
    """One mutation (see the module docstring); subclasses declare and `perform`."""

    refs: ClassVar[Mapping[str, type[Any]]] = {}
    permission: ClassVar[Rule]
    errors: ClassVar[type[UserError]]
    #: resolver argument -> input field, where their python names differ
    error_fields: ClassVar[Mapping[str, str]] = {}
    #: False: what a refused attempt wrote stays (a failed sign-in is counted)
    atomic: ClassVar[bool] = True
    #: the audit entry's object type when the result is no stored row
    audit_type: ClassVar[str | None] = None

    async def admit(self, ctx: Context, input: InputT) -> None:
        """Refuse before anything is looked up (a rate limit); runs first."""

    async def perform(self, ctx: Context, input: InputT, refs: Refs) -> ResultT:
        raise NotImplementedError

    async def settle(
        self, ctx: Context, input: InputT, result: ResultT | None, errors: list[UserError]
    ) -> None:
        """After the attempt is decided (count a refusal, record what it must not tell)."""

    def audited(self, result: ResultT) -> Any:
        """The stored row the audit entry names (None: name none)."""
        return result

    def audit(
        self, info: Info, input: InputT, result: ResultT | None, errors: list[UserError]
    ) -> None:
        """Every attempt, refused or not, goes to the audit log (see `audit_mutation`)."""
        audit_mutation(
            info,
            self.audited(result) if result is not None else None,
            errors,
            object_type=self.audit_type,
        )

    def payload(self, result: ResultT | None, errors: list[UserError]) -> PayloadT:
        """`PayloadT(<object>=result, errors=errors)` for the usual two-field payload."""
        payload_type = self._types()[2]
        names = [f.python_name for f in payload_type.__strawberry_definition__.fields]
        [subject] = [n for n in names if n != "errors"]
        shaped: PayloadT = payload_type(**{subject: result, "errors": errors})
        return shaped

    @classmethod
    def _types(cls) -> tuple[Any, Any, Any]:
        for base in getattr(cls, "__orig_bases__", ()):
            if typing.get_origin(base) is Mutation:
                input_type, result_type, payload_type = typing.get_args(base)
                return input_type, result_type, payload_type
        raise TypeError(f"{cls.__name__} must subclass Mutation[Input, Result, Payload]")

    def _error_field(self, name: str | None) -> str | None:
        if name is None:
            return None
        known = input_fields(self._types()[0])
        python = self.error_fields.get(name, name)
        found = known.get(python)
        if found is None and get_settings().strict:
            raise AssertionError(f"{type(self).__name__}: error field {name!r} is not an input")
        return found

    def _user_error(self, error: DomainError) -> UserError:
        names = {**input_fields(self._types()[0])}
        names.update({k: names[v] for k, v in self.error_fields.items() if v in names})
        message = graphql_names(error.message, names)
        return self.errors.of(error, self._error_field(error.field), message)

    async def run(self, info: Info, input: InputT) -> PayloadT:
        """One attempt; a fresh instance per call, so per-attempt state may live on it."""
        context = info.context
        result: ResultT | None = None
        errors: list[UserError] = []
        try:
            await self.admit(context, input)
            refs = await bind(context, input, self.refs)
            if not await decide(self.permission, context.actor, Facts(context, input, refs)):
                raise refused(self.permission)
            if self.atomic:
                async with context.session.begin_nested():
                    result = await self.perform(context, input, refs)
            else:
                result = await self.perform(context, input, refs)
        except DomainError as error:
            errors = [self._user_error(error)]
        self.audit(info, input, result, errors)
        await self.settle(context, input, result, errors)
        return self.payload(result, errors)

    @classmethod
    def field(cls, *, description: str | None = None) -> Any:
        input_type, _, payload_type = cls._types()

        async def resolve(info: Info, input: Any) -> Any:
            return await cls().run(info, input)

        resolve.__annotations__ = {"info": Info, "input": input_type, "return": payload_type}
        return strawberry.mutation(resolver=resolve, description=description or cls.__doc__)


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


async def authorize(
    info: Info,
    rule: Rule,
    args: Any = None,
    refs: Mapping[str, type[Any]] | None = None,
) -> Refs:
    """Decide `rule` for a query field (its arguments in `args`, global ids in `refs`):
    NOT_FOUND for an id the actor cannot see, FORBIDDEN when the rule refuses."""
    bound = await bind(info.context, args, refs or {})
    if not await decide(rule, info.context.actor, Facts(info.context, args, bound)):
        raise refused(rule)
    return bound


def allowed_actions(workflow: Workflow[Any, Any, A], table: ActionTable[A]) -> Any:
    """The `allowedActions` field of a process row: what its status allows and the actor's
    parties to it permit, in the table's order."""

    def resolve(root: Any, info: Info) -> list[A]:
        legal = workflow.legal(root.status)
        permitted = table.permitted(info.context.actor, root)
        return sorted(legal & permitted)

    return strawberry.field(
        resolver=resolve,
        description="What you may do next (the transition table and your part in the case).",
    )
