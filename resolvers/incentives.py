"""Incentives (激励): the points ledger (积分), partner shops (红城星店·睦邻店铺) and their offers,
redemptions, property-fee reductions, and the expiry of points.

The ledger is append-only: a source credits (or debits) a person at most once, nothing is
edited in place. Every debit takes the person's ledger lock first (the database's insert
trigger takes it too and refuses a debit below zero), so two devices redeeming at once are
serialised and the balance never goes negative. A redemption is a one-time code: issued to
the person (points held, not yet spent), confirmed once by the shop's operator within
minutes (points debited), or expired by the scheduler, or cancelled; it runs on the shared
workflow. Functions flush, never commit.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import Ltree, utcnow
from models.incentives import (
    DEBITS,
    LEDGER_LOCKS,
    Eligibility,
    FeeBasis,
    FeeReduction,
    Offer,
    OfferKind,
    PointsEntry,
    PointsExpiryRule,
    PointsKind,
    Redemption,
    RedemptionAction,
    RedemptionEvent,
    RedemptionStatus,
    Shop,
)
from models.org import Household, OrgKind, OrgUnit
from models.people import Person, Position, Role
from models.petitions import Petition, PetitionRating, RatingValue
from models.recognition import Award
from permissions.incentives import ELIGIBILITY
from resolvers.common import clean_note, clean_text, flush_or_refuse, get_row
from resolvers.errors import DomainError, invalid
from resolvers.loaders import Children, Loaders
from resolvers.pagination import Listing, Ordering, Parent, desc
from resolvers.scheduler import scheduled
from resolvers.workflow import Workflow


class IncentiveCode(enum.StrEnum):
    """Codes of the ledger, shops, offers and redemptions (besides the workflow's own)."""

    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    OFFER_UNAVAILABLE = "OFFER_UNAVAILABLE"
    CODE_INVALID = "CODE_INVALID"
    CODE_EXPIRED = "CODE_EXPIRED"
    ALREADY_GRANTED = "ALREADY_GRANTED"
    INVALID_PARENT_KIND = "INVALID_PARENT_KIND"


#: How long a redemption code can be shown at the shop.
CODE_MINUTES: Final = 10
CODE_DIGITS: Final = 8
#: Points per volunteer hour (credited by `credit_volunteer_hours`).
POINTS_PER_HOUR: Final = 5
VOLUNTEER_SOURCE: Final = "VOLUNTEER_HOURS"
REDEMPTION_SOURCE: Final = "REDEMPTION"
FEE_SOURCE: Final = "FEE_REDUCTION"
EXPIRY_SOURCE: Final = "EXPIRY"

_S, _A = RedemptionStatus, RedemptionAction
REDEMPTION_TRANSITIONS: Final[dict[RedemptionStatus, dict[RedemptionAction, RedemptionStatus]]] = {
    _S.ISSUED: {_A.CONFIRM: _S.CONFIRMED, _A.CANCEL: _S.CANCELLED, _A.EXPIRE: _S.EXPIRED},
    _S.CONFIRMED: {},
    _S.EXPIRED: {},
    _S.CANCELLED: {},
}


def _event_values(row: Redemption, _actor: int | None) -> dict[str, Any]:
    return {"person_id": row.person_id, "shop_id": row.shop_id}


REDEMPTIONS: Final[Workflow[Redemption, RedemptionStatus, RedemptionAction]] = Workflow(
    noun="redemption",
    model=Redemption,
    event=RedemptionEvent,
    event_key="redemption_id",
    transitions=REDEMPTION_TRANSITIONS,
    event_values=_event_values,
)


# --- the ledger ------------------------------------------------------------------------------


async def lock_ledger(session: AsyncSession, person_id: int) -> None:
    """The person's ledger lock, until the transaction ends (the debit trigger takes it too)."""
    await session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(LEDGER_LOCKS, person_id % 2_147_483_647))
    )


