"""The city-scale data set: Zunyi at the size the source text reports, bulk-loaded by COPY.

The headline figures are reproduced exactly (`TARGETS`): 4,647 grids, 3,585 grid
Party organisations, 6,238 building Party groups, 9,856 active building heads,
21,000 central households, 300,000 households, 600,000 residents, 100,000
registered Party members, 63,000 seconded cadres, 1,366 organs/enterprises/
institutions and 457 non-public organisations paired with communities, and at
least 10,000 buildings (about 13,000).

Everything is generated in Python from `random.Random(CITY_SEED)` with ids and ltree
paths precomputed (so the BEFORE INSERT triggers skip their lookups) and streamed
through COPY in one transaction: a failure leaves the database empty. The loaded
tables' secondary indexes, unique constraints and foreign keys are dropped first
and recreated after the load (one build or validating scan each instead of per-row
maintenance and RI checks: ~50 s instead of ~65 s on 2 cores). Their definitions
are read back from the catalog, so the migration stays their single source.
Org-unit codes follow the demo's scheme (see `seeds.demo`); 仁和苑社区 is
520303001001 in both.
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
from models.live import BULK_SETTING
from models.org import CultureLabel, GridType, OrgKind, PartyOrgKind, Tenure, WorkUnitKind
from models.people import Gender, PriorityBasis, Role, SelectionMethod, StaffKind
from seeds import names
from seeds.run import report

CITY_SEED: Final = 520300


@dataclass(frozen=True)
class Targets:
    """Row counts: the source text's figures, plus a few it implies."""

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
    organs: int = 600  # GOVERNMENT_ORGAN; with `institutions` the text's 1,366
    institutions: int = 766  # ENTERPRISE_OR_INSTITUTION
    non_public: int = 457
    ended_building_heads: int = 600  # earlier terms, for history
    household_liaisons: int = 20_000
    volunteers: int = 30_000
    shop_operators: int = 1_300  # 红城星店


TARGETS: Final = Targets()

#: Every table the seed writes, parents first.
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
_GRID_TYPES: Final = (_G.OLD_ESTATE, _G.NEW_ESTATE, _G.COMMERCIAL, _G.RELOCATION_RESETTLEMENT)
#: Grid-type weights (in `_GRID_TYPES` order) by kind of area: the core is old estates,
#: the new districts and counties resettle relocated villagers (易地扶贫搬迁).
_GRID_MIX: Final = {"core": (50, 30, 15, 5), "new": (25, 45, 12, 18), "county": (45, 25, 10, 20)}
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
_SIZE_WEIGHTS: Final = (0.36, 0.36, 0.18, 0.10)  # 1-4 residents, mean ~2.0
_PARTY_RATE: Final = 0.15

