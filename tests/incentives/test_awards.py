"""Awards: decided by the admins of a node with a citation, candidates from the metrics,
points for the winner, and the red flag (流动红旗): one holder per node and period, passed on."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.recognition import AwardKind
from resolvers import recognition as rr
from resolvers.errors import DomainError
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.incentives.conftest import ERRORS, Committed, Shops
from tests.incentives.test_redemption import ISSUE, an_offer, codes
from tests.permissions.support import rows
from tests.petitions_api.helpers import gid

ClientOf = Callable[[int], Awaitable[GraphQLClient]]

GRANT = f"""mutation($input: GrantAwardInput!) {{ grantAward(input: $input) {{
  award {{ id kind points citation periodStart recipientName building {{ id }} }} {ERRORS} }} }}"""
HISTORY = """query($unit: ID!) { redFlagHistory(orgUnitId: $unit, first: 10) {
  nodes { periodStart periodEnd recipientName building { id } } } }"""
CANDIDATES = """query($unit: ID!, $kind: AwardKind!) {
  awardCandidates(orgUnitId: $unit, kind: $kind, periodStart: "2026-01-01",
                  periodEnd: "2027-01-01", limit: 5) {
    rank score conventionShare satisfactionRate volunteerHours building { id } person { id } } }"""


async def headed_buildings(session: AsyncSession, demo: DemoCity) -> list[tuple[int, int]]:
    """(building, head) of 仁和苑 without awards yet, the pinned building left out."""
    found = await rows(
        session,
        """SELECT b.id, p.person_id FROM building b
           JOIN position p ON p.building_id = b.id AND p.role = 'BUILDING_HEAD'
                          AND p.ended_at IS NULL
           WHERE b.path <@ CAST(:c AS ltree) AND b.id <> :pinned
             AND NOT EXISTS (SELECT 1 FROM award a WHERE a.building_id = b.id)
           ORDER BY b.id""",
        c=demo.renheyuan.path,
        pinned=demo.building.id,
    )
    return [(int(b), int(h)) for b, h in found]


def flag(demo: DemoCity, building: int, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "RED_FLAG",
        "orgUnitId": gid("OrgUnit", demo.renheyuan.id),
        "buildingId": gid("Building", building),
        "periodStart": start,
        "periodEnd": end,
        "citation": "楼道整洁，诉求件件有回音",
    } | extra


async def test_the_red_flag_passes_to_another_building(
    as_account: Callable[[str], GraphQLClient],
    client_of: ClientOf,
    shops: Shops,
    session: AsyncSession,
    demo: DemoCity,
) -> None:
    admin = as_account("community-admin")
    (first, first_head), (second, _) = (await headed_buildings(session, demo))[:2]
    winner = await client_of(first_head)
    award_offer = await an_offer(
        admin, shops.local, kind="FIXED_BENEFIT", percentOff=None, pointsCost=0,
        eligibility=["AWARD_WINNER"], title="先进赠品",
    )  # fmt: skip
    before = (await winner(ISSUE, {"input": {"offerId": award_offer["id"]}}))["issueRedemption"]
    assert codes(before) == ["NOT_ELIGIBLE"]

    held = await admin(GRANT, {"input": flag(demo, first, "2027-01-01", "2027-04-01")})
    award = held["grantAward"]
    assert award["errors"] == []
    building_name = await scalar(session, "SELECT name FROM building WHERE id = :b", b=first)
    assert (award["award"]["points"], award["award"]["recipientName"]) == (
        rr.AWARD_POINTS[AwardKind.RED_FLAG],
        building_name,
    )
    taken = await admin(GRANT, {"input": flag(demo, second, "2027-03-01", "2027-06-01")})
    assert [(e["code"], e["field"]) for e in taken["grantAward"]["errors"]] == [
        ("PERIOD_TAKEN", "periodStart")
    ], "one holder per node and period"
    passed = await admin(GRANT, {"input": flag(demo, second, "2027-04-01", "2027-07-01")})
    assert passed["grantAward"]["errors"] == []

    history = await admin(HISTORY, {"unit": gid("OrgUnit", demo.renheyuan.id)})
    holders = [(n["periodStart"], n["building"]["id"]) for n in history["redFlagHistory"]["nodes"]]
    assert holders[:2] == [
        ("2027-04-01", gid("Building", second)),
        ("2027-01-01", gid("Building", first)),
    ]
    assert len(holders) == 4, "the demo's two quarters of 2026 and these two"
    # a neighbour reads the roll of honour too: by name (the buildings' rows stay in scope)
    seen = await as_account("resident")(HISTORY, {"unit": gid("OrgUnit", demo.renheyuan.id)})

    def roll(found: dict[str, Any]) -> list[tuple[str, str]]:
        return [(n["periodStart"], n["recipientName"]) for n in found["redFlagHistory"]["nodes"]]

    assert roll(seen) == roll(history)
    assert {n["building"] is None for n in seen["redFlagHistory"]["nodes"]} == {True}

    points = (await winner("{ myPoints { balance entries { sourceType points } } }"))["myPoints"]
    assert points["entries"][0] == {"sourceType": "AWARD", "points": 30}
    after = (await winner(ISSUE, {"input": {"offerId": award_offer["id"]}}))["issueRedemption"]
    assert after["errors"] == [], "winners take the benefits for award winners"


async def test_who_decides_awards_and_what_they_name(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    admin = as_account("community-admin")
    (building, _), *_ = await headed_buildings(session, demo)
    good = flag(demo, building, "2028-01-01", "2028-04-01", kind="MOST_BEAUTIFUL_BUILDING")
    cases: list[tuple[GraphQLClient, dict[str, Any], list[tuple[str, str | None]]]] = [
        (as_account("building-head"), good, [("FORBIDDEN", None)]),
        (as_account("grid-worker"), good, [("FORBIDDEN", None)]),
        (admin, good | {"orgUnitId": gid("OrgUnit", demo.street.id)}, [("FORBIDDEN", None)]),
        (admin, good | {"citation": "  "}, [("VALIDATION", "citation")]),
        (admin, good | {"periodEnd": "2027-12-01"}, [("VALIDATION", "periodEnd")]),
        (admin, good | {"kind": "VOLUNTEER_STAR"}, [("VALIDATION", "personId")]),
        (
            admin,
            good | {"buildingId": gid("Building", demo.building_without_head.id)},
            [],
        ),
        (
            admin,
            good | {"orgUnitId": gid("OrgUnit", demo.grids[next(iter(demo.grids))].id)},
            [("INVALID_PARENT_KIND", "orgUnitId")],
        ),
    ]
    for client, values, expected in cases:
        payload = (await client(GRANT, {"input": values}))["grantAward"]
        assert [(e["code"], e["field"]) for e in payload["errors"]] == expected, values
        if not expected:
            assert payload["award"]["points"] == 0, "a building without a head: nobody credited"
    stranger = await rows(
        session,
        "SELECT id FROM building WHERE NOT path <@ CAST(:c AS ltree) ORDER BY id LIMIT 1",
        c=demo.renheyuan.path,
    )
    outside = good | {"buildingId": gid("Building", stranger[0][0])}
    payload = (await as_account("city-admin")(GRANT, {"input": outside | {"orgUnitId": gid(
        "OrgUnit", demo.renheyuan.id)}}))["grantAward"]  # fmt: skip
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("VALIDATION", "buildingId")]


async def test_candidates_come_from_the_metrics(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    admin = as_account("community-admin")
    unit = gid("OrgUnit", demo.renheyuan.id)
    buildings = (await admin(CANDIDATES, {"unit": unit, "kind": "MOST_BEAUTIFUL_BUILDING"}))[
        "awardCandidates"
    ]
    assert [c["rank"] for c in buildings] == [1, 2, 3, 4, 5]
    scores = [c["score"] for c in buildings]
    assert scores == sorted(scores, reverse=True)
    [(best_share,)] = await rows(
        session,
        """SELECT max(s.n::float / h.n) FROM
             (SELECT c.building_id b, count(*) n FROM convention_signature x
                JOIN convention c ON c.id = x.convention_id GROUP BY c.building_id) s
             JOIN (SELECT building_id b, count(*) n FROM household GROUP BY building_id) h
               ON h.b = s.b
             JOIN building ON building.id = s.b AND building.path <@ CAST(:c AS ltree)""",
        c=demo.renheyuan.path,
    )
    assert buildings[0]["conventionShare"] == best_share, "no cases rated: signatures decide"
    people = (await admin(CANDIDATES, {"unit": unit, "kind": "VOLUNTEER_STAR"}))["awardCandidates"]
    hours = [float(c["volunteerHours"]) for c in people]
    assert hours
    assert hours == sorted(hours, reverse=True)
    assert all(c["person"] is not None for c in people)
    refused = await as_account("building-head").errors(
        CANDIDATES, {"unit": unit, "kind": "VOLUNTEER_STAR"}
    )
    assert refused[0]["extensions"]["code"] == "FORBIDDEN"


async def test_two_admins_racing_for_one_period_give_one_holder(
    committed: Committed, demo: DemoCity
) -> None:
    async with committed.session() as s:
        found = await s.execute(
            sa.text(
                "SELECT b.id, p.person_id FROM building b JOIN position p ON p.building_id = b.id"
                " AND p.role = 'BUILDING_HEAD' AND p.ended_at IS NULL"
                " WHERE b.path <@ CAST(:c AS ltree) ORDER BY b.id DESC LIMIT 3"
            ),
            {"c": demo.renheyuan.path},
        )
        candidates = [(int(b), int(h)) for b, h in found]
    committed.people.update(h for _, h in candidates)
    assert demo.renheyuan.id is not None

    async def grant(building: int) -> Any:
        async with committed.session() as s, s.begin():
            try:
                award = await rr.grant_award(
                    s,
                    rr.AwardDecision(
                        AwardKind.RED_FLAG,
                        demo.renheyuan.id or 0,
                        date(2030, 1, 1),
                        date(2030, 4, 1),
                        "并发",
                        building_id=building,
                    ),
                    decided_by_id=None,
                    now=utcnow() - timedelta(seconds=1),
                )
            except DomainError as error:
                return error.code
            assert award.id is not None
            committed.awards.add(award.id)
            return award

    results = await asyncio.gather(*(grant(b) for b, _ in candidates))
    assert sorted(str(r) for r in results if isinstance(r, enum.Enum)) == ["PERIOD_TAKEN"] * 2
    [winner] = [r for r in results if not isinstance(r, enum.Enum)]
    async with committed.session() as s:
        credited = await s.scalar(
            sa.text("SELECT count(*) FROM points_entry WHERE source_type = 'AWARD'"
                    " AND source_id = :a"),
            {"a": winner.id},
        )  # fmt: skip
    assert credited == 1
