"""Cursor pagination for many parents in one statement.

Every connection, top-level or nested under a list, runs as one windowed query:
`row_number()` and `count(*)` over a partition per parent, so a page of
buildings for 500 grids is one SQL statement, not 500. Cursors are opaque
offsets into the stable ordering (sort key, then id).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from resolvers.errors import DomainError, ErrorCode

T = TypeVar("T")

MAX_PAGE = 100
DEFAULT_PAGE = 20
_PREFIX = "cursor:"
_POSITION = re.compile(r"[0-9]{1,12}")


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{position}".encode()).decode()


def decode_cursor(cursor: str, field: str) -> int:
    invalid = DomainError(ErrorCode.VALIDATION, f"`{field}` is not a valid cursor", field)
    try:
        raw = base64.urlsafe_b64decode(cursor.encode()).decode()
    except ValueError as exc:
        raise invalid from exc
    number = raw.removeprefix(_PREFIX)
    if number == raw or not _POSITION.fullmatch(number) or int(number) < 1:
        raise invalid
    return int(number)


@dataclass(frozen=True)
class PageArgs:
    """Validated Relay arguments; hashable so loaders can group requests that share them."""

    first: int | None = None
    after: int | None = None
    last: int | None = None
    before: int | None = None

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
                raise DomainError(
                    ErrorCode.VALIDATION, f"`{name}` must be between 0 and {MAX_PAGE}", name
                )
        if first is None and last is None:
            first = DEFAULT_PAGE
        return cls(
            first=first,
            after=decode_cursor(after, "after") if after else None,
            last=last,
            before=decode_cursor(before, "before") if before else None,
        )

    def bounds(self, total: int) -> tuple[int, int]:
        """Inclusive 1-based positions [lo, hi] of the page (hi < lo means empty)."""
        lo = (self.after or 0) + 1
        hi = min(total, (self.before or total + 1) - 1)
        if self.first is not None:
            hi = min(hi, lo + self.first - 1)
        if self.last is not None:
            lo = max(lo, hi - self.last + 1)
        return lo, hi


@dataclass
class Page(Generic[T]):
    rows: list[T]
    total: int
    start: int  # position of rows[0] in the full ordering (1-based)
    has_next: bool
    has_previous: bool

    @classmethod
    def empty(cls) -> Page[T]:
        return cls(rows=[], total=0, start=1, has_next=False, has_previous=False)


def windowed_pages(
    model: Any,
    *,
    where: Sequence[Any],
    order_by: Sequence[Any],
    partition: Any | None,
    keys: Sequence[Hashable],
    args: PageArgs,
    joins: Sequence[tuple[Any, Any]] = (),
) -> sa.Select[Any]:
    """One SELECT giving, per partition key, the rows of the page plus the partition's first row.

    `partition` is the expression naming a row's parent (a foreign key, or the id of
    an ancestor joined through `joins`); the first row always comes back so that
    `total` is known even for an empty page.
    """
    part = [partition] if partition is not None else None
    rn = sa.func.row_number().over(partition_by=part, order_by=list(order_by))
    total = sa.func.count().over(partition_by=part)
    key = partition if partition is not None else sa.literal(None)
    inner_select = sa.select(model, key.label("_key"), rn.label("_rn"), total.label("_total"))
    for target, onclause in joins:
        inner_select = inner_select.join(target, onclause)
    conditions = list(where)
    if partition is not None:
        conditions.append(partition.in_(list(keys)))
    inner = inner_select.where(*conditions).subquery("paged")
    row = aliased(model, inner)
    lo: Any = (args.after or 0) + 1
    hi: Any = inner.c._total if args.before is None else sa.literal(args.before - 1)
    if args.first is not None:
        hi = sa.func.least(hi, lo + args.first - 1)
    if args.last is not None:
        lo = sa.func.greatest(lo, hi - args.last + 1)
    return (
        sa.select(row, inner.c._key, inner.c._rn, inner.c._total)
        .where(sa.or_(inner.c._rn.between(lo, hi), inner.c._rn == 1))
        .order_by(inner.c._key, inner.c._rn)
    )


def split_pages(
    result_rows: Sequence[Any], keys: Sequence[Hashable], args: PageArgs
) -> list[Page[Any]]:
    """Turn the rows of `windowed_pages` into one `Page` per key, in key order."""
    collected: dict[Hashable, list[tuple[int, Any]]] = {}
    totals: dict[Hashable, int] = {}
    for obj, key, position, total in result_rows:
        collected.setdefault(key, []).append((position, obj))
        totals[key] = total
    pages: list[Page[Any]] = []
    for key in keys:
        total = totals.get(key, 0)
        if not total:
            pages.append(Page.empty())
            continue
        lo, hi = args.bounds(total)
        rows = [obj for position, obj in collected[key] if lo <= position <= hi]
        pages.append(
            Page(rows=rows, total=total, start=lo, has_next=hi < total, has_previous=lo > 1)
        )
    return pages
