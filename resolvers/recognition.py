"""Recognition (评比表彰): awards decided by admins with a citation, their candidates computed
from the metrics, points for the winners; building culture (role models, the publicity wall).

The rotating red flag (流动红旗) has one holder per node and period: the database's exclusion
constraint refuses an overlapping second holder (PERIOD_TAKEN), also when two admins race;
passing the flag on is awarding the next period to another building, and the history is
every RED_FLAG award of the node. Functions flush, never commit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import Ltree, utcnow
from models.cogovernance import Convention, ConventionSignature
from models.incentives import PointsEntry
from models.org import Building, Household, OrgKind, OrgUnit
from models.people import Person, Position, Role
from models.petitions import Petition, PetitionRating, RatingValue
from models.recognition import Award, AwardKind, RoleModel, RoleModelKind, WallPost
from resolvers.common import clean_note, clean_references, clean_text, flush_or_refuse, get_row
from resolvers.errors import DomainError, invalid
from resolvers.incentives import VOLUNTEER_SOURCE, credit
from resolvers.loaders import Children, Loaders
from resolvers.pagination import Listing, Ordering, Parent, asc, desc
from resolvers.people import CHINA


class RecognitionCode(enum.StrEnum):
    """Codes of awards and building culture."""

    PERIOD_TAKEN = "PERIOD_TAKEN"
    INVALID_PARENT_KIND = "INVALID_PARENT_KIND"
    ALREADY_ENDED = "ALREADY_ENDED"


#: Points credited to the winner (a building award: its head at the decision).
AWARD_POINTS: Final[dict[AwardKind, int]] = {
    AwardKind.MOST_BEAUTIFUL_BUILDING: 50,
    AwardKind.VOLUNTEER_STAR: 50,
    AwardKind.RED_FLAG: 30,
    AwardKind.ADVANCED_INDIVIDUAL: 30,
    AwardKind.ADVANCED_COLLECTIVE: 30,
}
PERSON_AWARDS: Final = frozenset({AwardKind.VOLUNTEER_STAR, AwardKind.ADVANCED_INDIVIDUAL})
AWARD_SOURCE: Final = "AWARD"
#: The nodes that decide awards.
AWARDING: Final = frozenset({OrgKind.COMMUNITY, OrgKind.STREET, OrgKind.DISTRICT, OrgKind.CITY})
MAX_PERIOD: Final = timedelta(days=366 * 2)
#: How a building candidate is scored (weights of its rates; a missing rate counts 0).
SCORE_WEIGHTS: Final = {"satisfaction": 0.5, "on_time": 0.3, "convention": 0.2}


async def building_head_now(session: AsyncSession, building_id: int) -> int | None:
    found = await session.scalar(
        sa.select(col(Position.person_id)).where(
            col(Position.building_id) == building_id,
            col(Position.role) == Role.BUILDING_HEAD,
            col(Position.ended_at).is_(None),
        )
    )
    return int(found) if found is not None else None


async def _person_under(session: AsyncSession, person: Person, node_path: str) -> bool:
    """Lives under the node, or serves there (a volunteer from elsewhere)."""
    if person.path is not None and (
        person.path == node_path or str(person.path).startswith(node_path + ".")
    ):
        return True
    served = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Position)
        .where(
            col(Position.person_id) == person.id,
            col(Position.ended_at).is_(None),
            col(Position.path).op("<@")(sa.cast(sa.literal(node_path), Ltree())),
        )
    )
    return bool(served)


@dataclass(frozen=True)
class AwardDecision:
    kind: AwardKind
    org_unit_id: int
    period_start: date
    period_end: date
    citation: str
    building_id: int | None = None
    person_id: int | None = None


async def grant_award(
    session: AsyncSession,
    decision: AwardDecision,
    *,
    decided_by_id: int | None,
    now: datetime | None = None,
) -> Award:
    """Decide an award of a node for a period, with a citation; credit the winner's points.

    A person award names a person living or serving under the node, a building award a
    building under it; a red flag overlapping another of the node is PERIOD_TAKEN."""
    now = now or utcnow()
    d = decision
    unit: OrgUnit = await get_row(session, OrgUnit, d.org_unit_id, "org unit", "org_unit_id")
    if unit.kind not in AWARDING or unit.retired_at is not None:
        raise DomainError(
            RecognitionCode.INVALID_PARENT_KIND,
            "awards are decided by an active community, street, district or the city",
            "org_unit_id",
        )
    if not d.period_start < d.period_end <= d.period_start + MAX_PERIOD:
        raise invalid("a period ends after it starts, within two years", "period_end")
    citation = clean_text(d.citation, "citation", max_length=500)
    node = str(unit.path)
    credited: int | None
    if d.kind in PERSON_AWARDS:
        if d.person_id is None or d.building_id is not None:
            raise invalid(f"a {d.kind} goes to a person", "person_id")
        person: Person = await get_row(session, Person, d.person_id, "person", "person_id")
        if not await _person_under(session, person, node):
            raise invalid("the person neither lives nor serves under this node", "person_id")
        credited = d.person_id
    else:
        if d.building_id is None or d.person_id is not None:
            raise invalid(f"a {d.kind} goes to a building", "building_id")
        building: Building = await get_row(
            session, Building, d.building_id, "building", "building_id"
        )
        if not str(building.path).startswith(node + "."):
            raise invalid("the building is not under this node", "building_id")
        credited = await building_head_now(session, d.building_id)
    points = AWARD_POINTS[d.kind] if credited is not None else 0
    award = Award(
        kind=d.kind,
        org_unit_id=d.org_unit_id,
        building_id=d.building_id,
        person_id=d.person_id,
        period_start=d.period_start,
        period_end=d.period_end,
        citation=citation,
        points=points,
        credited_person_id=credited,
        decided_by_id=decided_by_id,
        decided_at=now,
    )
    await flush_or_refuse(
        session,
        adding=award,
        duplicate=DomainError(
            RecognitionCode.PERIOD_TAKEN,
            "the red flag of this node has a holder in an overlapping period",
            "period_start",
        ),
    )
    await session.refresh(award, ["path"])
    if credited is not None and points:
        assert award.id is not None
        await credit(
            session,
            person_id=credited,
            points=points,
            source_type=AWARD_SOURCE,
            source_id=award.id,
            note=f"表彰: {d.kind} {d.period_start:%Y-%m}",
            now=now,
        )
    return award


async def current_red_flag(session: AsyncSession, org_unit_id: int, day: date) -> Award | None:
    found: Award | None = await session.scalar(
        sa.select(Award).where(
            col(Award.org_unit_id) == org_unit_id,
            col(Award.kind) == AwardKind.RED_FLAG,
            col(Award.period_start) <= day,
            col(Award.period_end) > day,
        )
    )
    return found


# --- candidates --------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A building or a person ranked for an award by the metrics of the period."""

    rank: int
    score: float
    building_id: int | None = None
    person_id: int | None = None
    rated: int = 0
    satisfaction_rate: float | None = None
    on_time_rate: float | None = None
    convention_share: float | None = None
    volunteer_hours: Decimal | None = None


