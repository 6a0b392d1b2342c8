"""Relay plumbing: the `Node` interface, opaque global IDs and generic cursor connections."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Generic, TypeVar

import strawberry

from resolvers.errors import invalid, not_found
from resolvers.pagination import Page

NodeT = TypeVar("NodeT")
MAX_ID = 2**63 - 1  # bigint
_DIGITS = re.compile(r"[0-9]{1,19}")


def to_global_id(type_name: str, ident: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{ident}".encode()).decode())


def from_global_id(global_id: str, field: str = "id") -> tuple[str, int]:
    """Decode an ID; a malformed one is a VALIDATION error, never a crash."""
    refusal = invalid(f"`{field}` is not a valid ID", field)
    try:
        type_name, _, raw = base64.urlsafe_b64decode(global_id.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise refusal from exc
    if not _DIGITS.fullmatch(raw) or not 0 < int(raw) <= MAX_ID:
        raise refusal
    return type_name, int(raw)


def expect_id(global_id: str, type_name: str, field: str = "id") -> int:
    """The database id inside a global ID of the expected type (another type: NOT_FOUND,
    exactly like an id that names nothing)."""
    found_type, ident = from_global_id(global_id, field)
    if found_type != type_name:
        raise not_found(type_name, field)
    return ident


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type(
    description="A page of a stable ordering. Cursors hold the position in that ordering, "
    "so rows added or removed meanwhile never make the next page repeat or skip a row."
)
class Connection(Generic[NodeT]):
    page: strawberry.Private[Page[Any]]

    @strawberry.field(description="How many rows the whole list holds (counted when asked).")
    async def total_count(self) -> int:
        return await self.page.total()

    @strawberry.field
    def edges(self) -> list[Edge[NodeT]]:
        return [
            Edge(cursor=cursor, node=row)
            for row, cursor in zip(self.page.rows, self.page.cursors, strict=True)
        ]

    @strawberry.field
    def page_info(self) -> PageInfo:
        cursors = self.page.cursors
        return PageInfo(
            has_next_page=self.page.has_next,
            has_previous_page=self.page.has_previous,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        )

    @strawberry.field(description="The nodes of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[NodeT]:
        rows: list[NodeT] = self.page.rows
        return rows


def connection(page: Page[Any]) -> Connection[Any]:
    return Connection(page=page)
