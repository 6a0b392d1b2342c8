"""GraphQL types, queries and mutations of incentives: the points ledger (积分), partner shops
(红城星店·睦邻店铺) and offers, redemptions by one-time code, property-fee reductions and the
expiry rule."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from models import incentives as m
from models import org as mo
from models import people as mp
from models.base import utcnow
from models.recognition import Award
from permissions import incentives as rules
from resolvers import identity as ri
from resolvers import incentives as r
from resolvers.errors import Common, DomainError
from resolvers.pagination import PageArgs
from resolvers.workflow import Flow
from schema.context import Context, Info
from schema.declare import column, computed, expose, listing, many, reference, row_type, shown
from schema.errors import UserError, domain_error
from schema.operations import Mutation, Refs, allowed_actions
from schema.org import HouseholdNode, OrgUnitNode
from schema.people import PersonNode
from schema.relay import Connection, Node, connection, expect_id

if TYPE_CHECKING:
    from schema.recognition import AwardNode

Awards = Annotated["AwardNode", strawberry.lazy("schema.recognition")]

expose(m.PointsKind, name="PointsKind")
expose(m.OfferKind, name="OfferKind", description="商品打折, 物业费减免, a fixed benefit")
expose(m.Eligibility, name="Eligibility", description="Who may take an offer.")
expose(m.RedemptionStatus, name="RedemptionStatus")
expose(m.RedemptionAction, name="RedemptionAction")
expose(m.FeeBasis, name="FeeBasis")


@domain_error(Flow, r.IncentiveCode)
class IncentiveError(UserError):
    """Why a change of a shop, an offer, a redemption or the ledger was refused."""


def _source_id(row: m.PointsEntry) -> str:
    return str(row.source_id)


@row_type(
    m.PointsEntry,
    name="PointsEntry",
    description="A line of the incentive points ledger (yours only).",
    node=False,
    policy="PointsEntry",
)
class PointsEntryNode:
    kind: m.PointsKind | None = column()
    points: int | None = column()
    source_type: str | None = column()
    source_id: str | None = computed(_source_id)
    note: str | None = column()
    hours: Decimal | None = column(description="Volunteer hours this entry credits.")
    at: datetime | None = column()


@row_type(m.Shop, name="Shop", description="红城星店·睦邻店铺: a partner shop.")
class ShopNode(Node):
    name: str = column()
    address: str = column()
    joined_on: datetime = column()
    closed_at: datetime | None = column()
    org_unit: OrgUnitNode | None = reference(m.Shop.org_unit_id)
    operator: PersonNode | None = reference(
        m.Shop.operator_person_id, description="Who confirms codes at the shop."
    )
    offers: list[OfferNode] = many(r.OFFERS_OF_SHOP, description="Offers not withdrawn.")

    @strawberry.field(
        description="Redemptions at this shop: its operator's and admins' view.",
        metadata=listing(r.REDEMPTIONS_AT_SHOP),
    )
    async def redemptions(
        self,
        root: strawberry.Parent[m.Shop],
        info: Info,
        statuses: list[m.RedemptionStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[RedemptionNode]:
        f = r.RedemptionFilter(tuple(statuses or ()))
        args = PageArgs.parse(first, after, last, before)
        return connection(await info.context.loaders.page(r.REDEMPTIONS_AT_SHOP, root.id, args, f))


@row_type(m.Offer, name="Offer", description="A benefit a partner shop gives.")
class OfferNode(Node):
    kind: m.OfferKind = column()
    title: str = column()
    description: str | None = column()
    percent_off: int | None = column(description="For a percentage discount: 15 means 15% off.")
    amount_yuan: Decimal | None = column(description="A reduction or a benefit's value.")
    points_cost: int = column(description="Points spent when the shop confirms (0: free).")
    eligibility: list[m.Eligibility] = column(description="Any one suffices; none: everyone.")
    min_volunteer_hours: int | None = column()
    valid_from: datetime = column()
    valid_until: datetime = column()
    withdrawn_at: datetime | None = column()
    shop: ShopNode | None = reference(m.Offer.shop_id)


@row_type(
    m.RedemptionEvent,
    name="RedemptionEvent",
    description="One step of a redemption.",
    node=False,
)
class RedemptionEventNode:
    at: datetime = column()
    action: m.RedemptionAction = column()
    from_status: m.RedemptionStatus | None = column()
    to_status: m.RedemptionStatus = column()
    version: int = column()


async def _holder_name(root: m.Redemption, info: Info) -> str | None:
    return await r.holder_name(info.context.loaders, root.person_id)


@row_type(
    m.Redemption,
    name="Redemption",
    description="An offer taken: a one-time code the holder shows and the shop confirms once.",
    policy="Redemption",
)
class RedemptionNode(Node):
    """Every field is governed by `FIELD_POLICY["Redemption"]`: a shop's operator sees the
    holder's name masked, nothing else of them."""

    status: m.RedemptionStatus = column()
    version: int = column(description="Pass it back as `expectedVersion`.")
    points_cost: int = column()
    issued_at: datetime = column()
    expires_at: datetime = column()
    confirmed_at: datetime | None = column()
    offer: OfferNode | None = reference(m.Redemption.offer_id)
    shop: ShopNode | None = reference(m.Redemption.shop_id)
    allowed_actions: list[m.RedemptionAction] = allowed_actions(
        r.REDEMPTIONS, rules.REDEMPTION_ACTIONS
    )
    holder_name: str | None = strawberry.field(
        resolver=_holder_name, description="Masked for the shop: 张*丰."
    )
    holder: PersonNode | None = reference(m.Redemption.person_id)
    timeline: list[RedemptionEventNode] = many(r.REDEMPTION_TIMELINE, description="Newest first.")


