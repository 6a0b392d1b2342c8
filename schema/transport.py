"""GraphQL over HTTP, as the GraphQL-over-HTTP specification (and its reference audit,
npm `graphql-http`) describes it.

A request is read, parsed once, measured against the limits and refused before any SQL
runs when it asks for too much; only then are its credentials looked up, the document
validated for that actor, its variables coerced and its argument values checked, and
the same parsed document executed.

Status codes: malformed HTTP requests 400, bad credentials 401, a method other than GET
and POST (or a mutation over GET) 405, an Accept header naming nothing we serve 406, the
database unreachable 503 with Retry-After. GraphQL request errors (parse, validation,
limits, variables) are 400 for `application/graphql-response+json` and 200 for
`application/json`, and carry no `data` entry. Every error has `extensions.code` and
`extensions.requestId`; every response to a measured operation has `extensions.cost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    VariableDefinitionNode,
    execute_sync,
    get_operation_ast,
    specified_rules,
    validate,
)
from graphql.execution.values import VariableValues, get_variable_values
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types.graphql import OperationType as StrawberryOperationType

from models.replicas import LSN, Databases
from ops.metrics import note, served_by
from permissions.actor import Actor, ActorKind
from permissions.limits import Limits, budget_kind
from resolvers.identity import AuthenticationError
from schema.arguments import check_arguments
from schema.auth import actor_for, scope_address
from schema.compiled import Answer, CompiledPath
from schema.context import AUDIT_UNAVAILABLE, Context
from schema.errors import (
    RETRY_AFTER_SECONDS,
    Refused,
    RequestCode,
    database_unavailable,
    located,
    public_errors,
    refuse,
    request_error,
    unavailable,
)
from schema.limits import (
    Tally,
    introspection_only,
    measure,
    parsed,
    refusals,
)
from schema.persisted import PersistedQueries
from schema.root import Schema
from schema.uploads import is_multipart, read_multipart

log = logging.getLogger(__name__)

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
ALLOWED_METHODS = "GET, POST"
VALIDATION_RULES = (*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule)


@dataclass(frozen=True)
class Params:
    """The GraphQL request parameters, already checked for their JSON types."""

    query: str
    variables: dict[str, Any]
    operation_name: str | None
    #: the APQ hash to remember the document under once it is accepted
    remember: str | None = None
    #: `extensions.consistency.lsn` as sent: the commit a query must see (read replicas)
    consistency: Any = None


@dataclass
class Outcome:
    """What the response says: a GraphQL response body and how to send it."""

    errors: list[GraphQLError]
    data: dict[str, Any] | None = None
    executed: bool = False
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    cost: dict[str, int] | None = None
    #: the `data` JSON as the compiled statement built it, sent as it is
    raw_data: bytes | None = None
    #: a mutation's commit position, for the client's next query (read replicas)
    consistency: str | None = None


def negotiate(accept: str | None) -> str:
    """The media type of the response: graphql-response+json when the client prefers it,
    application/json for `*/*`, `application/*`, no Accept header, or a preference for it."""
    if accept is None or not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        media = media.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        served = {
            GRAPHQL_RESPONSE: GRAPHQL_RESPONSE,
            JSON: JSON,
            "application/*": JSON,
            "*/*": JSON,
        }.get(media)
        if served is None:
            continue
        # Higher quality wins; at equal quality graphql-response+json wins.
        rank = (quality, 1 if served == GRAPHQL_RESPONSE else 0, served)
        if best is None or rank[:2] > best[:2]:
            best = rank
    if best is None:
        raise refuse(
            RequestCode.NOT_ACCEPTABLE,
            f"this endpoint answers {GRAPHQL_RESPONSE} or {JSON}",
            status=406,
        )
    return best[2]


def _json_depth(value: Any) -> int:
    """Nesting of a decoded JSON value, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in current.values())
        elif isinstance(current, list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in current)
    return deepest


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_json(raw: bytes | str, what: str, limits: Limits) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity, nested at most `max_json_depth` deep."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise refuse(RequestCode.BAD_REQUEST, f"{what} is not valid UTF-8", status=400) from None
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        value = None
        too_deep = True
    except ValueError:
        raise refuse(RequestCode.BAD_REQUEST, f"{what} is not valid JSON", status=400) from None
    else:
        too_deep = _json_depth(value) > limits.max_json_depth
    if too_deep:
        raise refuse(
            RequestCode.BAD_REQUEST,
            f"{what} is nested deeper than {limits.max_json_depth} levels",
            status=400,
        )
    return value


