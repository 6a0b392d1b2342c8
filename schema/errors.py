"""`UserError` for mutation payloads, and the shaping of GraphQL-level errors."""

from __future__ import annotations

import logging
import re
import traceback

import strawberry
from graphql import GraphQLError

from resolvers.errors import DomainError, ErrorCode

log = logging.getLogger(__name__)


INTERNAL = "INTERNAL_SERVER_ERROR"


@strawberry.type(description="Why a mutation refused its input; `field` names the input at fault.")
class UserError:
    code: ErrorCode
    field: str | None
    message: str

    @classmethod
    def of(cls, error: DomainError) -> UserError:
        return cls(code=error.code, field=error.field, message=error.message)


_INPUT_VALUE = re.compile(
    r"(got invalid value |non [a-z ]+ value: |Expected value of type [^,]+, found ).*?(?=;|$)"
)
_LONG_NUMBER = re.compile(r"\d{6,}")


def redact(message: str) -> str:
    """Strip input values (an ID number sent as a JSON number ...) from an error message."""
    return _LONG_NUMBER.sub("<redacted>", _INPUT_VALUE.sub(r"\1<redacted>", message))


def public_error(error: GraphQLError, request_id: str) -> GraphQLError:
    """Every error leaves with `extensions.code` and `requestId`; unexpected ones are masked."""
    original = error.original_error
    extensions = dict(error.extensions or {})
    message = error.message
    if isinstance(original, DomainError):
        extensions["code"] = original.code.value
        if original.field:
            extensions["field"] = original.field
    elif original is None or isinstance(original, GraphQLError):
        extensions.setdefault("code", "GRAPHQL_VALIDATION_FAILED")
        message = redact(message)
    else:
        log.error(  # the frames, not the message: messages can carry personal data
            "unexpected %s in request %s at %s\n%s",
            type(original).__name__,
            request_id,
            ".".join(str(p) for p in error.path or ()),
            "".join(traceback.format_tb(original.__traceback__)),
        )
        message = f"Internal server error (request {request_id})"
        extensions = {"code": INTERNAL}
    extensions["requestId"] = request_id
    return GraphQLError(message, nodes=error.nodes, path=error.path, extensions=extensions)
