"""Open311 GeoReport v2, read-only, for INTEGRATOR tokens (`/open311/v2/...`).

    GET /open311/v2/services.json|xml                 the petition categories
    GET /open311/v2/requests.json|xml                 petitions under the token's node
        ?service_request_id=1,2&service_code=a,b&status=open,closed
        &start_date=2026-01-01T00:00:00+08:00&end_date=...   (W3C datetimes, at most 90 days;
        both absent: the last 90 days; at most 1,000 requests, newest first)
    GET /open311/v2/requests/{id}.json|xml            one petition (a list of one, as in
                                                      GeoReport)

`Authorization: Bearer <INTEGRATOR token>`; anything else is refused (401 without valid
credentials, 403 for other actors). `jurisdiction_id` is accepted and ignored: a token serves
one node. Errors are GeoReport's: `[{"code": 400, "description": "..."}]`, or `<errors>` in XML.
What a request carries, and what it leaves out, is `resolvers.open311`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from permissions import open311 as rules
from permissions.actor import Actor
from permissions.rules import decide
from permissions.scope import visible
from resolvers import open311 as r
from resolvers.identity import AuthenticationError
from resolvers.people import CHINA
from schema.auth import actor_for
from schema.errors import database_unavailable
from schema.relay import to_global_id

XML = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")
SERVICE_FIELDS = (
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
)
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)


class Open311Error(Exception):
    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers or {}


def w3c(moment: datetime | None) -> str | None:
    """ISO 8601 with the offset, in China time, to the second (GeoReport's W3C format)."""
    return moment.astimezone(CHINA).isoformat(timespec="seconds") if moment else None


def parse_w3c(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Open311Error(
            400, f"{name} must be a W3C datetime, e.g. 2026-01-01T00:00:00+08:00"
        ) from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name} must carry a time zone (Z or +08:00)")
    return moment


def _listed(request: Request, name: str) -> list[str]:
    """A comma-separated parameter, possibly given several times."""
    return [
        part.strip()
        for given in request.query_params.getlist(name)
        for part in given.split(",")
        if part.strip()
    ]


def request_filter(request: Request) -> r.RequestFilter:
    ids = _listed(request, "service_request_id")
    if not all(i.isdigit() and len(i) < 19 for i in ids):
        raise Open311Error(400, "service_request_id is a comma-separated list of numbers")
    statuses = _listed(request, "status")
    if any(s not in ("open", "closed") for s in statuses):
        raise Open311Error(400, "status is open, closed or both")
    start_text = request.query_params.get("start_date")
    end_text = request.query_params.get("end_date")
    end = parse_w3c(end_text, "end_date") if end_text else None
    start = parse_w3c(start_text, "start_date") if start_text else None
    if start is None and end is None and not ids:
        end = datetime.now(CHINA)
    if start is None and end is not None:
        start = end - r.MAX_WINDOW
    if end is None and start is not None:
        end = start + r.MAX_WINDOW
    if start is not None and end is not None:
        if end < start:
            raise Open311Error(400, "end_date is before start_date")
        if end - start > r.MAX_WINDOW:
            raise Open311Error(400, "start_date and end_date may not span more than 90 days")
    return r.RequestFilter(
        ids=r.parse_ids(ids),
        codes=tuple(_listed(request, "service_code")),
        statuses=tuple(statuses),
        start=start,
        end=end,
    )


def service_record(service: r.Service) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": f"{service.name}（受理层级：{'、'.join(service.remit)}）",
        "metadata": False,
        "type": "realtime",
        "keywords": "",
        "group": "",
    }


def request_record(found: r.ServiceRequest) -> dict[str, Any]:
    kind, ident = found.address_id
    return {
        "service_request_id": str(found.id),
        "status": r.STATUS_OF[found.status],
        "status_notes": r.status_notes(found),
        "service_name": found.service_name,
        "service_code": found.service_code,
        "description": found.service_name,
        "agency_responsible": found.agency,
        "service_notice": "",
        "requested_datetime": w3c(found.requested),
        "updated_datetime": w3c(found.updated),
        "expected_datetime": w3c(found.expected),
        "address": found.address,
        "address_id": str(to_global_id(kind, ident)),
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }


