"""Micro-wishes: the wall of a building or community, claims (one claimant, releases),
fulfilment with evidence, the resident's confirmation and thanks, and the table."""

from __future__ import annotations

from collections import deque

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.people import Person, Position
from models.wishes import MicroWish, MicroWishEvent, WishAction, WishStatus
from permissions import wishes as rules
from permissions.actor import Actor, Grant
from resolvers import wishes as rw
from seeds.demo import DemoCity
from tests.petitions.helpers import Actors, pid, refuses


async def post(session: AsyncSession, demo: DemoCity, actors: Actors, **place: int) -> MicroWish:
    if not place:
        place = {"building_id": pid(demo.building)}
    return await rw.post_wish(
        session,
        resident_id=actors.resident,
        title="帮忙修理轮椅",
        description="轮椅刹车坏了，希望有人帮忙修理。",
        recorded_by_id=actors.grid_worker,
        building_id=place.get("building_id"),
        community_id=place.get("community_id"),
    )


async def timeline(session: AsyncSession, wish: MicroWish) -> list[MicroWishEvent]:
    rows = await session.execute(
        sa.select(MicroWishEvent)
        .where(col(MicroWishEvent.wish_id) == pid(wish))
        .order_by(col(MicroWishEvent.id))
    )
    return list(rows.scalars())