def params_from(data: Mapping[str, Any]) -> Params:
    """Check the request parameters' types; each wrong one is a 400 naming it."""

    def bad(message: str, field: str) -> Refused:
        return refuse(RequestCode.BAD_REQUEST, message, status=400, field=field)

    query = data.get("query")
    if query is None:
        raise bad("the request has no `query`", "query")
    if not isinstance(query, str) or not query.strip():
        raise bad("`query` must be a non-empty string", "query")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise bad("`variables` must be an object or null", "variables")
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise bad("`operationName` must be a string or null", "operationName")
    extensions = data.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise bad("`extensions` must be an object or null", "extensions")
    consistency = (extensions or {}).get("consistency")
    return Params(
        query=query,
        variables=variables or {},
        operation_name=operation_name,
        consistency=consistency.get("lsn") if isinstance(consistency, dict) else consistency,
    )


async def read_body(request: Request, limits: Limits) -> bytes:
    """The body, refused as soon as it is longer than the limit (never read whole first)."""
    declared = request.headers.get("content-length", "")
    too_large = refuse(
        RequestCode.BODY_TOO_LARGE,
        f"the body is larger than {limits.max_body_bytes} bytes",
        status=400,
    )
    if declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def check_content_type(value: str | None) -> None:
    media, _, params = (value or "").partition(";")
    if media.strip().lower() != JSON:
        raise refuse(
            RequestCode.UNSUPPORTED_MEDIA_TYPE,
            f"send the request as {JSON}",
            status=400,
        )
    for param in params.split(";"):
        key, _, charset = param.strip().partition("=")
        if key.strip().lower() == "charset" and charset.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise refuse(RequestCode.UNSUPPORTED_MEDIA_TYPE, "the body must be UTF-8", status=400)


async def read_params(
    request: Request, limits: Limits, persisted: PersistedQueries | None = None
) -> Params:
    data = await read_request(request, limits)
    # Persisted queries: a step before parsing (the hash becomes the document it names).
    remember = await persisted.resolve(data) if persisted is not None else None
    return dataclasses.replace(params_from(data), remember=remember)


async def read_request(request: Request, limits: Limits) -> dict[str, Any]:
    """The request parameters as sent: a GET's query string, a JSON body, or a multipart
    upload (`schema.uploads`)."""
    if request.method == "GET":
        query_params = request.query_params
        for name in ("query", "variables", "operationName", "extensions"):
            if len(query_params.getlist(name)) > 1:
                raise refuse(
                    RequestCode.BAD_REQUEST, f"`{name}` is given twice", status=400, field=name
                )
        data: dict[str, Any] = dict(query_params)
        for name in ("variables", "extensions"):
            if data.get(name):
                data[name] = decode_json(data[name], f"`{name}`", limits)
            else:
                data.pop(name, None)
        return data
    if is_multipart(request.headers.get("content-type")):
        return await read_multipart(request, limits, decode_json)
    check_content_type(request.headers.get("content-type"))
    body = decode_json(await read_body(request, limits), "the body", limits)
    if not isinstance(body, dict):
        raise refuse(RequestCode.BAD_REQUEST, "the body must be a JSON object", status=400)
    return body


