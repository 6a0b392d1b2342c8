"""Shared helpers of the petition tests: actors from the demo city, submitting, and routes
to every status generated from the transition table."""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.people import Role
from models.petitions import Channel, Petition, PetitionCategory, PetitionEvent, PetitionStatus
from resolvers import petitions as rp
from resolvers.errors import DomainError
from seeds.demo import DemoCity

Action = rp.Action
Status = PetitionStatus


class HasId(Protocol):
    @property
    def id(self) -> int | None: ...


def pid(row: HasId) -> int:
    assert row.id is not None
    return row.id


@dataclass(frozen=True)
class Actors:
    admin: int  # community admin of 仁和苑
    head: int  # head of the demo building
    resident: int  # elderly resident of the demo building
    renter: int
    party_member: int
    grid_worker: int
    cadre: int

    @classmethod
    def of(cls, demo: DemoCity) -> Actors:
        return cls(
            admin=pid(demo.admins[Role.COMMUNITY_ADMIN]),
            head=pid(demo.building_head),
            resident=pid(demo.resident_alone),
            renter=pid(demo.renter),
            party_member=pid(demo.party_member),
            grid_worker=pid(demo.grid_worker),
            cadre=pid(demo.seconded_cadre),
        )


def key() -> str:
    return str(uuid.uuid4())


async def category(session: AsyncSession, code: str) -> PetitionCategory:
    return await rp.category_by_code(session, code)


async def submit(
    session: AsyncSession,
    demo: DemoCity,
    *,
    code: str = "CORRIDOR_CLUTTER",
    idempotency_key: str | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> Petition:
    """A petition about the demo building by its elderly resident, unless told otherwise."""
    draft: dict[str, Any] = {
        "channel": Channel.ONLINE,
        "title": "楼道堆满纸箱",
        "description": "2单元3楼到5楼楼道堆放纸箱，存在消防隐患。",
        "reporter_id": pid(demo.resident_alone),
    }
    if "org_unit_id" not in fields:
        draft["building_id"] = pid(demo.building)
    draft.update(fields)
    draft["category_id"] = pid(await category(session, code))
    return await rp.submit_petition(
        session, rp.PetitionDraft(**draft), idempotency_key=idempotency_key or key(), now=now
    )


def routes() -> dict[Status, list[Action]]:
    """The shortest route from SUBMITTED to every status, found in the transition table."""
    found: dict[Status, list[Action]] = {Status.SUBMITTED: []}
    queue = deque([Status.SUBMITTED])
    while queue:
        status = queue.popleft()
        for action, target in rp.TRANSITIONS[status].items():
            if target not in found:
                found[target] = [*found[status], action]
                queue.append(target)
    return found


ROUTES = routes()
LEGAL = [(s, a) for s in Status for a in rp.TRANSITIONS[s]]
ILLEGAL = [
    (s, a) for s in Status for a in Action if a != Action.SUBMIT and a not in rp.TRANSITIONS[s]
]


class Driver:
    """Applies actions with the arguments each needs, as the demo's actors."""

    def __init__(self, session: AsyncSession, demo: DemoCity) -> None:
        self.session = session
        self.demo = demo
        self.actors = Actors.of(demo)
        self._original: Petition | None = None

    async def original(self) -> Petition:
        if self._original is None:
            self._original = await submit(self.session, self.demo, title="最早的那条诉求")
        return self._original

    async def arguments(self, action: Action) -> dict[str, Any]:
        match action:
            case Action.MARK_DUPLICATE:
                return {"duplicate_of_id": pid(await self.original())}
            case Action.ASSIGN:
                return {"assignee_id": self.actors.head}
            case _ if action in rp.REQUIRED:
                return {"note": f"{action} 的理由"}
        return {}

    async def do(self, petition: Petition, action: Action, **extra: Any) -> Petition:
        args = await self.arguments(action) | extra
        return await rp.transition(
            self.session, pid(petition), action, petition.version, self.actors.admin, **args
        )

    async def reach(self, status: Status, **submit_fields: Any) -> Petition:
        petition = await submit(self.session, self.demo, **submit_fields)
        for action in ROUTES[status]:
            petition = await self.do(petition, action)
        assert petition.status == status
        return petition


async def events(session: AsyncSession, petition_id: int) -> list[PetitionEvent]:
    rows = await session.execute(
        sa.select(PetitionEvent)
        .where(col(PetitionEvent.petition_id) == petition_id)
        .order_by(col(PetitionEvent.id))
        .execution_options(populate_existing=True)
    )
    return list(rows.scalars())


async def refuses(code: str, call: Any, field: str | None = None) -> DomainError:
    """Await `call` (a coroutine) and check it raises DomainError `code` (on `field`)."""
    with pytest.raises(DomainError) as caught:
        await call
    assert caught.value.code == code, caught.value.message
    if field is not None:
        assert caught.value.field == field
    return caught.value