def _rate(numerator: Any, denominator: Any) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


async def _building_candidates(
    session: AsyncSession, node_path: str, since: datetime, until: datetime, limit: int
) -> list[Candidate]:
    """Per building under the node: satisfaction of the cases rated in the period, the
    on-time rate of the cases due in it, and the share of households that signed its
    convention in force; one statement."""
    node = sa.cast(sa.literal(node_path), Ltree())
    rated = (
        sa.select(
            col(Petition.building_id).label("b"),
            sa.func.count().label("rated"),
            sa.func.count()
            .filter(col(PetitionRating.rating) == RatingValue.SATISFIED)
            .label("satisfied"),
        )
        .join(Petition, col(Petition.id) == col(PetitionRating.petition_id))
        .where(col(PetitionRating.at) >= since, col(PetitionRating.at) < until)
        .group_by(col(Petition.building_id))
        .subquery("rated")
    )
    due = (
        sa.select(
            col(Petition.building_id).label("b"),
            sa.func.count().label("due"),
            sa.func.count()
            .filter(col(Petition.resolved_at).is_not(None))
            .filter(col(Petition.resolved_at) <= col(Petition.due_at))
            .label("on_time"),
        )
        .where(col(Petition.due_at) >= since, col(Petition.due_at) < until)
        .group_by(col(Petition.building_id))
        .subquery("due")
    )
    latest = (
        sa.select(
            col(Convention.building_id).label("b"), sa.func.max(col(Convention.id)).label("c")
        )
        .group_by(col(Convention.building_id))
        .subquery("latest")
    )
    signed = (
        sa.select(
            col(ConventionSignature.convention_id).label("c"), sa.func.count().label("signed")
        )
        .group_by(col(ConventionSignature.convention_id))
        .subquery("signed")
    )
    households = (
        sa.select(col(Household.building_id).label("b"), sa.func.count().label("households"))
        .group_by(col(Household.building_id))
        .subquery("households")
    )
    stmt = (
        sa.select(
            col(Building.id),
            sa.func.coalesce(rated.c.rated, 0),
            sa.func.coalesce(rated.c.satisfied, 0),
            sa.func.coalesce(due.c.due, 0),
            sa.func.coalesce(due.c.on_time, 0),
            sa.func.coalesce(signed.c.signed, 0),
            sa.func.coalesce(households.c.households, 0),
            latest.c.c.is_not(None),
        )
        .outerjoin(rated, rated.c.b == col(Building.id))
        .outerjoin(due, due.c.b == col(Building.id))
        .outerjoin(latest, latest.c.b == col(Building.id))
        .outerjoin(signed, signed.c.c == latest.c.c)
        .outerjoin(households, households.c.b == col(Building.id))
        .where(col(Building.path).op("<@")(node))
    )
    scored: list[tuple[float, int, Candidate]] = []
    for bid, n_rated, satisfied, n_due, on_time, n_signed, n_households, has in (
        await session.execute(stmt)
    ).all():
        satisfaction = _rate(satisfied, n_rated)
        timely = _rate(on_time, n_due)
        share = _rate(n_signed, n_households) if has else None
        w = SCORE_WEIGHTS
        score = (
            w["satisfaction"] * (satisfaction or 0)
            + w["on_time"] * (timely or 0)
            + w["convention"] * (share or 0)
        )
        candidate = Candidate(
            rank=0,
            score=round(score, 4),
            building_id=int(bid),
            rated=int(n_rated),
            satisfaction_rate=satisfaction,
            on_time_rate=timely,
            convention_share=share,
        )
        scored.append((-score, int(bid), candidate))
    scored.sort(key=lambda s: (s[0], s[1]))
    return [
        Candidate(**{**vars(c), "rank": i}) for i, (_, _, c) in enumerate(scored[:limit], start=1)
    ]


