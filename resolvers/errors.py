"""Business errors with stable codes: the codes every domain shares here, each domain's own
codes in its module; the schema turns them into the domain's error type or a GraphQL error.

`DomainError.field` names the argument at fault as the business function calls it (its
python name); the schema layer maps it to the GraphQL name of the input field, so names
cannot drift from the input types.
"""

from __future__ import annotations

import enum


class Common(enum.StrEnum):
    """Codes any operation can answer."""

    NOT_FOUND = "NOT_FOUND"
    VALIDATION = "VALIDATION"
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    RATE_LIMITED = "RATE_LIMITED"


class DomainError(Exception):
    """A refusal the caller can act on: a stable `code`, the argument at fault, a message."""

    def __init__(self, code: enum.StrEnum, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def not_found(what: str, field: str | None = None) -> DomainError:
    return DomainError(Common.NOT_FOUND, f"{what} not found", field)


def invalid(message: str, field: str | None = None) -> DomainError:
    return DomainError(Common.VALIDATION, message, field)
