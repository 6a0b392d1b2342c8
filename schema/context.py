"""The per-request context: one session (one transaction), the actor, loaders, the audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from permissions.actor import Actor
from permissions.roles import Relation
from permissions.scope import countable, visible
from resolvers.audit import AuditTrail, Who
from resolvers.loaders import Loaders


@dataclass
class Context(BaseContext):
    session: AsyncSession
    actor: Actor
    request_id: str
    loaders: Loaders = field(init=False)
    audit: AuditTrail = field(init=False)
    relations: dict[tuple[str, int], set[Relation]] = field(init=False, default_factory=dict)
    #: the document the HTTP layer parsed, measured and validated (never parsed twice)
    document: DocumentNode | None = None

    def __post_init__(self) -> None:
        super().__init__()
        actor = self.actor
        self.loaders = Loaders(
            self.session,
            lambda model: visible(model, actor),
            lambda model: countable(model, actor),
        )
        self.audit = AuditTrail(self.request_id)

    @property
    def who(self) -> Who:
        return Who(
            kind=self.actor.kind,
            person_id=self.actor.person_id,
            token_id=self.actor.token_id,
            roles=self.actor.roles,
        )


Info = StrawberryInfo[Context, Any]