#: (district, GB/T 2260 code, kind of area, street stems). The first streets are the
#: demo's, in the demo's order, so shared names get the same codes.
_DISTRICTS: Final = (
    ("红花岗区", "520302", "core", (
        "老城", "中华路", "万里路", "南门关", "延安路", "舟水桥", "中山路", "北京路", "长征",
        "忠庄",
    )),
    ("汇川区", "520303", "core", (
        "上海路", "洗马路", "大连路", "高桥", "董公寺", "高坪", "团泽镇", "泗渡镇",
    )),
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
#: The demo's communities by street code: (name, fixed grid count, fixed grid type).
_PINNED_COMMUNITIES: Final[dict[str, tuple[tuple[str, int | None, GridType | None], ...]]] = {
    "520302001": (("丁字口社区", None, None),),
    "520302002": (("凤凰山社区", None, None),),
    "520303001": (("仁和苑社区", 7, None), ("珠海路社区", None, None)),
    "520303002": (("宁波路社区", None, None),),
    "520304001": (("桂花社区", None, None),),
    "520391001": (("灵犀社区", None, None),),
    "520382001": (("五里碑社区", None, _G.RELOCATION_RESETTLEMENT),),
}
#: ID-card region by district (新蒲新区 has no code of its own: its people have others).
_REGION: Final = {name: code for name, code, *_ in _DISTRICTS if code in names.ZUNYI_REGION_CODES}

_DEPARTMENTS: Final = (
    "委组织部", "委宣传部", "委政法委员会", "纪委监委", "委统战部", "民政局", "财政局",
    "人力资源和社会保障局", "住房和城乡建设局", "自然资源局", "生态环境局", "交通运输局",
    "水务局", "农业农村局", "商务局", "文体旅游局", "卫生健康局", "退役军人事务局",
    "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局", "林业局",
    "乡村振兴局", "司法局", "公安局", "教育局", "科技局", "工业和信息化局",
    "发展和改革局", "信访局", "档案馆", "总工会", "团委", "妇联", "残联", "科协",
    "人民法院", "人民检察院", "政务服务中心", "机关事务服务中心",
)  # fmt: skip
_INSTITUTIONS: Final = (
    "第{n}中学", "第{n}小学", "第{n}幼儿园", "人民医院", "中医院", "妇幼保健院",
    "疾病预防控制中心", "供水有限公司", "燃气有限公司", "公交有限公司", "城市建设投资有限公司",
    "融媒体中心", "职业技术学校", "第{n}社区卫生服务中心",
)  # fmt: skip
_BANKS: Final = ("工商银行", "农业银行", "中国银行", "建设银行", "邮政储蓄银行", "农村商业银行")
_BRANDS: Final = (
    "红城", "黔北", "湘江", "凤凰", "娄山", "赤水河", "乌江", "茅台", "播州", "汇川",
    "丹砂", "茶海", "杜鹃", "银杏", "金桂", "仁和", "鸿鑫", "德润", "众诚", "安顺达",
)  # fmt: skip
_NON_PUBLIC: Final = (
    "律师事务所", "社会工作服务中心", "商会", "科技有限公司", "物业服务有限公司",
    "会计师事务所", "志愿者协会", "餐饮有限公司", "酒业有限公司", "商贸有限公司",
    "建筑工程有限公司", "养老服务中心", "家政服务有限公司", "文化传媒有限公司",
)  # fmt: skip

_TERM_START: Final = datetime(2023, 3, 1, tzinfo=UTC)
_EARLIER_TERM: Final = datetime(2020, 6, 1, tzinfo=UTC)
_REGISTERED: Final = datetime(2022, 6, 1, tzinfo=UTC)
_ADMIN_ROLE: Final = {
    OrgKind.CITY: Role.CITY_ADMIN,
    OrgKind.DISTRICT: Role.DISTRICT_ADMIN,
    OrgKind.STREET: Role.STREET_ADMIN,
    OrgKind.COMMUNITY: Role.COMMUNITY_ADMIN,
}
#: One shared list per combination of the 三优先 (rows only read them).
_BASES: Final = {
    (party, veteran, volunteer): [
        basis.value
        for basis, on in (
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
_NO_BASIS: Final = _BASES[(False, False, False)]

# Person flags kept per id while generating (for choosing heads and registrations).
_PARTY, _VETERAN, _WORKING_AGE = 1, 2, 4


class SeedRefusedError(RuntimeError):
    """The city seed loads only into an empty, migrated database."""


def apportion(total: int, weights: Sequence[float], *, minimum: int = 0) -> list[int]:
    """Split `total` into integers proportional to `weights` (largest remainder), each
    at least `minimum`."""
    rest = total - minimum * len(weights)
    scale = rest / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(s) for s in shares]
    for i in sorted(range(len(shares)), key=lambda i: counts[i] - shares[i])[: rest - sum(counts)]:
        counts[i] += 1
    return [c + minimum for c in counts]


@dataclass(eq=False)
class _Unit:
    id: int
    kind: OrgKind
    name: str
    code: str
    parent: _Unit | None
    path: str
    district: str  # name of the district it lies in ("" for the city)
    area: str = ""  # kind of area, for streets and below
    grid_type: GridType | None = None


@dataclass(eq=False)
class _Building:
    id: int
    grid: _Unit
    community: _Unit
    name: str
    address: str
    labels: list[str]
    path: str
    households: list[int] = field(default_factory=list)
    party_org: int = 0  # its Party group, else its grid's organisation, else the branch
    has_group: bool = False
    adults: list[int] = field(default_factory=list)  # resident person ids, 18+
    party_members: list[tuple[int, int]] = field(default_factory=list)  # (person, household)


def _position(
    person: int,
    role: Role,
    place: _Unit | _Building,
    *,
    selection: SelectionMethod | None = None,
    basis: list[str] = _NO_BASIS,
    work_unit: int | None = None,
    team: str | None = None,
    staff_kind: StaffKind | None = None,
    started: datetime = _TERM_START,
    ended: datetime | None = None,
    end_reason: str | None = None,
) -> tuple[Any, ...]:
    """A `position` row without its id (numbered when written)."""
    unit, building = (place.id, None) if isinstance(place, _Unit) else (None, place.id)
    return (
        person, role.value, unit, building, place.path, selection.value if selection else None,
        basis, work_unit, team, staff_kind.value if staff_kind else None, started, ended,
        end_reason,
    )  # fmt: skip


class _City:
    """The generated city as plain rows, with precomputed ids and paths.

    Planning (tree, work units, buildings, households, Party tree) happens up front;
    people are generated lazily while COPY streams them, recording per building what
    the positions, central households and pairings are chosen from afterwards.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.units: list[_Unit] = []
        self.communities: list[_Unit] = []
        self.grids: list[_Unit] = []
        self.buildings: list[_Building] = []
        self.households: list[tuple[int, int, str, str, str, str]] = []
        self.household_building: list[_Building] = []  # by household id - 1
        self.work_units: list[tuple[int, str, WorkUnitKind, str]] = []  # (.., district or "")
        self.work_unit_pairings: list[tuple[int, int, int, str]] = []
        self.paired_units: dict[int, list[int]] = {}  # community id -> work unit ids
        self.party_orgs: list[tuple[int, str, str, int | None, int | None, int | None, str]] = []
        self.positions: list[tuple[Any, ...]] = []
        self.flags = bytearray(1)  # by person id (index 0 unused)
        self.id_cards: set[str] = set()

    # -- administrative tree ------------------------------------------------------

    def _unit(self, kind: OrgKind, name: str, code: str, parent: _Unit | None, **kw: Any) -> _Unit:
        uid = len(self.units) + 1
        path = f"{parent.path}.{uid}" if parent else str(uid)
        unit = _Unit(uid, kind, name, code, parent, path, **kw)
        self.units.append(unit)
        return unit

    def plan_tree(self) -> None:
        rng = self.rng
        city = self._unit(OrgKind.CITY, "遵义市", "520300", None, district="")
        taken = {name for pinned in _PINNED_COMMUNITIES.values() for name, _, _ in pinned}
        fixed: list[tuple[int | None, GridType | None]] = []
        for district_name, code, area, streets in _DISTRICTS:
            district = self._unit(
                OrgKind.DISTRICT, district_name, code, city, district=district_name
            )
            for s_i, stem in enumerate(streets, 1):
                street = self._unit(
                    OrgKind.STREET, names.street_name(stem), f"{code}{s_i:03d}", district,
                    district=district_name, area=area,
                )  # fmt: skip
                pinned = _PINNED_COMMUNITIES.get(street.code, ())
                count = rng.randint(4, 8) if area != "county" else rng.randint(3, 6)
                for c_i in range(1, max(count, len(pinned)) + 1):
                    name, grids, grid_type = (
                        pinned[c_i - 1]
                        if c_i <= len(pinned)
                        else (names.community_name(rng, taken), None, None)
                    )
                    self.communities.append(
                        self._unit(
                            OrgKind.COMMUNITY, name, f"{street.code}{c_i:03d}", street,
                            district=district_name, area=area,
                        )
                    )  # fmt: skip
                    fixed.append((grids, grid_type))
        pinned_grids = sum(n for n, _ in fixed if n is not None)
        free = [rng.uniform(0.4, 1.6) for n, _ in fixed if n is None]
        counts = iter(apportion(TARGETS.grids - pinned_grids, free, minimum=1))
        for community, (grids, pinned_type) in zip(self.communities, fixed, strict=True):
            for g_i in range(1, (grids or next(counts)) + 1):
                self.grids.append(
                    self._unit(
                        OrgKind.GRID,
                        names.grid_name(community.name, g_i),
                        f"{community.code}{g_i:03d}",
                        community,
                        district=community.district,
                        area=community.area,
                        grid_type=pinned_type
                        or rng.choices(_GRID_TYPES, _GRID_MIX[community.area])[0],
                    )
                )

    # -- work units (双报到) --------------------------------------------------------------

    def plan_work_units(self) -> None:
        """Organs per district and department, institutions and non-public organisations,
        each paired with 1-3 communities of its own district (city-level: anywhere)."""
        rng = self.rng
        places = ["遵义市", *(d for d, *_ in _DISTRICTS)]
        seen: set[str] = set()

        def add(name: str, kind: WorkUnitKind, place: str) -> bool:
            if name in seen:
                return False
            seen.add(name)
            district = "" if place == "遵义市" else place
            self.work_units.append((len(self.work_units) + 1, name, kind, district))
            return True

        organs = [(place, dept) for dept in _DEPARTMENTS for place in places][: TARGETS.organs]
        for place, dept in organs:
            add(place + dept, WorkUnitKind.GOVERNMENT_ORGAN, place)
        made = 0
        while made < TARGETS.institutions:
            place = rng.choice(places)
            if rng.random() < 0.15:
                name = f"{rng.choice(_BANKS)}遵义{place.removeprefix('遵义市')}支行"
            else:
                numeral = names.chinese_numeral(rng.randint(1, 30))
                name = place + rng.choice(_INSTITUTIONS).format(n=numeral)
            made += add(name, WorkUnitKind.ENTERPRISE_OR_INSTITUTION, place)
        made = 0
        while made < TARGETS.non_public:
            place = rng.choice(places)
            prefix = "遵义" if place == "遵义市" else place
            name = prefix + rng.choice(_BRANDS) + rng.choice(_NON_PUBLIC)
            made += add(name, WorkUnitKind.NON_PUBLIC_ORGANISATION, place)

        by_district: dict[str, list[_Unit]] = {}
        for community in self.communities:
            by_district.setdefault(community.district, []).append(community)
        for wu_id, _, _, district in self.work_units:
            pool = by_district[district] if district else self.communities
            for community in rng.sample(pool, min(len(pool), rng.choice((1, 1, 2, 2, 3)))):
                row = (len(self.work_unit_pairings) + 1, wu_id, community.id, community.path)
                self.work_unit_pairings.append(row)
                self.paired_units.setdefault(community.id, []).append(wu_id)

    # -- buildings, households, Party tree ------------------------------------------------

    def plan_buildings(self) -> None:
        rng = self.rng
        labels = list(CultureLabel)
        per_grid = [rng.randint(*_BUILDINGS_PER_GRID[_grid_type(g)]) for g in self.grids]
        for i in rng.sample(range(len(per_grid)), max(0, TARGETS.min_buildings - sum(per_grid))):
            per_grid[i] += 1
        estates = names.estate_names(rng, len(self.grids))
        raw: list[int] = []
        for grid, count, estate in zip(self.grids, per_grid, estates, strict=True):
            assert grid.parent is not None
            suffix, gate = names.building_suffix(rng), names.street_number(rng)
            for number in range(1, count + 1):
                bid = len(self.buildings) + 1
                name = names.building_name(number, estate, suffix=suffix)
                chosen = rng.sample(labels, rng.choice((0, 1, 1, 1, 2)))
                self.buildings.append(
                    _Building(
                        id=bid,
                        grid=grid,
                        community=grid.parent,
                        name=name,
                        address=names.address(grid.district, gate, name),
                        labels=[label.value for label in chosen],
                        path=f"{grid.path}.b{bid}",
                    )
                )
                raw.append(rng.randint(*_HOUSEHOLDS_PER_BUILDING[_grid_type(grid)]))
        for building, n in zip(
            self.buildings, apportion(TARGETS.households, raw, minimum=1), strict=True
        ):
            grid_type = _grid_type(building.grid)
            per_floor, floors = (
                (2, 6) if grid_type in (_G.OLD_ESTATE, _G.RELOCATION_RESETTLEMENT) else (4, 18)
            )
            for k in range(n):
                unit, rest = divmod(k, per_floor * floors)
                floor, door = divmod(rest, per_floor)
                hid = len(self.households) + 1
                tenure = (
                    Tenure.RENTED if rng.random() < _RENTED[grid_type] else Tenure.OWNER_OCCUPIED
                )
                self.households.append(
                    (hid, building.id, f"{unit + 1}单元", f"{floor + 1}{door + 1:02d}",
                     tenure.value, f"{building.path}.h{hid}")
                )  # fmt: skip
                self.household_building.append(building)
                building.households.append(hid)

    def _party_org(
        self, kind: PartyOrgKind, name: str, parent: int | None, place: _Unit | _Building
    ) -> int:
        oid = len(self.party_orgs) + 1
        unit, building = (place.id, None) if isinstance(place, _Unit) else (None, place.id)
        self.party_orgs.append((oid, kind.value, name, parent, unit, building, place.path))
        return oid

    def plan_party_tree(self) -> None:
        """A branch per community, organisations in 3,585 grids, groups in 6,238 of their
        buildings; a building's Party members belong to the nearest of these."""
        rng = self.rng
        branches = {
            c.id: self._party_org(PartyOrgKind.COMMUNITY_BRANCH, f"{c.name}党支部", None, c)
            for c in self.communities
        }
        grid_orgs: dict[int, int] = {}
        for grid in sorted(rng.sample(self.grids, TARGETS.grid_party_orgs), key=lambda g: g.id):
            assert grid.parent is not None
            grid_orgs[grid.id] = self._party_org(
                PartyOrgKind.GRID_PARTY_ORG, f"{grid.name}党支部", branches[grid.parent.id], grid
            )
        eligible = [b for b in self.buildings if b.grid.id in grid_orgs]
        grouped = {b.id for b in rng.sample(eligible, TARGETS.building_party_groups)}
        for b in self.buildings:
            if b.id in grouped:
                b.party_org = self._party_org(
                    PartyOrgKind.BUILDING_PARTY_GROUP, f"{b.name}党小组", grid_orgs[b.grid.id], b
                )
                b.has_group = True
            else:
                b.party_org = grid_orgs.get(b.grid.id, branches[b.community.id])

    # -- people ---------------------------------------------------------------------------

    def _person(
        self,
        m: names.Member,
        *,
        household: int | None = None,
        party_org: int | None = None,
        region: str | None = None,
        lives_alone: bool = False,
        renter: bool = False,
        path: str | None = None,
    ) -> tuple[Any, ...]:
        """A `person` row with a fresh id and a unique, encrypted ID number."""
        age = names.age_at(m.birth_date)
        pid = len(self.flags)
        working = 22 <= age < 60
        self.flags.append(
            m.is_party_member * _PARTY | m.is_veteran * _VETERAN | working * _WORKING_AGE
        )
        while (
            card := names.id_card(self.rng, m.birth_date, m.gender, region=region)
        ) in self.id_cards:
            pass
        self.id_cards.add(card)
        return (
            pid, household, party_org, m.name, m.gender.value, m.birth_date,
            names.mobile(self.rng) if age >= 14 else None,
            encrypt_id_card(card), id_card_lookup_hash(card),
            m.is_party_member, m.is_veteran, age >= names.ELDERLY_AGE, lives_alone, renter,
            m.health_notes, path,
        )  # fmt: skip

    def _household_sizes(self) -> list[int]:
        """1-4 residents per household, nudged so they add up to exactly 600,000."""
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
        rng = self.rng
        sizes = self._household_sizes()
        for (hid, _, _, _, tenure, path), b, size in zip(
            self.households, self.household_building, sizes, strict=True
        ):
            grid_type = _grid_type(b.grid)
            family = names.household_members(
                rng, size, elderly_bias=_ELDERLY_BIAS[grid_type], party_rate=_PARTY_RATE
            )
            for m in family:
                row = self._person(
                    m,
                    household=hid,
                    party_org=b.party_org if m.is_party_member else None,
                    region=_REGION.get(b.grid.district) if rng.random() < 0.8 else None,
                    lives_alone=size == 1,
                    renter=tenure == Tenure.RENTED.value,
                    path=path,
                )
                if names.age_at(m.birth_date) >= 18:
                    b.adults.append(row[0])
                if m.is_party_member:
                    b.party_members.append((row[0], hid))
                yield row

    def _outsider(self, *, party: bool, min_age: int = 24, max_age: int = 58) -> tuple[Any, ...]:
        """Someone serving here who lives elsewhere: no household, no path."""
        rng = self.rng
        gender = Gender.MALE if rng.random() < 0.55 else Gender.FEMALE
        birth: date = names.birth_date_for_age(rng, rng.randint(min_age, max_age))
        return self._person(
            names.Member(names.person_name(rng, gender), gender, birth, party, False, None)
        )

    def outsiders(self) -> Iterator[tuple[Any, ...]]:
        """Everyone else (after the residents, whose flags it reads), with their positions."""
        yield from self._registered_members()
        yield from self._seconded_cadres()
        yield from self._grid_staff()
        yield from self._admins()

    def _registered_members(self) -> Iterator[tuple[Any, ...]]:
        """在职党员报到: working-age resident Party members register where they live;
        the rest of the 100,000 live elsewhere and register with a paired community."""
        rng = self.rng
        everyone = [wu[0] for wu in self.work_units]
        residents = [
            (pid, b)
            for b in self.buildings
            for pid, _ in b.party_members
            if self.flags[pid] & _WORKING_AGE
        ][: TARGETS.registered_party_members]
        for pid, b in residents:
            unit = rng.choice(self.paired_units.get(b.community.id) or everyone)
            self.positions.append(
                _position(
                    pid,
                    Role.REGISTERED_PARTY_MEMBER,
                    b.community,
                    work_unit=unit,
                    started=_REGISTERED,
                )
            )
        for _ in range(TARGETS.registered_party_members - len(residents)):
            community = rng.choice(self.communities)
            row = self._outsider(party=True)
            unit = rng.choice(self.paired_units.get(community.id) or everyone)
            self.positions.append(
                _position(
                    row[0],
                    Role.REGISTERED_PARTY_MEMBER,
                    community,
                    work_unit=unit,
                    started=_REGISTERED,
                )
            )
            yield row

    def _seconded_cadres(self) -> Iterator[tuple[Any, ...]]:
        """下沉干部 from organs and institutions, in teams of 5-10 serving the buildings of
        the communities their unit is paired with ('遵义市民政局下沉三组')."""
        rng = self.rng
        sending = [
            wu for wu in self.work_units if wu[2] is not WorkUnitKind.NON_PUBLIC_ORGANISATION
        ]
        weights = [3.0 if wu[2] is WorkUnitKind.GOVERNMENT_ORGAN else 1.0 for wu in sending]
        buildings_of: dict[int, list[_Building]] = {}
        for b in self.buildings:
            buildings_of.setdefault(b.community.id, []).append(b)
        communities_of: dict[int, list[int]] = {}
        for _, wu_id, community_id, _ in self.work_unit_pairings:
            communities_of.setdefault(wu_id, []).append(community_id)
        for (wu_id, wu_name, _, _), total in zip(
            sending, apportion(TARGETS.seconded_cadres, weights), strict=True
        ):
            communities = communities_of[wu_id]
            left, serial = total, 0
            while left > 0:
                serial += 1
                size = min(left, rng.randint(5, 10))
                left -= size
                team = f"{wu_name}下沉{names.chinese_numeral(serial)}组"
                targets = buildings_of[communities[serial % len(communities)]]
                for _ in range(size):
                    row = self._outsider(party=rng.random() < 0.85, min_age=26)
                    self.positions.append(
                        _position(
                            row[0],
                            Role.SECONDED_CADRE,
                            rng.choice(targets),
                            work_unit=wu_id,
                            team=team,
                        )
                    )
                    yield row

    def _grid_staff(self) -> Iterator[tuple[Any, ...]]:
        """A grid worker per grid; 红管家 (guard, cleaner, electrician) serving every building
        of managed grids; shop operators (红城星店), commercial grids first."""
        rng = self.rng
        buildings_of: dict[int, list[_Building]] = {}
        for b in self.buildings:
            buildings_of.setdefault(b.grid.id, []).append(b)
        for grid in self.grids:
            row = self._outsider(party=rng.random() < 0.6)
            self.positions.append(_position(row[0], Role.GRID_WORKER, grid))
            yield row
            if grid.grid_type in (_G.NEW_ESTATE, _G.COMMERCIAL) or rng.random() < 0.3:
                for kind in StaffKind:
                    row = self._outsider(party=rng.random() < 0.2, max_age=62)
                    for b in buildings_of[grid.id]:
                        self.positions.append(
                            _position(row[0], Role.PROPERTY_STAFF, b, staff_kind=kind)
                        )
                    yield row
        commercial = [g for g in self.grids if g.grid_type is _G.COMMERCIAL]
        others = [g for g in self.grids if g.grid_type is not _G.COMMERCIAL]
        shops = rng.sample(commercial, min(len(commercial), TARGETS.shop_operators))
        shops += rng.sample(others, TARGETS.shop_operators - len(shops))
        for grid in shops:
            row = self._outsider(party=rng.random() < 0.2)
            self.positions.append(_position(row[0], Role.SHOP_OPERATOR, grid))
            yield row

    def _admins(self) -> Iterator[tuple[Any, ...]]:
        """An admin per community, street and district; two for the city."""
        for unit in self.units:
            role = _ADMIN_ROLE.get(unit.kind)
            for _ in range(0 if role is None else 2 if unit.kind is OrgKind.CITY else 1):
                assert role is not None
                row = self._outsider(party=True, min_age=30)
                self.positions.append(
                    _position(row[0], role, unit, selection=SelectionMethod.APPOINTMENT)
                )
                yield row

    # -- positions among residents, central households, 1+N ------------------------------

    def resident_positions(self) -> None:
        """Building heads (三优先 first; some with an earlier, ended term), household
        liaisons in proportion to households, and volunteers."""
        rng = self.rng
        flags = self.flags
        with_adults = [b for b in self.buildings if b.adults]
        headed = sorted(rng.sample(with_adults, TARGETS.building_heads), key=lambda b: b.id)
        history = {b.id for b in rng.sample(headed, TARGETS.ended_building_heads)}
        for b in headed:
            head = rng.choice([p for p in b.adults if flags[p] & (_PARTY | _VETERAN)] or b.adults)
            party, veteran = bool(flags[head] & _PARTY), bool(flags[head] & _VETERAN)
            volunteer = not (party or veteran) or rng.random() < 0.5
            if b.id in history:
                earlier = rng.choice([p for p in b.adults if p != head] or b.adults)
                self.positions.append(
                    _position(
                        earlier, Role.BUILDING_HEAD, b,
                        selection=SelectionMethod.NOMINATION_AND_ELECTION,
                        basis=_BASES[(False, False, True)], started=_EARLIER_TERM,
                        ended=_TERM_START - timedelta(days=1), end_reason="换届",
                    )
                )  # fmt: skip
            method = (
                SelectionMethod.APPOINTMENT
                if rng.random() < 0.08
                else SelectionMethod.NOMINATION_AND_ELECTION
            )
            self.positions.append(
                _position(
                    head, Role.BUILDING_HEAD, b,
                    selection=method,
                    basis=_BASES[(party, veteran, volunteer)],
                    started=_TERM_START + timedelta(days=rng.randrange(90)),
                )
            )  # fmt: skip
        liaisons = apportion(TARGETS.household_liaisons, [len(b.households) for b in with_adults])
        for b, n in zip(with_adults, liaisons, strict=True):
            for pid in rng.sample(b.adults, min(n, len(b.adults))):
                self.positions.append(_position(pid, Role.HOUSEHOLD_LIAISON, b))
        adults = [(pid, b) for b in with_adults for pid in b.adults]
        for pid, b in sorted(rng.sample(adults, TARGETS.volunteers), key=lambda a: a[0]):
            self.positions.append(_position(pid, Role.VOLUNTEER, b.community))

    def anchors(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """党员中心户: Party members' households in buildings with a Party group; each
        central household's member also looks after 3-5 neighbouring households (1+N)."""
        rng = self.rng
        candidates: dict[int, tuple[_Building, int]] = {}  # household -> (building, member)
        for b in self.buildings:
            if b.has_group:
                for pid, hid in b.party_members:
                    candidates.setdefault(hid, (b, pid))
        chosen = sorted(rng.sample(sorted(candidates), TARGETS.central_households))
        centrals: list[tuple[Any, ...]] = []
        pairings: list[tuple[Any, ...]] = []
        for hid in chosen:
            b, pid = candidates[hid]
            centrals.append((len(centrals) + 1, b.id, hid, pid, self.households[hid - 1][5]))
            neighbours = [h for h in b.households if h != hid]
            for other in rng.sample(neighbours, min(len(neighbours), rng.randint(3, 5))):
                pairings.append((len(pairings) + 1, pid, other, self.households[other - 1][5]))
        return centrals, pairings


def _grid_type(grid: _Unit) -> GridType:
    return grid.grid_type or _G.OLD_ESTATE


# -- loading ------------------------------------------------------------------------------

_COLUMNS: Final = {
    "org_unit": ("id", "kind", "name", "code", "parent_id", "path", "grid_type"),
    "work_unit": ("id", "name", "kind"),
    "work_unit_pairing": ("id", "work_unit_id", "community_id", "path"),
    "building": ("id", "grid_id", "name", "address", "culture_labels", "motto", "path"),
    "household": ("id", "building_id", "unit", "room", "tenure", "path"),
    "party_organisation": ("id", "kind", "name", "parent_id", "org_unit_id", "building_id", "path"),
    "person": (
        "id", "household_id", "party_org_id", "name", "gender", "birth_date", "phone",
        "id_card_cipher", "id_card_hash", "is_party_member", "is_veteran", "is_elderly",
        "lives_alone", "is_renter", "health_notes", "path",
    ),
    "position": (
        "id", "person_id", "role", "org_unit_id", "building_id", "path", "selection_method",
        "priority_basis", "work_unit_id", "team", "staff_kind", "started_at", "ended_at",
        "end_reason",
    ),
    "central_household": ("id", "building_id", "household_id", "party_member_id", "path"),
    "pairing": ("id", "party_member_id", "household_id", "path"),
}  # fmt: skip


class _Clock:
    """Prints each phase with its row count and duration as it finishes."""

    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()

    def lap(self, what: str, rows: int | None = None) -> None:
        now = time.perf_counter()
        count = f"{rows:>10,} rows" if rows is not None else ""
        report(f"  {what:<50}{count:>15}  {now - self.last:6.1f}s")
        self.last = now


def _copy(conn: psycopg.Connection[Any], table: str, rows: Iterable[Sequence[Any]]) -> int:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, _COLUMNS[table]))
    )
    n = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def _refuse_unless_empty(conn: psycopg.Connection[Any]) -> None:
    try:
        filled = [
            table
            for table in TABLES
            if conn.execute(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))
            ).fetchone()
            == (True,)
        ]
    except psycopg.errors.UndefinedTable as exc:
        raise SeedRefusedError("the database is not migrated: run `app.py migrate` first") from exc
    if filled:
        raise SeedRefusedError(
            "the city seed loads only into an empty database, but these tables have rows: "
            + ", ".join(filled)
            + ". Point it at a freshly created and migrated database."
        )