async def _person_candidates(
    session: AsyncSession, node_path: str, since: datetime, until: datetime, limit: int
) -> list[Candidate]:
    """Volunteers living or serving under the node, by hours credited in the period."""
    node = sa.cast(sa.literal(node_path), Ltree())
    serving = sa.exists().where(
        col(Position.person_id) == col(Person.id),
        col(Position.ended_at).is_(None),
        col(Position.path).op("<@")(node),
    )
    hours = sa.func.sum(col(PointsEntry.hours))
    stmt = (
        sa.select(col(PointsEntry.person_id), hours)
        .join(Person, col(Person.id) == col(PointsEntry.person_id))
        .where(
            col(PointsEntry.source_type) == VOLUNTEER_SOURCE,
            col(PointsEntry.at) >= since,
            col(PointsEntry.at) < until,
            sa.or_(col(Person.path).op("<@")(node), serving),
        )
        .group_by(col(PointsEntry.person_id))
        .order_by(hours.desc(), col(PointsEntry.person_id))
        .limit(limit)
    )
    return [
        Candidate(
            rank=i,
            score=float(total or 0),
            person_id=int(pid),
            volunteer_hours=Decimal(total or 0),
        )
        for i, (pid, total) in enumerate((await session.execute(stmt)).all(), start=1)
    ]


async def award_candidates(
    session: AsyncSession,
    *,
    org_unit_id: int,
    kind: AwardKind,
    period_start: date,
    period_end: date,
    limit: int = 10,
) -> list[Candidate]:
    """Who the metrics of the period put forward for `kind` under the node, best first."""
    unit: OrgUnit = await get_row(session, OrgUnit, org_unit_id, "org unit", "org_unit_id")
    if not 1 <= limit <= 50:
        raise invalid("`limit` is from 1 to 50", "limit")
    if not period_start < period_end <= period_start + MAX_PERIOD:
        raise invalid("a period ends after it starts, within two years", "period_end")
    since = datetime.combine(period_start, time(), tzinfo=CHINA)
    until = datetime.combine(period_end, time(), tzinfo=CHINA)
    if kind in PERSON_AWARDS:
        return await _person_candidates(session, str(unit.path), since, until, limit)
    return await _building_candidates(session, str(unit.path), since, until, limit)


