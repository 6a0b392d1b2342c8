"""Who may run an operation: a small rule language, declared beside each operation.

A rule is data: which relation to which place the input names, which rank a granted role may
have, which party to a process row the actor must be. It is decided against `Facts` the
schema layer gathers (the rows the input names, loaded through the actor's row scope; a
person's active grants), so a rule never touches the database itself and a resolver never
sees an actor that was not allowed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa

from permissions.actor import Actor, is_under
from permissions.roles import Relation, rank

A = TypeVar("A", bound=enum.StrEnum)


class Facts(Protocol):
    """What is known about an operation's input when its rule is decided."""

    def row(self, name: str) -> Any | None:
        """The row an input field names (its global id decoded and loaded), None if not given."""

    def value(self, name: str) -> Any:
        """A plain input value (e.g. the role being granted, the action asked for)."""

    async def places(self, row: Any) -> list[str]:
        """Where a row is: its path, or for someone living nowhere here, where they serve."""

    async def grants_of(self, person_id: int) -> list[tuple[str, str]]:
        """A person's active (role, path) grants, whoever asks."""

    async def relations(self, type_name: str, row: Any) -> set[Relation]:
        """The actor's relations to a row, as the field policy sees them."""


class Rule(Protocol):
    async def allows(self, actor: Actor, facts: Facts) -> bool: ...


@dataclass(frozen=True)
class Public:
    """Anyone, signed in or not (signing in, renewing a session)."""

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        return True


@dataclass(frozen=True)
class SignedIn:
    """A person with an account (not a machine token, not anonymous); refused as
    UNAUTHENTICATED: signing in is what the caller can do about it."""

    refusal: str = "UNAUTHENTICATED"

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        return actor.account_id is not None


@dataclass(frozen=True)
class CityAdmin:
    """An admin at the root of the tree: city-wide settings."""

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        return actor.city_admin


@dataclass(frozen=True)
class Anywhere:
    """Any grant giving one of `relations`, wherever (things that belong to no place)."""

    relations: frozenset[Relation]

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        return any(g.relation in self.relations for g in actor.grants)


@dataclass(frozen=True)
class Rank:
    """The role whose rank an admin must reach: an input value, or an attribute of a row."""

    input: str | None = None
    row: str | None = None
    attribute: str = "role"

    def of(self, facts: Facts) -> str | None:
        if self.input is not None:
            value = facts.value(self.input)
            return str(value) if value is not None else None
        found = facts.row(self.row or "")
        return str(getattr(found, self.attribute)) if found is not None else None


def _covers(actor: Actor, relations: frozenset[Relation], path: str, role: str | None) -> bool:
    held = any(g.relation in relations and is_under(path, g.path) for g in actor.grants)
    return held and (role is None or rank(role) <= actor.admin_rank_over(path))


@dataclass(frozen=True)
class Over:
    """A grant with one of `relations` over the place of every row the input names in `on`
    (and over the parent of each row in `parent_of`), reaching the rank of `rank`.

    With none of those fields given, `otherwise` decides (refused when there is none).
    """

    relations: frozenset[Relation]
    on: tuple[str, ...] = ()
    parent_of: tuple[str, ...] = ()
    rank: Rank | None = None
    otherwise: Rule | None = None

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        targets: list[list[str]] = []
        for name in self.on:
            found = facts.row(name)
            if found is not None:
                targets.append(await facts.places(found))
        for name in self.parent_of:
            found = facts.row(name)
            if found is not None:
                targets.append([str(found.path).rpartition(".")[0]])
        if not targets:
            return self.otherwise is not None and await self.otherwise.allows(actor, facts)
        role = self.rank.of(facts) if self.rank else None
        return all(
            any(_covers(actor, self.relations, place, role) for place in places)
            for places in targets
        )


def over(*relations: Relation, **kwargs: Any) -> Over:
    return Over(frozenset(relations), **kwargs)


@dataclass(frozen=True)
class Manages:
    """The actor may act on the account or positions of the person the input names (`person`
    row, or the `attribute` of that row naming a person).

    Never on oneself. Every active grant of the person must lie inside the actor's admin
    subtree, at a rank the actor reaches there; for credentials the actor must strictly
    outrank every admin grant, so nobody signs in as a peer or a superior.
    """

    person: str
    attribute: str = "id"
    credentials: bool = False

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        found = facts.row(self.person)
        if found is None:
            return False
        person_id = int(getattr(found, self.attribute))
        if actor.person_id is not None and actor.person_id == person_id:
            return False
        for role, path in await facts.grants_of(person_id):
            reach = actor.admin_rank_over(path)
            if reach < 1 or reach < rank(role):
                return False
            if self.credentials and rank(role) > 0 and reach <= rank(role):
                return False
        return True


@dataclass(frozen=True)
class LivesAt:
    """A resident acting for themselves at their own place: the place the input names is
    their building or above it, and `person` (if given) is the actor."""

    on: tuple[str, ...]
    person: str

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        home = actor.household_path
        if home is None or actor.person_id is None:
            return False
        named = facts.row(self.person)
        if named is not None and named.id != actor.person_id:
            return False
        places = [facts.row(name) for name in self.on]
        given = [p for p in places if p is not None]
        return bool(given) and all(is_under(home, str(p.path)) for p in given)


