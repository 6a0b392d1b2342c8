"""Each domain's error type for mutation payloads, and the shaping of GraphQL-level errors."""

from __future__ import annotations

import enum
import logging
import re
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy import exc as sa_exc
from strawberry.utils.str_converters import to_camel_case

from models.config import get_settings
from resolvers.errors import Common, DomainError

log = logging.getLogger(__name__)

E = TypeVar("E", bound="UserError")


INTERNAL = "INTERNAL_SERVER_ERROR"


class RequestCode(enum.StrEnum):
    """Codes of refusals before execution and of failures outside the resolvers."""

    BAD_REQUEST = "BAD_REQUEST"
    BODY_TOO_LARGE = "BODY_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE"
    TOKEN_LIMIT = "TOKEN_LIMIT"  # noqa: S105  (a limit on lexical tokens, not a secret)
    DEPTH_LIMIT = "DEPTH_LIMIT"
    ALIAS_LIMIT = "ALIAS_LIMIT"
    DIRECTIVE_LIMIT = "DIRECTIVE_LIMIT"
    COST_LIMIT = "COST_LIMIT"
    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    VALIDATION = Common.VALIDATION.value
    UNAUTHENTICATED = "UNAUTHENTICATED"
    TIMEOUT = "TIMEOUT"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_SERVER_ERROR = INTERNAL


def request_error(code: RequestCode, message: str, *, field: str | None = None) -> GraphQLError:
    extensions: dict[str, object] = {"code": code.value}
    if field is not None:
        extensions["field"] = field
    return GraphQLError(message, extensions=extensions)


def located(error: GraphQLError, code: RequestCode, *, field: str | None = None) -> GraphQLError:
    """A graphql-core error (syntax, validation, coercion) with our code, input values
    redacted, its locations kept."""
    extensions: dict[str, object] = {**(error.extensions or {}), "code": code.value}
    if field is not None:
        extensions["field"] = field
    return GraphQLError(
        redact(error.message),
        source=error.source,
        positions=error.positions,
        extensions=extensions,
    )


