"""Incentives (激励): the points ledger (积分), partner shops (红城星店·睦邻店铺) and their offers,
redemptions of offers against points, property-fee reductions, and the city's expiry rule.

The ledger is append-only (the database refuses UPDATE, DELETE and TRUNCATE) and carries no
`path` (it belongs to a person: a move of the tree never rewrites it). A debit (REDEEMED,
EXPIRED) is refused by the database itself when it would take a person's balance below zero:
the insert trigger takes a per-person lock, so two devices redeeming at once are serialised.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import enum_column, fk, ltree_column, pk, text_array, timestamp


class PointsKind(enum.StrEnum):
    EARNED = "EARNED"
    REDEEMED = "REDEEMED"
    EXPIRED = "EXPIRED"


#: Kinds that take points away (the balance is EARNED minus these).
DEBITS: tuple[PointsKind, ...] = (PointsKind.REDEEMED, PointsKind.EXPIRED)

#: The advisory-lock namespace (first key) of one person's ledger (the insert trigger's too).
LEDGER_LOCKS = 0x1ED6


class PointsEntry(SQLModel, table=True):
    """The incentive points ledger: append-only; a source credits (or debits) a person once."""

    __tablename__ = "points_entry"
    __table_args__ = (
        sa.Index("ix_points_entry_person", "person_id", "at"),
        sa.Index("ix_points_entry_source", "source_type", "source_id"),
        sa.Index(
            "uq_points_entry_earned_once",
            "source_type",
            "source_id",
            "person_id",
            unique=True,
            postgresql_where=sa.text("kind = 'EARNED'"),
        ),
        sa.Index(
            "uq_points_entry_debited_once",
            "source_type",
            "source_id",
            "person_id",
            unique=True,
            postgresql_where=sa.text("kind <> 'EARNED'"),
        ),
        sa.CheckConstraint("points > 0", name="ck_points_entry_positive"),
        sa.CheckConstraint("hours IS NULL OR hours > 0", name="ck_points_entry_hours"),
    )

    id: int | None = pk()
    person_id: int = fk("person.id", index=False)
    kind: PointsKind = enum_column(PointsKind)
    points: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    source_type: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    source_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    #: volunteer hours this entry credits (VOLUNTEER_HOURS entries only)
    hours: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(7, 1)))
    at: datetime = timestamp()


class PointsExpiryRule(SQLModel, table=True):
    """The city admin's rule: points expire `months` after they were earned (oldest spent
    first). Each change is a new row; the newest is in force."""

    __tablename__ = "points_expiry_rule"
    __table_args__ = (sa.CheckConstraint("months BETWEEN 1 AND 120", name="ck_expiry_months"),)

    id: int | None = pk()
    months: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    set_by_id: int | None = fk("person.id", nullable=True, index=False)
    set_at: datetime = timestamp()


class Shop(SQLModel, table=True):
    """红城星店·睦邻店铺: a partner shop of a community or grid, run by an operator account."""

    __tablename__ = "shop"
    __table_args__ = (
        sa.Index("ix_shop_path", "path", postgresql_using="gist"),
        sa.Index("ix_shop_operator", "operator_person_id"),
    )

    id: int | None = pk()
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    address: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    org_unit_id: int = fk("org_unit.id")
    path: str | None = ltree_column()
    operator_person_id: int | None = fk("person.id", nullable=True, index=False)
    joined_on: datetime = timestamp()
    closed_at: datetime | None = timestamp(nullable=True, default_now=False)


class OfferKind(enum.StrEnum):
    PERCENT_DISCOUNT = "PERCENT_DISCOUNT"  # 商品打折
    PROPERTY_FEE_REDUCTION = "PROPERTY_FEE_REDUCTION"  # 物业费减免
    FIXED_BENEFIT = "FIXED_BENEFIT"  # a fixed gift or service


class Eligibility(enum.StrEnum):
    """Who may take an offer (any one suffices; none listed: every resident)."""

    BUILDING_HEAD_SATISFIED = "BUILDING_HEAD_SATISFIED"  # 楼栋长 with 「满意」 ratings
    AWARD_WINNER = "AWARD_WINNER"  # 先进个人或集体
    VOLUNTEER_HOURS = "VOLUNTEER_HOURS"  # volunteers by hours served


class Offer(SQLModel, table=True):
    __tablename__ = "offer"
    __table_args__ = (
        sa.Index("ix_offer_path", "path", postgresql_using="gist"),
        sa.Index("ix_offer_shop", "shop_id"),
        sa.CheckConstraint("points_cost >= 0", name="ck_offer_points_cost"),
        sa.CheckConstraint(
            "(kind = 'PERCENT_DISCOUNT') = (percent_off IS NOT NULL)"
            " AND (percent_off IS NULL OR percent_off BETWEEN 1 AND 99)",
            name="ck_offer_percent",
        ),
        sa.CheckConstraint("amount_yuan IS NULL OR amount_yuan > 0", name="ck_offer_amount"),
        sa.CheckConstraint("valid_until > valid_from", name="ck_offer_validity"),
        sa.CheckConstraint(
            "eligibility <@ ARRAY['" + "','".join(Eligibility) + "']::text[]",
            name="ck_offer_eligibility",
        ),
    )

    id: int | None = pk()
    shop_id: int = Field(
        sa_column=sa.Column(sa.BigInteger, sa.ForeignKey("shop.id"), nullable=False)
    )
    path: str | None = ltree_column()
    kind: OfferKind = enum_column(OfferKind)
    title: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    percent_off: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    amount_yuan: Decimal | None = Field(default=None, sa_column=sa.Column(sa.Numeric(12, 2)))
    points_cost: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    eligibility: list[str] = text_array()
    min_volunteer_hours: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    valid_from: datetime = timestamp()
    valid_until: datetime = timestamp(default_now=False)
    withdrawn_at: datetime | None = timestamp(nullable=True, default_now=False)
    created_at: datetime = timestamp()


class RedemptionStatus(enum.StrEnum):
    ISSUED = "ISSUED"  # a one-time code, shown by the person
    CONFIRMED = "CONFIRMED"  # used at the shop: points debited
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class RedemptionAction(enum.StrEnum):
    ISSUE = "ISSUE"  # the first timeline entry only
    CONFIRM = "CONFIRM"
    CANCEL = "CANCEL"
    EXPIRE = "EXPIRE"


class Redemption(SQLModel, table=True):
    """An offer taken: a one-time code the person shows, confirmed once by the shop's operator
    within minutes. Its `path` is the shop's (where it is used)."""

    __tablename__ = "redemption"
    __table_args__ = (
        sa.Index("ix_redemption_path", "path", postgresql_using="gist"),
        sa.Index("ix_redemption_person", "person_id", "issued_at"),
        sa.Index("ix_redemption_shop", "shop_id", "issued_at"),
        sa.Index(
            "uq_redemption_live_code",
            "shop_id",
            "code_hash",
            unique=True,
            postgresql_where=sa.text("status = 'ISSUED'"),
        ),
        sa.Index(
            "ix_redemption_expiring", "expires_at", postgresql_where=sa.text("status = 'ISSUED'")
        ),
        sa.CheckConstraint("points_cost >= 0", name="ck_redemption_points_cost"),
        sa.CheckConstraint("version > 0", name="ck_redemption_version"),
    )

    id: int | None = pk()
    offer_id: int = fk("offer.id", index=False)
    shop_id: int = fk("shop.id", index=False)
    person_id: int = fk("person.id", index=False)
    path: str | None = ltree_column()
    code_hash: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    points_cost: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    status: RedemptionStatus = enum_column(RedemptionStatus)
    version: int = Field(
        default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1")
    )
    confirmed_by_id: int | None = fk("person.id", nullable=True, index=False)
    issued_at: datetime = timestamp()
    expires_at: datetime = timestamp(default_now=False)
    confirmed_at: datetime | None = timestamp(nullable=True, default_now=False)
    status_changed_at: datetime = timestamp()


