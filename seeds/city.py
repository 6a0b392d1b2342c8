"""The city-scale data set: Zunyi at the size the source text reports, bulk-loaded by COPY.

Headline figures reproduced exactly (see `TARGETS`): 4,647 grids, 3,585 grid Party
organisations, 6,238 building Party groups, 9,856 active building heads, 21,000
central households, 300,000 households, 600,000 residents, 100,000 registered Party
members, 63,000 seconded cadres, 1,366 organs/enterprises/institutions and 457
non-public organisations paired with communities; at least 10,000 buildings.

Everything is generated in Python from `random.Random(CITY_SEED)`, with ids and ltree
paths precomputed (the BEFORE INSERT triggers then skip their lookups), and streamed
through COPY in one transaction, so a failure leaves the database empty. Secondary
indexes and foreign keys of the loaded tables are dropped first and recreated after
the load (one sort/scan each instead of per-row maintenance and RI checks); the
definitions are read from the catalog, so the migration stays the single source.
Org-unit codes follow the demo's scheme (see `seeds.demo`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

import psycopg
from psycopg import sql

from models.crypto import encrypt_id_card, id_card_lookup_hash
from models.org import GridType, OrgKind, PartyOrgKind, Tenure, WorkUnitKind
from models.people import Gender, PriorityBasis, Role, SelectionMethod, StaffKind
from seeds import names
from seeds.run import report

CITY_SEED: Final = 520300


@dataclass(frozen=True)
class Targets:
    grids: int = 4_647
    grid_party_orgs: int = 3_585
    building_party_groups: int = 6_238
    building_heads: int = 9_856
    central_households: int = 21_000
    min_buildings: int = 10_000
    households: int = 300_000
    residents: int = 600_000
    registered_party_members: int = 100_000
    seconded_cadres: int = 63_000
    organs: int = 600  # GOVERNMENT_ORGAN; with `institutions`, the text's 1,366
    institutions: int = 766  # ENTERPRISE_OR_INSTITUTION
    non_public: int = 457
    ended_building_heads: int = 600  # earlier terms, for history
    household_liaisons: int = 20_000
    volunteers: int = 30_000
    shop_operators: int = 1_300


TARGETS: Final = Targets()

#: Tables in load order (parents first); all are emptied-checked and have identity ids.
TABLES: Final = (
    "org_unit",
    "work_unit",
    "work_unit_pairing",
    "building",
    "household",
    "party_organisation",
    "person",
    "position",
    "central_household",
    "pairing",
)

_G = GridType
#: Grid-type mix by kind of district: the urban core is old estates; outskirts resettle.
_GRID_MIX: Final = {
    "core": ((_G.OLD_ESTATE, 50), (_G.NEW_ESTATE, 30), (_G.COMMERCIAL, 15), (_G.RELOCATION_RESETTLEMENT, 5)),
    "new": ((_G.OLD_ESTATE, 25), (_G.NEW_ESTATE, 45), (_G.COMMERCIAL, 12), (_G.RELOCATION_RESETTLEMENT, 18)),
    "county": ((_G.OLD_ESTATE, 45), (_G.NEW_ESTATE, 25), (_G.COMMERCIAL, 10), (_G.RELOCATION_RESETTLEMENT, 20)),
}  # fmt: skip
_BUILDINGS_PER_GRID: Final = {
    _G.OLD_ESTATE: (2, 4),
    _G.NEW_ESTATE: (2, 3),
    _G.COMMERCIAL: (1, 3),
    _G.RELOCATION_RESETTLEMENT: (2, 5),
}
_HOUSEHOLDS_PER_BUILDING: Final = {
    _G.OLD_ESTATE: (12, 36),
    _G.NEW_ESTATE: (24, 72),
    _G.COMMERCIAL: (8, 30),
    _G.RELOCATION_RESETTLEMENT: (18, 48),
}
_ELDERLY_BIAS: Final = {
    _G.OLD_ESTATE: 0.8,
    _G.NEW_ESTATE: 0.2,
    _G.COMMERCIAL: 0.3,
    _G.RELOCATION_RESETTLEMENT: 0.6,
}
_RENTED: Final = {
    _G.OLD_ESTATE: 0.3,
    _G.NEW_ESTATE: 0.2,
    _G.COMMERCIAL: 0.5,
    _G.RELOCATION_RESETTLEMENT: 0.05,
}
_SIZE_WEIGHTS: Final = (0.36, 0.36, 0.18, 0.10)  # 1-4 residents: mean ≈ 2.0

#: (district, GB code, kind of area, streets). The first streets and communities are the
#: demo's, so 仁和苑社区 is 520303001001 here too.
_DISTRICTS: Final = (
    ("红花岗区", "520302", "core", ("老城", "中华路", "万里路", "南门关", "延安路", "舟水桥", "中山路", "北京路", "长征", "忠庄")),
    ("汇川区", "520303", "core", ("上海路", "洗马路", "大连路", "高桥", "董公寺", "高坪", "团泽镇", "泗渡镇")),
    ("播州区", "520304", "new", ("南白", "桂花桥", "龙坑", "三岔镇", "鸭溪镇", "苟江镇")),
    ("新蒲新区", "520391", "new", ("新蒲", "新中", "礼仪", "虾子镇", "永乐镇")),
    ("仁怀市", "520382", "county", ("盐津", "中枢", "苍龙", "坛厂", "鲁班", "茅台镇")),
    ("桐梓县", "520322", "county", ("娄山关", "海校")),
    ("绥阳县", "520323", "county", ("洋川", "诗乡")),
    ("正安县", "520324", "county", ("凤仪", "瑞濠")),
    ("道真仡佬族苗族自治县", "520325", "county", ("玉溪", "尹珍")),
    ("务川仡佬族苗族自治县", "520326", "county", ("都濡", "丹砂")),
    ("凤冈县", "520327", "county", ("龙泉", "何坝")),
    ("湄潭县", "520328", "county", ("湄江", "黄家坝")),
    ("余庆县", "520329", "county", ("白泥", "子营")),
    ("习水县", "520330", "county", ("东皇", "杉王", "九龙")),
    ("赤水市", "520381", "county", ("市中", "文华", "金华")),
)  # fmt: skip
#: Named communities of the source text: (street code, name, fixed grid count, grid type).
_PINNED_COMMUNITIES: Final = {
    "520302001": (("丁字口社区", None, None),),
    "520302002": (("凤凰山社区", None, None),),
    "520303001": (("仁和苑社区", 7, None), ("珠海路社区", None, None)),
    "520303002": (("宁波路社区", None, None),),
    "520304001": (("桂花社区", None, None),),
    "520391001": (("灵犀社区", None, None),),
    "520382001": (("五里碑社区", None, _G.RELOCATION_RESETTLEMENT),),
}

_DEPARTMENTS: Final = (
    "委组织部", "委宣传部", "委政法委员会", "纪委监委", "委统战部", "民政局", "财政局",
    "人力资源和社会保障局", "住房和城乡建设局", "自然资源局", "生态环境局", "交通运输局",
    "水务局", "农业农村局", "商务局", "文体旅游局", "卫生健康局", "退役军人事务局",
    "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局", "林业局",
    "乡村振兴局", "司法局", "公安局", "教育局", "科技局", "工业和信息化局",
    "发展和改革局", "信访局", "档案馆", "总工会", "团委", "妇联", "残联", "科协",
    "人民法院", "人民检察院", "政务服务中心", "机关事务服务中心",
)  # fmt: skip
_INSTITUTION_KINDS: Final = (
    "第{n}中学", "第{n}小学", "第{n}幼儿园", "人民医院", "中医院", "妇幼保健院",
    "疾病预防控制中心", "供水有限公司", "燃气有限公司", "公交有限公司", "城市建设投资有限公司",
    "融媒体中心", "职业技术学校", "社区卫生服务中心{n}",
)  # fmt: skip
_BANKS: Final = ("工商银行", "农业银行", "中国银行", "建设银行", "邮政储蓄银行", "农村商业银行")
_BRANDS: Final = (
    "红城", "黔北", "湘江", "凤凰", "娄山", "赤水河", "乌江", "茅台", "播州", "汇川",
    "丹砂", "茶海", "杜鹃", "银杏", "金桂", "仁和", "鸿鑫", "德润", "众诚", "安顺达",
)  # fmt: skip
_NON_PUBLIC_KINDS: Final = (
    "{b}律师事务所", "{b}社会工作服务中心", "{b}商会", "{b}科技有限公司", "{b}物业服务有限公司",
    "{b}会计师事务所", "{b}志愿者协会", "{b}餐饮有限公司", "{b}酒业有限公司", "{b}商贸有限公司",
    "{b}建筑工程有限公司", "{b}养老服务中心", "{b}家政服务有限公司", "{b}文化传媒有限公司",
)  # fmt: skip

_TERM_START: Final = datetime(2023, 3, 1, tzinfo=UTC)
_EARLIER_TERM: Final = datetime(2020, 6, 1, tzinfo=UTC)
_REGISTERED: Final = datetime(2022, 6, 1, tzinfo=UTC)

_BASIS_LISTS: Final = {
    (party, veteran, volunteer): [
        b.value
        for b, on in (
            (PriorityBasis.PARTY_MEMBER, party),
            (PriorityBasis.VETERAN, veteran),
            (PriorityBasis.OUTSTANDING_VOLUNTEER, volunteer),
        )
        if on
    ]
    for party in (False, True)
    for veteran in (False, True)
    for volunteer in (False, True)
}


class SeedRefusedError(RuntimeError):
    """The city seed only loads into an empty, migrated database."""


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` into integers proportional to `weights` (largest remainder)."""
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(s) for s in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


