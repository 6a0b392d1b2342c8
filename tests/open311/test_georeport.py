"""Open311 GeoReport v2 over petitions: the standard's fields (and only those), its filters, JSON
and XML, INTEGRATOR tokens only, scoped to the token's node, and no personal data."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import TokenRole
from models.petitions import AWAITING_RATING, FINAL_STATUSES, PetitionStatus
from resolvers.people import CHINA
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.permissions.support import rows, token_client

#: GeoReport v2, "GET Service List" response fields (wiki.open311.org/GeoReport_v2).
SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
#: GeoReport v2, "GET Service Requests" / "GET Service Request" response fields.
REQUEST_FIELDS = {
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
}
#: Fields holding a W3C datetime (or nothing).
DATETIMES = {"requested_datetime", "updated_datetime", "expected_datetime"}
#: A window holding every demo petition (they are from the last few months).
WIDE = {"start_date": "", "end_date": ""}


@pytest.fixture
async def integrator(
    session: AsyncSession, http: httpx.AsyncClient, demo_petitions: DemoCity
) -> GraphQLClient:
    return await token_client(session, http, TokenRole.INTEGRATOR, demo_petitions.renheyuan)


async def get(client: GraphQLClient, path: str, **params: str) -> httpx.Response:
    return await client.http.get(f"/open311/v2/{path}", params=params, headers=client.headers)


def window(days_back: int, days: int = 90) -> dict[str, str]:
    end = datetime.now(CHINA) - timedelta(days=days_back)
    return {
        "start_date": (end - timedelta(days=days)).isoformat(timespec="seconds"),
        "end_date": end.isoformat(timespec="seconds"),
    }


async def all_requests(client: GraphQLClient) -> list[dict[str, Any]]:
    """Every request the client can see, window by window (90 days at most each)."""
    found: dict[str, dict[str, Any]] = {}
    for back in range(-1, 720, 89):
        response = await get(client, "requests.json", **window(back, 89))
        assert response.status_code == 200, response.text
        for item in response.json():
            found[item["service_request_id"]] = item
    return list(found.values())


async def scoped_petitions(session: AsyncSession, path: str | None) -> dict[str, str]:
    found = await rows(
        session, "SELECT id, status FROM petition WHERE path <@ CAST(:p AS ltree)", p=path
    )
    return {str(i): str(s) for i, s in found}


async def test_services_are_the_categories_with_the_standard_fields(
    integrator: GraphQLClient, session: AsyncSession
) -> None:
    response = await get(integrator, "services.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    services = response.json()
    codes = {
        str(c) for (c,) in await rows(session, "SELECT code FROM petition_category WHERE active")
    }
    assert {s["service_code"] for s in services} == codes
    for service in services:
        assert set(service) == SERVICE_FIELDS
        assert service["metadata"] is False
        assert service["type"] in ("realtime", "batch", "blackbox")
    xml = await get(integrator, "services.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    assert xml.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(xml.content)
    assert root.tag == "services"
    assert [s.findtext("service_code") for s in root] == [s["service_code"] for s in services]
    assert all({child.tag for child in s} == SERVICE_FIELDS for s in root)


async def test_requests_carry_the_standard_fields_and_the_tokens_node_only(
    integrator: GraphQLClient, demo_petitions: DemoCity, session: AsyncSession
) -> None:
    found = await all_requests(integrator)
    expected = await scoped_petitions(session, demo_petitions.renheyuan.path)
    assert expected
    assert {r["service_request_id"] for r in found} == set(expected)
    for request in found:
        assert set(request) == REQUEST_FIELDS
        status = PetitionStatus(expected[request["service_request_id"]])
        closed = status in AWAITING_RATING | FINAL_STATUSES
        assert request["status"] == ("closed" if closed else "open")
        assert request["status_notes"].startswith(status.value)
        for field in DATETIMES:
            if request[field] is not None:
                assert datetime.fromisoformat(request[field]).tzinfo is not None
        assert (request["expected_datetime"] is None) == closed
        assert request["address_id"]
        assert request["address"]


async def test_no_personal_data_leaves(
    integrator: GraphQLClient, demo_petitions: DemoCity, session: AsyncSession
) -> None:
    text = json.dumps(await all_requests(integrator), ensure_ascii=False)
    people = await rows(
        session,
        "SELECT DISTINCT p.name, p.phone FROM petition t JOIN person p ON p.id IN"
        " (t.reporter_id, t.recorded_by_id, t.assignee_id)"
        " WHERE t.path <@ CAST(:p AS ltree)",
        p=demo_petitions.renheyuan.path,
    )
    assert people
    for name, phone in people:
        assert name not in text
        assert phone is None or phone not in text
    free_text = await rows(
        session,
        "SELECT title, description, location_note, resolution_note FROM petition"
        " WHERE path <@ CAST(:p AS ltree)",
        p=demo_petitions.renheyuan.path,
    )
    for values in free_text:
        for value in values:
            if value and len(value) > 4:
                assert value not in text
    rooms = await rows(
        session,
        "SELECT DISTINCT room FROM household WHERE path <@ CAST(:p AS ltree)",
        p=demo_petitions.renheyuan.path,
    )
    assert all(f"{r}室" not in text for (r,) in rooms)


async def test_filters_of_the_standard(
    integrator: GraphQLClient, demo_petitions: DemoCity, session: AsyncSession
) -> None:
    everything = await all_requests(integrator)
    some = sorted(everything, key=lambda r: r["service_request_id"])[:3]
    ids = ",".join(r["service_request_id"] for r in some)
    by_id = (await get(integrator, "requests.json", service_request_id=ids)).json()
    assert {r["service_request_id"] for r in by_id} == {r["service_request_id"] for r in some}
    code = some[0]["service_code"]
    for status in ("open", "closed"):
        listed = []
        for back in range(-1, 720, 89):
            response = await get(
                integrator, "requests.json", status=status, service_code=code, **window(back, 89)
            )
            listed += response.json()
        assert all(r["status"] == status and r["service_code"] == code for r in listed)
        assert len(listed) == sum(
            1 for r in everything if r["status"] == status and r["service_code"] == code
        )
    newest = max(datetime.fromisoformat(r["requested_datetime"]) for r in everything)
    narrow = await get(
        integrator,
        "requests.json",
        start_date=(newest - timedelta(seconds=1)).isoformat(),
        end_date=(newest + timedelta(seconds=1)).isoformat(),
    )
    assert all(
        abs(datetime.fromisoformat(r["requested_datetime"]) - newest) <= timedelta(seconds=1)
        for r in narrow.json()
    )
    assert narrow.json()


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"},
        {"start_date": "yesterday"},
        {"start_date": "2026-01-01T00:00:00"},
        {"status": "pending"},
        {"service_request_id": "1;DROP"},
        {"end_date": "2026-01-01T00:00:00Z", "start_date": "2026-02-01T00:00:00Z"},
    ],
)
async def test_a_bad_filter_is_a_georeport_400(
    integrator: GraphQLClient, params: dict[str, str]
) -> None:
    response = await get(integrator, "requests.json", **params)
    assert response.status_code == 400
    [error] = response.json()
    assert error["code"] == 400
    assert error["description"]
    xml = await get(integrator, "requests.xml", **params)
    root = ET.fromstring(xml.content)
    assert root.tag == "errors"
    assert root.find("error/code").text == "400"  # type: ignore[union-attr]


async def test_one_request_and_the_xml_forms(
    integrator: GraphQLClient, demo_petitions: DemoCity, session: AsyncSession
) -> None:
    [(inside,)] = await rows(
        session,
        "SELECT id FROM petition WHERE path <@ CAST(:p AS ltree) ORDER BY id LIMIT 1",
        p=demo_petitions.renheyuan.path,
    )
    [(outside,)] = await rows(
        session,
        "SELECT id FROM petition WHERE NOT path <@ CAST(:p AS ltree) ORDER BY id LIMIT 1",
        p=demo_petitions.renheyuan.path,
    )
    one = await get(integrator, f"requests/{inside}.json")
    [request] = one.json()
    assert request["service_request_id"] == str(inside)
    xml = await get(integrator, f"requests/{inside}.xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "service_requests"
    [element] = list(root)
    assert element.tag == "request"
    assert {child.tag for child in element} == REQUEST_FIELDS
    assert element.findtext("status") == request["status"]
    # out of scope and absent answer alike
    far = await get(integrator, f"requests/{outside}.json")
    missing = await get(integrator, "requests/987654321.json")
    assert far.status_code == missing.status_code == 404
    assert far.json() == missing.json()
    assert (await get(integrator, f"requests/{inside}.csv")).status_code == 404


async def test_integrator_tokens_only(
    demo_petitions: DemoCity,
    session: AsyncSession,
    http: httpx.AsyncClient,
    as_account: Callable[[str], GraphQLClient],
    anonymous: GraphQLClient,
) -> None:
    nobody = await get(anonymous, "requests.json")
    assert nobody.status_code == 401
    assert nobody.headers["WWW-Authenticate"] == "Bearer"
    forged = GraphQLClient(http, {"Authorization": "Bearer rbt_not-a-token"})
    assert (await get(forged, "services.json")).status_code == 401
    admin = await get(as_account("city-admin"), "requests.json")
    assert admin.status_code == 403
    display = await token_client(session, http, TokenRole.DISPLAY, demo_petitions.renheyuan)
    refused = await get(display, "requests.xml")
    assert refused.status_code == 403
    assert ET.fromstring(refused.content).tag == "errors"
