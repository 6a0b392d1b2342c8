"""The rows and FULL values of the field matrix's service types (`test_field_matrix`):
a resident's first service order, the first visit to their household and its first finding."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.org import Building, Household
from models.people import Person
from models.petitions import Petition
from models.services import (
    DoorVisit,
    PropertyCompany,
    ServiceCategory,
    ServiceItem,
    ServiceOrder,
    ServiceOrderEvent,
    ServiceRating,
    ServiceStation,
    ServiceTeam,
    VisitFinding,
)
from permissions import services as rules
from permissions.actor import Actor
from permissions.scope import visible
from resolvers import services as rs
from tests.permissions.support import gid


async def _ids(
    session: AsyncSession, actor: Actor, type_name: str, model: Any, *where: Any
) -> list[str]:
    found = await session.scalars(sa.select(model.id).where(*where, *visible(model, actor)))
    return sorted(gid(type_name, i) for i in found)


async def _one(
    session: AsyncSession, actor: Actor, type_name: str, model: Any, ident: int | None
) -> str | None:
    if ident is None:
        return None
    found = await _ids(session, actor, type_name, model, model.id == ident)
    return found[0] if found else None


async def _count(session: AsyncSession, actor: Actor, model: Any, *where: Any) -> int:
    found = await session.scalar(
        sa.select(sa.func.count()).select_from(model).where(*where, *visible(model, actor))
    )
    return int(found or 0)


async def order_of(session: AsyncSession, person: Person) -> ServiceOrder | None:
    found: ServiceOrder | None = await session.scalar(
        sa.select(ServiceOrder)
        .where(col(ServiceOrder.resident_id) == person.id)
        .order_by(col(ServiceOrder.id))
        .limit(1)
    )
    return found


async def visit_of(session: AsyncSession, person: Person) -> DoorVisit | None:
    found: DoorVisit | None = await session.scalar(
        sa.select(DoorVisit)
        .where(col(DoorVisit.household_id) == person.household_id)
        .order_by(col(DoorVisit.id))
        .limit(1)
    )
    return found


async def finding_of(session: AsyncSession, person: Person) -> VisitFinding | None:
    visit = await visit_of(session, person)
    if visit is None:
        return None
    found: VisitFinding | None = await session.scalar(
        sa.select(VisitFinding)
        .where(col(VisitFinding.visit_id) == visit.id)
        .order_by(col(VisitFinding.id))
        .limit(1)
    )
    return found


SERVICE_ROWS: dict[str, Callable[[AsyncSession, Person], Awaitable[Any]]] = {
    "ServiceOrder": order_of,
    "DoorVisit": visit_of,
    "VisitFinding": finding_of,
}


def _at(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


async def order_values(session: AsyncSession, actor: Actor, order: ServiceOrder) -> dict[str, Any]:
    permitted = rules.ORDER_ACTIONS.permitted(actor, order)
    return {
        "id": gid("ServiceOrder", order.id),
        "channel": str(order.channel),
        "status": str(order.status),
        "version": order.version,
        "ownerLevel": str(order.owner_level),
        "specialGroup": order.queue_rank > 0,
        "details": order.details,
        "preferredTime": order.preferred_time,
        "contactName": order.contact_name,
        "contactPhone": order.contact_phone,
        "address": order.address,
        "scheduledFor": order.scheduled_for.isoformat() if order.scheduled_for else None,
        "evidence": list(order.evidence),
        "completionNote": order.completion_note,
        "hours": rs.hours_of(order.minutes),
        "rejectionReason": order.rejection_reason,
        "cancelReason": order.cancel_reason,
        "escalationCount": order.escalation_count,
        "submittedAt": _at(order.submitted_at),
        "dueAt": _at(order.due_at),
        "dispatchedAt": _at(order.dispatched_at),
        "acceptedAt": _at(order.accepted_at),
        "doneAt": _at(order.done_at),
        "closedAt": _at(order.closed_at),
        "overdue": rs.overdue(order),
        "item": await _one(session, actor, "ServiceItem", ServiceItem, order.item_id),
        "category": await _one(
            session, actor, "ServiceCategory", ServiceCategory, order.category_id
        ),
        "building": await _one(session, actor, "Building", Building, order.building_id),
        "resident": await _one(session, actor, "Person", Person, order.resident_id),
        "recordedBy": await _one(session, actor, "Person", Person, order.recorded_by_id),
        "assignee": await _one(session, actor, "Person", Person, order.assignee_id),
        "team": await _one(session, actor, "ServiceTeam", ServiceTeam, order.team_id),
        "station": await _one(session, actor, "ServiceStation", ServiceStation, order.station_id),
        "propertyCompany": await _one(
            session, actor, "PropertyCompany", PropertyCompany, order.property_company_id
        ),
        "allowedActions": sorted(str(a) for a in rs.ORDERS.legal(order.status) & permitted),
        "timeline": await _count(
            session, actor, ServiceOrderEvent, col(ServiceOrderEvent.order_id) == order.id
        ),
        "rating": "ServiceRating"
        if await _count(session, actor, ServiceRating, col(ServiceRating.order_id) == order.id)
        else None,
        "finding": next(
            iter(
                await _ids(
                    session,
                    actor,
                    "VisitFinding",
                    VisitFinding,
                    col(VisitFinding.service_order_id) == order.id,
                )
            ),
            None,
        ),
    }


async def visit_values(session: AsyncSession, actor: Actor, visit: DoorVisit) -> dict[str, Any]:
    return {
        "id": gid("DoorVisit", visit.id),
        "kind": str(visit.kind),
        "visitedAt": _at(visit.visited_at),
        "recordedAt": _at(visit.recorded_at),
        "notes": visit.notes,
        "household": await _one(session, actor, "Household", Household, visit.household_id),
        "building": await _one(session, actor, "Building", Building, visit.building_id),
        "visitor": await _one(session, actor, "Person", Person, visit.visitor_id),
        "team": await _one(session, actor, "ServiceTeam", ServiceTeam, visit.team_id),
        "findings": await _ids(
            session, actor, "VisitFinding", VisitFinding, col(VisitFinding.visit_id) == visit.id
        ),
    }


async def finding_values(
    session: AsyncSession, actor: Actor, finding: VisitFinding
) -> dict[str, Any]:
    return {
        "id": gid("VisitFinding", finding.id),
        "kind": str(finding.kind),
        "category": await _one(
            session, actor, "ServiceCategory", ServiceCategory, finding.category_id
        ),
        "description": finding.description,
        "outcome": str(finding.outcome) if finding.outcome else None,
        "petition": await _one(session, actor, "Petition", Petition, finding.petition_id),
        "serviceOrder": await _one(
            session, actor, "ServiceOrder", ServiceOrder, finding.service_order_id
        ),
        "resolutionNote": finding.resolution_note,
        "followedUpAt": _at(finding.followed_up_at),
        "resolvedAt": _at(finding.resolved_at),
        "visit": await _one(session, actor, "DoorVisit", DoorVisit, finding.visit_id),
    }


SERVICE_VALUES: dict[str, Callable[[AsyncSession, Actor, Any], Awaitable[dict[str, Any]]]] = {
    "ServiceOrder": order_values,
    "DoorVisit": visit_values,
    "VisitFinding": finding_values,
}
