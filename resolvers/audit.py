"""Collects what a request read in full and what it changed, and appends it to the audit log.

A request in which a person acts as the reporter of an anonymous petition (submitting it,
rating it, or any later step they take on it) is *concealed*: every entry it writes, reads
included, names no actor, no roles, no operation name, and carries a fresh request id that
joins nothing outside the request; reads of the reporter's own person and household rows are
left out, and the case's own rows are never linked (see `schema.petitions`). No sealed link to
the reporter is kept here: the petition row itself holds the reporter (the API shows it to
nobody but the reporter), which is where an investigation under a legal procedure looks.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.audit import AuditAction, AuditEntry
from resolvers.pagination import Listing, Ordering, desc


@dataclass(frozen=True)
class Who:
    """The actor as the audit log records it (no dependency on the permission model)."""

    kind: str
    person_id: int | None
    token_id: int | None
    roles: tuple[str, ...]


#: The actor kind of a concealed entry: what happened is on record, not who did it.
CONCEALED_KIND = "ANONYMOUS_REPORTER"


@dataclass
class AuditTrail:
    """One per request; `write` appends one entry per object type read, plus each change."""

    request_id: str
    operation_name: str | None = None
    reads: dict[str, dict[int, set[str]]] = field(default_factory=lambda: defaultdict(dict))
    entries: list[AuditEntry] = field(default_factory=list)
    #: rows of the reader's own person and household, by object type
    own: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    concealed: bool = False
    #: (object type, row id) of the anonymous case: never linked in a concealed entry
    unlinked: set[tuple[str, int]] = field(default_factory=set)

    def read(self, object_type: str, row_id: int, field_name: str, *, own: bool = False) -> None:
        self.reads[object_type].setdefault(row_id, set()).add(field_name)
        if own:
            self.own[object_type].add(row_id)

    def conceal(self, case: tuple[str, int] | None = None) -> None:
        """The request acts as the reporter of an anonymous petition (`case`, once it exists):
        write it nameless and without the case's id."""
        self.concealed = True
        if case is not None:
            self.unlinked.add(case)

    def record(
        self,
        who: Who,
        action: AuditAction,
        object_type: str,
        row_ids: list[int],
        fields: list[str],
        *,
        purpose: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.entries.append(
            self._entry(who, action, object_type, row_ids, fields, purpose, details)
        )

    def _entry(
        self,
        who: Who,
        action: AuditAction,
        object_type: str,
        row_ids: list[int],
        fields: list[str],
        purpose: str | None,
        details: dict[str, Any] | None,
    ) -> AuditEntry:
        return AuditEntry(
            action=action,
            actor_kind=who.kind,
            actor_person_id=who.person_id,
            actor_token_id=who.token_id,
            roles=list(who.roles),
            request_id=self.request_id,
            operation_name=self.operation_name,
            object_type=object_type,
            row_ids=sorted(set(row_ids)),
            fields=sorted(set(fields)),
            purpose=purpose,
            details=details,
        )

    @property
    def pending(self) -> bool:
        return bool(self.reads or self.entries)

    async def write(self, session: AsyncSession, who: Who) -> None:
        for entry in self.entries:  # recorded before the operation's name was known
            entry.operation_name = entry.operation_name or self.operation_name
        for object_type, read in sorted(self.reads.items()):
            hidden = self.own[object_type] if self.concealed else set()
            rows = {k: v for k, v in read.items() if k not in hidden}
            if not rows:
                continue
            fields = sorted(set().union(*rows.values()))
            self.entries.append(
                self._entry(who, AuditAction.READ, object_type, list(rows), fields, None, None)
            )
        self.reads.clear()
        if self.concealed:
            self._conceal_entries()
        session.add_all(self.entries)
        self.entries = []
        await session.flush()

    def _conceal_entries(self) -> None:
        """One fresh id for the request's entries: they stay together, joined to nothing else."""
        sealed = f"concealed-{secrets.token_hex(16)}"
        for entry in self.entries:
            entry.actor_kind = CONCEALED_KIND
            entry.actor_person_id = None
            entry.actor_token_id = None
            entry.roles = []
            entry.request_id = sealed
            entry.operation_name = None
            entry.row_ids = [
                r for r in entry.row_ids if (entry.object_type, r) not in self.unlinked
            ]


@dataclass(frozen=True)
class AuditFilter:
    actor_person_id: int | None = None
    actor_token_id: int | None = None
    object_type: str | None = None
    row_id: int | None = None
    action: AuditAction | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.actor_person_id is not None:
            found.append(col(AuditEntry.actor_person_id) == self.actor_person_id)
        if self.actor_token_id is not None:
            found.append(col(AuditEntry.actor_token_id) == self.actor_token_id)
        if self.object_type:
            found.append(col(AuditEntry.object_type) == self.object_type)
        if self.row_id is not None:
            found.append(col(AuditEntry.row_ids).contains([self.row_id]))
        if self.action:
            found.append(col(AuditEntry.action) == self.action)
        if self.since:
            found.append(col(AuditEntry.at) >= self.since)
        if self.until:
            found.append(col(AuditEntry.at) < self.until)
        return found

    def ordering(self) -> Ordering:
        return NEWEST_FIRST


AUDIT_LOG = Listing("audit_log", AuditEntry)
NEWEST_FIRST = Ordering.of(desc(AuditEntry.at), desc(AuditEntry.id))