async def test_a_wish_from_post_to_thanks(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    wish = await post(session, demo, actors)
    assert (wish.status, wish.version, wish.path) == (WishStatus.POSTED, 1, demo.building.path)
    wish = await rw.act_on_wish(session, pid(wish), WishAction.PUBLISH, 1, actors.admin)
    assert wish.published_at is not None
    wish = await rw.act_on_wish(session, pid(wish), WishAction.CLAIM, 2, actors.party_member)
    assert (wish.status, wish.claimant_id) == (WishStatus.CLAIMED, actors.party_member)
    wish = await rw.act_on_wish(
        session,
        pid(wish),
        WishAction.FULFIL,
        3,
        actors.party_member,
        evidence=["wishes/2024/wheelchair.jpg"],
        note="已修好并送回",
    )
    assert (wish.evidence, wish.evidence_note) == (["wishes/2024/wheelchair.jpg"], "已修好并送回")
    wish = await rw.act_on_wish(
        session, pid(wish), WishAction.CONFIRM, 4, actors.resident, note="谢谢赵师傅！"
    )
    assert (wish.status, wish.thanks, wish.version) == (WishStatus.CONFIRMED, "谢谢赵师傅！", 5)
    assert wish.confirmed_at is not None
    entries = await timeline(session, wish)
    assert [(e.action, e.from_status, e.to_status) for e in entries] == [
        (WishAction.POST, None, WishStatus.POSTED),
        (WishAction.PUBLISH, WishStatus.POSTED, WishStatus.PUBLISHED),
        (WishAction.CLAIM, WishStatus.PUBLISHED, WishStatus.CLAIMED),
        (WishAction.FULFIL, WishStatus.CLAIMED, WishStatus.FULFILLED),
        (WishAction.CONFIRM, WishStatus.FULFILLED, WishStatus.CONFIRMED),
    ]
    assert entries[0].actor_person_id == actors.grid_worker, "recorded for the resident"
    assert entries[2].actor_person_id == actors.party_member


async def test_claims_are_exclusive_and_can_be_released(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    wish = await post(session, demo, actors, community_id=pid(demo.renheyuan))
    assert wish.path == demo.renheyuan.path
    wish = await rw.act_on_wish(session, pid(wish), WishAction.PUBLISH, 1, actors.admin)
    claimed_version = (
        await rw.act_on_wish(session, pid(wish), WishAction.CLAIM, 2, actors.cadre)
    ).version
    await refuses(
        "ALREADY_CLAIMED",
        rw.act_on_wish(session, pid(wish), WishAction.CLAIM, 3, actors.party_member),
        "id",
    )
    await refuses(
        "ALREADY_CLAIMED",
        rw.act_on_wish(session, pid(wish), WishAction.CLAIM, 2, actors.party_member),
        "id",
    )
    released = await rw.act_on_wish(
        session, pid(wish), WishAction.RELEASE, claimed_version, actors.cadre, note="出差"
    )
    assert (released.status, released.claimant_id, released.claimed_at) == (
        WishStatus.PUBLISHED,
        None,
        None,
    )
    await refuses(
        "VERSION_CONFLICT",
        rw.act_on_wish(session, pid(wish), WishAction.CLAIM, claimed_version, actors.party_member),
        "expected_version",
    )
    again = await rw.act_on_wish(
        session, pid(wish), WishAction.CLAIM, released.version, actors.party_member
    )
    assert again.claimant_id == actors.party_member
    # only the claimant fulfils: the cadre who released it is no party to the step any more
    cadre = await actor_of(session, actors.cadre)
    assert WishAction.FULFIL not in rules.WISH_ACTIONS.permitted(cadre, again)
    mine = await actor_of(session, actors.party_member)
    assert WishAction.FULFIL in rules.WISH_ACTIONS.permitted(mine, again)


async def actor_of(session: AsyncSession, person_id: int) -> Actor:
    """The actor a person signs in as: their active grants, their home, Party membership."""
    person = await session.get(Person, person_id)
    assert person is not None
    held = await session.execute(
        sa.select(col(Position.role), col(Position.path)).where(
            col(Position.person_id) == person_id, col(Position.ended_at).is_(None)
        )
    )
    return Actor(
        kind="PERSON",
        person_id=person_id,
        household_path=person.path if person.household_id else None,
        grants=tuple(Grant(str(role), str(path)) for role, path in held),
        party_member=person.is_party_member,
    )


async def test_who_may_claim(session: AsyncSession, demo: DemoCity, actors: Actors) -> None:
    wish = await post(session, demo, actors)
    wish = await rw.act_on_wish(session, pid(wish), WishAction.PUBLISH, 1, actors.admin)
    renter = await actor_of(session, actors.renter)
    assert not rules.may_claim(renter)
    assert WishAction.CLAIM not in rules.WISH_ACTIONS.permitted(renter, wish)
    for person in (actors.party_member, actors.cadre, actors.grid_worker, actors.head):
        someone = await actor_of(session, person)
        assert rules.may_claim(someone)
        assert WishAction.CLAIM in rules.WISH_ACTIONS.permitted(someone, wish)
    own = await rw.post_wish(
        session,
        resident_id=actors.party_member,
        title="想学用智能手机",
        description="想学会视频通话",
        building_id=pid(demo.building),
    )
    own = await rw.act_on_wish(session, pid(own), WishAction.PUBLISH, 1, actors.admin)
    member = await actor_of(session, actors.party_member)
    assert WishAction.CLAIM not in rules.WISH_ACTIONS.permitted(member, own), "not one's own"


async def test_fulfilment_needs_evidence_and_the_resident_confirms(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    wish = await post(session, demo, actors)
    wish = await rw.act_on_wish(session, pid(wish), WishAction.PUBLISH, 1, actors.admin)
    wish = await rw.act_on_wish(session, pid(wish), WishAction.CLAIM, 2, actors.party_member)
    await refuses(
        "VALIDATION",
        rw.act_on_wish(session, pid(wish), WishAction.FULFIL, 3, actors.party_member, evidence=[]),
        "evidence",
    )
    await refuses(
        "VALIDATION",
        rw.act_on_wish(
            session, pid(wish), WishAction.FULFIL, 3, actors.party_member, evidence=["ftp://x"]
        ),
        "evidence",
    )
    wish = await rw.act_on_wish(
        session,
        pid(wish),
        WishAction.FULFIL,
        3,
        actors.party_member,
        evidence=[],
        note="已陪同就医",
    )
    member = await actor_of(session, actors.party_member)
    assert WishAction.CONFIRM not in rules.WISH_ACTIONS.permitted(member, wish)
    recorder = await actor_of(session, actors.grid_worker)
    assert WishAction.CONFIRM in rules.WISH_ACTIONS.permitted(recorder, wish)
    confirmed = await rw.act_on_wish(session, pid(wish), WishAction.CONFIRM, 4, actors.grid_worker)
    assert confirmed.status == WishStatus.CONFIRMED, "the recorder confirms for the resident"


async def test_places_of_wish_walls(session: AsyncSession, demo: DemoCity, actors: Actors) -> None:
    await refuses("VALIDATION", post(session, demo, actors, community_id=pid(demo.street)))
    await refuses(
        "VALIDATION",
        post(session, demo, actors, community_id=pid(demo.renheyuan), building_id=1),
    )
    await refuses("NOT_FOUND", post(session, demo, actors, building_id=10**12))
    await refuses(
        "VALIDATION",
        rw.act_on_wish(
            session, pid(await post(session, demo, actors)), WishAction.CANCEL, 1, None, note=" "
        ),
    )


def _routes() -> dict[WishStatus, list[WishAction]]:
    found: dict[WishStatus, list[WishAction]] = {WishStatus.POSTED: []}
    queue = deque([WishStatus.POSTED])
    while queue:
        status = queue.popleft()
        for action, target in rw.WISH_TRANSITIONS[status].items():
            if target not in found:
                found[target] = [*found[status], action]
                queue.append(target)
    return found


ROUTES = _routes()


async def _apply(
    session: AsyncSession, actors: Actors, wish: MicroWish, action: WishAction
) -> MicroWish:
    ident, version = pid(wish), wish.version
    match action:
        case WishAction.PUBLISH:
            return await rw.act_on_wish(session, ident, WishAction.PUBLISH, version, actors.admin)
        case WishAction.CLAIM:
            return await rw.act_on_wish(
                session, ident, WishAction.CLAIM, version, actors.party_member
            )
        case WishAction.RELEASE:
            return await rw.act_on_wish(
                session, ident, WishAction.RELEASE, version, actors.party_member
            )
        case WishAction.FULFIL:
            return await rw.act_on_wish(
                session,
                ident,
                WishAction.FULFIL,
                version,
                actors.party_member,
                evidence=["w/a.jpg"],
            )
        case WishAction.CONFIRM:
            return await rw.act_on_wish(
                session, ident, WishAction.CONFIRM, version, actors.resident
            )
        case WishAction.CANCEL:
            return await rw.act_on_wish(
                session, ident, WishAction.CANCEL, version, actors.resident, note="不需要了"
            )
    raise AssertionError(action)


@pytest.mark.parametrize("status", list(WishStatus), ids=str)
async def test_wish_table(
    session: AsyncSession, demo: DemoCity, actors: Actors, status: WishStatus
) -> None:
    assert set(ROUTES) == set(WishStatus)
    wish = await post(session, demo, actors)
    for action in ROUTES[status]:
        wish = await _apply(session, actors, wish, action)
    assert wish.status == status
    for action in WishAction:
        if action == WishAction.POST:
            continue
        if action in rw.WISH_TRANSITIONS[status]:
            continue
        code = (
            "ALREADY_CLAIMED"
            if action == WishAction.CLAIM
            and status in (WishStatus.CLAIMED, WishStatus.FULFILLED, WishStatus.CONFIRMED)
            else "INVALID_TRANSITION"
        )
        error = await refuses(code, _apply(session, actors, wish, action))
        assert error.code == code
    assert rw.WISHES.legal(status) == set(rw.WISH_TRANSITIONS[status])
