"""The front-end shapes of the comparison, each written in each server's own schema.

Ours runs as the actor a front end would be (permissions on); PostGraphile runs with
none. Before a shape is loaded, both answers are reduced to the values a person would
read (names, counts, statuses, ordered lists) and must be equal: ids differ by scheme
and keys differ by naming, so neither is compared. Where our field policy withholds a
value from everyone (the reporter of an anonymous petition), PostGraphile's answer is
reduced by the same rule; a shape never asks ours for a field its actor sees masked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Json = Any


@dataclass(frozen=True)
class Fixtures:
    """The rows each shape reads, chosen from the bench database (see `fixtures.py`)."""

    city_code: str
    building_id: int  # a building with about 25 households and an active head
    building_global_id: str
    district_code: str  # the district whose tree is closest to 1,200 objects
    petition_id: int  # the non-anonymous petition with the longest timeline
    petition_global_id: str
    name_prefix: str


@dataclass(frozen=True)
class Shape:
    key: str
    title: str
    actor: str  # BUILDING_HEAD | CITY_ADMIN | DISPLAY: who ours runs as
    ours: str
    postgraphile: str
    ours_variables: Callable[[Fixtures], dict[str, Any]]
    postgraphile_variables: Callable[[Fixtures], dict[str, Any]]
    reduce_ours: Callable[[Json], Json]
    reduce_postgraphile: Callable[[Json], Json]


def instant(value: str | None) -> str | None:
    """Timestamps in UTC, whatever offset a server printed them with."""
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).isoformat()


def _active_heads(positions: Json) -> list[Json]:
    return [p["personByPersonId"] for p in positions["nodes"]]


def _one(people: list[Json]) -> Json:
    """`head` is one person or none; more than one would be a difference in itself."""
    return people[0] if len(people) == 1 else people or None


# --- (1) mini-program building page ---------------------------------------------------

BUILDING_OURS = """
query BuildingPage($id: ID!) {
  node(id: $id) {
    ... on Building {
      name address
      head { name phone }
      households(first: 50) { totalCount nodes { unit room members { name phone } } }
    }
  }
}"""

BUILDING_POSTGRAPHILE = """
query BuildingPage($rowId: BigInt!) {
  buildingByRowId(rowId: $rowId) {
    name address
    positionsByBuildingId(condition: {role: "BUILDING_HEAD", endedAt: null}) {
      nodes { personByPersonId { name phone } }
    }
    householdsByBuildingId(first: 50, orderBy: [UNIT_ASC, ROOM_ASC, ROW_ID_ASC]) {
      totalCount
      nodes { unit room peopleByHouseholdId(orderBy: ROW_ID_ASC) { nodes { name phone } } }
    }
  }
}"""


def _building_ours(data: Json) -> Json:
    b = data["node"]
    head = b["head"] and [b["head"]["name"], b["head"]["phone"]]
    households = [
        [h["unit"], h["room"], [[m["name"], m["phone"]] for m in h["members"]]]
        for h in b["households"]["nodes"]
    ]
    return [b["name"], b["address"], head, b["households"]["totalCount"], households]


def _building_postgraphile(data: Json) -> Json:
    b = data["buildingByRowId"]
    heads = [[p["name"], p["phone"]] for p in _active_heads(b["positionsByBuildingId"])]
    households = [
        [h["unit"], h["room"], [[m["name"], m["phone"]] for m in h["peopleByHouseholdId"]["nodes"]]]
        for h in b["householdsByBuildingId"]["nodes"]
    ]
    return [
        b["name"],
        b["address"],
        _one(heads),
        b["householdsByBuildingId"]["totalCount"],
        households,
    ]


# --- (2) admin petition list ----------------------------------------------------------

PETITIONS_OURS = """
query PetitionList {
  petitions(filter: {statuses: [IN_PROGRESS]}, orderBy: SUBMITTED, first: 50) {
    totalCount
    nodes {
      title status priority submittedAt anonymous
      category { name }
      reporter { name }
      building { name grid { name parent { name } } }
    }
  }
}"""

PETITIONS_POSTGRAPHILE = """
query PetitionList {
  allPetitions(condition: {status: "IN_PROGRESS"}, orderBy: [SUBMITTED_AT_DESC, ROW_ID_DESC],
               first: 50) {
    totalCount
    nodes {
      title status priority submittedAt anonymous
      petitionCategoryByCategoryId { name }
      personByReporterId { name }
      buildingByBuildingId { name orgUnitByGridId { name orgUnitByParentId { name } } }
    }
  }
}"""


def _place(building: Json, grid_key: str, parent_key: str) -> Json:
    if building is None:
        return None
    grid = building[grid_key]
    community = grid and grid[parent_key]
    return [building["name"], grid and grid["name"], community and community["name"]]


def _petitions_ours(data: Json) -> Json:
    page = data["petitions"]
    rows = [
        [
            p["title"], p["status"], p["priority"], instant(p["submittedAt"]), p["anonymous"],
            p["category"] and p["category"]["name"], p["reporter"] and p["reporter"]["name"],
            _place(p["building"], "grid", "parent"),
        ]
        for p in page["nodes"]
    ]  # fmt: skip
    return [page["totalCount"], rows]


def _petitions_postgraphile(data: Json) -> Json:
    page = data["allPetitions"]
    rows = []
    for p in page["nodes"]:
        reporter = p["personByReporterId"]
        rows.append(
            [
                p["title"], p["status"], p["priority"], instant(p["submittedAt"]), p["anonymous"],
                p["petitionCategoryByCategoryId"] and p["petitionCategoryByCategoryId"]["name"],
                # the reporter of an anonymous petition is withheld from everyone but the reporter
                None if p["anonymous"] or reporter is None else reporter["name"],
                _place(p["buildingByBuildingId"], "orgUnitByGridId", "orgUnitByParentId"),
            ]
        )  # fmt: skip
    return [page["totalCount"], rows]


# --- (3) big-screen counts --------------------------------------------------------------

COUNTS_OURS = """
query CityCounts {
  city { stats { grids buildings households residents partyMembers buildingHeads } }
}"""

#: The amber preset filters by equality only: residents (people with a home in the city) and
#: resident Party members are everyone minus those with no household.
COUNTS_POSTGRAPHILE = """
query CityCounts {
  grids: allOrgUnits(condition: {kind: "GRID", retiredAt: null}) { totalCount }
  buildings: allBuildings { totalCount }
  households: allHouseholds { totalCount }
  people: allPeople { totalCount }
  peopleElsewhere: allPeople(condition: {householdId: null}) { totalCount }
  partyMembers: allPeople(condition: {isPartyMember: true}) { totalCount }
  partyMembersElsewhere: allPeople(condition: {isPartyMember: true, householdId: null}) {
    totalCount
  }
  buildingHeads: allPositions(condition: {role: "BUILDING_HEAD", endedAt: null}) { totalCount }
}"""


def _counts_ours(data: Json) -> Json:
    s = data["city"]["stats"]
    return {k: s[k] for k in COUNT_KEYS}


COUNT_KEYS = ("grids", "buildings", "households", "residents", "partyMembers", "buildingHeads")


def _counts_postgraphile(data: Json) -> Json:
    n = {k: v["totalCount"] for k, v in data.items()}
    return {
        "grids": n["grids"],
        "buildings": n["buildings"],
        "households": n["households"],
        "residents": n["people"] - n["peopleElsewhere"],
        "partyMembers": n["partyMembers"] - n["partyMembersElsewhere"],
        "buildingHeads": n["buildingHeads"],
    }


# --- (4) org-tree fan-out ---------------------------------------------------------------

TREE_OURS = """
query OrgTree($code: String!) {
  orgUnit(code: $code) { name
    children(first: 100) { nodes { name
      children(first: 100) { nodes { name
        children(first: 100) { nodes { name
          buildings(first: 100) { totalCount nodes { name head { name } } } } } } } } } }
}"""

_CHILDREN = (
    "orgUnitsByParentId(first: 100, condition: {retiredAt: null}, orderBy: [CODE_ASC, ROW_ID_ASC])"
)
TREE_POSTGRAPHILE = f"""
query OrgTree($code: String!) {{
  orgUnitByCode(code: $code) {{ name
    {_CHILDREN} {{ nodes {{ name
      {_CHILDREN} {{ nodes {{ name
        {_CHILDREN} {{ nodes {{ name
          buildingsByGridId(first: 100, orderBy: [NAME_ASC, ROW_ID_ASC]) {{ totalCount nodes {{ name
            positionsByBuildingId(condition: {{role: "BUILDING_HEAD", endedAt: null}}) {{
              nodes {{ personByPersonId {{ name }} }} }} }} }} }} }} }} }} }} }} }}
}}"""


def _tree_ours(data: Json) -> Json:
    def unit(u: Json, depth: int) -> Json:
        if depth == 3:
            b = u["buildings"]
            rows = [[x["name"], x["head"] and x["head"]["name"]] for x in b["nodes"]]
            return [u["name"], b["totalCount"], rows]
        return [u["name"], [unit(c, depth + 1) for c in u["children"]["nodes"]]]

    return unit(data["orgUnit"], 0)


def _tree_postgraphile(data: Json) -> Json:
    def unit(u: Json, depth: int) -> Json:
        if depth == 3:
            b = u["buildingsByGridId"]
            rows = []
            for x in b["nodes"]:
                heads = [p["name"] for p in _active_heads(x["positionsByBuildingId"])]
                rows.append([x["name"], _one(heads)])
            return [u["name"], b["totalCount"], rows]
        return [u["name"], [unit(c, depth + 1) for c in u["orgUnitsByParentId"]["nodes"]]]

    return unit(data["orgUnitByCode"], 0)


# --- (5) people search page ---------------------------------------------------------------

PEOPLE_OURS = """
query PeopleSearch($prefix: String!) {
  people(filter: {namePrefix: $prefix}, orderBy: NAME, first: 20) {
    totalCount nodes { name household { unit building { name } } }
  }
}"""

#: `benchPostgraphilePeopleByNamePrefix` is the SQL function in `postgraphile/search.sql`.
PEOPLE_POSTGRAPHILE = """
query PeopleSearch($prefix: String!) {
  benchPostgraphilePeopleByNamePrefix(prefix: $prefix, orderBy: [NAME_ASC, ROW_ID_ASC],
                                      first: 20) {
    totalCount
    nodes { name householdByHouseholdId { unit buildingByBuildingId { name } } }
  }
}"""


def _home(household: Json, building_key: str) -> Json:
    if household is None:
        return None
    building = household[building_key]
    return [household["unit"], building and building["name"]]


def _people_ours(data: Json) -> Json:
    page = data["people"]
    return [
        page["totalCount"],
        [[p["name"], _home(p["household"], "building")] for p in page["nodes"]],
    ]


def _people_postgraphile(data: Json) -> Json:
    page = data["benchPostgraphilePeopleByNamePrefix"]
    rows = [
        [p["name"], _home(p["householdByHouseholdId"], "buildingByBuildingId")]
        for p in page["nodes"]
    ]
    return [page["totalCount"], rows]


# --- (6) a petition with its full timeline --------------------------------------------------

PETITION_OURS = """
query PetitionPage($id: ID!) {
  node(id: $id) {
    ... on Petition {
      title description status priority channel submittedAt dueAt anonymous
      category { name } reporter { name } building { name }
      timeline { at action fromStatus toStatus note actor { name } }
    }
  }
}"""

PETITION_POSTGRAPHILE = """
query PetitionPage($rowId: BigInt!) {
  petitionByRowId(rowId: $rowId) {
    title description status priority channel submittedAt dueAt anonymous
    petitionCategoryByCategoryId { name } personByReporterId { name } buildingByBuildingId { name }
    petitionEventsByPetitionId(orderBy: ROW_ID_ASC) {
      nodes { at action fromStatus toStatus note personByActorPersonId { name } }
    }
  }
}"""


def _name(row: Json) -> Json:
    return row and row["name"]


def _petition_ours(data: Json) -> Json:
    p = data["node"]
    events = [
        [
            instant(e["at"]),
            e["action"],
            e["fromStatus"],
            e["toStatus"],
            e["note"],
            _name(e["actor"]),
        ]
        for e in p["timeline"]
    ]
    head = [p["title"], p["description"], p["status"], p["priority"], p["channel"]]
    return [
        *head, instant(p["submittedAt"]), instant(p["dueAt"]), p["anonymous"],
        _name(p["category"]), _name(p["reporter"]), _name(p["building"]), events,
    ]  # fmt: skip


def _petition_postgraphile(data: Json) -> Json:
    p = data["petitionByRowId"]
    events = [
        [
            instant(e["at"]), e["action"], e["fromStatus"], e["toStatus"], e["note"],
            _name(e["personByActorPersonId"]),
        ]
        for e in p["petitionEventsByPetitionId"]["nodes"]
    ]  # fmt: skip
    head = [p["title"], p["description"], p["status"], p["priority"], p["channel"]]
    reporter = None if p["anonymous"] else _name(p["personByReporterId"])
    return [
        *head, instant(p["submittedAt"]), instant(p["dueAt"]), p["anonymous"],
        _name(p["petitionCategoryByCategoryId"]), reporter, _name(p["buildingByBuildingId"]),
        events,
    ]  # fmt: skip


SHAPES: tuple[Shape, ...] = (
    Shape(
        "building",
        "mini-program building page (head, 25 households with members, phones)"
        " as its building head",
        "BUILDING_HEAD",
        BUILDING_OURS,
        BUILDING_POSTGRAPHILE,
        lambda f: {"id": f.building_global_id},
        lambda f: {"rowId": str(f.building_id)},
        _building_ours,
        _building_postgraphile,
    ),
    Shape(
        "petitions",
        "admin petition list: 50 newest in progress, category, reporter, building, grid,"
        " community, totalCount, as city admin",
        "CITY_ADMIN",
        PETITIONS_OURS,
        PETITIONS_POSTGRAPHILE,
        lambda f: {},
        lambda f: {},
        _petitions_ours,
        _petitions_postgraphile,
    ),
    Shape(
        "counts",
        "big-screen counts of the city (grids, buildings, households, residents, Party members,"
        " building heads) as a DISPLAY token",
        "DISPLAY",
        COUNTS_OURS,
        COUNTS_POSTGRAPHILE,
        lambda f: {},
        lambda f: {},
        _counts_ours,
        _counts_postgraphile,
    ),
    Shape(
        "tree",
        "org-tree fan-out: district > streets > communities > grids > buildings > head,"
        " as city admin",
        "CITY_ADMIN",
        TREE_OURS,
        TREE_POSTGRAPHILE,
        lambda f: {"code": f.district_code},
        lambda f: {"code": f.district_code},
        _tree_ours,
        _tree_postgraphile,
    ),
    Shape(
        "people",
        "people search page: name prefix, 20 per page, with household (unit; admins see rooms"
        " masked) and building, as city admin",
        "CITY_ADMIN",
        PEOPLE_OURS,
        PEOPLE_POSTGRAPHILE,
        lambda f: {"prefix": f.name_prefix},
        lambda f: {"prefix": f.name_prefix},
        _people_ours,
        _people_postgraphile,
    ),
    Shape(
        "timeline",
        "a petition with its full timeline, as city admin",
        "CITY_ADMIN",
        PETITION_OURS,
        PETITION_POSTGRAPHILE,
        lambda f: {"id": f.petition_global_id},
        lambda f: {"rowId": str(f.petition_id)},
        _petition_ours,
        _petition_postgraphile,
    ),
)


def first_difference(a: Json, b: Json, where: str = "") -> str | None:
    """Where two reduced answers first differ, for the refusal message."""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where or 'top'}: {len(a)} items against {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            found = first_difference(a.get(k), b.get(k), f"{where}.{k}")
            if found:
                return found
        return None
    return None if a == b else f"{where or 'top'}: {a!r} against {b!r}"
