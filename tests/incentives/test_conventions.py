"""《红色美丽楼栋公约》: versions per building, one signature per household and version, the
share signed on the building and on its feedback report (楼栋说事室)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.incentives.conftest import ERRORS
from tests.permissions.support import rows
from tests.petitions_api.helpers import gid

ADOPT = f"""mutation($input: AdoptConventionInput!) {{ adoptConvention(input: $input) {{
  convention {{ id version }} {ERRORS} }} }}"""
SIGN = f"""mutation($input: SignConventionInput!) {{ signConvention(input: $input) {{
  signature {{ id household {{ id }} signedBy {{ id }} }} {ERRORS} }} }}"""
COVERAGE = """query($b: ID!) { node(id: $b) { ... on Building {
  convention { id version } conventionCoverage { version households signed share } } } }"""
REPORT = """query($b: ID!) { feedbackReport(buildingId: $b, since: "2026-01-01T00:00:00Z",
  until: "2027-01-01T00:00:00Z") { received conventionCoverage { version signed households } } }"""


def errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def test_households_sign_the_version_in_force_once(
    as_account: Callable[[str], GraphQLClient], session: AsyncSession, demo: DemoCity
) -> None:
    head, resident, renter = (
        as_account("building-head"),
        as_account("resident"),
        as_account("renter"),
    )
    building = gid("Building", demo.building.id)
    before = (await resident(COVERAGE, {"b": building}))["node"]
    assert before["convention"]["version"] == 1
    households = before["conventionCoverage"]["households"]

    revised = {"buildingId": building, "title": "公约（修订）", "text": "我的楼栋我爱护。"}
    adopted = await head(ADOPT, {"input": revised})
    convention = adopted["adoptConvention"]["convention"]
    assert convention["version"] == 2
    fresh = (await resident(COVERAGE, {"b": building}))["node"]["conventionCoverage"]
    assert fresh == {"version": 2, "households": households, "signed": 0, "share": 0.0}

    [(old_convention,)] = await rows(
        session, "SELECT id FROM convention WHERE building_id = :b AND version = 1",
        b=demo.building.id,
    )  # fmt: skip
    home = gid("Household", demo.resident_alone.household_id)
    stale = {"conventionId": gid("Convention", old_convention), "householdId": home}
    assert errors((await resident(SIGN, {"input": stale}))["signConvention"]) == [
        ("SUPERSEDED", "conventionId")
    ]
    mine = {"conventionId": convention["id"], "householdId": home}
    signed = (await resident(SIGN, {"input": mine}))["signConvention"]
    assert signed["errors"] == []
    assert signed["signature"]["signedBy"]["id"] == gid("Person", demo.resident_alone.id)
    assert errors((await resident(SIGN, {"input": mine}))["signConvention"]) == [
        ("ALREADY_SIGNED", "householdId")
    ], "one signature per household and version"
    assert errors((await renter(SIGN, {"input": mine}))["signConvention"]) == [
        ("NOT_FOUND", "householdId")
    ], "a neighbour does not even see her household"

    renter_home = gid("Household", demo.renter.household_id)
    paper = {"conventionId": convention["id"], "householdId": renter_home,
             "signedById": gid("Person", demo.renter.id)}  # fmt: skip
    recorded = (await head(SIGN, {"input": paper}))["signConvention"]
    assert recorded["errors"] == [], "staff record a paper signature"
    coverage = (await renter(COVERAGE, {"b": building}))["node"]["conventionCoverage"]
    assert coverage == {
        "version": 2,
        "households": households,
        "signed": 2,
        "share": 2 / households,
    }, "counts are everyone's in scope"
    report = (await resident(REPORT, {"b": building}))["feedbackReport"]
    assert report["conventionCoverage"] == {"version": 2, "signed": 2, "households": households}

    listed = await renter(
        """query($b: ID!) { node(id: $b) { ... on Building { convention {
             signatures { id household { id } signedBy { id } } } } } }""",
        {"b": building},
    )
    signatures = listed["node"]["convention"]["signatures"]
    assert signatures == [
        {"id": recorded["signature"]["id"], "household": {"id": renter_home},
         "signedBy": {"id": gid("Person", demo.renter.id)}}
    ], "a resident sees her own household's signature, not her neighbours'"  # fmt: skip
    by_head = await head(
        """query($b: ID!) { node(id: $b) { ... on Building { convention {
             signatures { household { id } } } } } }""",
        {"b": building},
    )
    assert len(by_head["node"]["convention"]["signatures"]) == 2
