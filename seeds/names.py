"""Deterministic generators of plausible (but fake) Zunyi personal and place data.

Every function draws only from the `random.Random` it is given, so a seed fixes
the output: tests, the demo city and the city-scale data set are reproducible.
Ages are measured at `REFERENCE_DATE` (the date of the source article), not at
today's date, for the same reason.
"""

from __future__ import annotations

import itertools
import operator
import random
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

from models.org import CultureLabel
from models.people import Gender

REFERENCE_DATE = date(2024, 9, 14)
ELDERLY_AGE = 60

# Common surnames with rough relative frequencies (Guizhou leans to 王/李/张/刘/陈/杨/罗/吴).
_SURNAMES: tuple[tuple[str, int], ...] = (
    ("王", 70), ("李", 68), ("张", 60), ("刘", 52), ("陈", 50), ("杨", 45), ("罗", 30),
    ("吴", 28), ("赵", 26), ("黄", 26), ("周", 24), ("徐", 18), ("孙", 16), ("马", 15),
    ("朱", 15), ("胡", 15), ("郭", 14), ("何", 14), ("高", 13), ("林", 12), ("郑", 11),
    ("梁", 10), ("谢", 10), ("宋", 9), ("唐", 9), ("许", 8), ("韩", 8), ("冯", 8),
    ("邓", 8), ("曹", 7), ("彭", 7), ("曾", 7), ("肖", 7), ("田", 7), ("董", 6),
    ("袁", 6), ("潘", 6), ("蒋", 6), ("蔡", 5), ("余", 5), ("杜", 5), ("叶", 5),
    ("程", 5), ("魏", 5), ("丁", 4), ("任", 4), ("沈", 4), ("姚", 4), ("卢", 4),
    ("钟", 4), ("谭", 4), ("陆", 3), ("汪", 3), ("石", 3), ("廖", 3), ("夏", 3),
    ("韦", 3), ("付", 3), ("熊", 3), ("龙", 3), ("雷", 3), ("贺", 3), ("毛", 3),
    ("令", 2), ("蹇", 1), ("冉", 2), ("邹", 2), ("向", 2), ("母", 1), ("穆", 1),
)  # fmt: skip
_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "公孙")
_SURNAME_CHOICES = tuple(s for s, _ in _SURNAMES)
_SURNAME_WEIGHTS = tuple(w for _, w in _SURNAMES)

_MALE_CHARS = (
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林洋勋亮成东峰建国志文德福贵富兴祥"
)
_FEMALE_CHARS = "芳娟敏静丽艳娜霞燕玲桂英萍红梅琴兰凤洁莉倩婷雪琳晶颖慧蓉秀珍翠芬露月莹佳欣怡悦"
_NEUTRAL_CHARS = "永海金春晓云天庆家一玉思子雨安立秋"

_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
    "155", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182", "183",
    "185", "186", "187", "188", "189", "191", "198", "199",
)  # fmt: skip

#: GB/T 2260 codes of Zunyi's districts, counties and county-level cities (ID-card regions).
ZUNYI_REGION_CODES = (
    "520302", "520303", "520304", "520322", "520323", "520324", "520325",
    "520326", "520327", "520328", "520329", "520330", "520381", "520382",
)  # fmt: skip

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Age pyramid of an old urban estate: (min age, max age, people per year of age); ~36% are 60+.
_AGE_BANDS: tuple[tuple[int, int, int], ...] = (
    (0, 14, 10),
    (15, 29, 11),
    (30, 44, 16),
    (45, 59, 23),
    (60, 69, 22),
    (70, 79, 17),
    (80, 96, 7),
)