def wants_ide(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "query" not in request.query_params and "text/html" in accept


class GraphQLEndpoint:
    """The /graphql endpoint, an ASGI app for every method (those it does not serve get a
    GraphQL-shaped 405 rather than the router's plain one)."""

    def __init__(
        self,
        schema: Schema,
        sessions: async_sessionmaker[AsyncSession],
        limits: Limits,
        ide_page: Path | None = None,
        compiled: str = "on",
        databases: Databases | None = None,
    ) -> None:
        self.schema = schema
        self.sessions = sessions
        self.limits = limits
        self.ide_page = ide_page
        self.compiled = CompiledPath(schema, compiled)
        #: read replicas (None: the primary serves everything, as without them)
        self.databases = databases
        self.persisted = PersistedQueries(sessions)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        request_id: str = request.state.request_id
        if wants_ide(request) and self.ide_page is not None:
            return HTMLResponse(self.ide_page.read_text(encoding="utf-8"))
        try:
            media = negotiate(request.headers.get("accept"))
        except Refused as refusal:
            return self.respond(Outcome(refusal.errors, status=406), JSON, request_id)
        try:
            if request.method not in ("GET", "POST"):
                raise refuse(
                    RequestCode.METHOD_NOT_ALLOWED,
                    "use GET (queries) or POST",
                    status=405,
                    headers={"Allow": ALLOWED_METHODS},
                )
            params = await read_params(request, self.limits, self.persisted)
            outcome = await self.run(request, params, request_id)
            note(outcome=outcome_label(outcome))
        except Refused as refusal:
            note(outcome=refusal_label(refusal))
            outcome = Outcome(
                refusal.errors, status=refusal.status, headers=refusal.headers, cost=refusal.cost
            )
            if refusal.status != 503:  # an outage is logged where it is noticed
                first = refusal.errors[0]
                log.info(
                    "request %s refused: %s (%s)",
                    request_id,
                    (first.extensions or {}).get("code"),
                    first.message,
                )
        return self.respond(outcome, media, request_id)

    async def run(self, request: Request, params: Params, request_id: str) -> Outcome:
        limits = self.limits
        graphql_schema = self.schema._schema
        document = parsed(params.query, limits)
        operation = select_operation(document.sent, params.operation_name)
        note(operation=operation.name.value if operation.name else None)
        if request.method == "GET" and operation.operation != OperationType.QUERY:
            raise refuse(
                RequestCode.METHOD_NOT_ALLOWED,
                f"a {operation.operation.value} needs POST",
                status=405,
                headers={"Allow": "POST"},
            )
        authorization = request.headers.get("authorization")
        signed_in = bool(authorization and authorization.strip())
        tally = measure(graphql_schema, document.sent, operation, params.variables, limits)
        claimed = limits.signed_in_budget if signed_in else limits.cost_anonymous
        cost = {"requested": tally.cost, "budget": claimed}
        found = refusals(
            tally,
            limits,
            budget=claimed,
            introspection_allowed=signed_in or limits.anonymous_introspection,
        )
        if found:
            raise with_cost(Refused(found), cost)
        merged = document.merged
        operation = select_operation(merged, params.operation_name)
        reads = self.databases is not None and operation.operation == OperationType.QUERY
        lsn = consistency_of(request, params) if reads else None
        async with contextlib.AsyncExitStack() as held, self.sessions() as session:
            actor = await self.authenticate(session, authorization, request_id)
            note(actor_kind=budget_kind(actor))
            budget = limits.budget(budget_kind(actor))
            cost = {"requested": tally.cost, "budget": budget}
            hide = actor.kind == ActorKind.ANONYMOUS and not limits.anonymous_suggestions
            prepared, coerced = prepare(
                self.schema, merged, operation, params, tally, budget, hide_suggestions=hide
            )
            if prepared:
                raise with_cost(Refused(prepared), cost)
            try:  # a token held to an allow-list runs its registered operations only
                self.persisted.admit(actor, params.query)
            except Refused as refusal:
                raise with_cost(refusal, cost) from None
            self.persisted.remember(params.remember, params.query)
            if introspection_only(merged, operation):
                return await self.introspect(merged, params, request_id, cost)
            replica = await self.read_replica(session, held, lsn, request_id) if reads else None
            if replica is None and self.databases is not None:
                served_by("primary")
            answer = await self.answer_compiled(
                replica or session,
                actor,
                params,
                merged,
                operation,
                coerced,
                request_id,
                cost,
                on_replica=replica is not None,
            )
            if answer is not None and self.compiled.mode == "on":
                return Outcome([], executed=True, cost=cost, raw_data=answer.data)
            context = Context(
                session=replica or session,
                actor=actor,
                request_id=request_id,
                client=scope_address(request.scope),
                document=merged,
                primary=self.databases.primary if replica and self.databases else None,
                track_commits=self.databases is not None,
            )
            try:
                result = await self.schema.execute(
                    params.query,
                    variable_values=params.variables,
                    context_value=context,
                    operation_name=params.operation_name,
                    allowed_operation_types=ALLOWED_OPERATIONS[request.method],
                )
            except Exception as exc:
                if database_unavailable(exc):
                    raise with_cost(unavailable(request_id, exc), cost) from None
                raise
            if answer is not None:  # verify: the resolvers must have answered alike
                await self.compiled.compare(
                    session, answer, result.data, list(result.errors or []), request_id
                )
        # RequestTransaction shapes the errors; any it could not (it failed itself) are
        # shaped here.
        outcome = executed(result.data, list(result.errors or []), request_id, cost)
        outcome.consistency = context.commit_lsn
        return outcome

    async def introspect(
        self, document: DocumentNode, params: Params, request_id: str, cost: dict[str, int]
    ) -> Outcome:
        """Reading the schema is CPU only (about 0.1 s for a full introspection): a worker
        thread keeps the event loop answering meanwhile."""
        read = await asyncio.to_thread(
            execute_sync,
            self.schema._schema,
            document,
            variable_values=params.variables,
            operation_name=params.operation_name,
        )
        return Outcome(
            public_errors(list(read.errors or []), request_id),
            data=read.data,
            executed=True,
            cost=cost,
        )

    async def answer_compiled(
        self,
        session: AsyncSession,
        actor: Actor,
        params: Params,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        coerced: VariableValues | None,
        request_id: str,
        cost: dict[str, int],
        *,
        on_replica: bool = False,
    ) -> Answer | None:
        """A query as one compiled statement (`schema.compiled`), or None: the resolvers."""
        if not self.compiled.enabled or operation.operation != OperationType.QUERY:
            return None
        assert coerced is not None
        try:
            return await self.compiled.answer(
                session,
                actor,
                params.query,
                params.operation_name,
                document,
                operation,
                coerced,
                request_id,
                on_replica=on_replica,
            )
        except Exception as exc:
            if database_unavailable(exc):
                raise with_cost(unavailable(request_id, exc), cost) from None
            raise

    async def read_replica(
        self,
        primary: AsyncSession,
        held: contextlib.AsyncExitStack,
        lsn: str | None,
        request_id: str,
    ) -> AsyncSession | None:
        """A session on a replica fit to serve a query (one that has replayed `lsn` when the
        client sent one), held until the request ends; None: the primary serves. The
        primary's connection (it authenticated the request) goes back to its pool first."""
        databases = self.databases
        assert databases is not None
        replica = await databases.replica()
        if replica is None:
            served_by("primary", skipped="unfit")
            return None
        try:
            session = await held.enter_async_context(databases.session(replica, lsn))
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            databases.down(replica, exc)
            served_by("primary", skipped="failed")
            log.info("request %s: replica %d is unavailable: the primary serves", request_id,
                     replica.index)  # fmt: skip
            return None
        if session is None:
            await held.aclose()  # the replica's connection goes back to its pool
            served_by("primary", skipped="lsn")
            return None
        await primary.close()
        served_by("replica")
        return session

    async def authenticate(
        self, session: AsyncSession, authorization: str | None, request_id: str
    ) -> Actor:
        try:
            return await actor_for(session, authorization)
        except AuthenticationError as exc:
            raise refuse(
                RequestCode.UNAUTHENTICATED,
                str(exc),
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            ) from None
        except Exception as exc:
            if database_unavailable(exc):
                raise unavailable(request_id, exc) from None
            raise

    def respond(self, outcome: Outcome, media: str, request_id: str) -> Response:
        if outcome.raw_data is not None:
            return Response(
                passed_through(outcome.raw_data, outcome.cost),
                status_code=200,
                media_type=f"{media}; charset=utf-8",
                headers=outcome.headers,
            )
        body: dict[str, Any] = {}
        if outcome.executed:
            body["data"] = outcome.data
        errors = [e.formatted for e in outcome.errors]
        for error in errors:
            error.setdefault("extensions", {})["requestId"] = request_id
        if errors:
            body["errors"] = errors
        if outcome.cost is not None:
            body["extensions"] = {"cost": outcome.cost}
        headers = outcome.headers
        if outcome.consistency is not None:
            body.setdefault("extensions", {})["consistency"] = {"lsn": outcome.consistency}
            headers = {**headers, CONSISTENCY_HEADER: outcome.consistency}
        status = outcome.status
        if status is None:
            status = 400 if not outcome.executed and media == GRAPHQL_RESPONSE else 200
        encoded = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "backslashreplace"
        )
        return Response(
            encoded,
            status_code=status,
            media_type=f"{media}; charset=utf-8",
            headers=headers,
        )


