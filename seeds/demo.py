"""The demo city: a small, deterministic Zunyi that every front end and test can explore.

Built only through `seeds.builders` from `random.Random(2024)`, so the same rows
(and, in a fresh database, the same ids) come out every time. It covers every
kind, type, flag and role the foundation models know, with the source text's
named places: 仁和苑社区 (汇川区, 7 grids), 灵犀社区 (新蒲新区) and 五里碑社区
(仁怀市, relocation resettlement grids).

Code scheme (`org_unit.code`, stable across runs and shared with the city seed):
  city       520300                     GB/T 2260 code of 遵义市
  district   520302                     GB/T 2260 code (新蒲新区 uses 520391)
  street     520302 + 001               district code + 3-digit serial
  community  520302001 + 001            street code + 3-digit serial
  grid       520302001001 + 001         community code + 3-digit serial
Buildings, households and people have no codes; address them by name or id.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Unpack

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from models.org import (
    Building,
    CultureLabel,
    GridType,
    Household,
    OrgKind,
    OrgUnit,
    PartyOrganisation,
    PartyOrgKind,
    Tenure,
    WorkUnit,
    WorkUnitKind,
)
from models.people import (
    Gender,
    Person,
    Position,
    PriorityBasis,
    Role,
    SelectionMethod,
    StaffKind,
)
from seeds import builders, names
from seeds.builders import PositionFields
from seeds.incentives import seed_demo_incentives
from seeds.services import DemoServices, seed_demo_services

SEED = 2024

_OLD, _NEW, _COM, _REL = (
    GridType.OLD_ESTATE,
    GridType.NEW_ESTATE,
    GridType.COMMERCIAL,
    GridType.RELOCATION_RESETTLEMENT,
)

#: district (name, code) -> streets -> communities -> grid types, in code order.
_Communities = tuple[tuple[str, tuple[GridType, ...]], ...]
_Streets = tuple[tuple[str, _Communities], ...]
LAYOUT: tuple[tuple[str, str, _Streets], ...] = (
    ("红花岗区", "520302", (
        ("老城街道", (("丁字口社区", (_OLD, _OLD, _COM)),)),
        ("中华路街道", (("凤凰山社区", (_OLD, _NEW)),)),
    )),
    ("汇川区", "520303", (
        ("上海路街道", (
            ("仁和苑社区", (_OLD, _OLD, _OLD, _NEW, _NEW, _COM, _OLD)),
            ("珠海路社区", (_NEW, _COM)),
        )),
        ("洗马路街道", (("宁波路社区", (_OLD, _NEW)),)),
    )),
    ("播州区", "520304", (("南白街道", (("桂花社区", (_OLD, _NEW)),)),)),
    ("新蒲新区", "520391", (("新蒲街道", (("灵犀社区", (_NEW, _NEW, _COM)),)),)),
    ("仁怀市", "520382", (("盐津街道", (("五里碑社区", (_REL, _REL, _REL)),)),)),
)  # fmt: skip

_LABELS = tuple(CultureLabel)

#: (name, kind, communities it pairs with) for 双报到.
_WORK_UNITS: tuple[tuple[str, WorkUnitKind, tuple[str, ...]], ...] = (
    ("汇川区委组织部", WorkUnitKind.GOVERNMENT_ORGAN, ("仁和苑社区", "珠海路社区")),
    ("红花岗区民政局", WorkUnitKind.GOVERNMENT_ORGAN, ("丁字口社区", "凤凰山社区")),
    ("新蒲新区党工委办公室", WorkUnitKind.GOVERNMENT_ORGAN, ("灵犀社区",)),
    ("仁怀市乡村振兴局", WorkUnitKind.GOVERNMENT_ORGAN, ("五里碑社区",)),
    ("播州区住房和城乡建设局", WorkUnitKind.GOVERNMENT_ORGAN, ("桂花社区",)),
    ("遵义医科大学附属医院", WorkUnitKind.ENTERPRISE_OR_INSTITUTION, ("仁和苑社区", "宁波路社区")),
    ("遵义市供电局", WorkUnitKind.ENTERPRISE_OR_INSTITUTION, ("灵犀社区", "丁字口社区")),
    ("遵义市第十一中学", WorkUnitKind.ENTERPRISE_OR_INSTITUTION, ("凤凰山社区",)),
    ("遵义红城律师事务所", WorkUnitKind.NON_PUBLIC_ORGANISATION, ("仁和苑社区", "五里碑社区")),
    ("汇川区物业服务行业协会", WorkUnitKind.NON_PUBLIC_ORGANISATION, ("珠海路社区",)),
    ("遵义市新的社会阶层人士联谊会", WorkUnitKind.NON_PUBLIC_ORGANISATION, ("桂花社区",)),
)

#: Seconded-cadre teams (下沉干部): work unit, team serial, community, cadres.
_TEAMS = (
    ("汇川区委组织部", 1, "仁和苑社区", 4),
    ("汇川区委组织部", 2, "仁和苑社区", 3),
    ("红花岗区民政局", 1, "丁字口社区", 3),
    ("新蒲新区党工委办公室", 1, "灵犀社区", 5),
    ("仁怀市乡村振兴局", 1, "五里碑社区", 3),
)

RENHEYUAN_GRID_1 = "520303001001001"
_GRID_WITHOUT_PARTY_ORG = "520302001001003"  # 丁字口社区第3网格 (commercial)
#: The named households of `DemoCity.building`: (name, gender, age, Party, veteran, health).
_Spec = tuple[str, Gender, int, bool, bool, str | None]
_PINNED_FAMILIES: tuple[tuple[Tenure, tuple[_Spec, ...]], ...] = (
    (Tenure.OWNER_OCCUPIED, (("王秀英", Gender.FEMALE, 82, False, False, "高血压"),)),
    (Tenure.OWNER_OCCUPIED, (
        ("张建国", Gender.MALE, 58, True, True, None),
        ("李桂兰", Gender.FEMALE, 56, False, False, None),
        ("张宇", Gender.MALE, 31, False, False, None),
    )),
    (Tenure.RENTED, (
        ("刘强", Gender.MALE, 34, False, False, None),
        ("陈婷", Gender.FEMALE, 32, False, False, None),
    )),
    (Tenure.OWNER_OCCUPIED, (
        ("赵德明", Gender.MALE, 71, True, False, "需定期上门体检"),
        ("周玉兰", Gender.FEMALE, 69, False, False, None),
    )),
)  # fmt: skip


def _member(
    rng: random.Random,
    name: str,
    gender: Gender,
    age: int,
    party: bool,
    veteran: bool,
    health: str | None,
) -> names.Member:
    return names.Member(name, gender, names.birth_date_for_age(rng, age), party, veteran, health)


_TERM_START = datetime(2023, 3, 1, tzinfo=UTC)
_EARLIER_TERM = datetime(2020, 6, 1, tzinfo=UTC)


@dataclass(frozen=True)
class DemoCity:
    """The rows tests reach for by name; everything else is found by querying."""

    city: OrgUnit
    districts: dict[str, OrgUnit]  # 红花岗区, 汇川区, 播州区, 新蒲新区, 仁怀市
    street: OrgUnit  # 上海路街道 (汇川区), parent of 仁和苑社区
    renheyuan: OrgUnit  # 仁和苑社区: 7 grids
    lingxi: OrgUnit  # 灵犀社区 (新蒲新区)
    wulibei: OrgUnit  # 五里碑社区 (仁怀市): relocation resettlement grids
    grids: dict[GridType, OrgUnit]  # one grid of each type (仁和苑's first; RELOCATION in 五里碑)
    building: Building  # 仁和苑 grid 1: head, labels, motto, Party group, central household
    building_without_head: Building
    building_with_history: Building  # an ENDED head before the current one
    building_head: Person  # active head of `building`: Party member and veteran
    building_head_position: Position
    resident_alone: Person  # elderly, living alone, in `building`
    renter: Person  # in a rented household in `building`
    party_member: Person  # a Party member in `building` other than the head
    grid_worker: Person  # GRID_WORKER of grids[OLD_ESTATE]
    seconded_cadre: Person  # 汇川区委组织部下沉一组, serving `building`
    admins: dict[Role, Person]  # COMMUNITY (仁和苑), STREET, DISTRICT (汇川区), CITY admins
    service_rows: DemoServices | None = None

    @property
    def services(self) -> DemoServices:
        """Stations, teams, orders ... (`seeds.services`)."""
        assert self.service_rows is not None, "the demo city is seeded with its services"
        return self.service_rows


@dataclass
class _Resident:
    person: Person
    household: Household
    member: names.Member


@dataclass
class _Place:
    building: Building
    grid: OrgUnit
    community: OrgUnit
    residents: list[_Resident] = field(default_factory=list)
    households: list[Household] = field(default_factory=list)
    party_group: PartyOrganisation | None = None


class _Demo:
    """Builds the city in order: org tree, work units, Party tree and residents, positions."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session
        self.rng = random.Random(SEED)
        self.id_cards: set[str] = set()
        self.units: dict[str, OrgUnit] = {}  # by name (names are unique in the demo)
        self.district_of: dict[str, str] = {}  # community name -> district name
        self.grids: list[OrgUnit] = []
        self.community_of_grid: dict[int, OrgUnit] = {}
        self.grid_party_org: dict[int, PartyOrganisation] = {}
        self.branches: dict[int, PartyOrganisation] = {}
        self.places: list[_Place] = []
        self.work_units: dict[str, WorkUnit] = {}
        self.heads: dict[int, Position] = {}  # active head's position by building id
        self.grid_workers: dict[int, Person] = {}  # by grid id
        self.cadres: list[Person] = []
        self.pending: list[Position] = []

    # -- people -------------------------------------------------------------

    def _id_card(self, member: names.Member, region: str | None = None) -> str:
        while True:
            value = names.id_card(self.rng, member.birth_date, member.gender, region=region)
            if value not in self.id_cards:
                self.id_cards.add(value)
                return value

    async def _staff(self, *, party: bool = False, min_age: int = 24, max_age: int = 55) -> Person:
        """Someone who works here but lives elsewhere (no household)."""
        gender = Gender.MALE if self.rng.random() < 0.55 else Gender.FEMALE
        member = names.Member(
            name=names.person_name(self.rng, gender),
            gender=gender,
            birth_date=names.birth_date(self.rng, min_age=min_age, max_age=max_age),
            is_party_member=party,
            is_veteran=False,
            health_notes=None,
        )
        return await builders.person(
            self.s,
            name=member.name,
            gender=gender,
            birth_date=member.birth_date,
            phone=names.mobile(self.rng),
            id_card=self._id_card(member),
            is_party_member=party,
        )

    def _hold(self, person: Person, role: Role, **fields: Unpack[PositionFields]) -> Position:
        """A position to insert with the others of its phase (one INSERT, not hundreds)."""
        row = builders.new_position(person, role, **fields)
        self.pending.append(row)
        return row

    async def insert_held(self) -> None:
        await builders.add_all(self.s, self.pending)
        self.pending = []

    # -- administrative tree ------------------------------------------------

    async def org_tree(self) -> None:
        city = await builders.org_unit(self.s, OrgKind.CITY, "遵义市", code="520300")
        self.units["遵义市"] = city
        for district_name, district_code, streets in LAYOUT:
            district = await builders.org_unit(
                self.s, OrgKind.DISTRICT, district_name, parent=city, code=district_code
            )
            self.units[district_name] = district
            for s_i, (street_name, communities) in enumerate(streets, 1):
                street_code = f"{district_code}{s_i:03d}"
                street = await builders.org_unit(
                    self.s, OrgKind.STREET, street_name, parent=district, code=street_code
                )
                self.units[street_name] = street
                for c_i, (community_name, grid_types) in enumerate(communities, 1):
                    community_code = f"{street_code}{c_i:03d}"
                    community = await builders.org_unit(
                        self.s,
                        OrgKind.COMMUNITY,
                        community_name,
                        parent=street,
                        code=community_code,
                    )
                    self.units[community_name] = community
                    self.district_of[community_name] = district_name
                    for g_i, grid_type in enumerate(grid_types, 1):
                        grid = await builders.org_unit(
                            self.s,
                            OrgKind.GRID,
                            names.grid_name(community_name, g_i),
                            parent=community,
                            code=f"{community_code}{g_i:03d}",
                            grid_type=grid_type,
                        )
                        self.grids.append(grid)
                        self.community_of_grid[_pk(grid)] = community

    async def work_unit_pairings(self) -> None:
        for name, kind, communities in _WORK_UNITS:
            unit = await builders.work_unit(self.s, name, kind=kind)
            self.work_units[name] = unit
            for community in communities:
                await builders.work_unit_pairing(self.s, unit, self.units[community])

    # -- Party tree, buildings, households, residents ------------------------

    async def party_tree(self) -> None:
        for grid in self.grids:
            community = self.community_of_grid[_pk(grid)]
            if _pk(community) not in self.branches:
                self.branches[_pk(community)] = await builders.party_organisation(
                    self.s, PartyOrgKind.COMMUNITY_BRANCH, f"{community.name}党支部",
                    org_unit=community,
                )  # fmt: skip
            # One commercial grid is left without its own Party organisation (its members
            # belong to the community branch), as many grids in the city still are.
            if grid.code == _GRID_WITHOUT_PARTY_ORG:
                continue
            self.grid_party_org[_pk(grid)] = await builders.party_organisation(
                self.s,
                PartyOrgKind.GRID_PARTY_ORG,
                f"{grid.name}党支部",
                parent=self.branches[_pk(community)],
                org_unit=grid,
            )

    async def buildings(self) -> None:
        estates = names.estate_names(self.rng, len(self.grids))
        for grid, estate in zip(self.grids, estates, strict=True):
            community = self.community_of_grid[_pk(grid)]
            style = (names.building_suffix(self.rng), names.street_number(self.rng))
            count = 7 if grid.code == RENHEYUAN_GRID_1 else self.rng.randint(2, 5)
            for number in range(1, count + 1):
                await self._building(grid, community, estate, style, number)

    async def _building(
        self, grid: OrgUnit, community: OrgUnit, estate: str, style: tuple[str, str], number: int
    ) -> None:
        """One building with its households and residents (and its Party group if it has one).

        The first building of 仁和苑's first grid is pinned: it holds the named people
        of `DemoCity` (a widow living alone, the Party-member veteran head, a renter).
        """
        rng = self.rng
        i = len(self.places)
        first = grid.code == RENHEYUAN_GRID_1 and number == 1
        labels: list[CultureLabel] = []
        if first:
            labels = [CultureLabel.PARTY_PIONEER, CultureLabel.ELDER_CARE]
        elif i % 5 != 4:
            labels = [_LABELS[i % len(_LABELS)]]
            if i % 3 == 0:
                labels.append(_LABELS[(i + 3) % len(_LABELS)])
        suffix, gate = style
        name = names.building_name(number, estate, suffix=suffix)
        district = self.district_of[community.name]
        building = await builders.building(
            self.s,
            grid,
            name=name,
            address=names.address(district, gate, name),
            culture_labels=labels,
            motto=names.MOTTOS[labels[0]] if labels else None,
        )
        place = _Place(building, grid, community)
        self.places.append(place)

        grid_type = grid.grid_type or GridType.OLD_ESTATE
        bias = {_OLD: 0.8, _REL: 0.6, _NEW: 0.2, _COM: 0.3}[grid_type]
        rent = {_OLD: 0.3, _REL: 0.05, _NEW: 0.2, _COM: 0.5}[grid_type]
        n_households = 10 if first else rng.randint(6, 12)
        families: list[tuple[Tenure, list[names.Member]]] = []
        for h in range(n_households):
            if first and h < len(_PINNED_FAMILIES):
                tenure, pinned = _PINNED_FAMILIES[h]
                families.append((tenure, [_member(rng, *spec) for spec in pinned]))
                continue
            size = names.household_size(rng, elderly_bias=bias)
            members = names.household_members(rng, size, elderly_bias=bias, party_rate=0.15)
            rented = rng.random() < rent
            families.append((Tenure.RENTED if rented else Tenure.OWNER_OCCUPIED, members))

        grid_org = self.grid_party_org.get(_pk(grid))
        party_count = sum(m.is_party_member for _, ms in families for m in ms)
        if grid_org is not None and (first or party_count >= 2):
            place.party_group = await builders.party_organisation(
                self.s,
                PartyOrgKind.BUILDING_PARTY_GROUP,
                f"{name}党小组",
                parent=grid_org,
                building=building,
            )
        party_org = place.party_group or grid_org or self.branches[_pk(community)]

        per_unit = (n_households + 1) // 2 if n_households > 8 else n_households
        households = [
            builders.new_household(
                building,
                unit=f"{h // per_unit + 1}单元",
                room=f"{h % per_unit // 2 + 1}0{h % per_unit % 2 + 1}",
                tenure=tenure,
            )
            for h, (tenure, _) in enumerate(families)
        ]
        await builders.add_all(self.s, households)
        place.households = households
        residents: list[_Resident] = []
        for household, (_, members) in zip(households, families, strict=True):
            for m in members:
                person = builders.new_person(
                    household,
                    name=m.name,
                    gender=m.gender,
                    birth_date=m.birth_date,
                    phone=names.mobile(rng) if names.age_at(m.birth_date) >= 14 else None,
                    id_card=self._id_card(m),
                    party_org=party_org if m.is_party_member else None,
                    is_party_member=m.is_party_member,
                    is_veteran=m.is_veteran,
                    lives_alone=len(members) == 1,
                    health_notes=m.health_notes,
                )
                residents.append(_Resident(person, household, m))
        await builders.add_all(self.s, [r.person for r in residents])
        place.residents = residents

    # -- central households and 1+N -----------------------------------------

    async def anchors(self) -> None:
        """党员中心户 per building with a Party group; its member pairs with 3-5 households."""
        rows: list[SQLModel] = []
        for place in self.places:
            members = [r for r in place.residents if r.member.is_party_member]
            if not members or place.party_group is None:
                continue
            chosen = {_pk(members[0].household): members[0]}
            if len(members) >= 4:
                chosen.setdefault(_pk(members[-1].household), members[-1])
            rows += [
                builders.new_central_household(r.household, r.person, building=place.building)
                for r in chosen.values()
            ]
            mentor = members[0]
            others = [h for h in place.households if h.id != mentor.household.id]
            rows += [
                builders.new_pairing(mentor.person, h) for h in others[: self.rng.randint(3, 5)]
            ]
        await builders.add_all(self.s, rows)

    # -- positions ------------------------------------------------------------

    async def building_heads(self) -> None:
        """Heads for most buildings (三优先 first), one earlier term, liaisons in big buildings."""
        rng = self.rng
        for i, place in enumerate(self.places):
            if place is self.headless or (i % 13 == 6 and not self.is_pinned(place)):
                continue
            adults = [r for r in place.residents if 25 <= names.age_at(r.member.birth_date) <= 75]
            if not adults:
                continue
            preferred = [r for r in adults if r.member.is_party_member or r.member.is_veteran]
            head = (
                (preferred or adults)[0]
                if place is self.pinned[0]
                else rng.choice(preferred or adults)
            )
            basis = [PriorityBasis.PARTY_MEMBER] if head.member.is_party_member else []
            if head.member.is_veteran:
                basis.append(PriorityBasis.VETERAN)
            if not basis or rng.random() < 0.5 or place is self.pinned[0]:
                basis.append(PriorityBasis.OUTSTANDING_VOLUNTEER)
            if place is self.history:
                earlier = next(r for r in adults if r is not head)
                self._hold(
                    earlier.person,
                    Role.BUILDING_HEAD,
                    building=place.building,
                    priority_basis=[PriorityBasis.OUTSTANDING_VOLUNTEER],
                    started_at=_EARLIER_TERM,
                    ended_at=_TERM_START - timedelta(days=1),
                    end_reason="换届",
                )
            started = _TERM_START + timedelta(days=rng.randrange(60))
            position = self._hold(
                head.person,
                Role.BUILDING_HEAD,
                building=place.building,
                selection_method=SelectionMethod.APPOINTMENT
                if i % 10 == 9
                else SelectionMethod.NOMINATION_AND_ELECTION,
                priority_basis=basis,
                started_at=started,
            )
            self.heads[_pk(place.building)] = position
            if PriorityBasis.OUTSTANDING_VOLUNTEER in basis:
                self._hold(
                    head.person,
                    Role.VOLUNTEER,
                    org_unit=place.community,
                    started_at=started,
                )
            others = [r for r in adults if r is not head]
            if len(place.households) >= 9 and others:
                self._hold(
                    rng.choice(others).person,
                    Role.HOUSEHOLD_LIAISON,
                    building=place.building,
                    started_at=started,
                )

    async def residents_roles(self) -> None:
        """Registered Party members (在职党员报到) and volunteers among the residents."""
        rng = self.rng
        paired: dict[int, list[WorkUnit]] = defaultdict(list)
        for name, _, communities in _WORK_UNITS:
            for community in communities:
                paired[_pk(self.units[community])].append(self.work_units[name])
        fallback = list(self.work_units.values())
        for place in self.places:
            units = paired.get(_pk(place.community)) or fallback
            for r in place.residents:
                age = names.age_at(r.member.birth_date)
                if r.member.is_party_member and 22 <= age < 60:
                    self._hold(
                        r.person,
                        Role.REGISTERED_PARTY_MEMBER,
                        org_unit=place.community,
                        work_unit=rng.choice(units),
                        started_at=_TERM_START,
                    )
                elif 16 <= age <= 75 and rng.random() < 0.05:
                    self._hold(r.person, Role.VOLUNTEER, org_unit=place.community)

    async def staff(self) -> None:
        """Grid workers, 红管家 property staff, shop operators and seconded-cadre teams."""
        rng = self.rng
        by_grid: dict[int, list[_Place]] = defaultdict(list)
        for place in self.places:
            by_grid[_pk(place.grid)].append(place)
        for grid in self.grids:
            worker = await self._staff(party=rng.random() < 0.6)
            self._hold(worker, Role.GRID_WORKER, org_unit=grid)
            self.grid_workers[_pk(grid)] = worker
            if grid.grid_type in (_NEW, _COM):
                for kind in StaffKind:
                    member = await self._staff(max_age=62)
                    for place in by_grid[_pk(grid)]:
                        self._hold(
                            member,
                            Role.PROPERTY_STAFF,
                            building=place.building,
                            staff_kind=kind,
                        )
            if grid.grid_type is _COM or grid.code == RENHEYUAN_GRID_1:
                operator = await self._staff()
                self._hold(operator, Role.SHOP_OPERATOR, org_unit=grid)

        for unit_name, serial, community_name, size in _TEAMS:
            team = f"{unit_name}下沉{names.chinese_numeral(serial)}组"
            places = [p for p in self.places if p.community.name == community_name]
            offset = (serial - 1) * size
            for j in range(size):
                cadre = await self._staff(party=rng.random() < 0.85, min_age=26, max_age=58)
                if not self.cadres:
                    self.cadres.append(cadre)
                for k in (offset + j, offset + j + size):
                    self._hold(
                        cadre,
                        Role.SECONDED_CADRE,
                        building=places[k % len(places)].building,
                        work_unit=self.work_units[unit_name],
                        team=team,
                    )

    async def admins(self) -> dict[Role, Person]:
        admins: dict[Role, Person] = {}
        for role, place in (
            (Role.COMMUNITY_ADMIN, "仁和苑社区"),
            (Role.STREET_ADMIN, "上海路街道"),
            (Role.DISTRICT_ADMIN, "汇川区"),
            (Role.CITY_ADMIN, "遵义市"),
        ):
            person = await self._staff(party=True, min_age=30)
            self._hold(
                person,
                role,
                org_unit=self.units[place],
                selection_method=SelectionMethod.APPOINTMENT,
            )
            admins[role] = person
        return admins

    # -- pinned rows --------------------------------------------------------------

    @property
    def pinned(self) -> list[_Place]:
        """仁和苑 grid 1's buildings: [named building, history, without head]."""
        return [p for p in self.places if p.grid.code == RENHEYUAN_GRID_1][:3]

    @property
    def history(self) -> _Place:
        return self.pinned[1]

    @property
    def headless(self) -> _Place:
        return self.pinned[2]

    def is_pinned(self, place: _Place) -> bool:
        return any(place is p for p in self.pinned)