def _drop_secondary(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """Drop the loaded tables' foreign keys, unique constraints and non-key indexes;
    return (table, DDL) to recreate them: indexes and unique constraints, then keys."""
    tables = [sql.Identifier(t).as_string(conn) for t in TABLES]
    constraints = conn.execute(
        """SELECT c.contype, c.conname, t.relname, pg_get_constraintdef(c.oid)
             FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
            WHERE t.oid = ANY(%s::regclass[]) AND c.contype IN ('f', 'u')
            ORDER BY c.contype, t.relname, c.conname""",
        (tables,),
    ).fetchall()
    indexes = conn.execute(
        """SELECT ix.relname, t.relname, pg_get_indexdef(i.indexrelid)
             FROM pg_index i
             JOIN pg_class ix ON ix.oid = i.indexrelid
             JOIN pg_class t ON t.oid = i.indrelid
            WHERE t.oid = ANY(%s::regclass[]) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            ORDER BY t.relname, ix.relname""",
        (tables,),
    ).fetchall()
    builds: list[tuple[str, str]] = []
    keys: list[tuple[str, str]] = []
    for kind, name, table, definition in constraints:  # 'f' sorts first: keys drop first
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )
        ddl = (
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ")
            .format(sql.Identifier(table), sql.Identifier(name))
            .as_string(conn)
        )
        (keys if kind == "f" else builds).append((table, ddl + definition))
    for name, table, definition in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        builds.append((table, definition))
    by_table = sorted(builds, key=lambda b: TABLES.index(b[0]))
    return by_table + keys