_ROADS = (
    "中华北路", "中华南路", "凤凰北路", "凤凰南路", "延安路", "海尔大道", "上海路", "北京路",
    "大连路", "珠海路", "香港路", "人民路", "湘江大道", "万里路", "丁字口", "洗马路",
    "宁波路", "南京路", "苏州路", "厦门路", "深圳路", "航天大道", "红旗路", "新华路",
    "民主路", "官井路", "长征大道", "南白大道", "国酒大道", "迎宾大道", "桂花路", "辰州大道",
)  # fmt: skip
_ESTATES = (
    "幸福里", "凤凰苑", "锦绣花园", "阳光小区", "和平里", "金桂苑", "碧云小区", "红星小区",
    "丁字口小区", "长征小区", "湘江花园", "桃溪苑", "电厂宿舍", "纺织厂小区", "铁路新村",
    "龙凤家园", "明珠花园", "怡景苑", "春晖小区", "翠微苑", "新华小区", "滨江花园",
    "南门关小区", "红花岗小区", "宁波花园", "枫林苑", "茶香小区", "安居苑", "惠民小区", "泰和园",
)  # fmt: skip
_COMMUNITY_STEMS = (
    "丁字口", "凤凰山", "湘江", "桃溪", "新华", "和平", "官井", "碧云", "明珠", "红岩",
    "万里", "延安", "南门", "北京路", "大连路", "珠海", "高桥", "董公寺", "南白", "桂花",
    "龙坑", "新中", "礼仪", "盐津", "中枢", "苍龙", "坛厂", "鲁班", "长征", "忠庄",
    "舟水", "沙河", "观坝", "航天", "锦江", "海龙", "团泽", "泗渡", "龙泉", "三岔",
    "鸭溪", "茅台", "九仓", "喜头", "马家湾", "杨柳", "石板", "兰馨", "金鼎", "文化",
)  # fmt: skip
_COMMUNITY_SUFFIXES = ("", "路", "园", "苑", "坝", "湾", "桥", "里")
_NUMERALS = "一二三四五六七八九十"

#: 一楼一特: the motto painted on a building's culture wall, by its first label.
MOTTOS: dict[CultureLabel, str] = {
    CultureLabel.MORAL_MODEL: "德润楼栋，善行邻里",
    CultureLabel.PARTY_PIONEER: "党员带头，楼栋争先",
    CultureLabel.ELDER_CARE: "敬老爱老，邻里相帮",
    CultureLabel.LABOUR_MODEL: "劳动光荣，实干兴楼",
    CultureLabel.CLEAN_AND_GREEN: "我的楼栋我清洁，我的楼栋我爱护",
    CultureLabel.VETERANS: "退伍不褪色，楼栋当尖兵",
    CultureLabel.NEIGHBOURLY: "从陌邻到睦邻",
}


def chinese_numeral(n: int) -> str:
    """1..99 as Chinese numerals (一, 十二, 二十三) for team and grid names."""
    if n <= 10:
        return _NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    head = "十" if tens == 1 else _NUMERALS[tens - 1] + "十"
    return head + (_NUMERALS[ones - 1] if ones else "")


def surname(rng: random.Random) -> str:
    return rng.choices(_SURNAME_CHOICES, _SURNAME_WEIGHTS)[0]


def given_name(rng: random.Random, gender: Gender, length: int) -> str:
    own = _MALE_CHARS if gender is Gender.MALE else _FEMALE_CHARS
    chars = [rng.choice(own if rng.random() < 0.8 else _NEUTRAL_CHARS) for _ in range(length)]
    return "".join(chars)


def person_name(rng: random.Random, gender: Gender, family: str | None = None) -> str:
    """A 2-, 3- or 4-character name (3 most common; 4 only with a compound surname).

    `family` forces the surname, so children share their father's.
    """
    if family is None:
        roll = rng.random()
        if roll < 0.03:
            return rng.choice(_COMPOUND_SURNAMES) + given_name(rng, gender, 2)
        family = surname(rng)
        return family + given_name(rng, gender, 1 if roll < 0.25 else 2)
    return family + given_name(rng, gender, 2 if rng.random() < 0.75 else 1)