def executed(
    data: dict[str, Any] | None,
    raw: list[GraphQLError],
    request_id: str,
    cost: dict[str, int],
) -> Outcome:
    """The outcome of an executed operation. RequestTransaction shapes the errors; any it
    could not (it failed itself) are shaped here. An outage (or, for a replica-served query,
    a primary that would not take its audit record) is a 503."""
    shaped = [e for e in raw if "requestId" in (e.extensions or {})]
    errors = shaped + public_errors([e for e in raw if e not in shaped], request_id)
    outcome = Outcome(errors, data=data, executed=True, cost=cost)
    codes = {(e.extensions or {}).get("code") for e in errors}
    if errors and codes <= {RequestCode.SERVICE_UNAVAILABLE.value, AUDIT_UNAVAILABLE}:
        outcome.status = 503
        outcome.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return outcome


def passed_through(data: bytes, cost: dict[str, int] | None) -> bytes:
    """The response around `data` as PostgreSQL built it: never decoded here."""
    extensions = b""
    if cost is not None:
        extensions = b',"extensions":{"cost":' + json.dumps(cost, separators=(",", ":")).encode()
        extensions += b"}"
    return b'{"data":' + data + extensions + b"}"


#: The header a client may send a mutation's `extensions.consistency.lsn` back in.
CONSISTENCY_HEADER = "X-Consistency-LSN"


