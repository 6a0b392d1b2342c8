"""Small-cell suppression: displays never show a count small enough to point at a person."""

from __future__ import annotations

from permissions.actor import Actor
from permissions.roles import Relation

#: Counts from 1 to SMALL_CELL - 1 are withheld from display tokens.
SMALL_CELL = 5


def shown_count(actor: Actor, value: int) -> int | None:
    displays_only = bool(actor.grants) and all(g.relation is Relation.DISPLAY for g in actor.grants)
    if displays_only and 0 < value < SMALL_CELL:
        return None
    return value


def shown_rate(actor: Actor, rate: float | None, denominator: int) -> float | None:
    """A rate over a withheld count would give the count away: withheld with it."""
    return rate if shown_count(actor, denominator) is not None else None
