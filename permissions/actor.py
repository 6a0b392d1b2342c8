"""Who a request acts as: a person's active grants, an API token, or nobody.

A grant is a role held at a place (its ltree path). Row scope and field access are
both derived from grants, so the actor is the only thing resolvers need to know.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from permissions.roles import ROLE_RELATION, Relation, rank


class ActorKind:
    SYSTEM = "SYSTEM"
    PERSON = "PERSON"
    TOKEN = "TOKEN"  # noqa: S105  (a kind of actor, not a secret)
    ANONYMOUS = "ANONYMOUS"


@dataclass(frozen=True)
class Grant:
    role: str
    path: str

    @property
    def relation(self) -> Relation:
        return ROLE_RELATION[self.role]


#: Relations a position gives that an admin grant over the same row supersedes.
SUPERSEDED_BY_ADMIN = frozenset({Relation.BUILDING_STAFF, Relation.GRID, Relation.SERVICE})


def narrowed(relations: set[Relation]) -> set[Relation]:
    """Relations to one row as the field policy takes them: where ADMIN is among them, the
    relations of other positions go (see `Actor.relations_to`); personal ones stay."""
    return relations - SUPERSEDED_BY_ADMIN if Relation.ADMIN in relations else relations


def is_under(path: str, ancestor: str) -> bool:
    """ltree `path <@ ancestor` on the text form."""
    return path == ancestor or path.startswith(ancestor + ".")


@dataclass(frozen=True)
class Actor:
    kind: str
    person_id: int | None = None
    token_id: int | None = None
    account_id: int | None = None
    household_path: str | None = None
    grants: tuple[Grant, ...] = field(default_factory=tuple)
    #: people a resident may reach: building head, liaison, grid worker of their place
    contact_ids: frozenset[int] = frozenset()
    #: a Party member (党员), whatever positions they hold
    party_member: bool = False
    #: a token held to an allow-list: the SHA-256 of the operations it may run (None: any)
    allowed_operations: frozenset[str] | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(kind=ActorKind.SYSTEM)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(kind=ActorKind.ANONYMOUS)

    @property
    def unrestricted(self) -> bool:
        return self.kind == ActorKind.SYSTEM

    @property
    def roles(self) -> tuple[str, ...]:
        roles = tuple(sorted({g.role for g in self.grants}))
        return roles + (("RESIDENT",) if self.household_path else ())

    def grant_paths(self, *relations: Relation) -> tuple[str, ...]:
        """Paths of grants giving one of `relations` (all grants when none given)."""
        return tuple(
            sorted({g.path for g in self.grants if not relations or g.relation in relations})
        )

    def relations_to(self, path: str | None) -> set[Relation]:
        """Relations the actor's grants give over a row at `path`, as the field policy sees them.

        Where the actor administers the row, the admin relation is the only one its grants
        give: a position held there besides (a grid worker appointed by a superior or by a
        colluding peer) adds nothing, so an admin sees personal data in full only through
        `revealPersonalData`, with a purpose, audited. Operations and petition handling
        read the grants themselves and are not narrowed.
        """
        if path is None:
            return set()
        found = narrowed({g.relation for g in self.grants if is_under(path, g.path)})
        if self.household_path and path == self.household_path:
            found.add(Relation.HOUSEHOLD)
        return found

    @property
    def city_admin(self) -> bool:
        """An admin at the root of the tree (its path has a single label)."""
        return any(g.relation is Relation.ADMIN and "." not in g.path for g in self.grants)

    @property
    def root_path(self) -> str | None:
        return self.grants[0].path.split(".")[0] if self.grants else None

    def possible_relations(self) -> set[Relation]:
        """Every relation this actor can have to some row (see `relations_to`: a grant inside
        one of the actor's admin subtrees gives nothing beyond the admin relation)."""
        admins = self.grant_paths(Relation.ADMIN)
        found = {
            g.relation
            for g in self.grants
            if g.relation is Relation.ADMIN or not any(is_under(g.path, a) for a in admins)
        }
        if self.household_path:
            found |= {Relation.SELF, Relation.HOUSEHOLD, Relation.CONTACT}
        return found

    def admin_rank_over(self, path: str) -> int:
        """The highest admin rank among grants whose subtree holds `path` (0 if none)."""
        return max(
            (rank(g.role) for g in self.grants if is_under(path, g.path)),
            default=0,
        )
