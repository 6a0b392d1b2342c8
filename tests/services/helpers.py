"""Helpers of the services tests: ids, mutations through GraphQL, keys."""

from __future__ import annotations

import itertools
from typing import Any

from tests.conftest import GraphQLClient
from tests.permissions.support import gid

ERRORS = "errors { code field message }"
_KEYS = itertools.count(1)


def key() -> str:
    return f"test-order-{next(_KEYS):06d}"


async def run(
    client: GraphQLClient, name: str, input: dict[str, Any], selection: str
) -> dict[str, Any]:
    """One mutation that must not raise a GraphQL error; its payload."""
    input_type = name[0].upper() + name[1:] + "Input"
    data = await client(
        f"mutation($input: {INPUTS.get(name, input_type)}!) {{ {name}(input: $input) "
        f"{{ {selection} {ERRORS} }} }}",
        {"input": input},
    )
    payload: dict[str, Any] = data[name]
    return payload


#: Input types whose names are not the mutation's.
INPUTS = {
    "actOnServiceOrder": "ServiceOrderActionInput",
    "actOnVolunteerActivity": "VolunteerActivityActionInput",
    "signUpForActivity": "ActivitySignupInput",
    "cancelActivitySignup": "ActivitySignupInput",
    "checkInToActivity": "CheckInInput",
    "addTeamMember": "TeamMemberInput",
    "changeTeamMember": "TeamMemberInput",
    "addStationManager": "StationManagerInput",
    "removeStationManager": "StationManagerInput",
    "placeBuilding": "PlaceBuildingInput",
    "serveBuilding": "ServeBuildingInput",
    "followUpVisitFinding": "FollowUpFindingInput",
    "resolveVisitFinding": "ResolveFindingInput",
    "checkInEmergency": "EmergencyCheckInInput",
}


def codes(payload: dict[str, Any]) -> list[str]:
    return [str(e["code"]) for e in payload["errors"]]


ORDER = """id status version channel specialGroup details contactName contactPhone address
  allowedActions assignee { id } team { id } station { id } ownerLevel dueAt
  timeline { action fromStatus toStatus actor { id } note }"""


async def order(
    client: GraphQLClient, item: int | None, *, resident: int | None = None, **more: Any
) -> dict[str, Any]:
    """`orderService` with a fresh key (unless given)."""
    input: dict[str, Any] = {"idempotencyKey": more.pop("idempotencyKey", key())}
    input["itemId"] = gid("ServiceItem", item)
    if resident is not None:
        input["residentId"] = gid("Person", resident)
    input.update(more)
    return await run(client, "orderService", input, f"order {{ {ORDER} }}")


async def act(
    client: GraphQLClient, found: dict[str, Any], action: str, **more: Any
) -> dict[str, Any]:
    """`actOnServiceOrder` at the version the caller last saw."""
    input = {
        "id": found["id"],
        "action": action,
        "expectedVersion": found["version"],
        **more,
    }
    return await run(client, "actOnServiceOrder", input, f"order {{ {ORDER} }}")


async def seen(client: GraphQLClient, ident: str, fields: str = ORDER) -> dict[str, Any] | None:
    data = await client(
        f"query($id: ID!) {{ node(id: $id) {{ ... on ServiceOrder {{ {fields} }} }} }}",
        {"id": ident},
    )
    node: dict[str, Any] | None = data["node"]
    return node
