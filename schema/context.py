"""The request context: one session (one transaction), the actor, loaders, the audit trail.

A context is made from an actor, a request id and a session factory, the same way for an
HTTP request, a WebSocket subscription's events and a scheduled job: nothing in it needs
an HTTP request (the client's address, which sign-in throttling keys on, is a plain value).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from permissions.actor import Actor
from permissions.roles import Relation
from permissions.scope import countable, visible
from resolvers.audit import AuditTrail, Who
from resolvers.loaders import Loaders

UNKNOWN_ADDRESS = "unknown"


@dataclass
class Context(BaseContext):
    session: AsyncSession
    actor: Actor
    request_id: str
    #: where the request comes from, as a throttling key (`schema.auth.client_address`)
    client: str = UNKNOWN_ADDRESS
    #: the document the transport parsed, measured and validated (never parsed twice)
    document: DocumentNode | None = None
    loaders: Loaders = field(init=False)
    audit: AuditTrail = field(init=False)
    relations: dict[tuple[str, int], set[Relation]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()
        actor = self.actor
        self.loaders = Loaders(
            self.session,
            lambda model: visible(model, actor),
            lambda model: countable(model, actor),
        )
        self.audit = AuditTrail(self.request_id)

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        sessions: async_sessionmaker[AsyncSession],
        request_id: str,
        actor: Actor | Callable[[AsyncSession], Awaitable[Actor]],
        *,
        client: str = UNKNOWN_ADDRESS,
    ) -> AsyncIterator[Context]:
        """A context with a session of its own; `actor` may be looked up in that session
        (a bearer's credentials), so authenticating costs no second connection."""
        async with sessions() as session:
            found = actor if isinstance(actor, Actor) else await actor(session)
            yield cls(session=session, actor=found, request_id=request_id, client=client)

    @property
    def who(self) -> Who:
        return Who(
            kind=self.actor.kind,
            person_id=self.actor.person_id,
            token_id=self.actor.token_id,
            roles=self.actor.roles,
        )


Info = StrawberryInfo[Context, Any]