async def credit(
    session: AsyncSession,
    *,
    person_id: int,
    points: int,
    source_type: str,
    source_id: int,
    note: str,
    now: datetime,
    hours: Decimal | None = None,
) -> PointsEntry | None:
    """Credit `points` for a source, once: a second credit of one source is a no-op (None)."""
    inserted = await session.scalar(
        pg_insert(PointsEntry)
        .values(
            person_id=person_id,
            kind=PointsKind.EARNED,
            points=points,
            source_type=source_type,
            source_id=source_id,
            note=note,
            hours=hours,
            at=now,
        )
        .on_conflict_do_nothing(
            index_elements=["source_type", "source_id", "person_id"],
            index_where=sa.text("kind = 'EARNED'"),
        )
        .returning(col(PointsEntry.id))
    )
    if inserted is None:
        return None
    return await session.get(PointsEntry, int(inserted))


async def credit_volunteer_hours(
    session: AsyncSession,
    *,
    person_id: int,
    hours: Decimal,
    source_id: int,
    note: str,
    now: datetime | None = None,
) -> PointsEntry | None:
    """Points for volunteer hours served (POINTS_PER_HOUR an hour, rounded down), once per
    source: the services domain's hours ledger calls this when an activity's hours are
    recorded (`source_id`: its hours entry). The hours are kept on the entry, so eligibility
    by hours reads them."""
    if not Decimal(0) < hours <= Decimal(24):
        raise invalid("volunteer hours of one entry are more than 0 and at most 24", "hours")
    points = int(hours * POINTS_PER_HOUR)
    if points < 1:
        raise invalid("too few hours to earn a point", "hours")
    return await credit(
        session,
        person_id=person_id,
        points=points,
        source_type=VOLUNTEER_SOURCE,
        source_id=source_id,
        note=note,
        now=now or utcnow(),
        hours=hours,
    )


def _signed() -> sa.ColumnElement[int]:
    earned = sa.case((col(PointsEntry.kind) == PointsKind.EARNED, 1), else_=-1)
    return sa.func.coalesce(sa.func.sum(col(PointsEntry.points) * earned), 0)


async def points_balance(session: AsyncSession, person_id: int) -> int:
    total = await session.scalar(
        sa.select(_signed()).where(col(PointsEntry.person_id) == person_id)
    )
    return int(total or 0)


async def held_points(session: AsyncSession, person_id: int, now: datetime) -> int:
    """Points held by codes issued and still usable."""
    total = await session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(col(Redemption.points_cost)), 0)).where(
            col(Redemption.person_id) == person_id,
            col(Redemption.status) == RedemptionStatus.ISSUED,
            col(Redemption.expires_at) > now,
        )
    )
    return int(total or 0)


async def debit(
    session: AsyncSession,
    *,
    person_id: int,
    kind: PointsKind,
    points: int,
    source_type: str,
    source_id: int,
    note: str,
    now: datetime,
    field: str = "points",
) -> PointsEntry:
    """Debit `points` (the caller holds the ledger lock and checked the balance; the trigger
    refuses a debit below zero all the same)."""
    assert kind in DEBITS
    entry = PointsEntry(
        person_id=person_id,
        kind=kind,
        points=points,
        source_type=source_type,
        source_id=source_id,
        note=note,
        at=now,
    )
    await flush_or_refuse(session, adding=entry, duplicate=_insufficient(field))
    return entry


def _insufficient(
    field: str = "points", needed: int | None = None, available: int | None = None
) -> DomainError:
    detail = f": {needed} needed, {available} available" if needed is not None else ""
    return DomainError(IncentiveCode.INSUFFICIENT_POINTS, f"not enough points{detail}", field)


async def balance_of(loaders: Loaders, person_id: int) -> int:
    """The balance, batched across the people of a request."""

    async def batch(ids: list[int]) -> list[int]:
        rows = await loaders.fetch(
            sa.select(col(PointsEntry.person_id), _signed())
            .where(col(PointsEntry.person_id).in_(ids), *loaders.scope(PointsEntry))
            .group_by(col(PointsEntry.person_id))
        )
        found = {int(person): int(total) for person, total in rows}
        return [found.get(i, 0) for i in ids]

    return await loaders.batch("balance", PointsEntry, batch).load(person_id)


# --- expiry --------------------------------------------------------------------------------


