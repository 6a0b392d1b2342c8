"""The per-request context: one session (one transaction), the actor, the loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from permissions.actor import Actor
from resolvers.loaders import Loaders


@dataclass
class Context(BaseContext):
    session: AsyncSession
    actor: Actor
    request_id: str
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        super().__init__()
        self.loaders = Loaders(self.session, self.actor)


Info = StrawberryInfo[Context, Any]