@row_type(
    m.FeeReduction,
    name="FeeReduction",
    description="物业费减免 against points or an award.",
    policy="FeeReduction",
)
class FeeReductionNode(Node):
    basis: m.FeeBasis = column()
    points: int | None = column()
    amount_yuan: Decimal | None = column()
    period: str = column()
    granted_at: datetime = column()
    award: Awards | None = reference(m.FeeReduction.award_id)
    estate: OrgUnitNode | None = reference(
        m.FeeReduction.org_unit_id, description="The estate whose property company grants it."
    )
    person: PersonNode | None = reference(m.FeeReduction.person_id)
    household: HouseholdNode | None = reference(m.FeeReduction.household_id)


@row_type(m.PointsExpiryRule, name="PointsExpiryRule", node=False)
class PointsExpiryRuleNode:
    months: int = column(description="Points expire this many months after they were earned.")
    set_at: datetime = column()


@strawberry.type(description="Points earned and spent, and what they were spent on.")
class PointsBalance:
    person_id: strawberry.Private[int]

    @strawberry.field
    async def balance(self, info: Info) -> int:
        return await r.balance_of(info.context.loaders, self.person_id)

    @strawberry.field(description="Points held by codes issued and not yet used or expired.")
    async def held(self, info: Info) -> int:
        return await r.held_points(info.context.session, self.person_id, utcnow())

    @strawberry.field(description="The ledger, newest first.", graphql_type=list[PointsEntryNode])
    async def entries(self, info: Info) -> list[m.PointsEntry]:
        return await info.context.loaders.children(r.POINTS_OF_PERSON, self.person_id)

    @strawberry.field(metadata=listing(r.REDEMPTIONS_OF_PERSON))
    async def redemptions(
        self,
        info: Info,
        statuses: list[m.RedemptionStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[RedemptionNode]:
        f = r.RedemptionFilter(tuple(statuses or ()))
        args = PageArgs.parse(first, after, last, before)
        page = await info.context.loaders.page(r.REDEMPTIONS_OF_PERSON, self.person_id, args, f)
        return connection(page)

    @strawberry.field(graphql_type=list[FeeReductionNode])
    async def fee_reductions(self, info: Info) -> list[m.FeeReduction]:
        return await info.context.loaders.children(r.FEE_REDUCTIONS_OF_PERSON, self.person_id)


@strawberry.type
class IncentiveQuery:
    @strawberry.field(description="Your incentive points: balance and ledger, newest first.")
    def my_points(self, info: Info) -> PointsBalance | None:
        person_id = info.context.actor.person_id
        return PointsBalance(person_id=person_id) if person_id is not None else None

    @strawberry.field(
        description="Partner shops (红城星店) in a subtree.", metadata=listing(r.SHOPS_UNDER)
    )
    async def shops(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        include_closed: bool = False,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ShopNode]:
        unit = expect_id(org_unit_id, "OrgUnit", "orgUnitId")
        args = PageArgs.parse(first, after, last, before)
        return connection(
            await info.context.loaders.page(r.SHOPS_UNDER, unit, args, r.ShopFilter(include_closed))
        )

    @strawberry.field(
        description="Property-fee reductions granted in a subtree (admins).",
        metadata=listing(r.FEE_REDUCTIONS_UNDER),
    )
    async def fee_reductions(
        self,
        info: Info,
        org_unit_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[FeeReductionNode]:
        unit = expect_id(org_unit_id, "OrgUnit", "orgUnitId")
        args = PageArgs.parse(first, after, last, before)
        page = await info.context.loaders.page(
            r.FEE_REDUCTIONS_UNDER, unit, args, r.FeeReductionOrder()
        )
        return connection(page)

    @strawberry.field(
        description="The city's expiry rule for points (none: points do not expire).",
        graphql_type=PointsExpiryRuleNode | None,
    )
    async def points_expiry_rule(self, info: Info) -> m.PointsExpiryRule | None:
        return await r.expiry_rule(info.context.session)


# --- mutations -------------------------------------------------------------------------------


@strawberry.input(description="A partner shop of a community or grid.")
class CreateShopInput:
    name: str
    address: str
    org_unit_id: strawberry.ID
    operator_id: strawberry.ID | None = strawberry.field(
        default=None, description="A person holding a SHOP_OPERATOR position over the place."
    )


@strawberry.input
class UpdateShopInput:
    id: strawberry.ID
    name: str | None = None
    address: str | None = None
    operator_id: strawberry.ID | None = None
    closed: bool | None = None


@strawberry.type
class ShopPayload:
    shop: ShopNode | None
    errors: list[IncentiveError]


@strawberry.input
class CreateOfferInput:
    shop_id: strawberry.ID
    kind: m.OfferKind
    title: str
    valid_until: datetime
    description: str | None = None
    percent_off: int | None = None
    amount_yuan: Decimal | None = None
    points_cost: int = 0
    eligibility: list[m.Eligibility] = strawberry.field(default_factory=list)
    min_volunteer_hours: int | None = None
    valid_from: datetime | None = None


@strawberry.input
class WithdrawOfferInput:
    id: strawberry.ID


@strawberry.type
class OfferPayload:
    offer: OfferNode | None
    errors: list[IncentiveError]


@strawberry.input(description="Take an offer: a one-time code to show at the shop.")
class IssueRedemptionInput:
    offer_id: strawberry.ID


@strawberry.type
class IssueRedemptionPayload:
    redemption: RedemptionNode | None
    code: str | None = strawberry.field(
        description="The one-time code: shown only here, valid for minutes, usable once."
    )
    errors: list[IncentiveError]


@strawberry.input(description="The shop's operator confirms the code the person shows.")
class ConfirmRedemptionInput:
    shop_id: strawberry.ID
    code: str


@strawberry.input
class CancelRedemptionInput:
    id: strawberry.ID
    expected_version: int


@strawberry.type
class RedemptionPayload:
    redemption: RedemptionNode | None
    errors: list[IncentiveError]


@strawberry.input(description="物业费减免 for a household, against points or an award.")
class GrantFeeReductionInput:
    person_id: strawberry.ID
    household_id: strawberry.ID
    estate_id: strawberry.ID
    basis: m.FeeBasis
    amount_yuan: Decimal
    period: str = strawberry.field(description="What it covers: 2026, 2026-H2 ...")
    points: int = 0
    award_id: strawberry.ID | None = None


@strawberry.type
class FeeReductionPayload:
    fee_reduction: FeeReductionNode | None
    errors: list[IncentiveError]


@strawberry.input
class SetPointsExpiryInput:
    months: int


@strawberry.type
class PointsExpiryPayload:
    rule: PointsExpiryRuleNode | None
    errors: list[IncentiveError]


class CreateShop(Mutation[CreateShopInput, m.Shop, ShopPayload]):
    """Sign up a partner shop (红城星店·睦邻店铺)."""

    refs = {"org_unit_id": mo.OrgUnit, "operator_id": mp.Person}
    permission = rules.CREATE_SHOP
    errors = IncentiveError

    async def perform(self, ctx: Context, input: CreateShopInput, refs: Refs) -> m.Shop:
        return await r.create_shop(
            ctx.session,
            name=input.name,
            address=input.address,
            org_unit_id=refs.need("org_unit_id"),
            operator_id=refs.id("operator_id"),
        )


class UpdateShop(Mutation[UpdateShopInput, m.Shop, ShopPayload]):
    """Rename a shop, hand it to another operator, close or reopen it."""

    refs = {"id": m.Shop, "operator_id": mp.Person}
    permission = rules.UPDATE_SHOP
    errors = IncentiveError
    error_fields = {"shop_id": "id"}

    async def perform(self, ctx: Context, input: UpdateShopInput, refs: Refs) -> m.Shop:
        return await r.update_shop(
            ctx.session,
            shop_id=refs.need("id"),
            name=input.name,
            address=input.address,
            operator_id=refs.id("operator_id"),
            closed=input.closed,
        )


class CreateOffer(Mutation[CreateOfferInput, m.Offer, OfferPayload]):
    """An offer of a partner shop, with its validity and who may take it."""

    refs = {"shop_id": m.Shop}
    permission = rules.CREATE_OFFER
    errors = IncentiveError

    async def perform(self, ctx: Context, input: CreateOfferInput, refs: Refs) -> m.Offer:
        return await r.create_offer(
            ctx.session,
            shop_id=refs.need("shop_id"),
            terms=r.OfferTerms(
                kind=input.kind,
                title=input.title,
                valid_until=input.valid_until,
                description=input.description,
                percent_off=input.percent_off,
                amount_yuan=input.amount_yuan,
                points_cost=input.points_cost,
                eligibility=tuple(input.eligibility),
                min_volunteer_hours=input.min_volunteer_hours,
                valid_from=input.valid_from,
            ),
        )


class WithdrawOffer(Mutation[WithdrawOfferInput, m.Offer, OfferPayload]):
    """Withdraw an offer (codes already issued may still be used)."""

    refs = {"id": m.Offer}
    permission = rules.WITHDRAW_OFFER
    errors = IncentiveError
    error_fields = {"offer_id": "id"}

    async def perform(self, ctx: Context, input: WithdrawOfferInput, refs: Refs) -> m.Offer:
        return await r.withdraw_offer(ctx.session, offer_id=refs.need("id"))


class IssueRedemption(Mutation[IssueRedemptionInput, r.Issued, IssueRedemptionPayload]):
    """Take an offer you are eligible for: a one-time code, valid for minutes."""

    refs = {"offer_id": m.Offer}
    permission = rules.ISSUE_REDEMPTION
    errors = IncentiveError

    async def perform(self, ctx: Context, input: IssueRedemptionInput, refs: Refs) -> r.Issued:
        assert ctx.actor.person_id is not None
        return await r.issue_redemption(
            ctx.session, offer_id=refs.need("offer_id"), person_id=ctx.actor.person_id
        )

    def audited(self, result: r.Issued) -> m.Redemption:
        return result.redemption

    def payload(self, result: r.Issued | None, errors: list[UserError]) -> IssueRedemptionPayload:
        return IssueRedemptionPayload(
            redemption=shown(result.redemption) if result else None,
            code=result.code if result else None,
            errors=errors,  # type: ignore[arg-type]
        )


class ConfirmRedemption(Mutation[ConfirmRedemptionInput, m.Redemption, RedemptionPayload]):
    """Confirm at the shop the code a person shows: once, within its minutes. Wrong codes are
    counted (RATE_LIMITED after a score in an hour): codes cannot be guessed."""

    refs = {"shop_id": m.Shop}
    permission = rules.CONFIRM_REDEMPTION
    errors = IncentiveError

    def __init__(self) -> None:
        self.key: str | None = None

    async def admit(self, ctx: Context, input: ConfirmRedemptionInput) -> None:
        self.key = rules.code_refusal_key(ctx.actor)
        if self.key is not None and not await ri.refusals_left(
            ctx.session, self.key, rules.CODE_REFUSALS, rules.CODE_REFUSAL_WINDOW
        ):
            raise DomainError(Common.RATE_LIMITED, "too many wrong codes: try again later")

    async def perform(
        self, ctx: Context, input: ConfirmRedemptionInput, refs: Refs
    ) -> m.Redemption:
        return await r.confirm_redemption(
            ctx.session,
            shop_id=refs.need("shop_id"),
            code=input.code,
            operator_id=ctx.actor.person_id,
        )

    async def settle(
        self,
        ctx: Context,
        input: ConfirmRedemptionInput,
        result: m.Redemption | None,
        errors: list[UserError],
    ) -> None:
        wrong = {r.IncentiveCode.CODE_INVALID.value, Common.VALIDATION.value}
        if self.key is not None and errors and errors[0].code.value in wrong:
            await ri.count_refusal(ctx.session, self.key)


class CancelRedemption(Mutation[CancelRedemptionInput, m.Redemption, RedemptionPayload]):
    """Cancel a code you will not use (its points are free again)."""

    refs = {"id": m.Redemption}
    permission = rules.CANCEL_REDEMPTION
    errors = IncentiveError
    error_fields = {"redemption_id": "id", "action": "id"}

    async def perform(self, ctx: Context, input: CancelRedemptionInput, refs: Refs) -> m.Redemption:
        return await r.cancel_redemption(
            ctx.session,
            redemption_id=refs.need("id"),
            expected_version=input.expected_version,
            actor_id=ctx.actor.person_id,
        )


class GrantFeeReduction(Mutation[GrantFeeReductionInput, m.FeeReduction, FeeReductionPayload]):
    """Record a property-fee reduction (物业费减免) against points (debited) or an award."""

    refs = {
        "person_id": mp.Person,
        "household_id": mo.Household,
        "estate_id": mo.OrgUnit,
        "award_id": Award,
    }
    permission = rules.GRANT_FEE_REDUCTION
    errors = IncentiveError
    error_fields = {"org_unit_id": "estate_id"}

    async def perform(
        self, ctx: Context, input: GrantFeeReductionInput, refs: Refs
    ) -> m.FeeReduction:
        return await r.grant_fee_reduction(
            ctx.session,
            person_id=refs.need("person_id"),
            household_id=refs.need("household_id"),
            org_unit_id=refs.need("estate_id"),
            basis=input.basis,
            amount_yuan=input.amount_yuan,
            period=input.period,
            points=input.points,
            award_id=refs.id("award_id"),
            granted_by_id=ctx.actor.person_id,
        )


class SetPointsExpiry(Mutation[SetPointsExpiryInput, m.PointsExpiryRule, PointsExpiryPayload]):
    """Points expire this many months after they were earned (city admins)."""

    permission = rules.SET_POINTS_EXPIRY
    errors = IncentiveError

    async def perform(
        self, ctx: Context, input: SetPointsExpiryInput, refs: Refs
    ) -> m.PointsExpiryRule:
        return await r.set_points_expiry(
            ctx.session, months=input.months, set_by_id=ctx.actor.person_id
        )


@strawberry.type
class IncentiveMutation:
    create_shop = CreateShop.field()
    update_shop = UpdateShop.field()
    create_offer = CreateOffer.field()
    withdraw_offer = WithdrawOffer.field()
    issue_redemption = IssueRedemption.field()
    confirm_redemption = ConfirmRedemption.field()
    cancel_redemption = CancelRedemption.field()
    grant_fee_reduction = GrantFeeReduction.field()
    set_points_expiry = SetPointsExpiry.field()
