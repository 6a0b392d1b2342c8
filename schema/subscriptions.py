"""The Subscription root: the steps of petitions and micro-wishes under a node, a display's
feed, and display figures kept current.

A subscription resolver decides who may subscribe to what (`permissions.live`) and returns a
`Feed`: the topic and node to watch, the cursor to resume after, and how to turn one event
into the root of the payload. The WebSocket transport (`schema.websocket`) watches the feed
and resolves each event's payload like a query by the same actor, with a context of its own
(row scope and the field policy apply per event: an event whose rows the subscriber may not
see is not sent at all).

Every message carries `id`, the event's cursor in commit order; a client that reconnects
passes the last one it saw as `after` and first gets what it missed (`LIVE_RESUME_MAX` events
at most, from the last `LIVE_RETENTION_HOURS` hours), then live events, nothing missed or
repeated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import strawberry
from sqlmodel import col

from models import org as mo
from models import petitions as m
from models import wishes as mw
from models.base import utcnow
from permissions.live import Subscription as Field
from permissions.live import may_subscribe
from resolvers.errors import Common, DomainError, invalid
from resolvers.live import Event, Topic
from schema.context import Context, Info
from schema.figures import DisplayFigures, figures_node
from schema.operations import forbidden
from schema.petitions import PetitionEventNode, PetitionNode
from schema.relay import expect_id, from_global_id, to_global_id
from schema.wishes import MicroWishNode, WishEventNode

#: The type name inside a message's `id` (a cursor in commit order, not a row of ours).
CURSOR_TYPE = "LiveEvent"
#: The topic of figures pushes (not an event of the log).
FIGURES_TOPIC = "figures"

Root = Callable[[Context, Event | None], Awaitable[Any | None]]


@dataclass(eq=False)
class Feed(AsyncIterator[Any]):
    """What a subscription watches, returned by its resolver to the transport."""

    field: str
    topic: str
    path: str
    #: the sequence number of the last event the client saw (resume after it)
    after: int | None
    #: the payload's root for an event, in the event's own context; None: not for this actor
    root: Root

    def __aiter__(self) -> Feed:
        return self

    async def __anext__(self) -> Any:
        raise StopAsyncIteration


def cursor(seq: int) -> strawberry.ID:
    return to_global_id(CURSOR_TYPE, seq)


def _after(after: strawberry.ID | None) -> int | None:
    return expect_id(after, CURSOR_TYPE, "after") if after is not None else None


async def _place(info: Info, field: str, global_id: str, argument: str) -> str:
    """The path of the org unit or building subscribed to, if the caller may subscribe there
    (absent and out of scope read alike: NOT_FOUND)."""
    type_name, ident = from_global_id(global_id, argument)
    model: Any = {"OrgUnit": mo.OrgUnit, "Building": mo.Building}.get(type_name)
    row = await info.context.loaders.get(model, ident) if model is not None else None
    if row is None or row.path is None:
        raise DomainError(Common.NOT_FOUND, "no org unit or building with this ID", argument)
    if not may_subscribe(info.context.actor, field, row.path):
        raise forbidden()
    return str(row.path)


# --- petitions ------------------------------------------------------------------------


@strawberry.type(description="A step of a petition under the node subscribed to.")
class PetitionEventMessage:
    id: strawberry.ID = strawberry.field(
        description="The event's cursor: pass the last one seen as `after` to resume."
    )
    #: the timeline row (a `PetitionEvent`)
    event: Any = strawberry.field(graphql_type=PetitionEventNode)

    @strawberry.field(
        description="The petition as it is now (as a query would show it).",
        graphql_type=PetitionNode | None,
    )
    async def petition(self, info: Info) -> Any:
        return await info.context.loaders.get(m.Petition, self.event.petition_id)


async def _petition_root(context: Context, event: Event | None) -> PetitionEventMessage | None:
    assert event is not None
    row = await context.loaders.get(m.PetitionEvent, event.source_id)
    if row is None:
        return None
    return PetitionEventMessage(id=cursor(event.seq), event=row)


# --- micro-wishes ---------------------------------------------------------------------


@strawberry.type(description="A step of a micro-wish on a wall under the node subscribed to.")
class WishEventMessage:
    id: strawberry.ID = strawberry.field(
        description="The event's cursor: pass the last one seen as `after` to resume."
    )
    #: the timeline row (a `WishEvent`)
    event: Any = strawberry.field(graphql_type=WishEventNode)

    @strawberry.field(
        description="The wish as it is now (as a query would show it).",
        graphql_type=MicroWishNode | None,
    )
    async def wish(self, info: Info) -> Any:
        return await info.context.loaders.get(mw.MicroWish, self.event.wish_id)


async def _wish_root(context: Context, event: Event | None) -> WishEventMessage | None:
    assert event is not None
    row = await context.loaders.get(mw.MicroWishEvent, event.source_id)
    if row is None:
        return None
    return WishEventMessage(id=cursor(event.seq), event=row)


# --- a display's feed -----------------------------------------------------------------


@strawberry.type(
    description="A petition's step as a display may show it (`permissions.live`): what kind "
    "of case, what happened, when, in which grid. Never who, never the building, never text."
)
class DisplayFeedItem:
    id: strawberry.ID = strawberry.field(
        description="The event's cursor: pass the last one seen as `after` to resume."
    )
    at: datetime
    action: m.PetitionAction
    from_status: m.PetitionStatus | None
    to_status: m.PetitionStatus
    category: str = strawberry.field(description="The category's name.")
    grid: str | None = strawberry.field(description="The grid it lies in (null above grids).")
    community: str | None


async def _feed_root(context: Context, event: Event | None) -> DisplayFeedItem | None:
    """Read past row scope on purpose: a display sees no case, only what the feed item
    shows of one under the node it may watch (the transport checked the node)."""
    assert event is not None
    found = (
        await context.session.execute(
            sa.select(
                col(m.PetitionEvent.at),
                col(m.PetitionEvent.action),
                col(m.PetitionEvent.from_status),
                col(m.PetitionEvent.to_status),
                col(m.PetitionCategory.name),
            )
            .join(m.Petition, col(m.Petition.id) == col(m.PetitionEvent.petition_id))
            .join(m.PetitionCategory, col(m.PetitionCategory.id) == col(m.Petition.category_id))
            .where(col(m.PetitionEvent.id) == event.source_id)
        )
    ).first()
    if found is None:
        return None
    units = [int(label) for label in event.path.split(".") if label.isdigit()]
    community = await context.loaders.get(mo.OrgUnit, units[3]) if len(units) > 3 else None
    grid = await context.loaders.get(mo.OrgUnit, units[4]) if len(units) > 4 else None
    at, action, from_status, to_status, category = found
    return DisplayFeedItem(
        id=cursor(event.seq),
        at=at,
        action=action,
        from_status=from_status,
        to_status=to_status,
        category=category,
        grid=grid.name if grid else None,
        community=community.name if community else None,
    )


# --- figures --------------------------------------------------------------------------


def _figures_root(unit_id: int) -> Root:
    async def root(context: Context, _: Event | None) -> DisplayFigures | None:
        unit = await context.loaders.get(mo.OrgUnit, unit_id)
        return DisplayFigures(row=unit, as_of=utcnow()) if unit is not None else None

    return root


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Every step of the petitions under an org unit or building that you may "
        "see (a resident: her own). Not for displays: they read `displayFeed`."
    )
    async def petition_events(
        self, info: Info, under: strawberry.ID, after: strawberry.ID | None = None
    ) -> AsyncIterator[PetitionEventMessage]:
        path = await _place(info, Field.PETITION_EVENTS, under, "under")
        return Feed(Field.PETITION_EVENTS, Topic.PETITION, path, _after(after), _petition_root)

    @strawberry.subscription(
        description="Every step of the micro-wishes of a building's or an org unit's walls "
        "that you may see (drafts stay with their resident and the wall keepers)."
    )
    async def wish_events(
        self,
        info: Info,
        building_id: strawberry.ID | None = None,
        org_unit_id: strawberry.ID | None = None,
        after: strawberry.ID | None = None,
    ) -> AsyncIterator[WishEventMessage]:
        if (building_id is None) == (org_unit_id is None):
            raise invalid("give `buildingId` or `orgUnitId`", "buildingId")
        path = await _place(
            info,
            Field.WISH_EVENTS,
            building_id or org_unit_id or "",
            "buildingId" if building_id else "orgUnitId",
        )
        return Feed(Field.WISH_EVENTS, Topic.WISH, path, _after(after), _wish_root)

    @strawberry.subscription(
        description="A big screen's feed of petition steps under an org unit, as a display may "
        "show them: category, what happened, when, which grid; never who or what was written."
    )
    async def display_feed(
        self, info: Info, under: strawberry.ID, after: strawberry.ID | None = None
    ) -> AsyncIterator[DisplayFeedItem]:
        expect_id(under, "OrgUnit", "under")
        path = await _place(info, Field.DISPLAY_FEED, under, "under")
        return Feed(Field.DISPLAY_FEED, Topic.PETITION, path, _after(after), _feed_root)

    @strawberry.subscription(
        description="The display figures of an org unit: right away, then whenever they "
        "change, at most once a second."
    )
    async def figures_updated(
        self, info: Info, under: strawberry.ID
    ) -> AsyncIterator[DisplayFigures]:
        unit = await figures_node(info, under, None)
        assert unit.id is not None
        return Feed(
            Field.FIGURES_UPDATED,
            FIGURES_TOPIC,
            unit.path or "",
            None,
            _figures_root(unit.id),
        )
