"""Per-request dataloaders: every relationship is fetched in batches, scoped to the actor.

A loader is built lazily per (model, relation) and lives as long as the request,
so the number of SQL statements grows with query depth, never with result size.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Coroutine, Hashable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.pagination import Page, PageArgs, split_pages, windowed_pages

M = TypeVar("M")

#: Row-scope conditions for a table, supplied by the caller (the permission layer).
ScopeFn = Callable[[Any], list[Any]]

#: Turns a hashable filter key (built by a resolver from its arguments) into SQL conditions.
FilterFn = Callable[[Hashable], Sequence[Any]]
OrderFn = Callable[[Hashable], Sequence[Any]]


def no_filter(_: Hashable) -> Sequence[Any]:
    return ()


class Loaders:
    """The request's loaders. Resolvers ask for one by name; the first ask builds it."""

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
        self._loaders: dict[Hashable, DataLoader[Any, Any]] = {}

    def _get(
        self, name: Hashable, factory: Callable[[], DataLoader[Any, Any]]
    ) -> DataLoader[Any, Any]:
        loader = self._loaders.get(name)
        if loader is None:
            loader = self._loaders[name] = factory()
        return loader

    def scoped(self, model: Any) -> list[Any]:
        return self.scope(model)

    async def fetch(self, stmt: sa.Select[Any]) -> Sequence[Any]:
        rows: Sequence[Any] = (await self.execute(stmt)).all()
        return rows

    async def execute(self, stmt: Any) -> Any:
        async with self._turn:
            return await self.session.execute(stmt)

    # by primary key -------------------------------------------------------
    def by_id(self, model: type[M]) -> DataLoader[Any, Any]:
        async def load(ids: list[int]) -> list[M | None]:
            key = sa.inspect(model).primary_key[0]
            stmt = sa.select(model).where(key.in_(ids), *self.scoped(model))
            rows = (await self.execute(stmt)).scalars()
            found = {sa.inspect(row).identity[0]: row for row in rows}
            return [found.get(i) for i in ids]

        return self._get(("by_id", model), lambda: DataLoader(load))

    async def get(self, model: type[M], ident: int | None) -> M | None:
        if ident is None:
            return None
        result: M | None = await self.by_id(model).load(ident)
        return result

    async def get_many(self, model: type[M], idents: Sequence[int]) -> list[M | None]:
        result: list[M | None] = await self.by_id(model).load_many(list(idents))
        return result

    # small lists: every row of a parent ------------------------------------
    def group(
        self,
        name: str,
        model: Any,
        column: Any,
        *,
        where: FilterFn = no_filter,
        order_by: OrderFn | None = None,
    ) -> DataLoader[Any, Any]:
        """Rows whose `column` equals the key; the key is `(value, filter_key)`."""

        async def load(keys: list[tuple[Hashable, Hashable]]) -> list[list[Any]]:
            by_filter: dict[Hashable, set[Hashable]] = defaultdict(set)
            for value, fkey in keys:
                by_filter[fkey].add(value)
            found: dict[tuple[Hashable, Hashable], list[Any]] = defaultdict(list)
            for fkey, values in by_filter.items():
                order = order_by(fkey) if order_by else (model.id,)
                stmt = (
                    sa.select(model)
                    .where(column.in_(list(values)), *where(fkey), *self.scoped(model))
                    .order_by(*order)
                )
                for row in (await self.execute(stmt)).scalars():
                    found[(getattr(row, column.key), fkey)].append(row)
            return [found.get(key, []) for key in keys]

        return self._get(("group", name), lambda: DataLoader(load))

    # connections --------------------------------------------------------------
    def pages(
        self,
        name: str,
        model: Any,
        *,
        partition: Any | None,
        order_by: OrderFn,
        where: FilterFn = no_filter,
        joins: Callable[[], Sequence[tuple[Any, Any]]] = tuple,
    ) -> DataLoader[Any, Any]:
        """Pages of `model` per parent; the key is `(parent, PageArgs, filter_key)`."""

        async def load(keys: list[tuple[Hashable, PageArgs, Hashable]]) -> list[Page[Any]]:
            grouped: dict[tuple[PageArgs, Hashable], list[Hashable]] = defaultdict(list)
            for parent, args, fkey in keys:
                parents = grouped[(args, fkey)]
                if parent not in parents:
                    parents.append(parent)
            result: dict[tuple[Hashable, PageArgs, Hashable], Page[Any]] = {}
            for (args, fkey), parents in grouped.items():
                stmt = windowed_pages(
                    model,
                    where=[*where(fkey), *self.scoped(model)],
                    order_by=order_by(fkey),
                    partition=partition,
                    keys=parents,
                    args=args,
                    joins=joins(),
                )
                rows = await self.fetch(stmt)
                for parent, page in zip(parents, split_pages(rows, parents, args), strict=True):
                    result[(parent, args, fkey)] = page
            return [result[key] for key in keys]

        return self._get(("pages", name), lambda: DataLoader(load))

    # anything else batched by key ---------------------------------------------
    def custom(
        self, name: str, batch: Callable[[list[Any]], Coroutine[Any, Any, list[Any]]]
    ) -> DataLoader[Any, Any]:
        return self._get(("custom", name), lambda: DataLoader(batch))
