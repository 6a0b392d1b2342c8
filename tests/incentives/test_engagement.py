"""Big-screen figures of incentives and co-governance, notices with read receipts, liaisons,
improvement projects, and the expiry of points (a scheduled job under the city's rule)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.identity import TokenRole
from resolvers import incentives as ri
from resolvers.scheduler import JOBS
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.incentives.conftest import ERRORS, Shops
from tests.permissions.support import gid, rows, token_client

FIGURES = """query($unit: ID!) { engagementFigures(orgUnitId: $unit) {
  shops liveOffers redemptions pointsRedeemed feeReductions awards redFlags
  buildingsWithConvention households householdsSigned conventionCoverage meetings decisions
  tasksOpen tasksDone projects fundsYuan pavilions liaisons notices noticeReads } }"""
Signed = Callable[[str], GraphQLClient]


def errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def test_figures_of_a_community(
    as_account: Signed, http: httpx.AsyncClient, session: AsyncSession, demo: DemoCity
) -> None:
    unit = gid("OrgUnit", demo.renheyuan.id)
    figures = (await as_account("community-admin")(FIGURES, {"unit": unit}))["engagementFigures"]
    [(signed, households, buildings)] = await rows(
        session,
        """SELECT (SELECT count(*) FROM convention_signature s WHERE s.path <@ CAST(:c AS ltree)),
                  (SELECT count(*) FROM household h WHERE h.path <@ CAST(:c AS ltree)
                     AND EXISTS (SELECT 1 FROM convention v WHERE v.building_id = h.building_id)),
                  (SELECT count(DISTINCT building_id) FROM convention
                     WHERE path <@ CAST(:c AS ltree))""",
        c=demo.renheyuan.path,
    )
    assert figures == {
        "shops": 2,
        "liveOffers": 4,
        "redemptions": 1,
        "pointsRedeemed": 30,
        "feeReductions": 1,
        "awards": 4,
        "redFlags": figures["redFlags"],  # depends on today's date: checked below
        "buildingsWithConvention": buildings,
        "households": households,
        "householdsSigned": signed,
        "conventionCoverage": signed / households,
        "meetings": 2,
        "decisions": 4,
        "tasksOpen": 2,
        "tasksDone": 2,
        "projects": 1,
        "fundsYuan": "200000.00",
        "pavilions": 1,
        "liaisons": 2,
        "notices": 1,
        "noticeReads": 8,
    }
    assert figures["redFlags"] in (0, 1)

    display = await token_client(session, http, TokenRole.DISPLAY, demo.renheyuan)
    shown = (await display(FIGURES, {"unit": unit}))["engagementFigures"]
    assert shown["redemptions"] is None, "one redemption is a small cell"
    assert shown["pointsRedeemed"] is None, "the points of that one redemption are too"
    assert shown["noticeReads"] == 8
    assert (shown["shops"], shown["meetings"]) == (2, 2), "places and things are shown"
    district = await token_client(session, http, TokenRole.DISPLAY, demo.districts["汇川区"])
    below = (await district(FIGURES, {"unit": unit}))["engagementFigures"]
    assert below["noticeReads"] is None, "people's acts at the display's own node only"
    assert below["conventionCoverage"] is None
    assert below["meetings"] == 2
    outside = await as_account("community-admin").errors(
        FIGURES, {"unit": gid("OrgUnit", demo.lingxi.id)}
    )
    assert outside[0]["extensions"]["code"] == "NOT_FOUND"


READ = f"""mutation($input: NoticeInput!) {{ markNoticeRead(input: $input) {{
  notice {{ readCount audience myReadAt }} {ERRORS} }} }}"""


async def test_notices_count_their_readers(as_account: Signed, demo: DemoCity) -> None:
    resident, cadre = as_account("resident"), as_account("seconded-cadre")
    listed = await resident(
        """query($unit: ID!) { notices(orgUnitId: $unit, first: 5) {
             nodes { id title readCount audience myReadAt } } }""",
        {"unit": gid("OrgUnit", demo.renheyuan.id)},
    )
    [notice] = listed["notices"]["nodes"]
    assert (notice["readCount"], notice["myReadAt"]) == (8, None)
    read = (await resident(READ, {"input": {"id": notice["id"]}}))["markNoticeRead"]
    assert read["errors"] == []
    assert read["notice"]["readCount"] == 9
    assert read["notice"]["myReadAt"] is not None
    again = (await resident(READ, {"input": {"id": notice["id"]}}))["markNoticeRead"]
    assert again["notice"]["readCount"] == 9, "one receipt per reader"
    not_addressed = (await cadre(READ, {"input": {"id": notice["id"]}}))["markNoticeRead"]
    assert errors(not_addressed) in ([("NOT_IN_AUDIENCE", "id")], [("NOT_FOUND", "id")])


PROJECT = f"""mutation($input: CreateImprovementProjectInput!) {{
  createImprovementProject(input: $input) {{ project {{ id problems }} {ERRORS} }} }}"""
FUND = f"""mutation($input: AddProjectFundingInput!) {{ addProjectFunding(input: $input) {{
  project {{ fundingTotal funding {{ source amountYuan }} }} {ERRORS} }} }}"""
COMPLETE = f"""mutation($input: CompleteImprovementProjectInput!) {{
  completeImprovementProject(input: $input) {{
    project {{ completedOn afterEvidence }} {ERRORS} }} }}"""
LIAISON = f"""mutation($input: AddLiaisonInput!) {{ addLiaison(input: $input) {{
  liaison {{ id kind name shop {{ id }} workUnit {{ id }} }} {ERRORS} }} }}"""


async def test_projects_and_liaisons(
    as_account: Signed, shops: Shops, session: AsyncSession, demo: DemoCity
) -> None:
    admin, worker, head = (
        as_account("community-admin"),
        as_account("grid-worker"),
        as_account("building-head"),
    )
    values = {
        "title": "楼道“牛皮癣”清理",
        "problems": ["ILLEGAL_ADS", "BLOCKED_CORRIDOR"],
        "startedOn": "2026-11-01",
        "buildingId": gid("Building", demo.building.id),
        "beforeEvidence": ["https://img.example.cn/before.jpg"],
    }
    assert errors((await worker(PROJECT, {"input": values}))["createImprovementProject"]) == [
        ("FORBIDDEN", None)
    ]
    project = (await admin(PROJECT, {"input": values}))["createImprovementProject"]["project"]
    for source, amount in (("DEPARTMENT", "8000"), ("ENTERPRISE", "2000.50")):
        funded = await admin(FUND, {"input": {"projectId": project["id"], "source": source,
                                               "funder": "遵义市供电局", "amountYuan": amount,
                                               "receivedOn": "2026-11-02"}})  # fmt: skip
        assert funded["addProjectFunding"]["errors"] == []
    assert funded["addProjectFunding"]["project"]["fundingTotal"] == "10000.50"
    negative = await admin(FUND, {"input": {"projectId": project["id"], "source": "COMMUNITY",
                                             "funder": "社区", "amountYuan": "-5",
                                             "receivedOn": "2026-11-02"}})  # fmt: skip
    assert errors(negative["addProjectFunding"]) == [("VALIDATION", "amountYuan")]
    no_proof = {"id": project["id"], "completedOn": "2026-11-20", "afterEvidence": []}
    assert errors((await admin(COMPLETE, {"input": no_proof}))["completeImprovementProject"]) == [
        ("VALIDATION", "afterEvidence")
    ]
    done = await admin(COMPLETE, {"input": no_proof | {"afterEvidence": ["projects/after.jpg"]}})
    assert done["completeImprovementProject"]["project"]["completedOn"] == "2026-11-20"

    [(organ,)] = await rows(session, "SELECT id FROM work_unit ORDER BY id LIMIT 1")
    unit_liaison = {"buildingId": gid("Building", demo.building.id), "kind": "WORK_UNIT",
                    "name": "单位联户", "workUnitId": gid("WorkUnit", organ)}  # fmt: skip
    added = (await head(LIAISON, {"input": unit_liaison}))["addLiaison"]
    assert added["errors"] == []
    assert added["liaison"]["workUnit"]["id"] == gid("WorkUnit", organ)
    wrong_kind = unit_liaison | {"kind": "SHOP"}
    assert errors((await head(LIAISON, {"input": wrong_kind}))["addLiaison"]) == [
        ("VALIDATION", "kind")
    ]
    far_shop = {"buildingId": gid("Building", demo.building.id), "kind": "SHOP", "name": "远方",
                "shopId": gid("Shop", shops.other)}  # fmt: skip
    assert errors((await head(LIAISON, {"input": far_shop}))["addLiaison"]) == [
        ("NOT_FOUND", "shopId")
    ]


async def test_points_expire_by_the_city_s_rule(
    as_account: Signed, session: AsyncSession, demo: DemoCity
) -> None:
    assert {"incentives.expire_points", "incentives.expire_redemptions"} <= set(JOBS)
    rule = (
        "mutation($m: Int!) { setPointsExpiry(input: { months: $m }) { rule { months } "
        + ERRORS
        + " } }"
    )
    assert errors((await as_account("community-admin")(rule, {"m": 12}))["setPointsExpiry"]) == [
        ("FORBIDDEN", None)
    ]
    assert errors((await as_account("city-admin")(rule, {"m": 0}))["setPointsExpiry"]) == [
        ("VALIDATION", "months")
    ]
    assert (await as_account("city-admin")(rule, {"m": 12}))["setPointsExpiry"]["rule"] == {
        "months": 12
    }
    [(star,)] = await rows(
        session, "SELECT person_id FROM redemption WHERE status = 'CONFIRMED' LIMIT 1"
    )
    balance = await ri.points_balance(session, int(star))
    assert balance > 0
    # the star earns more today: only what was earned over a year ago expires
    await ri.credit_volunteer_hours(
        session, person_id=int(star), hours=Decimal(2), source_id=424242, note="today"
    )
    a_year_on = utcnow() + timedelta(days=365, hours=-1)
    expired = await ri.expire_points(session, a_year_on)
    assert int(star) in expired
    assert await ri.points_balance(session, int(star)) == 10, "today's points remain"
    assert await ri.expire_points(session, a_year_on) == [], "once a day"
    [(kind, points)] = await rows(
        session,
        "SELECT kind, points FROM points_entry WHERE person_id = :p AND kind = 'EXPIRED'",
        p=star,
    )
    assert (kind, points) == ("EXPIRED", balance)