def _xml(root: str, item: str, records: Sequence[dict[str, Any]]) -> bytes:
    top = ET.Element(root)
    for record in records:
        element = ET.SubElement(top, item)
        for key, value in record.items():
            child = ET.SubElement(element, key)
            if isinstance(value, bool):
                child.text = "true" if value else "false"
            elif value is not None:
                child.text = str(value)
    written: bytes = ET.tostring(top, encoding="utf-8", xml_declaration=True)
    return written


def render(fmt: str, root: str, item: str, records: Sequence[dict[str, Any]]) -> Response:
    if fmt == "xml":
        return Response(_xml(root, item, records), media_type=XML)
    return JSONResponse(list(records))


def error_response(fmt: str, error: Open311Error) -> Response:
    record = {"code": error.status, "description": error.description}
    if fmt == "xml":
        return Response(_xml("errors", "error", [record]), error.status, error.headers, XML)
    return JSONResponse([record], error.status, error.headers)


Handler = Callable[[AsyncSession, Actor, Request], Awaitable[Response]]


class Open311:
    """The GeoReport endpoints of one app."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    def routes(self) -> list[Route]:
        base = "/open311/v2"
        return [
            Route(f"{base}/services.{{fmt}}", self.services, methods=["GET"]),
            Route(f"{base}/requests.{{fmt}}", self.requests, methods=["GET"]),
            Route(f"{base}/requests/{{request_id}}.{{fmt}}", self.request, methods=["GET"]),
        ]

    async def _answer(self, request: Request, handler: Handler) -> Response:
        fmt = str(request.path_params.get("fmt", "")).lower()
        if fmt not in FORMATS:
            return error_response("json", Open311Error(404, "formats are .json and .xml"))
        try:
            async with self.sessions() as session:
                actor = await self._actor(session, request)
                return await handler(session, actor, request)
        except Open311Error as error:
            return error_response(fmt, error)
        except Exception as exc:
            if database_unavailable(exc):
                unavailable = Open311Error(503, "the database is unavailable; retry later")
                unavailable.headers = {"Retry-After": "5"}
                return error_response(fmt, unavailable)
            raise

    async def _actor(self, session: AsyncSession, request: Request) -> Actor:
        authorization = request.headers.get("authorization")
        if not authorization or not authorization.strip():
            raise Open311Error(
                401, "send an INTEGRATOR token: Authorization: Bearer <token>", _BEARER
            )
        try:
            actor = await actor_for(session, authorization)
        except AuthenticationError as exc:
            raise Open311Error(401, str(exc), _BEARER) from None
        if not await decide(rules.READ_OPEN311, actor, _NO_FACTS):
            raise Open311Error(403, "Open311 is served to INTEGRATOR tokens only")
        return actor

    async def services(self, request: Request) -> Response:
        async def handle(session: AsyncSession, actor: Actor, req: Request) -> Response:
            found = await r.services(session)
            return render(
                req.path_params["fmt"].lower(),
                "services",
                "service",
                [service_record(s) for s in found],
            )

        return await self._answer(request, handle)

    async def requests(self, request: Request) -> Response:
        async def handle(session: AsyncSession, actor: Actor, req: Request) -> Response:
            wanted = request_filter(req)
            found = await r.service_requests(session, lambda m: visible(m, actor), wanted)
            records = [request_record(f) for f in found]
            return render(req.path_params["fmt"].lower(), "service_requests", "request", records)

        return await self._answer(request, handle)

    async def request(self, request: Request) -> Response:
        async def handle(session: AsyncSession, actor: Actor, req: Request) -> Response:
            ident = str(req.path_params["request_id"])
            if not ident.isdigit() or len(ident) > 18:
                raise Open311Error(404, "no such service request")
            found = await r.service_requests(
                session, lambda m: visible(m, actor), r.RequestFilter(ids=(int(ident),))
            )
            if not found:  # absent and out of scope look the same
                raise Open311Error(404, "no such service request")
            records = [request_record(f) for f in found]
            return render(req.path_params["fmt"].lower(), "service_requests", "request", records)

        return await self._answer(request, handle)


_BEARER = {"WWW-Authenticate": "Bearer"}


class _NoFacts:
    """Open311's rule looks at the actor only."""

    def row(self, name: str) -> None:
        return None

    def value(self, name: str) -> None:
        return None

    async def places(self, row: Any) -> list[str]:
        return []

    async def grants_of(self, person_id: int) -> list[tuple[str, str]]:
        return []

    async def relations(self, type_name: str, row: Any) -> set[Any]:
        return set()


_NO_FACTS = _NoFacts()