class Refused(Exception):  # noqa: N818  (a refusal is not a failure of ours)
    """A request answered with errors only. `status` is fixed for malformed HTTP requests,
    credential and availability failures; None for GraphQL request errors, whose status
    depends on the media type (200 for application/json, 400 for graphql-response+json)."""

    def __init__(
        self,
        errors: list[GraphQLError],
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(errors[0].message if errors else "refused")
        self.errors = errors
        self.status = status
        self.headers = dict(headers or {})
        #: the measured cost, when the refusal came after measuring
        self.cost: dict[str, int] | None = None


def refuse(
    code: RequestCode,
    message: str,
    *,
    status: int | None = None,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Refused:
    return Refused([request_error(code, message, field=field)], status, headers)


#: SQLSTATEs of a database that is gone, shutting down, starting or full.
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03", "53300"})
_UNAVAILABLE_CLASSES = ("08",)  # connection exceptions
STATEMENT_TIMEOUT = "57014"  # query_canceled: statement_timeout (or a cancel request)
IN_FAILED_TRANSACTION = "25P02"


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend([current.__cause__, current.__context__, getattr(current, "orig", None)])


def sqlstate(error: BaseException) -> str | None:
    for link in _chain(error):
        state = getattr(link, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def database_unavailable(error: BaseException) -> bool:
    """Whether an exception means the database cannot be reached now (not a bug of ours)."""
    for link in _chain(error):
        if isinstance(link, sa_exc.DBAPIError) and link.connection_invalidated:
            return True
        if isinstance(link, OSError | TimeoutError | sa_exc.TimeoutError):
            return True
        if type(link).__name__ in {"ConnectionDoesNotExistError", "CannotConnectNowError"}:
            return True
        state = getattr(link, "sqlstate", None)
        if isinstance(state, str) and (
            state in _UNAVAILABLE_STATES or state.startswith(_UNAVAILABLE_CLASSES)
        ):
            return True
    return False


#: How long a client should wait before retrying while the database is unavailable.
RETRY_AFTER_SECONDS = 5


def unavailable(request_id: str, error: BaseException) -> Refused:
    """503 with Retry-After, logged as one line (no traceback: this is an outage)."""
    log.warning("request %s: database unavailable (%s)", request_id, type(error).__name__)
    return refuse(
        RequestCode.SERVICE_UNAVAILABLE,
        "the database is unavailable; retry later",
        status=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


@dataclass
class UserError:
    """Why a mutation refused its input: the shape of every domain's error type."""

    code: enum.StrEnum
    field: str | None
    message: str

    codes: ClassVar[type[enum.StrEnum]]

    @classmethod
    def of(cls, error: DomainError, field: str | None, message: str) -> UserError:
        """`error` with its field and message as the input type names them."""
        known = {member.value: member for member in cls.codes}
        code = known.get(error.code.value)
        if code is None:
            if get_settings().strict:
                raise AssertionError(f"{cls.__name__} has no code {error.code}")
            log.error("%s has no code %s", cls.__name__, error.code)
            code = known[Common.VALIDATION.value]
        return cls(code=code, field=field, message=message)


def domain_error(*domains: type[enum.StrEnum]) -> Callable[[type[E]], type[E]]:
    """Make a subclass of `UserError` a domain's error type, its codes the enum
    `<name>Code`: the common codes plus the domain's own (`domains`), each once; its
    docstring is its description."""

    def declare(cls: type[E]) -> type[E]:
        members: dict[str, str] = {}
        families: tuple[type[enum.StrEnum], ...] = (Common, *domains)
        for codes in families:
            for member in codes:
                members.setdefault(member.name, member.value)
        name = cls.__name__
        code_enum = enum.StrEnum(f"{name}Code", members)  # type: ignore[misc]
        strawberry.enum(code_enum, name=f"{name}Code", description=f"Stable codes of {name}.")
        cls.codes = code_enum
        cls.__annotations__ = {"code": code_enum, "field": str | None, "message": str}
        return strawberry.type(cls, name=name, description=cls.__doc__)

    return declare


_INPUT_VALUE = re.compile(
    r"(got invalid value |non [a-z ]+ value: |Expected value of type [^,]+, found ).*?(?=;|$)"
)
_NAMED = re.compile(r"`([a-z][a-z0-9_]*)`")


def graphql_names(message: str, names: Mapping[str, str]) -> str:
    """A business message speaks of arguments by their python names: say the GraphQL ones."""
    return _NAMED.sub(lambda m: f"`{names.get(m.group(1), to_camel_case(m.group(1)))}`", message)


_LONG_NUMBER = re.compile(r"\d{6,}")


def redact(message: str) -> str:
    """Strip input values (an ID number sent as a JSON number ...) from an error message."""
    return _LONG_NUMBER.sub("<redacted>", _INPUT_VALUE.sub(r"\1<redacted>", message))


def public_errors(errors: list[GraphQLError], request_id: str) -> list[GraphQLError]:
    """Shape a result's errors. A statement that ran over the timeout aborts the request's
    transaction, so the statements after it fail too: those report the timeout as well."""
    causes = [e.original_error for e in errors if e.original_error is not None]
    timed_out = any(sqlstate(cause) == STATEMENT_TIMEOUT for cause in causes)
    gone = next((cause for cause in causes if database_unavailable(cause)), None)
    if gone is not None:  # one line per request, however many fields it broke
        log.warning("request %s: database unavailable (%s)", request_id, type(gone).__name__)
    if timed_out:
        log.warning("request %s: statement timeout", request_id)
    return [public_error(e, request_id, timed_out=timed_out) for e in errors]


def public_error(error: GraphQLError, request_id: str, *, timed_out: bool = False) -> GraphQLError:
    """Every error leaves with `extensions.code` and `requestId`; unexpected ones are masked
    (and logged with their frames); outages and timeouts are logged by `public_errors`."""
    original = error.original_error
    extensions = dict(error.extensions or {})
    message = error.message
    state = sqlstate(original) if original is not None else None
    if original is not None and database_unavailable(original):
        message = "the database is unavailable; retry later"
        extensions = {"code": RequestCode.SERVICE_UNAVAILABLE.value}
    elif state == STATEMENT_TIMEOUT or (timed_out and state == IN_FAILED_TRANSACTION):
        message = "the request ran longer than the statement timeout allows"
        extensions = {"code": RequestCode.TIMEOUT.value}
    elif isinstance(original, DomainError):
        extensions["code"] = original.code.value
        message = graphql_names(message, {})
        if original.field:
            extensions["field"] = to_camel_case(original.field)
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
