"""`myQueue`: what waits for the signed-in person, across every place they handle, per
process: petitions to move on (or to rate), micro-wishes to publish, fulfil or confirm,
service orders to dispatch, accept, schedule, carry out (or to rate)."""

from __future__ import annotations

import sqlalchemy as sa
import strawberry
from sqlmodel import col

from models import petitions as mpet
from models import services as mserv
from models import wishes as mw
from models.petitions import OPEN_STATUSES
from permissions import petitions as petition_rules
from permissions import queues as rules
from permissions import services as service_rules
from permissions import wishes as wish_rules
from permissions.rules import Waiting
from resolvers import petitions as rp
from resolvers import queues as r
from resolvers import services as rserv
from resolvers import wishes as rw
from resolvers.pagination import PageArgs
from schema.context import Info
from schema.declare import listing
from schema.operations import authorize
from schema.petitions import PetitionFilterInput, PetitionNode, petition_filter
from schema.relay import Connection, connection
from schema.services import ServiceOrderNode
from schema.wishes import MicroWishNode

#: Open and past the nearer of its two deadlines.
_PAST_DEADLINE = sa.and_(
    col(mpet.Petition.status).in_(sorted(OPEN_STATUSES)),
    col(mpet.Petition.next_due_at) < sa.func.now(),
)
#: Its clock runs (waiting for dispatch or acceptance) and is past its deadline.
_ORDER_PAST_DEADLINE = sa.and_(
    col(mserv.ServiceOrder.status).in_(sorted(mserv.CLOCKED)),
    col(mserv.ServiceOrder.due_at) < sa.func.now(),
)


@strawberry.type(description="How many petitions of a queue are in one status.")
class PetitionQueueCount:
    status: mpet.PetitionStatus
    count: int
    past_deadline: int = strawberry.field(
        description="Of them, open and past the case's or the level's deadline."
    )


@strawberry.type(description="How many wishes of a queue are in one status.")
class WishQueueCount:
    status: mw.WishStatus
    count: int


@strawberry.type(description="How many service orders of a queue are in one status.")
class ServiceOrderQueueCount:
    status: mserv.OrderStatus
    count: int
    past_deadline: int = strawberry.field(
        description="Of them, waiting for dispatch or acceptance past the order's deadline."
    )


@strawberry.type(
    description="What waits for you, across every place you handle: each list holds what "
    "you may act on now (or, for your own petitions, rate)."
)
class MyQueue:
    petition_waiting: strawberry.Private[Waiting]
    wish_waiting: strawberry.Private[Waiting]
    order_waiting: strawberry.Private[Waiting]

    @strawberry.field(
        description="Petitions you may move on now (and your own awaiting your rating), the "
        "nearer deadline first.",
        metadata=listing(rp.MY_PETITIONS),
    )
    async def petitions(
        self,
        info: Info,
        filter: PetitionFilterInput | None = None,
        order_by: rp.PetitionOrder = rp.PetitionOrder.DUE,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[PetitionNode]:
        args = PageArgs.parse(first, after, last, before)
        f = petition_filter(filter, order_by, waiting=self.petition_waiting)
        return connection(await info.context.loaders.page(rp.MY_PETITIONS, None, args, f))

    @strawberry.field(description="The petitions of the queue per status (none: left out).")
    async def petition_counts(self, info: Info) -> list[PetitionQueueCount]:
        f = rp.PetitionFilter(waiting=self.petition_waiting)
        found = await r.status_counts(info.context.loaders, mpet.Petition, f, _PAST_DEADLINE)
        return [
            PetitionQueueCount(
                status=mpet.PetitionStatus(c.status), count=c.count, past_deadline=c.late
            )
            for c in found
        ]

    @strawberry.field(
        description="Micro-wishes waiting for you: to publish (wall keepers), to fulfil "
        "(claimants), to confirm (the resident or their recorder), longest waiting first.",
        metadata=listing(rw.MY_WISHES),
    )
    async def wishes(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[MicroWishNode]:
        args = PageArgs.parse(first, after, last, before)
        f = rw.WishFilter(statuses=(), waiting=self.wish_waiting)
        return connection(await info.context.loaders.page(rw.MY_WISHES, None, args, f))

    @strawberry.field(description="The wishes of the queue per status (none: left out).")
    async def wish_counts(self, info: Info) -> list[WishQueueCount]:
        f = rw.WishFilter(statuses=(), waiting=self.wish_waiting)
        found = await r.status_counts(info.context.loaders, mw.MicroWish, f)
        return [WishQueueCount(status=mw.WishStatus(c.status), count=c.count) for c in found]

    @strawberry.field(
        description="Service orders waiting for you: to dispatch (dispatchers of the owning "
        "level), to accept, schedule or complete (the team or provider), your own done "
        "orders to rate; 鳏寡孤独 first, then the nearer deadline.",
        metadata=listing(rserv.MY_SERVICE_ORDERS),
    )
    async def service_orders(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ServiceOrderNode]:
        args = PageArgs.parse(first, after, last, before)
        f = self._order_filter()
        return connection(await info.context.loaders.page(rserv.MY_SERVICE_ORDERS, None, args, f))

    @strawberry.field(description="The service orders of the queue per status (none: left out).")
    async def service_order_counts(self, info: Info) -> list[ServiceOrderQueueCount]:
        found = await r.status_counts(
            info.context.loaders, mserv.ServiceOrder, self._order_filter(), _ORDER_PAST_DEADLINE
        )
        return [
            ServiceOrderQueueCount(
                status=mserv.OrderStatus(c.status), count=c.count, past_deadline=c.late
            )
            for c in found
        ]

    def _order_filter(self) -> rserv.OrderFilter:
        return rserv.OrderFilter(order=rserv.OrderOrder.QUEUE, waiting=self.order_waiting)


@strawberry.type
class QueueQuery:
    @strawberry.field(description="What waits for you (signed-in people only).")
    async def my_queue(self, info: Info) -> MyQueue:
        await authorize(info, rules.MY_QUEUE)
        actor = info.context.actor
        return MyQueue(
            petition_waiting=Waiting(petition_rules.PETITION_QUEUE, rp.PETITIONS, actor),
            wish_waiting=Waiting(wish_rules.WISH_QUEUE, rw.WISHES, actor),
            order_waiting=Waiting(service_rules.ORDER_QUEUE, rserv.ORDERS, actor),
        )