def family_name(name: str) -> str:
    """The surname of a name produced by `person_name`."""
    return name[:2] if name[:2] in _COMPOUND_SURNAMES else name[:1]


def mobile(rng: random.Random) -> str:
    """An 11-digit mainland mobile number with a real carrier prefix (not a real subscriber)."""
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


def id_card_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of GB 11643 resident ID numbers."""
    total = sum(map(operator.mul, map(int, first17), _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def is_valid_id_card(value: str) -> bool:
    return (
        len(value) == 18
        and value[:17].isdigit()
        and id_card_check_char(value[:17]) == value[17].upper()
    )


def id_card(rng: random.Random, birth: date, gender: Gender, *, region: str | None = None) -> str:
    """An 18-character ID number: region, birth date, sequence (odd = male), check char."""
    region = region or rng.choice(ZUNYI_REGION_CODES)
    seq = rng.randrange(50) * 2 + (1 if gender is Gender.MALE else 0)
    first17 = f"{region}{birth:%Y%m%d}{rng.randrange(10)}{seq:02d}"
    return first17 + id_card_check_char(first17)


def age_at(birth: date, on: date = REFERENCE_DATE) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def birth_date_for_age(rng: random.Random, age: int, on: date = REFERENCE_DATE) -> date:
    """A birth date making the person exactly `age` on `on`."""
    try:
        latest = on.replace(year=on.year - age)
    except ValueError:  # 29 February in a common year
        latest = on.replace(year=on.year - age, day=28)
    return latest - timedelta(days=rng.randrange(365))


@lru_cache(maxsize=64)
def _clipped_bands(min_age: int, max_age: int) -> tuple[list[tuple[int, int]], list[int]]:
    clipped = [(max(lo, min_age), min(hi, max_age), w) for lo, hi, w in _AGE_BANDS]
    kept = [(lo, hi, w * (hi - lo + 1)) for lo, hi, w in clipped if lo <= hi]
    return [(lo, hi) for lo, hi, _ in kept], list(itertools.accumulate(w for *_, w in kept))


def random_age(rng: random.Random, *, min_age: int = 0, max_age: int = 96) -> int:
    """An age drawn from the old-estate pyramid, clipped to [min_age, max_age]."""
    bands, cumulative = _clipped_bands(min_age, max_age)
    lo, hi = rng.choices(bands, cum_weights=cumulative)[0]
    return rng.randint(lo, hi)


def birth_date(rng: random.Random, *, min_age: int = 0, max_age: int = 96) -> date:
    return birth_date_for_age(rng, random_age(rng, min_age=min_age, max_age=max_age))


def estate_name(rng: random.Random) -> str:
    return rng.choice(_ESTATES)


def estate_names(rng: random.Random, count: int) -> list[str]:
    """`count` estate names, all distinct while the pool lasts (then it is reshuffled:
    a city has several 幸福小区)."""
    pool = list(_ESTATES) + [
        stem + kind
        for stem in _COMMUNITY_STEMS
        for kind in ("小区", "花园", "家园", "新村", "佳苑", "公馆")
    ]
    out: list[str] = []
    while len(out) < count:
        out += rng.sample(pool, min(len(pool), count - len(out)))
    return out


def building_suffix(rng: random.Random) -> str:
    """How an estate numbers its buildings: '栋' mostly, else '号楼' (one style per estate)."""
    return "栋" if rng.random() < 0.7 else "号楼"


def building_name(number: int, estate: str | None = None, *, suffix: str = "栋") -> str:
    """'3栋', or with the estate and its suffix: '幸福里2号楼', '凤凰苑5栋'."""
    return f"{estate or ''}{number}{suffix}"


def road(rng: random.Random) -> str:
    return rng.choice(_ROADS)


def street_number(rng: random.Random) -> str:
    """An estate's gate: '上海路123号'."""
    return f"{road(rng)}{rng.randint(1, 399)}号"