class RedemptionEvent(SQLModel, table=True):
    __tablename__ = "redemption_event"
    __table_args__ = (
        sa.Index("ix_redemption_event_path", "path", postgresql_using="gist"),
        sa.Index("ix_redemption_event_redemption", "redemption_id", "id"),
    )

    id: int | None = pk()
    redemption_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("redemption.id", ondelete="CASCADE"), nullable=False
        )
    )
    #: the redemption's holder and shop, so the timeline follows its row scope
    person_id: int = fk("person.id", index=False)
    shop_id: int = fk("shop.id", index=False)
    action: RedemptionAction = enum_column(RedemptionAction)
    from_status: RedemptionStatus | None = enum_column(
        RedemptionStatus, check="ck_redemption_event_from_status", nullable=True
    )
    to_status: RedemptionStatus = enum_column(
        RedemptionStatus, check="ck_redemption_event_to_status"
    )
    actor_person_id: int | None = fk("person.id", nullable=True, index=False)
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    path: str | None = ltree_column()
    at: datetime = timestamp()


class FeeBasis(enum.StrEnum):
    POINTS = "POINTS"  # points spent
    AWARD = "AWARD"  # an award the household's member won


class FeeReduction(SQLModel, table=True):
    """物业费减免 a property manager grants a person against points or an award, recorded like
    a redemption. `org_unit_id` names the estate (grid or community) whose property company
    grants it (a property company once the services domain has them). `path`: the estate's."""

    __tablename__ = "fee_reduction"
    __table_args__ = (
        sa.Index("ix_fee_reduction_path", "path", postgresql_using="gist"),
        sa.Index("ix_fee_reduction_person", "person_id"),
        sa.CheckConstraint("amount_yuan > 0", name="ck_fee_reduction_amount"),
        sa.CheckConstraint(
            "(basis = 'POINTS') = (points > 0) AND (basis = 'AWARD') = (award_id IS NOT NULL)",
            name="ck_fee_reduction_basis",
        ),
        sa.UniqueConstraint("award_id", "person_id", name="uq_fee_reduction_award"),
    )

    id: int | None = pk()
    person_id: int = fk("person.id", index=False)
    household_id: int = fk("household.id", index=False)
    org_unit_id: int = fk("org_unit.id", index=False)
    path: str | None = ltree_column()
    basis: FeeBasis = enum_column(FeeBasis)
    points: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))
    award_id: int | None = fk("award.id", nullable=True, index=False)
    amount_yuan: Decimal = Field(sa_column=sa.Column(sa.Numeric(12, 2), nullable=False))
    period: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    granted_by_id: int | None = fk("person.id", nullable=True, index=False)
    granted_at: datetime = timestamp()
