"""Keyset pagination for many parents in one statement.

A cursor carries the sort key of a row (its ordering's values, then its id) and a tag of the
ordering it belongs to, so the next page starts strictly after that row whatever was inserted
or removed meanwhile: a newest-first queue never repeats nor skips a row between pages.
Every connection, top-level or nested under a list, is one SELECT for all its parents
(`row_number()` over a partition per parent); `totalCount` is a separate grouped count, run
only when a client selects it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, Protocol, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from resolvers.errors import invalid

T = TypeVar("T")

MAX_PAGE = 100
DEFAULT_PAGE = 20


@dataclass(frozen=True)
class Sort:
    """One key of an ordering: a column of the listed model (nulls always sort last)."""

    column: Any
    descending: bool = False

    @property
    def key(self) -> str:
        return str(self.column.key)

    @property
    def nullable(self) -> bool:
        return bool(getattr(getattr(self.column, "expression", self.column), "nullable", True))


def asc(column: Any) -> Sort:
    return Sort(column)


def desc(column: Any) -> Sort:
    return Sort(column, descending=True)


@dataclass(frozen=True)
class Ordering:
    """Sort keys ending with the model's id, so every row has a unique position."""

    sorts: tuple[Sort, ...]

    @classmethod
    def of(cls, *sorts: Sort) -> Ordering:
        return cls(tuple(sorts))

    @property
    def tag(self) -> str:
        """Names the ordering inside its cursors: a cursor of another ordering is refused."""
        spec = ";".join(f"{s.column}:{'d' if s.descending else 'a'}" for s in self.sorts)
        return hashlib.sha256(spec.encode()).hexdigest()[:8]

    def order_by(self, *, reverse: bool = False) -> list[Any]:
        clauses = []
        for s in self.sorts:
            descending = s.descending != reverse
            clause = s.column.desc() if descending else s.column.asc()
            if s.nullable:
                clause = clause.nulls_first() if reverse else clause.nulls_last()
            clauses.append(clause)
        return clauses

    def values(self, row: Any) -> tuple[Any, ...]:
        return tuple(getattr(row, s.key) for s in self.sorts)


class Narrowing(Protocol):
    """One SQL condition from outside the resolvers (e.g. the permission layer's "waits for
    this actor"); hashable, so it can sit in a filter."""

    def __hash__(self) -> int: ...

    def condition(self) -> Any: ...


class Filter(Protocol):
    """What a list is narrowed and ordered by; hashable, so equal requests share a batch."""

    def conditions(self) -> Sequence[Any]: ...

    def ordering(self) -> Ordering: ...


# --- cursors ---------------------------------------------------------------------------------


def _encode_value(value: Any) -> list[Any]:
    if value is None:
        return ["n"]
    if isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", value]
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["d", value.isoformat()]
    return ["s", str(value)]


def _decode_value(raw: Any) -> Any:
    kind, *rest = raw
    match kind, rest:
        case "n", []:
            return None
        case "b", [bool() as flag]:
            return flag
        case "i", [int() as number] if not isinstance(number, bool) and abs(number) < 2**63:
            return number
        case "t", [str() as text]:
            return datetime.fromisoformat(text)
        case "d", [str() as text]:
            return date.fromisoformat(text)
        case "s", [str() as text] if len(text) <= 1000:
            return text
    raise ValueError(kind)