def _recreate(conn: psycopg.Connection[Any], ddl: list[tuple[str, str]], clock: _Clock) -> None:
    """Run the DDL, timing each run of same-table, same-sort statements together."""
    groups: list[tuple[str, bool, list[str]]] = []
    for table, statement in ddl:
        is_key = "FOREIGN KEY" in statement
        if not groups or groups[-1][:2] != (table, is_key):
            groups.append((table, is_key, []))
        groups[-1][2].append(statement)
    for table, is_key, statements in groups:
        for statement in statements:
            conn.execute(statement.encode())
        what = "validated foreign keys" if is_key else "built indexes"
        clock.lap(f"{what} of {table} ({len(statements)})")


def _setval(conn: psycopg.Connection[Any]) -> None:
    """Move each identity sequence past the ids COPY wrote, so later inserts don't collide."""
    for table in TABLES:
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), coalesce(max(id), 0) + 1, false)"
                " FROM {}"
            ).format(sql.Identifier(table)),
            (sql.Identifier(table).as_string(conn),),
        )


def seed_city(libpq_uri: str, *, rebuild_indexes: bool = True) -> None:
    """Generate the city and bulk-load it into an empty migrated database, atomically.

    `rebuild_indexes=False` keeps indexes and keys during the load (slower; for measuring).
    """
    clock = _Clock()
    city = _City(random.Random(CITY_SEED))
    with psycopg.connect(libpq_uri, autocommit=True) as conn:
        _refuse_unless_empty(conn)
        report("seeding the city-scale data set (Zunyi at the size the source text reports)")
        city.plan_tree()
        city.plan_work_units()
        city.plan_buildings()
        city.plan_party_tree()
        clock.lap("planned the tree, buildings, households, Party tree")
        with conn.transaction():
            conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
            # the figures are counted once at the end, not per COPY; no one is notified
            conn.execute(f"SET LOCAL {BULK_SETTING} = on")
            ddl = _drop_secondary(conn) if rebuild_indexes else []
            clock.lap(f"dropped {len(ddl)} secondary indexes and constraints")
            units = (
                (u.id, u.kind.value, u.name, u.code, u.parent.id if u.parent else None, u.path,
                 u.grid_type.value if u.grid_type else None)
                for u in city.units
            )  # fmt: skip
            clock.lap("org_unit", _copy(conn, "org_unit", units))
            work_units = ((i, name, kind.value) for i, name, kind, _ in city.work_units)
            clock.lap("work_unit", _copy(conn, "work_unit", work_units))
            clock.lap(
                "work_unit_pairing", _copy(conn, "work_unit_pairing", city.work_unit_pairings)
            )
            buildings = (
                (b.id, b.grid.id, b.name, b.address, b.labels,
                 names.MOTTOS[CultureLabel(b.labels[0])] if b.labels else None, b.path)
                for b in city.buildings
            )  # fmt: skip
            clock.lap("building", _copy(conn, "building", buildings))
            clock.lap("household", _copy(conn, "household", city.households))
            clock.lap("party_organisation", _copy(conn, "party_organisation", city.party_orgs))
            clock.lap(
                "person: residents (ID numbers encrypted)", _copy(conn, "person", city.residents())
            )
            clock.lap(
                "person: cadres, members, staff, admins", _copy(conn, "person", city.outsiders())
            )
            city.resident_positions()
            positions = ((i, *p) for i, p in enumerate(city.positions, 1))
            clock.lap("position", _copy(conn, "position", positions))
            centrals, pairings = city.anchors()
            clock.lap("central_household", _copy(conn, "central_household", centrals))
            clock.lap("pairing", _copy(conn, "pairing", pairings))
            _recreate(conn, ddl, clock)
            _setval(conn)
            conn.execute("SELECT figures_recompute()")
            conn.execute(f"SET LOCAL {BULK_SETTING} = off")
            clock.lap("counted the display figures of every node")
        clock.lap("committed")
        conn.execute("ANALYZE")
        clock.lap("analyzed")
        size = conn.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        ).fetchone()
    elapsed = time.perf_counter() - clock.start
    report(f"seeded the city in {elapsed:.1f}s; database size {size[0] if size else '?'}")