@dataclass(frozen=True)
class Given:
    """The input names `name` (combine with `All`)."""

    name: str

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        return facts.row(self.name) is not None or facts.value(self.name) is not None


@dataclass(frozen=True)
class Other:
    """The input names a person other than the actor (staff recording for a resident)."""

    name: str

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        found = facts.row(self.name)
        return found is not None and found.id != actor.person_id


@dataclass(frozen=True)
class All:
    rules: tuple[Rule, ...]

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        for rule in self.rules:
            if not await rule.allows(actor, facts):
                return False
        return True


@dataclass(frozen=True)
class AnyOf:
    rules: tuple[Rule, ...]

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        for rule in self.rules:
            if await rule.allows(actor, facts):
                return True
        return False


def all_of(*rules: Rule) -> All:
    return All(rules)


def any_of(*rules: Rule) -> AnyOf:
    return AnyOf(rules)


# --- processes with states -----------------------------------------------------------------


class Party(enum.StrEnum):
    """How an actor stands to one row of a process, for deciding its actions."""

    HANDLER = "HANDLER"  # handles what the row's owner level handles, over the owner's node
    ASSIGNEE = "ASSIGNEE"  # the row is assigned to the actor
    REPORTER = "REPORTER"  # the row is the actor's own request
    RECORDER = "RECORDER"  # the actor recorded it on someone's behalf
    CLAIMANT = "CLAIMANT"  # the actor claimed it
    CLAIMER = "CLAIMER"  # may claim it (eligible, and not their own)
    KEEPER = "KEEPER"  # keeps the wall, the station, the roster ... where the row is


@dataclass(frozen=True)
class ActionTable(Generic[A]):
    """Which parties may take each action of a process, and how to find an actor's parties."""

    by_action: Mapping[A, frozenset[Party]]
    parties: Callable[[Actor, Any], frozenset[Party]]

    def permitted(self, actor: Actor, row: Any) -> frozenset[A]:
        if actor.unrestricted:
            return frozenset(self.by_action)
        mine = self.parties(actor, row)
        return frozenset(a for a, allowed in self.by_action.items() if allowed & mine)


@dataclass(frozen=True, eq=False)
class Queue(Generic[A]):
    """What waits for an actor in one process: rows in a status where one of the `forward`
    actions is legal and the actor is a party the table lets take it, and rows in a status of
    `also` for the parties it names (a step outside the table, such as a rating).

    `party_sql(actor, party)` is the SQL condition "the actor is this party to the row", or
    None when the actor cannot be; it says in SQL what `table.parties` says in Python, and
    the tests hold the two to each other.
    """

    table: ActionTable[A]
    status: Any
    party_sql: Callable[[Actor, Party], Any | None]
    #: the actions that move the work on; None: every action of the table
    forward: frozenset[A] | None = None
    also: Mapping[Party, frozenset[Any]] = field(default_factory=dict)

    def statuses(self, transitions: Mapping[Any, Mapping[A, Any]], party: Party) -> list[Any]:
        actions = {
            action
            for action, parties in self.table.by_action.items()
            if party in parties and (self.forward is None or action in self.forward)
        }
        found = {status for status, moves in transitions.items() if actions & set(moves)}
        return sorted(found | self.also.get(party, frozenset()))

    def condition(self, actor: Actor, transitions: Mapping[Any, Mapping[A, Any]]) -> Any:
        if actor.unrestricted:
            every = {s for party in Party for s in self.statuses(transitions, party)}
            return self.status.in_(sorted(every))
        parts = []
        for party in Party:
            statuses = self.statuses(transitions, party)
            who = self.party_sql(actor, party) if statuses else None
            if who is not None:
                parts.append(sa.and_(who, self.status.in_(statuses)))
        return sa.or_(*parts) if parts else sa.false()


@dataclass(frozen=True)
class Waiting:
    """The condition "waits for `actor`" of a queue, over a workflow's transitions; hashable,
    so a listing's filter can carry it."""

    queue: Queue[Any]
    workflow: Any
    actor: Actor

    def condition(self) -> Any:
        return self.queue.condition(self.actor, self.workflow.transitions)


@dataclass(frozen=True)
class As:
    """The actor stands to the row the input names in `on` as one of `parties` (`of` finds
    an actor's parties to such a row)."""

    parties: frozenset[Party]
    of: Callable[[Actor, Any], frozenset[Party]]
    on: str = "id"

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        found = facts.row(self.on)
        return found is not None and bool(self.of(actor, found) & self.parties)


@dataclass(frozen=True)
class Acts(Generic[A]):
    """The actor is a party allowed to take the action (an input value, or `fixed`) on the
    process row the input names in `on`."""

    table: ActionTable[A]
    on: str = "id"
    action: str = "action"
    fixed: A | None = field(default=None)

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        found = facts.row(self.on)
        wanted = self.fixed if self.fixed is not None else facts.value(self.action)
        return found is not None and wanted in self.table.permitted(actor, found)


async def decide(rule: Rule, actor: Actor, facts: Facts) -> bool:
    """Unrestricted actors (the system itself) pass every rule."""
    return actor.unrestricted or await rule.allows(actor, facts)