def consistency_of(request: Request, params: Params) -> str | None:
    """The commit position a query must see: the header, else `extensions.consistency`."""
    given = request.headers.get(CONSISTENCY_HEADER, params.consistency)
    if given is None:
        return None
    if not isinstance(given, str) or not LSN.fullmatch(given.strip()):
        raise refuse(
            RequestCode.BAD_REQUEST,
            "`extensions.consistency.lsn` (or X-Consistency-LSN) must be a WAL position such"
            " as 0/1A2B3C4D, as a mutation's `extensions.consistency.lsn` gives it",
            status=400,
            field="extensions.consistency.lsn",
        )
    return given.strip()


def outcome_label(outcome: Outcome) -> str:
    """The request's outcome as the metrics and the request log name it."""
    if outcome.status == 503:
        return "unavailable"
    if not outcome.executed:
        return "refused"
    return "error" if outcome.errors else "ok"


def refusal_label(refusal: Refused) -> str:
    return {401: "unauthenticated", 503: "unavailable"}.get(refusal.status or 0, "refused")


ALLOWED_OPERATIONS = {
    "GET": (StrawberryOperationType.QUERY,),
    "POST": (StrawberryOperationType.QUERY, StrawberryOperationType.MUTATION),
}


def with_cost(refusal: Refused, cost: dict[str, int]) -> Refused:
    refusal.cost = cost
    return refusal


def select_operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
    operation = get_operation_ast(document, name)
    if operation is None:
        message = (
            f"the document has no operation named {name!r}"
            if name
            else "the document must have exactly one operation, or name one in `operationName`"
        )
        raise refuse(RequestCode.BAD_REQUEST, message, field="operationName")
    return operation


@lru_cache(maxsize=128)
def validation_errors(
    graphql_schema: GraphQLSchema, document: DocumentNode, hide_suggestions: bool
) -> tuple[GraphQLError, ...]:
    """graphql-core's validation, once per distinct (cached, merged) document."""
    return tuple(
        validate(
            graphql_schema,
            document,
            VALIDATION_RULES,
            max_errors=20,
            hide_suggestions=hide_suggestions,
        )
    )


def _variable_of(error: GraphQLError) -> str | None:
    for node in error.nodes or ():
        if isinstance(node, VariableDefinitionNode):
            return node.variable.name.value
    return None


def prepare(
    schema: Schema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    params: Params,
    tally: Tally,
    budget: int,
    *,
    hide_suggestions: bool,
) -> tuple[list[GraphQLError], VariableValues | None]:
    """Validate for this actor, check the budget, coerce variables, check argument values:
    the refusals, or none and the coerced variables."""
    graphql_schema = schema._schema
    invalid = validation_errors(graphql_schema, document, hide_suggestions)
    if invalid:
        return [located(e, RequestCode.GRAPHQL_VALIDATION_FAILED) for e in invalid], None
    if tally.cost > budget:
        refused = request_error(
            RequestCode.COST_LIMIT,
            f"the operation may cost {tally.cost}; the budget is {budget}"
            " (lower `first`/`last`, fewer ids, or fewer nested lists)",
        )
        return [refused], None
    coerced = get_variable_values(
        graphql_schema,
        operation.variable_definitions or (),
        params.variables,
        max_errors=20,
        hide_suggestions=hide_suggestions,
    )
    if isinstance(coerced, list):
        return [located(e, RequestCode.VALIDATION, field=_variable_of(e)) for e in coerced], None
    return check_arguments(graphql_schema, document, operation, params.variables), coerced
