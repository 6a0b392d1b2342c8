"""The field policy and an actor's relations to rows, as SQL for the query compiler.

Nothing here decides anything new: each function states in SQL what `permissions.policy`,
`permissions.actor` and `schema.policy` decide in Python, from the same tables. A relation
set is a bit mask (`BIT`); a rule reads FULL when the row's mask meets its full bits, MASKED
when it meets its masked bits (`FieldRule.access` is exactly such a pair of intersections,
which a test checks over every set of relations), and masks are SQL functions equal to the
Python ones (migration 0009, compared on random inputs by a test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from permissions.actor import SUPERSEDED_BY_ADMIN, Actor
from permissions.masking import mask_id_card, mask_name, mask_phone, mask_room
from permissions.policy import FieldRule
from permissions.roles import Relation

R = Relation
#: One bit per relation.
BIT: dict[Relation, int] = {r: 1 << i for i, r in enumerate(Relation)}

#: The SQL twin of each mask (a rule whose mask has none is not compiled).
MASKS: dict[Callable[[Any], Any], str] = {
    mask_name: "gql_mask_name",
    mask_phone: "gql_mask_phone",
    mask_id_card: "gql_mask_id_card",
    mask_room: "gql_mask_room",
}


def bits(relations: Iterable[Relation]) -> int:
    found = 0
    for relation in relations:
        found |= BIT[relation]
    return found


def relations_of(mask: int) -> set[Relation]:
    return {r for r, b in BIT.items() if mask & b}


@dataclass(frozen=True)
class RuleBits:
    """A field rule as bit masks: FULL where `mask & full`, else MASKED where `mask & masked`."""

    full: int
    masked: int
    personal: bool
    mask_sql: str | None
    concealed_by: str | None

    def access_sql(self, mask: str, flag: str | None) -> tuple[str, str]:
        """SQL conditions (FULL, MASKED) over the row's relation mask; `flag` is the row's
        `concealed_by` column, if the rule has one."""
        full = f"({mask} & {self.full}) <> 0" if self.full else "false"
        masked = f"({mask} & {self.masked}) <> 0" if self.masked else "false"
        if self.concealed_by is None or flag is None:
            return full, masked
        own = f"({mask} & {BIT[R.SELF]}) <> 0"
        return (
            f"(CASE WHEN {flag} THEN {own} ELSE {full} END)",
            f"(NOT coalesce({flag}, false) AND {masked})",
        )

    def decide(self, mask: int, concealed: bool = False) -> int:
        """The access (0 DENIED, 1 MASKED, 2 FULL) the SQL gives a row with `mask`."""
        if self.concealed_by is not None and concealed:
            return 2 if mask & BIT[R.SELF] else 0
        if mask & self.full:
            return 2
        return 1 if mask & self.masked else 0


def rule_bits(rule: FieldRule | None) -> RuleBits | None:
    """The rule as bits; None for no rule (DENIED); raises LookupError for a mask that has
    no SQL twin."""
    if rule is None:
        return None
    mask_sql = None
    if rule.mask is not None:
        mask_sql = MASKS[rule.mask]
    other = BIT[R.OTHER] if rule.personal else 0  # a personal field is never just OTHER's
    return RuleBits(
        full=bits(rule.full) & ~other,
        masked=bits(rule.masked) & ~other,
        personal=rule.personal,
        mask_sql=mask_sql,
        concealed_by=rule.concealed_by,
    )


def settle(raw: str) -> str:
    """`narrowed`, then OTHER for a visible row with no closer relation
    (`schema.policy._settle`), of the relation mask `raw` (a column: it is read thrice)."""
    admin = BIT[R.ADMIN]
    return (
        f"CASE WHEN ({raw} & {admin}) <> 0 THEN {raw} & ~{bits(SUPERSEDED_BY_ADMIN)}"
        f" WHEN {raw} = 0 THEN {BIT[R.OTHER]} ELSE {raw} END"
    )


def serving(raw: str) -> str:
    """Building staff and grid workers see people who only serve there (no home here) as
    fellow staff: SERVICE (`schema.policy.relations_to`)."""
    staff = bits({R.BUILDING_STAFF, R.GRID})
    service = BIT[R.SERVICE]
    return f"CASE WHEN ({raw} & {staff}) <> 0 THEN ({raw} & ~{staff}) | {service} ELSE {raw} END"


def grant_paths(actor: Actor) -> dict[Relation, tuple[str, ...]]:
    """The actor's grant paths by the relation they give, in a stable order."""
    found: dict[Relation, set[str]] = {}
    for grant in actor.grants:
        found.setdefault(grant.relation, set()).add(grant.path)
    return {r: tuple(sorted(found[r])) for r in Relation if r in found}


def possible(actor: Actor) -> int:
    """Every bit a row's mask can hold for this actor (before narrowing), OTHER included."""
    found = bits(grant_paths(actor)) | BIT[R.OTHER]
    if found & bits({R.BUILDING_STAFF, R.GRID}):
        found |= BIT[R.SERVICE]
    if actor.city_admin:
        found |= BIT[R.ADMIN]
    if actor.household_path:
        found |= BIT[R.HOUSEHOLD]
    if actor.person_id is not None:
        found |= BIT[R.SELF] | BIT[R.TASKED]
    if actor.contact_ids:
        found |= BIT[R.CONTACT]
    return found