async def set_points_expiry(
    session: AsyncSession, *, months: int, set_by_id: int | None, now: datetime | None = None
) -> PointsExpiryRule:
    """Points expire `months` after they were earned, from the next scheduler pass on."""
    if not 1 <= months <= 120:
        raise invalid("points expire after 1 to 120 months", "months")
    rule = PointsExpiryRule(months=months, set_by_id=set_by_id, set_at=now or utcnow())
    session.add(rule)
    await session.flush()
    return rule


async def expiry_rule(session: AsyncSession) -> PointsExpiryRule | None:
    found: PointsExpiryRule | None = await session.scalar(
        sa.select(PointsExpiryRule).order_by(col(PointsExpiryRule.id).desc()).limit(1)
    )
    return found


def _months_before(now: datetime, months: int) -> datetime:
    month = now.month - 1 - months
    year = now.year + month // 12
    day = min(now.day, 28)
    return now.replace(year=year, month=month % 12 + 1, day=day)


def _expirable(person_ids: Any, cutoff: datetime) -> sa.Select[Any]:
    """Per person: points earned before `cutoff` not yet spent or expired (oldest spent
    first), i.e. earned before the cutoff minus every debit."""
    earned_before = sa.func.coalesce(
        sa.func.sum(col(PointsEntry.points)).filter(
            col(PointsEntry.kind) == PointsKind.EARNED, col(PointsEntry.at) < cutoff
        ),
        0,
    )
    debited = sa.func.coalesce(
        sa.func.sum(col(PointsEntry.points)).filter(col(PointsEntry.kind).in_(DEBITS)), 0
    )
    due = (earned_before - debited).label("due")
    stmt = cast(
        "sa.Select[Any]",
        sa.select(col(PointsEntry.person_id), due).group_by(col(PointsEntry.person_id)),
    )
    if person_ids is not None:
        stmt = stmt.where(col(PointsEntry.person_id).in_(person_ids))
    return stmt.having(earned_before - debited > 0)


async def expire_points(
    session: AsyncSession, now: datetime | None = None, batch: int = 100
) -> list[int]:
    """Expire, per the rule in force, the points of up to `batch` people; return their ids.

    A person whose ledger another transaction holds (a redemption in progress) is skipped
    until the next pass; an expiry is one EXPIRED entry per person and day."""
    now = now or utcnow()
    rule = await expiry_rule(session)
    if rule is None:
        return []
    cutoff = _months_before(now, rule.months)
    day = int(now.strftime("%Y%m%d"))
    candidates = (await session.execute(_expirable(None, cutoff).limit(batch))).all()
    done: list[int] = []
    for person_id, _ in candidates:
        slot = int(person_id) % 2_147_483_647
        taken = await session.execute(
            sa.text("SELECT pg_try_advisory_xact_lock(:space, :slot)"),
            {"space": LEDGER_LOCKS, "slot": slot},
        )
        if not taken.scalar():
            continue
        due = (await session.execute(_expirable([person_id], cutoff))).first()
        if due is None:
            continue
        inserted = await session.scalar(
            pg_insert(PointsEntry)
            .values(
                person_id=person_id,
                kind=PointsKind.EXPIRED,
                points=int(due[1]),
                source_type=EXPIRY_SOURCE,
                source_id=day,
                note=f"积分过期: earned before {cutoff:%Y-%m-%d} ({rule.months} months)",
                at=now,
            )
            .on_conflict_do_nothing(
                index_elements=["source_type", "source_id", "person_id"],
                index_where=sa.text("kind <> 'EARNED'"),
            )
            .returning(col(PointsEntry.id))
        )
        if inserted is not None:
            done.append(int(person_id))
    return done


@scheduled("incentives.expire_points")
async def _expire_points_job(session: AsyncSession, now: datetime, batch: int) -> list[int]:
    return await expire_points(session, now, batch)


# --- shops and offers ------------------------------------------------------------------------


async def _operator_over(session: AsyncSession, person_id: int, place_path: str) -> None:
    """The person holds an active shop operator's position over the shop's place."""
    held = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Position)
        .where(
            col(Position.person_id) == person_id,
            col(Position.role) == Role.SHOP_OPERATOR,
            col(Position.ended_at).is_(None),
            sa.cast(sa.literal(place_path), Ltree()).op("<@")(col(Position.path)),
        )
    )
    if not held:
        raise invalid(
            "the operator holds no active shop operator's position over the shop's place",
            "operator_id",
        )


