"""Who a request acts as: a person's active grants, an API token, or nobody.

Row scope is a set of ltree paths; a row is visible when its `path` lies under
one of them. `None` means unrestricted (the command line and seeding only).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Grant:
    role: str
    path: str


@dataclass(frozen=True)
class Actor:
    kind: str  # SYSTEM | PERSON | TOKEN | ANONYMOUS
    person_id: int | None = None
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def scope_paths(self) -> tuple[str, ...] | None:
        if self.kind == "SYSTEM":
            return None
        return tuple(grant.path for grant in self.grants)

    @classmethod
    def system(cls) -> Actor:
        return cls(kind="SYSTEM")


#: Until identity lands every request acts with full scope; see the permissions issue.
OPEN_ACCESS = Actor.system()