def encode_cursor(ordering: Ordering, values: tuple[Any, ...]) -> str:
    payload = [ordering.tag, *(_encode_value(v) for v in values)]
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, ordering: Ordering, field_name: str) -> tuple[Any, ...]:
    refusal = invalid(f"`{field_name}` is not a valid cursor", field_name)
    if len(cursor) > 4000:
        raise refusal
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, *raw = json.loads(text)
        values = tuple(_decode_value(v) for v in raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise refusal from exc
    if tag != ordering.tag or len(values) != len(ordering.sorts):
        raise refusal
    return values


# --- page arguments ------------------------------------------------------------------------


@dataclass(frozen=True)
class PageArgs:
    """Validated Relay arguments, cursors still opaque (they are decoded against an ordering).

    Hashable, so loaders can batch the parents that ask for the same page.
    """

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @classmethod
    def parse(
        cls,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> PageArgs:
        for name, value in (("first", first), ("last", last)):
            if value is not None and not 0 <= value <= MAX_PAGE:
                raise invalid(f"`{name}` must be between 0 and {MAX_PAGE}", name)
        if first is None and last is None:
            first = DEFAULT_PAGE
        return cls(first=first, after=after or None, last=last, before=before or None)

    @property
    def backwards(self) -> bool:
        """Only `last` given: the page is the tail of the window, read in reverse."""
        return self.first is None and self.last is not None

    @property
    def fetch(self) -> int:
        """Rows to read per parent: the page plus one that tells whether more follow."""
        size = self.first if self.first is not None else self.last
        assert size is not None
        return size + 1


async def _nothing() -> int:
    return 0


@dataclass
class Page(Generic[T]):
    rows: list[T]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    #: counts the whole list; called only when a client asks for `totalCount`
    total: Callable[[], Awaitable[int]] = _nothing

    @classmethod
    def empty(cls) -> Page[T]:
        return cls(rows=[], cursors=[], has_next=False, has_previous=False)


# --- SQL -------------------------------------------------------------------------------------


def _after(ordering: Ordering, values: tuple[Any, ...], *, before: bool) -> Any:
    """Rows strictly after (or before) the row whose sort key is `values`, nulls last."""
    sorts = ordering.sorts
    if all(not s.nullable for s in sorts) and len({s.descending for s in sorts}) == 1:
        # One direction, no nulls: a row comparison, which a composite index serves.
        left = sa.tuple_(*(s.column for s in sorts))
        right = sa.tuple_(
            *(sa.literal(v, s.column.type) for s, v in zip(sorts, values, strict=True))
        )
        forward = sorts[0].descending == before
        return left > right if forward else left < right
    condition: Any = sa.false()
    for s, v in reversed(list(zip(sorts, values, strict=True))):
        column = s.column
        if v is None:
            beyond = column.is_not(None) if before else sa.false()
            equal = column.is_(None)
        else:
            ahead = (column < v) if s.descending != before else (column > v)
            if s.nullable and not before:
                ahead = sa.or_(ahead, column.is_(None))
            beyond, equal = ahead, column == v
        condition = sa.or_(beyond, sa.and_(equal, condition))
    return condition


@dataclass(frozen=True)
class Parent:
    """How rows of a listed model attach to a parent key.

    `column`: the rows' own column equals the parent id (a foreign key). `within`: the rows
    lie in the subtree of a parent row of that model (`path <@ parent.path`), `strict`
    excluding the parent itself.
    """

    column: Any = None
    within: Any = None
    strict: bool = False

    def key_and_joins(self, model: Any) -> tuple[Any, list[tuple[Any, Any]]]:
        if self.column is not None:
            return self.column, []
        node = aliased(self.within, name="parent_node")
        onclause = model.path.op("<@")(node.path)
        if self.strict:
            onclause = sa.and_(onclause, model.id != node.id)
        return node.id, [(node, onclause)]


@dataclass(frozen=True, eq=False)
class Listing(Generic[T]):
    """A list of `model` rows per parent (or the one top-level list when `parent` is None).

    Compared by identity: a listing is declared once, in the resolvers of its domain, and
    is the key of its loaders.
    """

    name: str
    model: type[T]
    parent: Parent | None = None
    joins: tuple[tuple[Any, Any], ...] = field(default_factory=tuple)


def page_statement(
    listing: Listing[Any],
    parents: Sequence[Hashable],
    args: PageArgs,
    where: Sequence[Any],
    ordering: Ordering,
) -> sa.Select[Any]:
    model = listing.model
    conditions = list(where)
    joins = list(listing.joins)
    key: Any = None
    if listing.parent is not None:
        key, parent_joins = listing.parent.key_and_joins(model)
        joins.extend(parent_joins)
        conditions.append(key.in_(list(parents)))
    for cursor, before in ((args.after, False), (args.before, True)):
        if cursor is not None:
            values = decode_cursor(cursor, ordering, "before" if before else "after")
            conditions.append(_after(ordering, values, before=before))
    order = ordering.order_by(reverse=args.backwards)
    if key is None:
        stmt = sa.select(model)
        for target, onclause in joins:
            stmt = stmt.join(target, onclause)
        return stmt.where(*conditions).order_by(*order).limit(args.fetch)
    rank = sa.func.row_number().over(partition_by=key, order_by=order)
    inner = sa.select(model, key.label("_key"), rank.label("_rn"))
    for target, onclause in joins:
        inner = inner.join(target, onclause)
    sub = inner.where(*conditions).subquery("paged")
    row = aliased(model, sub)
    return sa.select(row, sub.c._key).where(sub.c._rn <= args.fetch).order_by(sub.c._key, sub.c._rn)


def count_statement(
    listing: Listing[Any], parents: Sequence[Hashable], where: Sequence[Any]
) -> sa.Select[Any]:
    model = listing.model
    conditions = list(where)
    joins = list(listing.joins)
    if listing.parent is None:
        stmt: sa.Select[Any] = cast(
            "sa.Select[Any]", sa.select(sa.literal(None), sa.func.count()).select_from(model)
        )
        for target, onclause in joins:
            stmt = stmt.join(target, onclause)
        return stmt.where(*conditions)
    key, parent_joins = listing.parent.key_and_joins(model)
    joins.extend(parent_joins)
    stmt = cast("sa.Select[Any]", sa.select(key, sa.func.count()).select_from(model))
    for target, onclause in joins:
        stmt = stmt.join(target, onclause)
    return stmt.where(*conditions, key.in_(list(parents))).group_by(key)


def make_page(
    rows: list[Any], args: PageArgs, ordering: Ordering, total: Callable[[], Awaitable[int]]
) -> Page[Any]:
    """One parent's rows as read (page size + 1, reversed when reading backwards).

    Beyond a cursor there is at least the cursor's own row: `before` means a next page,
    `after` a previous one, as the Relay specification allows.
    """
    size = args.fetch - 1
    more = len(rows) > size
    rows = rows[:size]
    if args.backwards:
        rows.reverse()
        has_previous = more or args.after is not None
        has_next = args.before is not None
    else:
        has_next = more or args.before is not None
        has_previous = args.after is not None
        if args.last is not None and len(rows) > args.last:
            rows = rows[len(rows) - args.last :]
            has_previous = True
    cursors = [encode_cursor(ordering, ordering.values(row)) for row in rows]
    return Page(rows, cursors, has_next, has_previous, total)