async def create_shop(
    session: AsyncSession,
    *,
    name: str,
    address: str,
    org_unit_id: int,
    operator_id: int | None,
    now: datetime | None = None,
) -> Shop:
    unit: OrgUnit = await get_row(session, OrgUnit, org_unit_id, "org unit", "org_unit_id")
    if unit.kind not in (OrgKind.COMMUNITY, OrgKind.GRID) or unit.retired_at is not None:
        raise DomainError(
            IncentiveCode.INVALID_PARENT_KIND,
            "a partner shop belongs to an active community or grid",
            "org_unit_id",
        )
    if operator_id is not None:
        await get_row(session, Person, operator_id, "person", "operator_id")
        await _operator_over(session, operator_id, str(unit.path))
    shop = Shop(
        name=clean_text(name, "name", max_length=60),
        address=clean_text(address, "address", max_length=200),
        org_unit_id=org_unit_id,
        operator_person_id=operator_id,
        joined_on=now or utcnow(),
    )
    session.add(shop)
    await session.flush()
    await session.refresh(shop, ["path"])
    return shop


async def update_shop(
    session: AsyncSession,
    *,
    shop_id: int,
    name: str | None = None,
    address: str | None = None,
    operator_id: int | None = None,
    closed: bool | None = None,
    now: datetime | None = None,
) -> Shop:
    """Rename, move the address, hand the shop to another operator, close or reopen it."""
    shop: Shop = await get_row(session, Shop, shop_id, "shop", "id")
    if name is not None:
        shop.name = clean_text(name, "name", max_length=60)
    if address is not None:
        shop.address = clean_text(address, "address", max_length=200)
    if operator_id is not None:
        await get_row(session, Person, operator_id, "person", "operator_id")
        await _operator_over(session, operator_id, str(shop.path))
        shop.operator_person_id = operator_id
    if closed is not None:
        shop.closed_at = (shop.closed_at or now or utcnow()) if closed else None
    await session.flush()
    return shop


@dataclass(frozen=True)
class OfferTerms:
    kind: OfferKind
    title: str
    valid_until: datetime
    description: str | None = None
    percent_off: int | None = None
    amount_yuan: Decimal | None = None
    points_cost: int = 0
    eligibility: tuple[Eligibility, ...] = ()
    min_volunteer_hours: int | None = None
    valid_from: datetime | None = None


