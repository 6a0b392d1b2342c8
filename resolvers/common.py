"""Helpers every domain's business functions share: reading a row or refusing, cleaning
free text and references, flushing with a clean refusal on a unique violation."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from resolvers.errors import DomainError, invalid, not_found

M = TypeVar("M")

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,255}$")
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TOP_LABEL = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
MAX_PHOTOS: Final = 9
MAX_URL: Final = 500


async def get_row(session: AsyncSession, model: type[M], ident: int, what: str, field: str) -> M:
    """The row (whatever the caller may see: permissions were decided before), or NOT_FOUND."""
    row: M | None = await session.get(model, ident)
    if row is None:
        raise not_found(what, field)
    return row


async def flush_or_refuse(
    session: AsyncSession,
    *,
    duplicate: DomainError,
    adding: SQLModel | None = None,
    changing: Callable[[], None] | None = None,
) -> None:
    """Flush inside a savepoint so a unique violation refuses cleanly instead of poisoning.
    A new row is passed as `adding` and a change that may collide as `changing`, not made
    before: beginning a savepoint flushes what is pending first, outside it, where a
    violation would fail the whole transaction."""
    try:
        async with session.begin_nested():
            if adding is not None:
                session.add(adding)
            if changing is not None:
                changing()
            await session.flush()
    except IntegrityError as exc:
        raise duplicate from exc


async def refresh_path(session: AsyncSession, row: SQLModel) -> None:
    """Read back the ltree path the BEFORE INSERT trigger filled in."""
    await session.refresh(row, ["path"])


def clean_text(value: str, field: str, *, max_length: int = 100) -> str:
    value = value.strip()
    if any(ch < " " and ch not in "\n\t" for ch in value):
        raise invalid(f"`{field}` contains control characters", field)
    if not value:
        raise invalid(f"`{field}` must not be blank", field)
    if len(value) > max_length:
        raise invalid(f"`{field}` is longer than {max_length} characters", field)
    return value


def clean_note(value: str | None, field: str = "note", *, max_length: int = 1000) -> str | None:
    """Optional free text: blank means none."""
    if value is None or not value.strip():
        return None
    return clean_text(value, field, max_length=max_length)


def is_public_url(value: str) -> bool:
    """An http(s) URL anyone can open: a real host (a domain name with a top-level label,
    or a public IP address), no credentials, no whitespace or control characters."""
    if len(value) > MAX_URL or not value.isprintable() or "\\" in value:
        return False
    if any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # refuses ports that are not numbers in range
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or "@" in parts.netloc:
        return False
    host = parts.hostname or ""
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        labels = host.split(".")
        return (
            len(host) <= 253
            and len(labels) >= 2
            and all(_HOST_LABEL.match(label) for label in labels)
            and bool(_TOP_LABEL.match(labels[-1]))
        )


def is_object_key(value: str) -> bool:
    """A key of a stored object ('petitions/2024/a.jpg'): no traversal, no empty segments."""
    return bool(_KEY.match(value)) and ".." not in value and "//" not in value


def clean_references(values: Iterable[str], field: str, *, limit: int = MAX_PHOTOS) -> list[str]:
    """Photos or other evidence: public http(s) URLs or keys of stored objects. A refusal
    never repeats the value (a URL can carry credentials)."""
    cleaned = [v.strip() for v in values]
    if len(cleaned) > limit:
        raise invalid(f"at most {limit} items in `{field}`", field)
    for position, value in enumerate(cleaned, start=1):
        if not (is_public_url(value) or is_object_key(value)):
            raise invalid(
                f"item {position} of `{field}` is neither a public http(s) URL without "
                f"credentials (at most {MAX_URL} characters) nor a stored object key",
                field,
            )
    return cleaned


def clean_idempotency_key(value: str, field: str = "idempotency_key") -> str:
    value = value.strip()
    if not _IDEMPOTENCY_KEY.match(value):
        raise invalid(f"`{field}` must be 8-128 letters, digits or ._:- (a UUID will do)", field)
    return value


def first_of(rows: list[Any]) -> Any | None:
    return rows[0] if rows else None
