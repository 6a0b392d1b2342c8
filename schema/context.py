"""The request context: one session (one transaction), the actor, loaders, the audit trail.

A context is made from an actor, a request id and a session factory, the same way for an
HTTP request, a WebSocket subscription's events and a scheduled job: nothing in it needs
an HTTP request (the client's address, which sign-in throttling keys on, is a plain value).

A query's session may read a streaming replica (`models.replicas`); what a request must
leave on record while it reads (the audit trail of personal data read in full) is then
written to the primary through `recording`, the one way such writes are made.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from permissions.actor import Actor
from permissions.roles import Relation
from permissions.scope import countable, visible
from resolvers.audit import AuditTrail, Who
from resolvers.loaders import Loaders

UNKNOWN_ADDRESS = "unknown"
#: The code of a replica-served answer withheld because its records could not be written.
AUDIT_UNAVAILABLE = "AUDIT_UNAVAILABLE"


class AuditUnavailableError(GraphQLError):
    """The primary did not take what a replica-served request must leave on record: the
    answer is not sent (the request fails with `AUDIT_UNAVAILABLE`)."""

    def __init__(self) -> None:
        super().__init__(
            "the answer cannot be sent: its audit record could not be written; retry later",
            extensions={"code": AUDIT_UNAVAILABLE},
        )


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
    #: the primary's sessions when `session` reads a replica (None: `session` is the primary's)
    primary: async_sessionmaker[AsyncSession] | None = None
    #: note the commit's WAL position (`commit_lsn`) after a mutation: replicas are configured
    track_commits: bool = False
    commit_lsn: str | None = None

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

    @contextlib.asynccontextmanager
    async def recording(self) -> AsyncIterator[AsyncSession]:
        """A session for what the request writes while it reads, committed when the block
        ends: the request's own session, or, when that reads a replica, a short transaction
        of its own on the primary, whose failure withholds the answer (`AuditUnavailableError`)."""
        if self.primary is None:
            yield self.session
            await self.session.commit()
            return
        try:
            async with self.primary() as writer:
                yield writer
                await writer.commit()
        except Exception as exc:
            raise AuditUnavailableError from exc

    @property
    def who(self) -> Who:
        return Who(
            kind=self.actor.kind,
            person_id=self.actor.person_id,
            token_id=self.actor.token_id,
            roles=self.actor.roles,
        )


Info = StrawberryInfo[Context, Any]
