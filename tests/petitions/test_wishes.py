"""Micro-wishes: the wall of a building or community, claims (one claimant, releases),
fulfilment with evidence, the resident's confirmation and thanks, and the table."""

from __future__ import annotations

from collections import deque

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.petitions import MicroWish, MicroWishEvent, WishAction, WishStatus
from resolvers import wishes as rw
from resolvers.errors import ErrorCode
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
    wish = await rw.publish_wish(session, pid(wish), 1, actors.admin)
    assert wish.published_at is not None
    wish = await rw.claim_wish(session, pid(wish), 2, actors.party_member)
    assert (wish.status, wish.claimant_id) == (WishStatus.CLAIMED, actors.party_member)
    wish = await rw.fulfil_wish(
        session,
        pid(wish),
        3,
        actors.party_member,
        evidence=["wishes/2024/wheelchair.jpg"],
        note="已修好并送回",
    )
    assert (wish.evidence, wish.evidence_note) == (["wishes/2024/wheelchair.jpg"], "已修好并送回")
    wish = await rw.confirm_wish(session, pid(wish), 4, actors.resident, thanks="谢谢赵师傅！")
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
    wish = await rw.publish_wish(session, pid(wish), 1, actors.admin)
    claimed_version = (await rw.claim_wish(session, pid(wish), 2, actors.cadre)).version
    await refuses(
        ErrorCode.ALREADY_CLAIMED, rw.claim_wish(session, pid(wish), 3, actors.party_member), "id"
    )
    await refuses(
        ErrorCode.ALREADY_CLAIMED, rw.claim_wish(session, pid(wish), 2, actors.party_member), "id"
    )
    released = await rw.release_wish(session, pid(wish), claimed_version, actors.cadre, note="出差")
    assert (released.status, released.claimant_id, released.claimed_at) == (
        WishStatus.PUBLISHED,
        None,
        None,
    )
    await refuses(
        ErrorCode.VERSION_CONFLICT,
        rw.claim_wish(session, pid(wish), claimed_version, actors.party_member),
        "expectedVersion",
    )
    again = await rw.claim_wish(session, pid(wish), released.version, actors.party_member)
    assert again.claimant_id == actors.party_member
    await refuses(
        ErrorCode.FORBIDDEN,
        rw.fulfil_wish(session, pid(wish), again.version, actors.cadre, evidence=["w/1.jpg"]),
    )


async def test_who_may_claim(session: AsyncSession, demo: DemoCity, actors: Actors) -> None:
    wish = await post(session, demo, actors)
    wish = await rw.publish_wish(session, pid(wish), 1, actors.admin)
    assert not await rw.may_claim(session, actors.renter)
    await refuses(
        ErrorCode.FORBIDDEN, rw.claim_wish(session, pid(wish), 2, actors.renter), "claimantId"
    )
    for person in (actors.party_member, actors.cadre, actors.grid_worker, actors.head):
        assert await rw.may_claim(session, person)
    own = await rw.post_wish(
        session,
        resident_id=actors.party_member,
        title="想学用智能手机",
        description="想学会视频通话",
        building_id=pid(demo.building),
    )
    own = await rw.publish_wish(session, pid(own), 1, actors.admin)
    await refuses(
        ErrorCode.VALIDATION, rw.claim_wish(session, pid(own), 2, actors.party_member), "id"
    )


async def test_fulfilment_needs_evidence_and_the_resident_confirms(
    session: AsyncSession, demo: DemoCity, actors: Actors
) -> None:
    wish = await post(session, demo, actors)
    wish = await rw.publish_wish(session, pid(wish), 1, actors.admin)
    wish = await rw.claim_wish(session, pid(wish), 2, actors.party_member)
    await refuses(
        ErrorCode.VALIDATION,
        rw.fulfil_wish(session, pid(wish), 3, actors.party_member, evidence=[]),
        "evidence",
    )
    await refuses(
        ErrorCode.VALIDATION,
        rw.fulfil_wish(session, pid(wish), 3, actors.party_member, evidence=["ftp://x"]),
        "evidence",
    )
    wish = await rw.fulfil_wish(
        session, pid(wish), 3, actors.party_member, evidence=[], note="已陪同就医"
    )
    await refuses(
        ErrorCode.FORBIDDEN, rw.confirm_wish(session, pid(wish), 4, actors.party_member), "id"
    )
    confirmed = await rw.confirm_wish(session, pid(wish), 4, actors.grid_worker)
    assert confirmed.status == WishStatus.CONFIRMED, "the recorder confirms for the resident"


async def test_places_of_wish_walls(session: AsyncSession, demo: DemoCity, actors: Actors) -> None:
    await refuses(ErrorCode.VALIDATION, post(session, demo, actors, community_id=pid(demo.street)))
    await refuses(
        ErrorCode.VALIDATION,
        post(session, demo, actors, community_id=pid(demo.renheyuan), building_id=1),
    )
    await refuses(ErrorCode.NOT_FOUND, post(session, demo, actors, building_id=10**12))
    await refuses(
        ErrorCode.VALIDATION,
        rw.cancel_wish(session, pid(await post(session, demo, actors)), 1, None, reason=" "),
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
            return await rw.publish_wish(session, ident, version, actors.admin)
        case WishAction.CLAIM:
            return await rw.claim_wish(session, ident, version, actors.party_member)
        case WishAction.RELEASE:
            return await rw.release_wish(session, ident, version, actors.party_member)
        case WishAction.FULFIL:
            return await rw.fulfil_wish(
                session, ident, version, actors.party_member, evidence=["w/a.jpg"]
            )
        case WishAction.CONFIRM:
            return await rw.confirm_wish(session, ident, version, actors.resident)
        case WishAction.CANCEL:
            return await rw.cancel_wish(session, ident, version, actors.resident, reason="不需要了")
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
            ErrorCode.ALREADY_CLAIMED
            if action == WishAction.CLAIM
            and status in (WishStatus.CLAIMED, WishStatus.FULFILLED, WishStatus.CONFIRMED)
            else ErrorCode.INVALID_TRANSITION
        )
        error = await refuses(code, _apply(session, actors, wish, action))
        assert error.code == code
    assert rw.allowed_wish_actions(status) == set(rw.WISH_TRANSITIONS[status])
