"""Relay plumbing: the `Node` interface, opaque global IDs and generic cursor connections."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from resolvers.errors import DomainError, ErrorCode
from resolvers.pagination import Page, encode_cursor

NodeT = TypeVar("NodeT")
MAX_ID = 2**63 - 1  # bigint
_DIGITS = re.compile(r"[0-9]{1,19}")
RowT = TypeVar("RowT")


def to_global_id(type_name: str, ident: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{ident}".encode()).decode())


def from_global_id(global_id: str, field: str = "id") -> tuple[str, int]:
    """Decode an ID; a malformed one is a VALIDATION error, never a crash."""
    invalid = DomainError(ErrorCode.VALIDATION, f"`{field}` is not a valid ID", field)
    try:
        type_name, _, raw = base64.urlsafe_b64decode(global_id.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise invalid from exc
    if not _DIGITS.fullmatch(raw) or not 0 < int(raw) <= MAX_ID:
        raise invalid
    return type_name, int(raw)


def expect_id(global_id: str, type_name: str, field: str = "id") -> int:
    """The database id inside a global ID of the expected type."""
    found_type, ident = from_global_id(global_id, field)
    if found_type != type_name:
        raise DomainError(ErrorCode.NOT_FOUND, f"no {type_name} with this `{field}`", field)
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


@strawberry.type(description="A page of a stable ordering; `totalCount` counts the whole list.")
class Connection(Generic[NodeT]):
    total_count: int
    edges: list[Edge[NodeT]]
    page_info: PageInfo

    @strawberry.field(description="The nodes of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]


def connection(page: Page[Any], convert: Callable[[Any], Any]) -> Any:
    """Wrap a `Page` of rows into a `Connection` of schema objects."""
    edges = [
        Edge(cursor=encode_cursor(page.start + i), node=convert(row))
        for i, row in enumerate(page.rows)
    ]
    return Connection(
        total_count=page.total,
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
