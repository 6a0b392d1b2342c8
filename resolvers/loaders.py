"""Per-request dataloaders: every relationship is fetched in batches, scoped to the actor.

Loaders are keyed by the spec objects that describe them (a model, a `Children` or a
`Listing` declared once in its domain's resolvers), typed by the rows they return, built on
first use and kept for the request, so the number of SQL statements grows with the depth of
a query, never with the size of its result.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.pagination import (
    Filter,
    Listing,
    Ordering,
    Page,
    PageArgs,
    count_statement,
    make_page,
    page_statement,
)

M = TypeVar("M")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: Row-scope conditions for a table, supplied by the permission layer.
ScopeFn = Callable[[Any], list[Any]]


@dataclass(frozen=True, eq=False)
class Children(Generic[M]):
    """The small, unpaginated list of `model` rows whose `column` holds a parent's id."""

    model: type[M]
    column: Any
    ordering: Ordering
    where: tuple[Any, ...] = field(default_factory=tuple)


class Batch(Generic[K, V]):
    """A typed face for one aiodataloader: keys of one kind in, values of one kind out."""

    def __init__(self, load: Callable[[list[K]], Coroutine[Any, Any, list[V]]]) -> None:
        self._loader: Any = DataLoader(load)

    async def load(self, key: K) -> V:
        value: V = await self._loader.load(key)
        return value

    async def load_many(self, keys: Sequence[K]) -> list[V]:
        values: list[V] = await self._loader.load_many(list(keys))
        return values


class Loaders:
    """The request's loaders, each built on first use."""

    def __init__(
        self, session: AsyncSession, scope: ScopeFn, count_scope: ScopeFn | None = None
    ) -> None:
        self.session = session
        self.scope = scope
        #: rows that may be counted in aggregates (wider than `scope` for display tokens)
        self.count_scope = count_scope or scope
        # Sibling fields resolve concurrently, but one AsyncSession runs one statement at a
        # time: every loader's SQL goes through `execute`, which takes turns.
        self._turn = asyncio.Lock()
        self._batches: dict[tuple[str, object], Batch[Any, Any]] = {}

    def batch(
        self, kind: str, spec: object, load: Callable[[list[K]], Coroutine[Any, Any, list[V]]]
    ) -> Batch[K, V]:
        """The request's batch for (`kind`, `spec`), made from `load` on first use."""
        key = (kind, spec)
        found = self._batches.get(key)
        if found is None:
            found = self._batches[key] = Batch(load)
        return found

    async def execute(self, stmt: Any) -> Any:
        async with self._turn:
            return await self.session.execute(stmt)

    async def fetch(self, stmt: sa.Executable) -> Sequence[Any]:
        rows: Sequence[Any] = (await self.execute(stmt)).all()
        return rows

    # by primary key ---------------------------------------------------------------------
    def _by_id(self, model: type[M]) -> Batch[int, M | None]:
        async def load(ids: list[int]) -> list[M | None]:
            key: Any = sa.inspect(model).primary_key[0]
            stmt = sa.select(model).where(key.in_(ids), *self.scope(model))
            found = {row.id: row for row in (await self.execute(stmt)).scalars()}
            return [found.get(i) for i in ids]

        return self.batch("id", model, load)

    async def get(self, model: type[M], ident: int | None) -> M | None:
        """The row, or None when absent or outside the actor's scope (they look the same)."""
        if ident is None:
            return None
        return await self._by_id(model).load(ident)

    async def get_many(self, model: type[M], idents: Sequence[int]) -> list[M | None]:
        return await self._by_id(model).load_many(idents)

    # small lists --------------------------------------------------------------------------
    async def children(
        self, spec: Children[M], parent: Hashable, f: Filter | None = None
    ) -> list[M]:
        async def load(keys: list[tuple[Hashable, Filter | None]]) -> list[list[M]]:
            by_filter: dict[Filter | None, set[Hashable]] = defaultdict(set)
            for value, fkey in keys:
                by_filter[fkey].add(value)
            found: dict[tuple[Hashable, Filter | None], list[M]] = defaultdict(list)
            for fkey, values in by_filter.items():
                stmt = (
                    sa.select(spec.model)
                    .where(
                        spec.column.in_(list(values)),
                        *spec.where,
                        *(fkey.conditions() if fkey is not None else ()),
                        *self.scope(spec.model),
                    )
                    .order_by(*spec.ordering.order_by())
                )
                for row in (await self.execute(stmt)).scalars():
                    found[(getattr(row, spec.column.key), fkey)].append(row)
            return [found.get(key, []) for key in keys]

        batch: Batch[tuple[Hashable, Filter | None], list[M]] = self.batch("children", spec, load)
        return await batch.load((parent, f))

    # connections --------------------------------------------------------------------------
    async def page(
        self, listing: Listing[M], parent: Hashable, args: PageArgs, f: Filter
    ) -> Page[M]:
        """One page of `listing` under `parent` (None for a top-level list)."""

        async def load(keys: list[tuple[Hashable, PageArgs, Filter]]) -> list[Page[M]]:
            grouped: dict[tuple[PageArgs, Filter], list[Hashable]] = defaultdict(list)
            for key_parent, key_args, fkey in keys:
                parents = grouped[(key_args, fkey)]
                if key_parent not in parents:
                    parents.append(key_parent)
            pages: dict[tuple[Hashable, PageArgs, Filter], Page[M]] = {}
            for (key_args, fkey), parents in grouped.items():
                ordering = fkey.ordering()
                stmt = page_statement(
                    listing,
                    parents,
                    key_args,
                    [*fkey.conditions(), *self.scope(listing.model)],
                    ordering,
                )
                rows = await self.fetch(stmt)
                collected: dict[Hashable, list[M]] = defaultdict(list)
                for row in rows:
                    collected[row[1] if listing.parent is not None else None].append(row[0])
                for p in parents:
                    pages[(p, key_args, fkey)] = make_page(
                        collected[p], key_args, ordering, self._counter(listing, p, fkey)
                    )
            return [pages[key] for key in keys]

        batch: Batch[tuple[Hashable, PageArgs, Filter], Page[M]] = self.batch("page", listing, load)
        return await batch.load((parent, args, f))

    def _counter(
        self, listing: Listing[Any], parent: Hashable, f: Filter
    ) -> Callable[[], Awaitable[int]]:
        async def total() -> int:
            return await self.count(listing, parent, f)

        return total

    async def count(self, listing: Listing[Any], parent: Hashable, f: Filter) -> int:
        """How many rows `listing` holds under `parent` (only asked when `totalCount` is)."""

        async def load(keys: list[tuple[Hashable, Filter]]) -> list[int]:
            by_filter: dict[Filter, list[Hashable]] = defaultdict(list)
            for key_parent, fkey in keys:
                if key_parent not in by_filter[fkey]:
                    by_filter[fkey].append(key_parent)
            totals: dict[tuple[Hashable, Filter], int] = {}
            for fkey, parents in by_filter.items():
                stmt = count_statement(
                    listing, parents, [*fkey.conditions(), *self.scope(listing.model)]
                )
                found = {key: int(n) for key, n in await self.fetch(stmt)}
                for p in parents:
                    totals[(p, fkey)] = found.get(p if listing.parent is not None else None, 0)
            return [totals[key] for key in keys]

        batch: Batch[tuple[Hashable, Filter], int] = self.batch("count", listing, load)
        return await batch.load((parent, f))
