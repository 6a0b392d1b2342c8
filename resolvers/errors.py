"""Business errors with stable codes; the schema turns them into `UserError`s or GraphQL errors."""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    NOT_FOUND = "NOT_FOUND"
    VALIDATION = "VALIDATION"
    INVALID_PARENT_KIND = "INVALID_PARENT_KIND"
    DUPLICATE_CODE = "DUPLICATE_CODE"
    DUPLICATE = "DUPLICATE"
    POSITION_CONFLICT = "POSITION_CONFLICT"
    NOT_EMPTY = "NOT_EMPTY"
    RETIRED = "RETIRED"
    ALREADY_ENDED = "ALREADY_ENDED"
    CYCLE = "CYCLE"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    RATE_LIMITED = "RATE_LIMITED"
    FORBIDDEN = "FORBIDDEN"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    ALREADY_RATED = "ALREADY_RATED"
    ALREADY_CLAIMED = "ALREADY_CLAIMED"


class DomainError(Exception):
    """A refusal the caller can act on: stable `code`, the input `field` at fault, a message."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def not_found(what: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"{what} not found", field)