def _pk(row: OrgUnit | Household | Building) -> int:
    if row.id is None:
        raise ValueError("row not flushed")
    return row.id


async def seed_demo(session: AsyncSession) -> DemoCity:
    """Build the demo city into `session` (flushed, not committed) and return its key rows."""
    demo = _Demo(session)
    await demo.org_tree()
    await demo.work_unit_pairings()
    await demo.party_tree()
    await demo.buildings()
    await demo.anchors()
    await demo.building_heads()
    await demo.residents_roles()
    await demo.staff()
    admins = await demo.admins()
    await demo.insert_held()
    await seed_demo_incentives(session, _pk(demo.pinned[0].building))

    units = demo.units
    main = demo.pinned[0]
    residents = main.residents
    head = next(r for r in residents if r.member.name == "张建国")
    grids: dict[GridType, OrgUnit] = {}
    for grid in sorted(demo.grids, key=lambda g: (g.code[:9] != "520303001", g.code)):
        grids.setdefault(grid.grid_type or _OLD, grid)
    city = DemoCity(
        city=units["遵义市"],
        districts={name: units[name] for name, _, _ in LAYOUT},
        street=units["上海路街道"],
        renheyuan=units["仁和苑社区"],
        lingxi=units["灵犀社区"],
        wulibei=units["五里碑社区"],
        grids=grids,
        building=main.building,
        building_without_head=demo.headless.building,
        building_with_history=demo.history.building,
        building_head=head.person,
        building_head_position=demo.heads[_pk(main.building)],
        resident_alone=residents[0].person,
        renter=next(r.person for r in residents if r.member.name == "刘强"),
        party_member=next(r.person for r in residents if r.member.name == "赵德明"),
        grid_worker=demo.grid_workers[_pk(grids[_OLD])],
        seconded_cadre=demo.cadres[0],
        admins=admins,
    )
    services = await seed_demo_services(session, city)
    return dataclasses.replace(city, service_rows=services)