@dataclass
class _Unit:
    id: int
    kind: OrgKind
    name: str
    code: str
    parent: _Unit | None
    path: str
    grid_type: GridType | None = None
    district: str = ""
    children: list[_Unit] = field(default_factory=list)


@dataclass
class _Building:
    id: int
    grid: _Unit
    community: _Unit
    name: str
    address: str
    labels: list[str]
    motto: str | None
    path: str
    households: list[int] = field(default_factory=list)  # household ids
    party_org: int | None = None  # its Party group, else the grid's org, else the branch
    adults: list[int] = field(default_factory=list)  # resident ids, 18+
    party_members: list[tuple[int, int]] = field(default_factory=list)  # (person, household)


class _City:
    """The generated city: plain Python rows with precomputed ids and paths."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.units: list[_Unit] = []
        self.grids: list[_Unit] = []
        self.communities: list[_Unit] = []
        self.buildings: list[_Building] = []
        self.work_units: list[tuple[int, str, WorkUnitKind, str | None]] = []  # district
        self.pairings_by_community: dict[int, list[int]] = {}
        self.work_unit_pairings: list[tuple[int, int, str]] = []
        self.party_orgs: list[tuple[int, str, str, int | None, int | None, int | None, str]] = []
        self.households: list[tuple[int, int, str, str, str, str]] = []
        self.household_building: list[int] = []  # index into buildings, by household id - 1
        self.positions: list[tuple[Any, ...]] = []
        self.id_cards: set[str] = set()
        self.person_id = 0
        self.flags = bytearray()  # per person id: 1 party, 2 veteran, 4 working age (22-59)

    # -- org tree -------------------------------------------------------------

    def add_unit(self, kind: OrgKind, name: str, code: str, parent: _Unit | None, **kw: Any) -> _Unit:
        uid = len(self.units) + 1
        path = f"{parent.path}.{uid}" if parent else str(uid)
        unit = _Unit(uid, kind, name, code, parent, path, **kw)
        self.units.append(unit)
        if parent:
            parent.children.append(unit)
        return unit

    def org_tree(self) -> None:
        rng = self.rng
        city = self.add_unit(OrgKind.CITY, "遵义市", "520300", None)
        taken: set[str] = set()
        for _, pinned in _PINNED_COMMUNITIES.items():
            taken.update(name for name, _, _ in pinned)
        plan: list[tuple[_Unit, int | None, GridType | None]] = []
        for district_name, code, area, streets in _DISTRICTS:
            district = self.add_unit(OrgKind.DISTRICT, district_name, code, city, district=district_name)
            for s_i, stem in enumerate(streets, 1):
                street_code = f"{code}{s_i:03d}"
                street = self.add_unit(
                    OrgKind.STREET, names.street_name(stem), street_code, district, district=area
                )
                pinned = _PINNED_COMMUNITIES.get(street_code, ())
                count = max(len(pinned), rng.randint(4, 8) if area != "county" else rng.randint(3, 6))
                for c_i in range(1, count + 1):
                    name, grids, grid_type = (
                        pinned[c_i - 1] if c_i <= len(pinned) else (names.community_name(rng, taken), None, None)
                    )
                    community = self.add_unit(
                        OrgKind.COMMUNITY, name, f"{street_code}{c_i:03d}", street, district=district_name
                    )
                    self.communities.append(community)
                    plan.append((community, grids, grid_type))
        fixed = sum(g for _, g, _ in plan if g is not None)
        free = [c for c, g, _ in plan if g is None]
        counts = iter(apportion(TARGETS.grids - fixed, [rng.uniform(0.4, 1.6) for _ in free]))
        for community, grids, pinned_type in plan:
            n = grids if grids is not None else max(1, next(counts))
            street = community.parent
            assert street is not None
            mix = _GRID_MIX[street.district]
            for g_i in range(1, n + 1):
                grid_type = pinned_type or rng.choices([t for t, _ in mix], [w for _, w in mix])[0]
                grid = self.add_unit(
                    OrgKind.GRID,
                    names.grid_name(community.name, g_i),
                    f"{community.code}{g_i:03d}",
                    community,
                    grid_type=grid_type,
                    district=community.district,
                )
                self.grids.append(grid)

    # -- work units (双报到) -----------------------------------------------------

    def work_unit_plan(self) -> None:
        rng = self.rng
        seen: set[str] = set()
        places = ["遵义市"] + [d for d, *_ in _DISTRICTS]

        def add(name: str, kind: WorkUnitKind, district: str | None) -> None:
            seen.add(name)
            self.work_units.append((len(self.work_units) + 1, name, kind, district))

        for dept in _DEPARTMENTS:
            for place in places:
                if sum(k is WorkUnitKind.GOVERNMENT_ORGAN for _, _, k, _ in self.work_units) < TARGETS.organs:
                    add(f"{place}{dept}", WorkUnitKind.GOVERNMENT_ORGAN, None if place == "遵义市" else place)
        made = 0
        while made < TARGETS.institutions:
            place = rng.choice(places)
            if rng.random() < 0.15:
                name = f"{rng.choice(_BANKS)}遵义{place if place != '遵义市' else ''}支行"
            else:
                name = place + rng.choice(_INSTITUTION_KINDS).format(n=names.chinese_numeral(rng.randint(1, 30)))
            if name not in seen:
                add(name, WorkUnitKind.ENTERPRISE_OR_INSTITUTION, None if place == "遵义市" else place)
                made += 1
        made = 0
        while made < TARGETS.non_public:
            place = rng.choice(places)
            prefix = "遵义" if place == "遵义市" else place
            name = prefix + rng.choice(_NON_PUBLIC_KINDS).format(b=rng.choice(_BRANDS))
            if name not in seen:
                add(name, WorkUnitKind.NON_PUBLIC_ORGANISATION, None if place == "遵义市" else place)
                made += 1

        by_district: dict[str, list[_Unit]] = {}
        for community in self.communities:
            by_district.setdefault(community.district, []).append(community)
        for wu_id, _, _, district in self.work_units:
            pool = by_district[district] if district else self.communities
            for community in rng.sample(pool, min(len(pool), rng.choice((1, 1, 2, 2, 3)))):
                pid = len(self.work_unit_pairings) + 1
                self.work_unit_pairings.append((pid, wu_id, community.id, community.path))
                self.pairings_by_community.setdefault(community.id, []).append(wu_id)

    # -- buildings, households, Party tree ---------------------------------------

    def buildings_plan(self) -> None:
        rng = self.rng
        labels = [label.value for label in names_culture_labels()]
        per_grid = [rng.randint(*_BUILDINGS_PER_GRID[g.grid_type or _G.OLD_ESTATE]) for g in self.grids]
        short = TARGETS.min_buildings - sum(per_grid)
        for i in rng.sample(range(len(per_grid)), max(0, short)):
            per_grid[i] += 1
        estates = names.estate_names(rng, len(self.grids))
        raw: list[int] = []
        for grid, count, estate in zip(self.grids, per_grid, estates, strict=True):
            community = grid.parent
            assert community is not None
            suffix, gate = names.building_suffix(rng), names.street_number(rng)
            for number in range(1, count + 1):
                bid = len(self.buildings) + 1
                name = names.building_name(number, estate, suffix=suffix)
                chosen = rng.sample(labels, rng.choice((0, 1, 1, 1, 2)))
                self.buildings.append(
                    _Building(
                        id=bid,
                        grid=grid,
                        community=community,
                        name=name,
                        address=names.address(grid.district, gate, name),
                        labels=chosen,
                        motto=_MOTTOS.get(chosen[0]) if chosen else None,
                        path=f"{grid.path}.b{bid}",
                    )
                )
                raw.append(rng.randint(*_HOUSEHOLDS_PER_BUILDING[grid.grid_type or _G.OLD_ESTATE]))
        sizes = apportion(TARGETS.households, raw)
        for index, (building, n) in enumerate(zip(self.buildings, sizes, strict=True)):
            grid_type = building.grid.grid_type or _G.OLD_ESTATE
            per_floor = 2 if grid_type in (_G.OLD_ESTATE, _G.RELOCATION_RESETTLEMENT) else 4
            floors = 6 if per_floor == 2 else 18
            rented = _RENTED[grid_type]
            for k in range(max(1, n)):
                unit, rest = divmod(k, per_floor * floors)
                floor, door = divmod(rest, per_floor)
                hid = len(self.households) + 1
                tenure = Tenure.RENTED if rng.random() < rented else Tenure.OWNER_OCCUPIED
                self.households.append(
                    (hid, building.id, f"{unit + 1}单元", f"{floor + 1}{door + 1:02d}", tenure.value, f"{building.path}.h{hid}")
                )
                self.household_building.append(index)
                building.households.append(hid)

    def party_plan(self) -> None:
        rng = self.rng
        branches: dict[int, int] = {}
        for community in self.communities:
            oid = len(self.party_orgs) + 1
            branches[community.id] = oid
            self.party_orgs.append(
                (oid, PartyOrgKind.COMMUNITY_BRANCH.value, f"{community.name}党支部", None, community.id, None, community.path)
            )
        grid_orgs: dict[int, int] = {}
        for grid in sorted(rng.sample(self.grids, TARGETS.grid_party_orgs), key=lambda g: g.id):
            community = grid.parent
            assert community is not None
            oid = len(self.party_orgs) + 1
            grid_orgs[grid.id] = oid
            self.party_orgs.append(
                (oid, PartyOrgKind.GRID_PARTY_ORG.value, f"{grid.name}党支部", branches[community.id], grid.id, None, grid.path)
            )
        eligible = [b for b in self.buildings if b.grid.id in grid_orgs]
        grouped = {b.id for b in rng.sample(eligible, TARGETS.building_party_groups)}
        for building in self.buildings:
            if building.id in grouped:
                oid = len(self.party_orgs) + 1
                self.party_orgs.append(
                    (oid, PartyOrgKind.BUILDING_PARTY_GROUP.value, f"{building.name}党小组", grid_orgs[building.grid.id], None, building.id, building.path)
                )
                building.party_org = oid
            else:
                building.party_org = grid_orgs.get(building.grid.id, branches[building.community.id])

    # -- people ---------------------------------------------------------------------

    def _new_person_id(self, flags: int) -> int:
        self.person_id += 1
        self.flags.append(flags)
        return self.person_id

    def _id_card(self, birth: date, gender: Gender, region: str | None) -> str:
        while True:
            value = names.id_card(self.rng, birth, gender, region=region)
            if value not in self.id_cards:
                self.id_cards.add(value)
                return value

    def household_sizes(self) -> list[int]:
        rng = self.rng
        sizes = rng.choices((1, 2, 3, 4), _SIZE_WEIGHTS, k=len(self.households))
        diff = TARGETS.residents - sum(sizes)
        step = 1 if diff > 0 else -1
        while diff:
            i = rng.randrange(len(sizes))
            if 1 <= sizes[i] + step <= 4:
                sizes[i] += step
                diff -= step
        return sizes

    def residents(self) -> Iterator[tuple[Any, ...]]:
        """Person rows of every household, recording what positions will need."""
        rng = self.rng
        sizes = self.household_sizes()
        for (hid, _, _, _, tenure, path), index, size in zip(self.households, self.household_building, sizes, strict=True):
            building = self.buildings[index]
            grid_type = building.grid.grid_type or _G.OLD_ESTATE
            region = _REGION.get(building.grid.district)
            renter = tenure == Tenure.RENTED.value
            for m in names.household_members(rng, size, elderly_bias=_ELDERLY_BIAS[grid_type], party_rate=0.15):
                age = names.age_at(m.birth_date)
                working = 22 <= age < 60
                pid = self._new_person_id(m.is_party_member | m.is_veteran << 1 | working << 2)
                if age >= 18:
                    building.adults.append(pid)
                if m.is_party_member:
                    building.party_members.append((pid, hid))
                yield self._person_row(
                    pid, hid, building.party_org if m.is_party_member else None, m, age, region if rng.random() < 0.8 else None,
                    lives_alone=size == 1, renter=renter, path=path,
                )

    def _person_row(
        self, pid: int, hid: int | None, party_org: int | None, m: names.Member, age: int, region: str | None,
        *, lives_alone: bool, renter: bool, path: str | None,
    ) -> tuple[Any, ...]:
        card = self._id_card(m.birth_date, m.gender, region)
        return (
            pid, hid, party_org, m.name, m.gender.value, m.birth_date,
            names.mobile(self.rng) if age >= 14 else None,
            encrypt_id_card(card), id_card_lookup_hash(card),
            m.is_party_member, m.is_veteran, age >= names.ELDERLY_AGE, lives_alone, renter, m.health_notes, path,
        )  # fmt: skip

    def _outsider(self, *, party: bool, min_age: int = 24, max_age: int = 58) -> tuple[int, tuple[Any, ...]]:
        """Someone serving here who lives elsewhere: no household, no path."""
        rng = self.rng
        gender = Gender.MALE if rng.random() < 0.55 else Gender.FEMALE
        age = rng.randint(min_age, max_age)
        member = names.Member(
            names.person_name(rng, gender), gender, names.birth_date_for_age(rng, age), party, False, None
        )
        pid = self._new_person_id(int(party) | 4)
        row = self._person_row(pid, None, None, member, age, None, lives_alone=False, renter=False, path=None)
        return pid, row

    def outsiders(self) -> Iterator[tuple[Any, ...]]:
        """Non-resident people and their positions: cadres, staff, admins, registered members."""
        rng = self.rng
        t = TARGETS
        pos = self.positions

        # Registered Party members (在职党员报到): working-age resident members first.
        registered = [
            (pid, b) for b in self.buildings for pid, _ in b.party_members if self.flags[pid - 1] & 4
        ][: t.registered_party_members]
        wu_all = [wu for wu, _, kind, _ in self.work_units]
        for pid, b in registered:
            units = self.pairings_by_community.get(b.community.id) or wu_all
            pos.append(_position(pid, Role.REGISTERED_PARTY_MEMBER, b.community, work_unit=rng.choice(units), started=_REGISTERED))
        for _ in range(t.registered_party_members - len(registered)):
            community = rng.choice(self.communities)
            pid, row = self._outsider(party=True)
            units = self.pairings_by_community.get(community.id) or wu_all
            pos.append(_position(pid, Role.REGISTERED_PARTY_MEMBER, community, work_unit=rng.choice(units), started=_REGISTERED))
            yield row

        # Seconded cadres (下沉干部), in teams of 5-10 per work unit and paired community.
        sending = [w for w in self.work_units if w[2] is not WorkUnitKind.NON_PUBLIC_ORGANISATION]
        per_unit = apportion(t.seconded_cadres, [3.0 if w[2] is WorkUnitKind.GOVERNMENT_ORGAN else 1.0 for w in sending])
        buildings_of: dict[int, list[_Building]] = {}
        for b in self.buildings:
            buildings_of.setdefault(b.community.id, []).append(b)
        for (wu_id, wu_name, _, _), count in zip(sending, per_unit, strict=True):
            communities = [c for c in self.communities if wu_id in self.pairings_by_community.get(c.id, ())] or [rng.choice(self.communities)]
            serial = 0
            while count > 0:
                serial += 1
                size = min(count, rng.randint(5, 10))
                count -= size
                community = communities[serial % len(communities)]
                team = f"{wu_name}下沉{names.chinese_numeral(serial)}组" if serial < 100 else f"{wu_name}下沉第{serial}组"
                targets = buildings_of.get(community.id) or [rng.choice(self.buildings)]
                for _ in range(size):
                    pid, row = self._outsider(party=rng.random() < 0.85, min_age=26)
                    pos.append(_position(pid, Role.SECONDED_CADRE, rng.choice(targets), work_unit=wu_id, team=team))
                    yield row

        # Grid workers, 红管家 property staff, shop operators.
        by_grid: dict[int, list[_Building]] = {}
        for b in self.buildings:
            by_grid.setdefault(b.grid.id, []).append(b)
        for grid in self.grids:
            pid, row = self._outsider(party=rng.random() < 0.6)
            pos.append(_position(pid, Role.GRID_WORKER, grid))
            yield row
            managed = grid.grid_type in (_G.NEW_ESTATE, _G.COMMERCIAL) or rng.random() < 0.3
            if managed:
                for kind in StaffKind:
                    pid, row = self._outsider(party=rng.random() < 0.2, max_age=62)
                    for b in by_grid.get(grid.id, ()):
                        pos.append(_position(pid, Role.PROPERTY_STAFF, b, staff_kind=kind.value))
                    yield row
        commercial = [g for g in self.grids if g.grid_type is _G.COMMERCIAL]
        for grid in rng.sample(commercial, min(len(commercial), t.shop_operators)) + rng.sample(
            self.grids, max(0, t.shop_operators - len(commercial))
        ):
            pid, row = self._outsider(party=rng.random() < 0.2)
            pos.append(_position(pid, Role.SHOP_OPERATOR, grid))
            yield row

        # Admins of every level above the grid.
        for unit in self.units:
            role = _ADMIN_ROLE.get(unit.kind)
            if role is None:
                continue
            for _ in range(2 if unit.kind is OrgKind.CITY else 1):
                pid, row = self._outsider(party=True, min_age=30)
                pos.append(_position(pid, role, unit, selection=SelectionMethod.APPOINTMENT.value))
                yield row

    # -- positions, central households, 1+N -----------------------------------------

    def resident_positions(self) -> None:
        rng = self.rng
        pos = self.positions
        t = TARGETS
        with_adults = [b for b in self.buildings if b.adults]
        headed = sorted(rng.sample(with_adults, t.building_heads), key=lambda b: b.id)
        history = {b.id for b in rng.sample(headed, t.ended_building_heads)}
        for b in headed:
            preferred = [p for p in b.adults if self.flags[p - 1] & 3]
            head = rng.choice(preferred or b.adults)
            party, veteran = bool(self.flags[head - 1] & 1), bool(self.flags[head - 1] & 2)
            volunteer = not (party or veteran) or rng.random() < 0.5
            started = _TERM_START + timedelta(days=rng.randrange(90))
            if b.id in history:
                earlier = rng.choice(b.adults)
                pos.append(
                    _position(earlier, Role.BUILDING_HEAD, b, selection=SelectionMethod.NOMINATION_AND_ELECTION.value,
                              basis=_BASIS_LISTS[(False, False, True)], started=_EARLIER_TERM,
                              ended=_TERM_START - timedelta(days=1), end_reason="换届")
                )  # fmt: skip
            method = SelectionMethod.APPOINTMENT if rng.random() < 0.08 else SelectionMethod.NOMINATION_AND_ELECTION
            pos.append(
                _position(head, Role.BUILDING_HEAD, b, selection=method.value,
                          basis=_BASIS_LISTS[(party, veteran, volunteer)], started=started)
            )  # fmt: skip
        liaisons = apportion(t.household_liaisons, [len(b.households) for b in with_adults])
        for b, n in zip(with_adults, liaisons, strict=True):
            for pid in rng.sample(b.adults, min(n, len(b.adults))):
                pos.append(_position(pid, Role.HOUSEHOLD_LIAISON, b, started=_TERM_START))
        volunteers = rng.sample(range(len(with_adults)), t.volunteers) if len(with_adults) > t.volunteers else None
        chosen = (
            [with_adults[i] for i in volunteers]
            if volunteers is not None
            else [rng.choice(with_adults) for _ in range(t.volunteers)]
        )
        for b in chosen:
            pos.append(_position(rng.choice(b.adults), Role.VOLUNTEER, b.community))

    def anchors(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """党员中心户 in buildings with Party groups; each anchors 3-5 households (1+N)."""
        rng = self.rng
        grouped_party_orgs = {o[0] for o in self.party_orgs if o[1] == PartyOrgKind.BUILDING_PARTY_GROUP.value}
        candidates: list[tuple[_Building, int, int]] = []
        for b in self.buildings:
            if b.party_org in grouped_party_orgs:
                seen: set[int] = set()
                for pid, hid in b.party_members:
                    if hid not in seen:
                        seen.add(hid)
                        candidates.append((b, pid, hid))
        chosen = sorted(rng.sample(candidates, TARGETS.central_households), key=lambda c: c[2])
        centrals: list[tuple[Any, ...]] = []
        pairings: list[tuple[Any, ...]] = []
        household_path = {h[0]: h[5] for h in self.households} if False else None
        del household_path
        for i, (b, pid, hid) in enumerate(chosen, 1):
            path = self.households[hid - 1][5]
            centrals.append((i, b.id, hid, pid, path))
            neighbours = [h for h in b.households if h != hid]
            for other in rng.sample(neighbours, min(len(neighbours), rng.randint(3, 5))):
                pairings.append((len(pairings) + 1, pid, other, self.households[other - 1][5]))
        return centrals, pairings


_ADMIN_ROLE: Final = {
    OrgKind.CITY: Role.CITY_ADMIN,
    OrgKind.DISTRICT: Role.DISTRICT_ADMIN,
    OrgKind.STREET: Role.STREET_ADMIN,
    OrgKind.COMMUNITY: Role.COMMUNITY_ADMIN,
}
_REGION: Final = {name: code for name, code, *_ in _DISTRICTS if code in names.ZUNYI_REGION_CODES}
_MOTTOS: Final = {
    "MORAL_MODEL": "德润楼栋，善行邻里",
    "PARTY_PIONEER": "党员带头，楼栋争先",
    "ELDER_CARE": "敬老爱老，邻里相帮",
    "LABOUR_MODEL": "劳动光荣，实干兴楼",
    "CLEAN_AND_GREEN": "我的楼栋我清洁，我的楼栋我爱护",
    "VETERANS": "退伍不褪色，楼栋当尖兵",
    "NEIGHBOURLY": "从陌邻到睦邻",
}


def names_culture_labels() -> list[Any]:
    from models.org import CultureLabel

    return list(CultureLabel)