def money(value: Decimal | None, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise invalid(f"`{field}` is not an amount of yuan", field) from exc
    if not Decimal(0) < amount < Decimal("1e10"):
        raise invalid(f"`{field}` is more than 0 and less than 10 billion yuan", field)
    return amount


def _check_terms(terms: OfferTerms, now: datetime) -> datetime:
    if (terms.kind == OfferKind.PERCENT_DISCOUNT) != (terms.percent_off is not None):
        raise invalid("a percentage discount, and only it, has `percent_off`", "percent_off")
    if terms.percent_off is not None and not 1 <= terms.percent_off <= 99:
        raise invalid("`percent_off` is from 1 to 99", "percent_off")
    if terms.kind == OfferKind.PROPERTY_FEE_REDUCTION and terms.amount_yuan is None:
        raise invalid("a property-fee reduction says how much (`amount_yuan`)", "amount_yuan")
    if not 0 <= terms.points_cost <= 100_000:
        raise invalid("`points_cost` is from 0 to 100000", "points_cost")
    if terms.min_volunteer_hours is not None and (
        Eligibility.VOLUNTEER_HOURS not in terms.eligibility
        or not 1 <= terms.min_volunteer_hours <= 10_000
    ):
        raise invalid(
            "`min_volunteer_hours` (1 to 10000) goes with VOLUNTEER_HOURS eligibility",
            "min_volunteer_hours",
        )
    start = terms.valid_from or now
    if terms.valid_until <= start or terms.valid_until > start + timedelta(days=3 * 366):
        raise invalid("an offer is valid for up to three years after it starts", "valid_until")
    return start


async def create_offer(
    session: AsyncSession, *, shop_id: int, terms: OfferTerms, now: datetime | None = None
) -> Offer:
    now = now or utcnow()
    shop: Shop = await get_row(session, Shop, shop_id, "shop", "shop_id")
    if shop.closed_at is not None:
        raise DomainError(IncentiveCode.OFFER_UNAVAILABLE, "the shop is closed", "shop_id")
    start = _check_terms(terms, now)
    offer = Offer(
        shop_id=shop_id,
        kind=terms.kind,
        title=clean_text(terms.title, "title", max_length=60),
        description=clean_note(terms.description, "description", max_length=500),
        percent_off=terms.percent_off,
        amount_yuan=money(terms.amount_yuan, "amount_yuan"),
        points_cost=terms.points_cost,
        eligibility=sorted({str(e) for e in terms.eligibility}),
        min_volunteer_hours=terms.min_volunteer_hours,
        valid_from=start,
        valid_until=terms.valid_until,
        created_at=now,
    )
    session.add(offer)
    await session.flush()
    await session.refresh(offer, ["path"])
    return offer


async def withdraw_offer(
    session: AsyncSession, *, offer_id: int, now: datetime | None = None
) -> Offer:
    """Withdraw an offer: no new codes; codes issued already may still be confirmed."""
    offer: Offer = await get_row(session, Offer, offer_id, "offer", "id")
    if offer.withdrawn_at is None:
        offer.withdrawn_at = now or utcnow()
        await session.flush()
    return offer


# --- eligibility ---------------------------------------------------------------------------


async def _satisfied_head(session: AsyncSession, person_id: int, since: datetime | None) -> int:
    """「满意」 ratings of cases of buildings the person heads now."""
    heads = sa.select(col(Position.building_id)).where(
        col(Position.person_id) == person_id,
        col(Position.role) == Role.BUILDING_HEAD,
        col(Position.ended_at).is_(None),
    )
    stmt = (
        sa.select(sa.func.count())
        .select_from(PetitionRating)
        .join(Petition, col(Petition.id) == col(PetitionRating.petition_id))
        .where(
            col(Petition.building_id).in_(heads),
            col(PetitionRating.rating) == RatingValue.SATISFIED,
        )
    )
    if since is not None:
        stmt = stmt.where(col(PetitionRating.at) >= since)
    return int(await session.scalar(stmt) or 0)


async def _awards_won(session: AsyncSession, person_id: int, since: datetime | None) -> int:
    """Awards to the person, and awards to a building they were credited for (its head)."""
    stmt = (
        sa.select(sa.func.count())
        .select_from(Award)
        .where(
            sa.or_(col(Award.person_id) == person_id, col(Award.credited_person_id) == person_id)
        )
    )
    if since is not None:
        stmt = stmt.where(col(Award.decided_at) >= since)
    return int(await session.scalar(stmt) or 0)


async def volunteer_hours(session: AsyncSession, person_id: int, since: datetime | None) -> Decimal:
    stmt = sa.select(sa.func.coalesce(sa.func.sum(col(PointsEntry.hours)), 0)).where(
        col(PointsEntry.person_id) == person_id,
        col(PointsEntry.source_type) == VOLUNTEER_SOURCE,
    )
    if since is not None:
        stmt = stmt.where(col(PointsEntry.at) >= since)
    return Decimal(await session.scalar(stmt) or 0)


async def eligible(session: AsyncSession, person_id: int, offer: Offer, now: datetime) -> bool:
    """Whether the person meets one of the offer's eligibilities (`permissions.incentives.
    ELIGIBILITY`); an offer listing none is for everyone."""
    if not offer.eligibility:
        return True
    for name in offer.eligibility:
        which = Eligibility(name)
        criterion = ELIGIBILITY[which]
        since = now - criterion.window if criterion.window else None
        if which == Eligibility.BUILDING_HEAD_SATISFIED:
            found: float = await _satisfied_head(session, person_id, since)
            minimum = criterion.minimum
        elif which == Eligibility.AWARD_WINNER:
            found = await _awards_won(session, person_id, since)
            minimum = criterion.minimum
        else:
            found = float(await volunteer_hours(session, person_id, since))
            minimum = float(offer.min_volunteer_hours or criterion.minimum)
        if found >= minimum:
            return True
    return False


# --- redemptions -----------------------------------------------------------------------------


def code_hash(shop_id: int, code: str) -> bytes:
    return hashlib.sha256(f"{shop_id}:{code}".encode()).digest()


def _live(offer: Offer, shop: Shop, now: datetime) -> None:
    if offer.withdrawn_at is not None or shop.closed_at is not None:
        raise DomainError(IncentiveCode.OFFER_UNAVAILABLE, "this offer is withdrawn", "offer_id")
    if not offer.valid_from <= now < offer.valid_until:
        raise DomainError(
            IncentiveCode.OFFER_UNAVAILABLE, "this offer is not valid now", "offer_id"
        )


@dataclass(frozen=True)
class Issued:
    redemption: Redemption
    code: str


async def issue_redemption(
    session: AsyncSession, *, offer_id: int, person_id: int, now: datetime | None = None
) -> Issued:
    """A one-time code for the offer, valid CODE_MINUTES. Its points are held (not spent):
    OFFER_UNAVAILABLE, NOT_ELIGIBLE, INSUFFICIENT_POINTS (balance minus points held by the
    person's other live codes, decided under the ledger lock: two devices cannot both hold
    the same points)."""
    now = now or utcnow()
    offer: Offer = await get_row(session, Offer, offer_id, "offer", "offer_id")
    shop: Shop = await get_row(session, Shop, offer.shop_id, "shop", "offer_id")
    _live(offer, shop, now)
    if not await eligible(session, person_id, offer, now):
        raise DomainError(
            IncentiveCode.NOT_ELIGIBLE, "this offer is for others (see its eligibility)", "offer_id"
        )
    await lock_ledger(session, person_id)
    if offer.points_cost:
        available = await points_balance(session, person_id) - await held_points(
            session, person_id, now
        )
        if available < offer.points_cost:
            raise _insufficient("offer_id", offer.points_cost, available)
    for _ in range(5):
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        inserted = await session.scalar(
            pg_insert(Redemption)
            .values(
                offer_id=offer.id,
                shop_id=shop.id,
                person_id=person_id,
                code_hash=code_hash(offer.shop_id, code),
                points_cost=offer.points_cost,
                status=RedemptionStatus.ISSUED,
                version=1,
                issued_at=now,
                expires_at=now + timedelta(minutes=CODE_MINUTES),
                status_changed_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=["shop_id", "code_hash"], index_where=sa.text("status = 'ISSUED'")
            )
            .returning(col(Redemption.id))
        )
        if inserted is not None:
            redemption = await REDEMPTIONS.load(session, int(inserted))
            await REDEMPTIONS.record(
                session, redemption, _A.ISSUE, None, person_id, note=offer.title, now=now
            )
            return Issued(redemption, code)
    raise DomainError(IncentiveCode.CODE_INVALID, "no free code: try again", "offer_id")


def _used() -> DomainError:
    return DomainError(
        IncentiveCode.CODE_INVALID, "no live code like this at this shop (used or wrong)", "code"
    )


async def confirm_redemption(
    session: AsyncSession,
    *,
    shop_id: int,
    code: str,
    operator_id: int | None,
    now: datetime | None = None,
) -> Redemption:
    """The operator confirms the code the person shows: once (a second confirmation, also a
    concurrent one, is CODE_INVALID), within its minutes (CODE_EXPIRED), with the points still
    there (INSUFFICIENT_POINTS); the points are debited with the confirmation."""
    now = now or utcnow()
    cleaned = code.strip()
    if not (len(cleaned) == CODE_DIGITS and cleaned.isascii() and cleaned.isdigit()):
        raise invalid(f"a code is {CODE_DIGITS} digits", "code")
    found = await session.scalar(
        sa.select(col(Redemption.id)).where(
            col(Redemption.shop_id) == shop_id,
            col(Redemption.code_hash) == code_hash(shop_id, cleaned),
            col(Redemption.status) == RedemptionStatus.ISSUED,
        )
    )
    if found is None:
        raise _used()
    redemption = await REDEMPTIONS.load(session, int(found))
    await lock_ledger(session, redemption.person_id)
    # whoever held the lock before may have used the code: read it again under the lock
    redemption = await REDEMPTIONS.load(session, int(found))
    if redemption.status != RedemptionStatus.ISSUED:
        raise _used()
    if redemption.expires_at <= now:
        raise DomainError(IncentiveCode.CODE_EXPIRED, "this code has expired", "code")
    if redemption.points_cost:
        balance = await points_balance(session, redemption.person_id)
        if balance < redemption.points_cost:
            raise _insufficient("code", redemption.points_cost, balance)
    confirmed = await REDEMPTIONS.move(
        session,
        redemption,
        _A.CONFIRM,
        operator_id,
        now=now,
        values={"confirmed_at": now, "confirmed_by_id": operator_id},
        lost_race=lambda _: _used(),
    )
    if confirmed.points_cost:
        assert confirmed.id is not None
        await debit(
            session,
            person_id=confirmed.person_id,
            kind=PointsKind.REDEEMED,
            points=confirmed.points_cost,
            source_type=REDEMPTION_SOURCE,
            source_id=confirmed.id,
            note=f"红城星店兑换 #{confirmed.id}",
            now=now,
            field="code",
        )
    return confirmed


async def cancel_redemption(
    session: AsyncSession,
    *,
    redemption_id: int,
    expected_version: int,
    actor_id: int | None,
    now: datetime | None = None,
) -> Redemption:
    redemption = await REDEMPTIONS.load(session, redemption_id)
    return await REDEMPTIONS.move(
        session,
        redemption,
        _A.CANCEL,
        actor_id,
        now=now or utcnow(),
        expected_version=expected_version,
    )


async def expire_redemptions(
    session: AsyncSession, now: datetime | None = None, batch: int = 500
) -> list[int]:
    """Codes past their minutes become EXPIRED (their held points are free again)."""
    now = now or utcnow()
    rows = await REDEMPTIONS.claim(
        session,
        col(Redemption.status) == RedemptionStatus.ISSUED,
        col(Redemption.expires_at) <= now,
        order_by=[col(Redemption.expires_at)],
        batch=batch,
    )
    return await REDEMPTIONS.sweep(session, rows, _A.EXPIRE, now=now)


@scheduled("incentives.expire_redemptions")
async def _expire_redemptions_job(session: AsyncSession, now: datetime, batch: int) -> list[int]:
    return await expire_redemptions(session, now, batch)


# --- property-fee reductions ---------------------------------------------------------------


async def grant_fee_reduction(
    session: AsyncSession,
    *,
    person_id: int,
    household_id: int,
    org_unit_id: int,
    basis: FeeBasis,
    amount_yuan: Decimal,
    period: str,
    points: int = 0,
    award_id: int | None = None,
    granted_by_id: int | None = None,
    now: datetime | None = None,
) -> FeeReduction:
    """物业费减免 for a household, against the person's points (debited like a redemption) or
    an award they (or their building) won; one reduction per award and person."""
    now = now or utcnow()
    person: Person = await get_row(session, Person, person_id, "person", "person_id")
    household: Household = await get_row(
        session, Household, household_id, "household", "household_id"
    )
    unit: OrgUnit = await get_row(session, OrgUnit, org_unit_id, "org unit", "org_unit_id")
    if person.household_id != household.id:
        raise invalid("the person does not live in this household", "household_id")
    if unit.kind not in (OrgKind.COMMUNITY, OrgKind.GRID) or not str(household.path).startswith(
        f"{unit.path}."
    ):
        raise invalid("the estate is the household's grid or community", "org_unit_id")
    if basis == FeeBasis.POINTS:
        if award_id is not None or not 1 <= points <= 100_000:
            raise invalid("a reduction against points spends 1 to 100000 points", "points")
    else:
        if award_id is None or points:
            raise invalid("a reduction against an award names the award, no points", "award_id")
        award: Award = await get_row(session, Award, award_id, "award", "award_id")
        if award.person_id != person_id and award.building_id != household.building_id:
            raise invalid("the award is neither the person's nor their building's", "award_id")
    amount = money(amount_yuan, "amount_yuan")
    assert amount is not None
    reduction = FeeReduction(
        person_id=person_id,
        household_id=household_id,
        org_unit_id=org_unit_id,
        basis=basis,
        points=points,
        award_id=award_id,
        amount_yuan=amount,
        period=clean_text(period, "period", max_length=20),
        granted_by_id=granted_by_id,
        granted_at=now,
    )
    await flush_or_refuse(
        session,
        adding=reduction,
        duplicate=DomainError(
            IncentiveCode.ALREADY_GRANTED, "this award already reduced their fee", "award_id"
        ),
    )
    await session.refresh(reduction, ["path"])
    if basis == FeeBasis.POINTS:
        await lock_ledger(session, person_id)
        balance = await points_balance(session, person_id) - await held_points(
            session, person_id, now
        )
        if balance < points:
            raise DomainError(
                IncentiveCode.INSUFFICIENT_POINTS,
                f"not enough points: {points} needed, {balance} available",
                "points",
            )
        assert reduction.id is not None
        await debit(
            session,
            person_id=person_id,
            kind=PointsKind.REDEEMED,
            points=points,
            source_type=FEE_SOURCE,
            source_id=reduction.id,
            note=f"物业费减免 {reduction.period}",
            now=now,
        )
    return reduction


# --- reading (through the request's loaders) -----------------------------------------------

POINTS_OF_PERSON = Children(
    PointsEntry, PointsEntry.person_id, Ordering.of(desc(PointsEntry.at), desc(PointsEntry.id))
)
SHOPS_UNDER = Listing("org_unit.shops", Shop, Parent(within=OrgUnit))
OFFERS_OF_SHOP = Children(
    Offer,
    Offer.shop_id,
    Ordering.of(desc(Offer.created_at), desc(Offer.id)),
    (col(Offer.withdrawn_at).is_(None),),
)
NEWEST_REDEMPTIONS = Ordering.of(desc(Redemption.issued_at), desc(Redemption.id))
REDEMPTIONS_OF_PERSON = Listing(
    "person.redemptions", Redemption, Parent(column=Redemption.person_id)
)
REDEMPTIONS_AT_SHOP = Listing("shop.redemptions", Redemption, Parent(column=Redemption.shop_id))
REDEMPTION_TIMELINE = Children(
    RedemptionEvent, RedemptionEvent.redemption_id, Ordering.of(desc(RedemptionEvent.id))
)
FEE_REDUCTIONS_UNDER = Listing("org_unit.fee_reductions", FeeReduction, Parent(within=OrgUnit))
FEE_REDUCTIONS_OF_PERSON = Children(
    FeeReduction, FeeReduction.person_id, Ordering.of(desc(FeeReduction.granted_at))
)


@dataclass(frozen=True)
class ShopFilter:
    include_closed: bool = False

    def conditions(self) -> list[Any]:
        return [] if self.include_closed else [col(Shop.closed_at).is_(None)]

    @staticmethod
    def ordering() -> Ordering:
        return Ordering.of(desc(Shop.joined_on), desc(Shop.id))


@dataclass(frozen=True)
class FeeReductionOrder:
    @staticmethod
    def conditions() -> list[Any]:
        return []

    @staticmethod
    def ordering() -> Ordering:
        return Ordering.of(desc(FeeReduction.granted_at), desc(FeeReduction.id))


@dataclass(frozen=True)
class RedemptionFilter:
    statuses: tuple[RedemptionStatus, ...] = ()

    def conditions(self) -> list[Any]:
        return [col(Redemption.status).in_(self.statuses)] if self.statuses else []

    @staticmethod
    def ordering() -> Ordering:
        return NEWEST_REDEMPTIONS


async def holder_name(loaders: Loaders, person_id: int) -> str | None:
    """The name of whoever holds a redemption, whatever the reader's row scope (the field
    policy decides what the reader gets: the holder in full, operators and admins masked)."""

    async def batch(ids: list[int]) -> list[str | None]:
        rows = await loaders.fetch(
            sa.select(col(Person.id), col(Person.name)).where(col(Person.id).in_(ids))
        )
        found = {int(i): str(n) for i, n in rows}
        return [found.get(i) for i in ids]

    return await loaders.batch("holder_name", Redemption, batch).load(person_id)
