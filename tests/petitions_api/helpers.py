"""Helpers of the petition API tests: global ids, the operations the mini-program and the
admin SPA send, and small readers of their payloads."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from schema.relay import from_global_id, to_global_id
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar

ERRORS = "errors { code field message }"

#: What the front ends read of a petition after each step.
PETITION = """
  id status version channel title anonymous priority ownerLevel photos
  escalationCount reopenCount submittedAt dueAt acceptedAt assignedAt firstContactAt
  resolvedAt closedAt rejectionReason resolutionNote
  category { id code }
  building { id }
  owner { id }
  reporter { id name }
  recordedBy { id name }
  assignee { id }
"""

TIMELINE = """
  timeline {
    action fromStatus toStatus note fromLevel toLevel version byReporter
    actor { id name } assignee { id }
  }
"""

SUBMIT = f"""
mutation Submit($input: SubmitPetitionInput!) {{
  submitPetition(input: $input) {{ petition {{ {PETITION} }} {ERRORS} }}
}}
"""

TRANSITION = f"""
mutation Transition($input: TransitionPetitionInput!) {{
  transitionPetition(input: $input) {{ petition {{ {PETITION} allowedActions }} {ERRORS} }}
}}
"""

RATE = f"""
mutation Rate($input: RatePetitionInput!) {{
  ratePetition(input: $input) {{
    petition {{ {PETITION} ratings {{ rating comment round resolvedLevel }} }}
    pointsCredited {ERRORS}
  }}
}}
"""

NODE = f"""
query Petition($id: ID!) {{
  node(id: $id) {{ ... on Petition {{ {PETITION} allowedActions {TIMELINE} }} }}
}}
"""

LIST = f"""
query Petitions($first: Int) {{
  petitions(first: $first) {{ totalCount nodes {{ {PETITION} }} }}
}}
"""


def gid(type_name: str, ident: int | None) -> str:
    assert ident is not None
    return str(to_global_id(type_name, ident))


def key() -> str:
    """A client-made idempotency key, as the mini-program makes one per draft."""
    return f"wx-{uuid.uuid4()}"


async def category_gid(session: AsyncSession, code: str) -> str:
    found = await scalar(session, "SELECT id FROM petition_category WHERE code = :c", c=code)
    return gid("PetitionCategory", int(found))


async def petition_input(
    session: AsyncSession, demo: DemoCity, code: str = "CORRIDOR_CLUTTER", **fields: Any
) -> dict[str, Any]:
    """A submission about the demo building (the elderly resident's own, unless told)."""
    values: dict[str, Any] = {
        "idempotencyKey": key(),
        "channel": "ONLINE",
        "categoryId": await category_gid(session, code),
        "title": "2单元楼道堆满纸箱",
        "description": "3楼到5楼楼道堆放纸箱和旧家具，影响通行，存在消防隐患。",
        "buildingId": gid("Building", demo.building.id),
    }
    values.update(fields)
    return values


async def submit(client: GraphQLClient, input: dict[str, Any]) -> dict[str, Any]:
    """The submitPetition payload (the operation itself must not fail)."""
    data = await client(SUBMIT, {"input": input})
    payload: dict[str, Any] = data["submitPetition"]
    return payload


async def submitted(client: GraphQLClient, input: dict[str, Any]) -> dict[str, Any]:
    """The petition a submission that must succeed created."""
    payload = await submit(client, input)
    assert payload["errors"] == [], payload
    petition: dict[str, Any] = payload["petition"]
    return petition


async def transition(
    client: GraphQLClient, petition: dict[str, Any], action: str, **extra: Any
) -> dict[str, Any]:
    """transitionPetition at the version the client last saw (`petition["version"]`)."""
    input = {"id": petition["id"], "action": action, "expectedVersion": petition["version"]}
    data = await client(TRANSITION, {"input": input | extra})
    payload: dict[str, Any] = data["transitionPetition"]
    return payload


async def moved(
    client: GraphQLClient, petition: dict[str, Any], action: str, **extra: Any
) -> dict[str, Any]:
    """A transition that must succeed; the petition after it."""
    payload = await transition(client, petition, action, **extra)
    assert payload["errors"] == [], payload
    after: dict[str, Any] = payload["petition"]
    assert after["version"] == petition["version"] + 1
    return after


async def rate(
    client: GraphQLClient, petition: dict[str, Any], rating: str, comment: str | None = None
) -> dict[str, Any]:
    data = await client(
        RATE, {"input": {"id": petition["id"], "rating": rating, "comment": comment}}
    )
    payload: dict[str, Any] = data["ratePetition"]
    return payload


async def node(client: GraphQLClient, petition_id: str) -> dict[str, Any] | None:
    data = await client(NODE, {"id": petition_id})
    found: dict[str, Any] | None = data["node"]
    return found


def errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def petition_count(session: AsyncSession) -> int:
    return int(await scalar(session, "SELECT count(*) FROM petition"))


async def db_id(session: AsyncSession, table: str, global_id: str) -> int:
    """The database id behind a global id (checked to exist in `table`)."""
    _, ident = from_global_id(global_id)
    found = await scalar(session, f"SELECT id FROM {table} WHERE id = :i", i=ident)
    assert found == ident, (table, global_id)
    return ident
