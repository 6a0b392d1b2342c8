"""Petitions as Open311 GeoReport v2 service requests, read-only and without personal data.

A service is a petition category; a service request is a petition, with its status reduced
to GeoReport's two (STATUS_OF below), its place coarsened to the building (its street address)
or the org unit it was filed at, and none of its free text: no title, description, notes or
photos (residents write names and rooms into them), never the reporter, recorder, assignee or
handler. What remains is what a city platform needs to count and follow cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.org import Building, OrgUnit
from models.petitions import (
    AWAITING_RATING,
    FINAL_STATUSES,
    Level,
    Petition,
    PetitionCategory,
    PetitionStatus,
)
from resolvers.loaders import ScopeFn
from resolvers.register import as_int

#: GeoReport v2 knows `open` and `closed`. A case is closed once handling has ended: resolved
#: or declared not resolvable (awaiting only the resident's rating), closed (rated or not),
#: rejected, or a duplicate. Every other status is open. `status_notes` names the exact one.
STATUS_OF: dict[PetitionStatus, str] = {
    status: "closed" if status in AWAITING_RATING | FINAL_STATUSES else "open"
    for status in PetitionStatus
}
STATUS_LABELS: dict[PetitionStatus, str] = {
    PetitionStatus.SUBMITTED: "已提交",
    PetitionStatus.ACCEPTED: "已受理",
    PetitionStatus.REJECTED: "不予受理",
    PetitionStatus.DUPLICATE: "重复件",
    PetitionStatus.ASSIGNED: "已派单",
    PetitionStatus.ACKNOWLEDGED: "已签收",
    PetitionStatus.IN_PROGRESS: "办理中",
    PetitionStatus.RETURNED: "已退回",
    PetitionStatus.ESCALATED: "已上报",
    PetitionStatus.RESOLVED: "已办结，待评价",
    PetitionStatus.NOT_RESOLVABLE: "无法解决，待评价",
    PetitionStatus.REOPENED: "重新办理",
    PetitionStatus.CLOSED: "已办结归档",
    PetitionStatus.CLOSED_UNRATED: "逾期未评价，已归档",
}
LEVEL_LABELS: dict[Level, str] = {
    Level.BUILDING: "楼栋",
    Level.GRID: "网格",
    Level.COMMUNITY: "社区",
    Level.STREET: "街道",
    Level.DISTRICT: "区",
}
#: The most requests one answer holds (GeoReport: "up to 1000"), newest first.
MAX_REQUESTS = 1_000
#: The widest window of `start_date`..`end_date` (GeoReport: "may not span more than 90 days").
MAX_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    remit: tuple[str, ...]


@dataclass(frozen=True)
class ServiceRequest:
    id: int
    status: PetitionStatus
    owner_level: Level
    service_code: str
    service_name: str
    agency: str
    requested: datetime
    updated: datetime
    expected: datetime | None
    #: the building's street address, or the name of the org unit it was filed at
    address: str
    #: "Building:<id>" or "OrgUnit:<id>": a global id's type and number
    address_id: tuple[str, int]


async def services(session: AsyncSession) -> list[Service]:
    rows = await session.execute(
        sa.select(
            col(PetitionCategory.code),
            col(PetitionCategory.name),
            col(PetitionCategory.remit_levels),
        )
        .where(col(PetitionCategory.active))
        .order_by(col(PetitionCategory.code))
    )
    return [Service(str(c), str(n), tuple(levels)) for c, n, levels in rows]


@dataclass(frozen=True)
class RequestFilter:
    ids: tuple[int, ...] = ()
    codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()  # "open", "closed"
    start: datetime | None = None
    end: datetime | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = []
        if self.ids:
            found.append(col(Petition.id).in_(self.ids))
        if self.codes:
            found.append(col(PetitionCategory.code).in_(self.codes))
        if self.statuses:
            wanted = [s for s, mapped in STATUS_OF.items() if mapped in self.statuses]
            found.append(col(Petition.status).in_(wanted))
        if self.start is not None:
            found.append(col(Petition.submitted_at) >= self.start)
        if self.end is not None:
            found.append(col(Petition.submitted_at) <= self.end)
        return found


async def service_requests(
    session: AsyncSession, scope: ScopeFn, wanted: RequestFilter
) -> list[ServiceRequest]:
    """The petitions the caller sees that match, newest first, at most MAX_REQUESTS."""
    place = sa.orm.aliased(OrgUnit, name="place")
    owner = sa.orm.aliased(OrgUnit, name="owner")
    statement = (
        sa.select(
            col(Petition.id),
            col(Petition.status),
            col(Petition.owner_level),
            col(PetitionCategory.code),
            col(PetitionCategory.name),
            col(Petition.submitted_at),
            col(Petition.status_changed_at),
            col(Petition.due_at),
            col(Building.id),
            col(Building.name),
            col(Building.address),
            col(place.id),
            col(place.name),
            col(owner.name),
        )
        .join(PetitionCategory, col(PetitionCategory.id) == col(Petition.category_id))
        .outerjoin(Building, col(Building.id) == col(Petition.building_id))
        .outerjoin(place, col(place.id) == col(Petition.org_unit_id))
        .outerjoin(owner, col(owner.id) == col(Petition.owner_org_unit_id))
        .where(*scope(Petition), *wanted.conditions())
        .order_by(col(Petition.submitted_at).desc(), col(Petition.id).desc())
        .limit(MAX_REQUESTS)
    )
    found: list[ServiceRequest] = []
    for row in await session.execute(statement):
        (ident, status, level, code, name, submitted, changed, due) = row[:8]
        building_id, building_name, building_address, unit_id, unit_name, owner_name = row[8:]
        status = PetitionStatus(status)
        at_building = building_id is not None
        found.append(
            ServiceRequest(
                id=as_int(ident),
                status=status,
                owner_level=Level(level),
                service_code=str(code),
                service_name=str(name),
                agency=str(owner_name if owner_name is not None else building_name),
                requested=submitted,
                updated=changed,
                expected=due if STATUS_OF[status] == "open" else None,
                address=str(building_address if at_building else unit_name),
                address_id=("Building", as_int(building_id))
                if at_building
                else ("OrgUnit", as_int(unit_id)),
            )
        )
    return found


def status_notes(request: ServiceRequest) -> str:
    """The exact status and the level handling it (no free text)."""
    label = STATUS_LABELS[request.status]
    return f"{request.status.value} {label}; {LEVEL_LABELS[request.owner_level]}级办理"


def parse_ids(values: Sequence[str]) -> tuple[int, ...]:
    return tuple(int(v) for v in values)