def address(district: str, gate: str, building: str) -> str:
    """A postal-style address: 贵州省遵义市汇川区上海路123号幸福里2号楼."""
    return f"贵州省遵义市{district}{gate}{building}"


def community_name(rng: random.Random, taken: set[str]) -> str:
    """A fresh '<stem><suffix>社区' name not in `taken` (which it updates)."""
    for _ in range(1000):
        name = rng.choice(_COMMUNITY_STEMS) + rng.choice(_COMMUNITY_SUFFIXES) + "社区"
        if name not in taken:
            taken.add(name)
            return name
    name = f"{rng.choice(_COMMUNITY_STEMS)}第{len(taken) + 1}社区"
    taken.add(name)
    return name


def street_name(stem: str) -> str:
    return stem if stem.endswith(("街道", "镇", "乡")) else stem + "街道"


def grid_name(community: str, number: int) -> str:
    """'仁和苑社区第3网格'."""
    return f"{community}第{number}网格"


_HEALTH_NOTES = (
    "高血压",
    "糖尿病",
    "行动不便",
    "听力下降",
    "冠心病",
    "需定期上门体检",
    "独居需关照",
)


class Member(NamedTuple):
    """One resident of a generated household (flags the household decides are left out)."""

    name: str
    gender: Gender
    birth_date: date
    is_party_member: bool
    is_veteran: bool
    health_notes: str | None


def household_size(rng: random.Random, *, elderly_bias: float) -> int:
    """1-4 residents; old estates (high `elderly_bias`) have more people living alone."""
    return rng.choices((1, 2, 3, 4), (0.18 + 0.2 * elderly_bias, 0.38, 0.26, 0.18))[0]


def household_members(
    rng: random.Random, size: int, *, elderly_bias: float = 0.5, party_rate: float = 0.12
) -> list[Member]:
    """A plausible family: a single (often elderly) person, a couple, or a couple with a
    child and possibly a grandparent. `elderly_bias` in [0, 1] raises the share of
    elderly heads of household (old estates, resettlement sites).
    """
    people: list[tuple[str, Gender, int]] = []
    elderly_head = rng.random() < 0.25 + 0.5 * elderly_bias
    head_age = (
        random_age(rng, min_age=60) if elderly_head else random_age(rng, min_age=22, max_age=59)
    )
    if size == 1:
        gender = Gender.FEMALE if rng.random() < 0.6 else Gender.MALE  # widows outlive widowers
        people.append((person_name(rng, gender), gender, head_age))
    else:
        husband = person_name(rng, Gender.MALE)
        family = family_name(husband)
        wife_age = max(20, head_age - rng.randint(-2, 5))
        people += [
            (husband, Gender.MALE, head_age),
            (person_name(rng, Gender.FEMALE), Gender.FEMALE, wife_age),
        ]
        for i in range(size - 2):
            if i == 1 and head_age + 28 <= 96 and rng.random() < 0.5:
                gender = Gender.MALE if rng.random() < 0.4 else Gender.FEMALE
                grandparent = person_name(rng, gender, family if gender is Gender.MALE else None)
                people.append((grandparent, gender, min(96, head_age + rng.randint(24, 32))))
                continue
            gender = Gender.MALE if rng.random() < 0.5 else Gender.FEMALE
            child_age = max(0, head_age - rng.randint(24, 34))
            people.append((person_name(rng, gender, family), gender, child_age))
    members = []
    for name, gender, age in people:
        adult = age >= 18
        members.append(
            Member(
                name=name,
                gender=gender,
                birth_date=birth_date_for_age(rng, age),
                is_party_member=adult and rng.random() < party_rate * (1.3 if age >= 60 else 1.0),
                is_veteran=gender is Gender.MALE and age >= 30 and rng.random() < 0.07,
                health_notes=rng.choice(_HEALTH_NOTES)
                if age >= ELDERLY_AGE and rng.random() < 0.45
                else None,
            )
        )
    return members