# --- building culture ----------------------------------------------------------------------


async def add_role_model(
    session: AsyncSession,
    *,
    building_id: int,
    kind: RoleModelKind,
    name: str,
    story: str,
    photo: str | None = None,
) -> RoleModel:
    await get_row(session, Building, building_id, "building", "building_id")
    photos = clean_references([photo], "photo", limit=1) if photo else []
    model = RoleModel(
        building_id=building_id,
        kind=kind,
        name=clean_text(name, "name", max_length=40),
        story=clean_text(story, "story", max_length=1000),
        photo=photos[0] if photos else None,
    )
    session.add(model)
    await session.flush()
    await session.refresh(model, ["path"])
    return model


async def remove_role_model(
    session: AsyncSession, *, role_model_id: int, now: datetime | None = None
) -> RoleModel:
    model: RoleModel = await get_row(session, RoleModel, role_model_id, "role model", "id")
    if model.removed_at is not None:
        raise DomainError(RecognitionCode.ALREADY_ENDED, "already taken off the wall", "id")
    model.removed_at = now or utcnow()
    await session.flush()
    return model


async def post_to_wall(
    session: AsyncSession,
    *,
    building_id: int,
    title: str,
    body: str,
    images: list[str],
    posted_by_id: int | None,
) -> WallPost:
    await get_row(session, Building, building_id, "building", "building_id")
    post = WallPost(
        building_id=building_id,
        title=clean_text(title, "title", max_length=60),
        body=clean_text(body, "body", max_length=2000),
        images=clean_references(images, "images"),
        posted_by_id=posted_by_id,
    )
    session.add(post)
    await session.flush()
    await session.refresh(post, ["path"])
    return post


async def remove_wall_post(
    session: AsyncSession, *, post_id: int, reason: str | None = None, now: datetime | None = None
) -> WallPost:
    post: WallPost = await get_row(session, WallPost, post_id, "wall post", "id")
    if post.removed_at is not None:
        raise DomainError(RecognitionCode.ALREADY_ENDED, "already taken down", "id")
    clean_note(reason, "reason", max_length=200)
    post.removed_at = now or utcnow()
    await session.flush()
    return post


# --- reading ---------------------------------------------------------------------------------

NEWEST_AWARDS = Ordering.of(desc(Award.period_start), desc(Award.id))
AWARDS_UNDER = Listing("org_unit.awards", Award, Parent(within=OrgUnit))
RED_FLAGS_OF_NODE = Listing("org_unit.red_flags", Award, Parent(column=Award.org_unit_id))
AWARDS_OF_BUILDING = Children(Award, Award.building_id, NEWEST_AWARDS)
ROLE_MODELS = Children(
    RoleModel,
    RoleModel.building_id,
    Ordering.of(asc(RoleModel.id)),
    (col(RoleModel.removed_at).is_(None),),
)
WALL_POSTS = Children(
    WallPost,
    WallPost.building_id,
    Ordering.of(desc(WallPost.posted_at), desc(WallPost.id)),
    (col(WallPost.removed_at).is_(None),),
)


@dataclass(frozen=True)
class AwardFilter:
    kinds: tuple[AwardKind, ...] = ()

    def conditions(self) -> list[Any]:
        return [col(Award.kind).in_(self.kinds)] if self.kinds else []

    @staticmethod
    def ordering() -> Ordering:
        return NEWEST_AWARDS


RED_FLAG_FILTER = AwardFilter((AwardKind.RED_FLAG,))


async def recipient_name(loaders: Loaders, award: Award) -> str | None:
    """The winner's name (a building's or a person's), whatever the reader's row scope:
    winners are public by nature."""
    model: Any = Person if award.person_id is not None else Building
    ident = award.person_id if award.person_id is not None else award.building_id

    async def batch(keys: list[tuple[Any, int]]) -> list[str | None]:
        found: dict[tuple[Any, int], str] = {}
        tables: tuple[Any, ...] = (Person, Building)
        for table in tables:
            ids = [i for t, i in keys if t is table]
            if ids:
                rows = await loaders.fetch(sa.select(table.id, table.name).where(table.id.in_(ids)))
                found |= {(table, int(i)): str(n) for i, n in rows}
        return [found.get(k) for k in keys]

    assert ident is not None
    return await loaders.batch("recipient_name", Award, batch).load((model, ident))
