"""Row-scope predicates: what part of the tree an actor's queries may touch, in SQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from models.base import Ltree
from permissions.actor import Actor


def under(path_column: Any, paths: tuple[str, ...]) -> sa.ColumnElement[bool]:
    """`path <@ ANY(paths)` as one GiST-indexable predicate."""
    if not paths:
        return sa.false()
    array = sa.cast(sa.literal(list(paths), postgresql.ARRAY(sa.Text)), postgresql.ARRAY(Ltree()))
    return path_column.op("<@")(array)  # type: ignore[no-any-return]


def visible(model: Any, actor: Actor) -> list[sa.ColumnElement[bool]]:
    """Conditions restricting `model` rows to the actor's scope (empty when unrestricted)."""
    paths = actor.scope_paths
    if paths is None:
        return []
    column = getattr(model, "path", None)
    if column is None:
        return [sa.false()]
    return [under(column, paths)]
