"""Queues: what waits for an actor in each process, and how much of it there is per status.

Which rows wait for whom is the permission layer's condition (`permissions.rules.Queue`),
carried in the listing's filter; here it is counted, in one statement per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from resolvers.loaders import Loaders
from resolvers.pagination import Filter


@dataclass(frozen=True)
class StatusCount:
    status: str
    count: int
    #: past a deadline (for processes that have one; 0 otherwise)
    late: int


async def status_counts(
    loaders: Loaders, model: Any, f: Filter, late: Any = None
) -> list[StatusCount]:
    """Rows of `model` the filter admits and the actor may see, per status (statuses with
    none are left out), with how many of them `late` holds for."""
    late_count = sa.func.count().filter(late) if late is not None else sa.literal(0)
    stmt = (
        sa.select(model.status, sa.func.count(), late_count)
        .where(*f.conditions(), *loaders.scope(model))
        .group_by(model.status)
        .order_by(model.status)
    )
    return [StatusCount(str(s), int(n), int(k)) for s, n, k in await loaders.fetch(stmt)]
