"""One mechanism for every process with states (petitions, micro-wishes, service orders,
redemptions ...): a transition table as data, a versioned move, a timeline row per change.

A move is a guarded `UPDATE ... WHERE id = :id AND version = :seen AND status = :from`:
of two concurrent moves exactly one changes the row; the other is VERSION_CONFLICT (or what
the domain makes of it) and nothing is lost. The event row is written in the same
transaction and carries the row's `path`, so what happened under a node is one indexed
predicate; it is announced to subscribers (`resolvers.live.announce`, the topic being the
workflow's noun) when, and only if, the transaction commits. Who may take an action is
decided before a move, in permissions/; a move trusts the actor it is given.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.errors import Common, DomainError
from resolvers.live import announce

R = TypeVar("R")
S = TypeVar("S", bound=enum.StrEnum)
A = TypeVar("A", bound=enum.StrEnum)


class Flow(enum.StrEnum):
    """Codes every process with states can answer."""

    INVALID_TRANSITION = "INVALID_TRANSITION"
    VERSION_CONFLICT = "VERSION_CONFLICT"


@dataclass(frozen=True, eq=False)
class Workflow(Generic[R, S, A]):
    """The states of `model` rows and the `event` rows that record each move.

    `model` has `id`, `status`, `version`, `path` and `status_changed_at`; `event` has
    `<event_key>`, `action`, `from_status`, `to_status`, `actor_person_id`, `note`,
    `version`, `path` and `at`, plus whatever `event_values` adds.
    """

    noun: str
    model: type[R]
    event: type[Any]
    event_key: str
    transitions: Mapping[S, Mapping[A, S]]
    #: arguments an action cannot do without (python argument names)
    required: Mapping[A, frozenset[str]] = field(default_factory=dict)
    #: extra event columns for a move by `actor_person_id` (e.g. hiding an anonymous reporter)
    event_values: Callable[[R, int | None], dict[str, Any]] | None = None
    #: bookkeeping every recorded step implies (e.g. a petition's stages), in the same
    #: transaction, after the row moved: no caller can forget it
    after_record: Callable[[AsyncSession, R, A, datetime], Awaitable[None]] | None = None

    def legal(self, status: S) -> frozenset[A]:
        return frozenset(self.transitions[status])

    def target(self, status: S, action: A) -> S | None:
        return self.transitions[status].get(action)

    def refusal(self, row: Any, action: A) -> DomainError:
        allowed = ", ".join(sorted(self.transitions[row.status])) or "none: it is final"
        return DomainError(
            Flow.INVALID_TRANSITION,
            f"a {row.status} {self.noun} cannot {action} (allowed: {allowed})",
            "action",
        )

    def conflict(self, row: Any, expected_version: int) -> DomainError:
        return DomainError(
            Flow.VERSION_CONFLICT,
            f"the {self.noun} is at version {row.version}, not {expected_version}:"
            " reload it and try again",
            "expected_version",
        )

    def _lost(
        self, row: R, seen: int, lost_race: Callable[[R], DomainError | None] | None
    ) -> DomainError:
        return (lost_race(row) if lost_race else None) or self.conflict(row, seen)

    def require(self, action: A, given: Mapping[str, Any], meaning: Mapping[str, str]) -> None:
        """VALIDATION naming the first missing argument `action` needs."""
        for name in sorted(self.required.get(action, frozenset())):
            if given.get(name) is None:
                what = meaning.get(name, f"`{name}`")
                raise DomainError(Common.VALIDATION, f"{action} needs {what}", name)

    async def load(self, session: AsyncSession, ident: int, *, lock: bool = False) -> R:
        model: Any = self.model
        stmt = sa.select(model).where(model.id == ident).execution_options(populate_existing=True)
        if lock:
            stmt = stmt.with_for_update()
        found: R | None = await session.scalar(stmt)
        if found is None:
            raise DomainError(Common.NOT_FOUND, f"{self.noun} not found", "id")
        return found

    async def claim(
        self, session: AsyncSession, *where: Any, order_by: Sequence[Any], batch: int
    ) -> list[R]:
        """Up to `batch` rows a scheduled job moves now, claimed FOR UPDATE SKIP LOCKED:
        schedulers in several app instances share the work and never move one row twice for
        one lapse (the move changes what `where` holds for)."""
        model: Any = self.model
        rows = await session.scalars(
            sa.select(model)
            .where(*where)
            .order_by(*order_by, model.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return list(rows)

    async def sweep(
        self,
        session: AsyncSession,
        rows: Sequence[R],
        action: A,
        *,
        now: datetime,
        note: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """Move each claimed row along `action` as the system (one note and values for all);
        their ids, for the scheduler's count."""
        done: list[int] = []
        for row in rows:
            await self.move(session, row, action, None, now=now, note=note, values=values)
            done.append(int(cast(Any, row).id))
        return done

    async def record(
        self,
        session: AsyncSession,
        row: Any,
        action: A,
        from_status: S | None,
        actor_person_id: int | None,
        *,
        note: str | None,
        now: datetime,
        **extra: Any,
    ) -> None:
        values = {
            self.event_key: row.id,
            "action": action,
            "from_status": from_status,
            "to_status": row.status,
            "actor_person_id": actor_person_id,
            "note": note,
            "version": row.version,
            "path": row.path,
            "at": now,
            **extra,
        }
        if self.event_values is not None:
            values.update(self.event_values(row, actor_person_id))
        event: Any = self.event
        event_id = await session.scalar(sa.insert(event).values(**values).returning(event.id))
        await announce(session, self.noun, int(event_id), row.path)
        if self.after_record is not None:
            await self.after_record(session, row, action, now)

    async def move(
        self,
        session: AsyncSession,
        row: R,
        action: A,
        actor_person_id: int | None,
        *,
        now: datetime,
        expected_version: int | None = None,
        note: str | None = None,
        values: Mapping[str, Any] | None = None,
        event: Mapping[str, Any] | None = None,
        lost_race: Callable[[R], DomainError | None] | None = None,
    ) -> R:
        """Move `row` (as loaded) along `action`; return it reloaded at its new version.

        `expected_version` is the version the caller saw (None: the loaded one, for moves the
        system makes). `lost_race` turns a lost race into the domain's own refusal (e.g.
        ALREADY_CLAIMED) when the row as it is now explains it.
        """
        current: Any = row
        seen = current.version if expected_version is None else expected_version
        if current.version != seen:
            raise self._lost(row, seen, lost_race)
        to_status = self.target(current.status, action)
        if to_status is None:
            raise self.refusal(row, action)
        from_status = current.status
        model: Any = self.model
        changed = await session.scalar(
            sa.update(model)
            .where(model.id == current.id, model.version == seen, model.status == from_status)
            .values(
                status=to_status,
                version=model.version + 1,
                status_changed_at=now,
                **(values or {}),
            )
            .returning(model.id)
            .execution_options(synchronize_session=False)
        )
        reloaded = await self.load(session, current.id)
        if changed is None:
            raise self._lost(reloaded, seen, lost_race)
        await self.record(
            session,
            reloaded,
            action,
            from_status,
            actor_person_id,
            note=note,
            now=now,
            **(event or {}),
        )
        return reloaded
