"""The register (台账): households and residents as a community office keeps them in a
spreadsheet, one row per resident. Reading and writing .xlsx (openpyxl), checking every row
against the register (a dry run), importing a checked file in one go, and the rows of an
export. What the caller may see and do is decided by the schema layer and handed in.

Workbooks are read and written in worker threads (`asyncio.to_thread`): 10,000 rows take
about a second of CPU that the event loop must not spend.
"""

from __future__ import annotations

import enum
import hashlib
import io
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import Ltree
from models.crypto import encrypt_id_card, id_card_lookup_hash, normalise_id_card
from models.org import Building, Household, OrgUnit, Tenure
from models.people import Gender, HouseholdRelationship, Person
from resolvers.errors import Common, DomainError
from resolvers.loaders import ScopeFn
from resolvers.people import id_card_check_character, today, validate_phone

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Rows one file may hold (a large community has a few thousand residents).
MAX_ROWS = 20_000
#: Residents one export may hold: export a smaller node beyond that.
MAX_EXPORT_ROWS = 50_000
#: A workbook's parts, unpacked, may be this many times the upload (a zip bomb is refused).
MAX_EXPANSION = 40
#: The advisory-lock key of imports: one import at a time, so a second one sees the first.
REGISTER_LOCK = 0x7E615


class RegisterCode(enum.StrEnum):
    """Codes of the register's operations (a file, not a row, at fault)."""

    INVALID_FILE = "INVALID_FILE"
    MISSING_COLUMN = "MISSING_COLUMN"
    TOO_MANY_ROWS = "TOO_MANY_ROWS"
    ROWS_REFUSED = "ROWS_REFUSED"
    CONFLICT = "CONFLICT"


class RowProblem(enum.StrEnum):
    """Why one row of a file cannot be imported (the validation report's codes)."""

    MISSING_VALUE = "MISSING_VALUE"
    INVALID_VALUE = "INVALID_VALUE"
    INVALID_ID_CARD = "INVALID_ID_CARD"
    INVALID_PHONE = "INVALID_PHONE"
    UNKNOWN_BUILDING = "UNKNOWN_BUILDING"
    AMBIGUOUS_BUILDING = "AMBIGUOUS_BUILDING"
    DUPLICATE_IN_FILE = "DUPLICATE_IN_FILE"
    DUPLICATE_IN_REGISTER = "DUPLICATE_IN_REGISTER"
    FORBIDDEN = "FORBIDDEN"


#: Problems that could tell whether an ID number is registered: each one counts against the
#: caller's refusals (as a refused createPerson does), whichever of the two it is.
PROBING = frozenset({RowProblem.DUPLICATE_IN_REGISTER, RowProblem.FORBIDDEN})


class RowStatus(enum.StrEnum):
    NEW = "NEW"  # imported as a new resident
    UNCHANGED = "UNCHANGED"  # in the register already, exactly so
    INVALID = "INVALID"  # has problems; nothing of the file is imported


# --- the layout ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    #: other headers offices use for the same column
    aliases: tuple[str, ...] = ()
    required: bool = False
    width: int = 10


FLAG_COLUMNS: dict[str, str] = {
    "is_party_member": "党员",
    "is_veteran": "退役军人",
    "lives_alone": "独居",
    "is_elderly": "高龄",
    "is_renter": "租户",
}

#: One row per resident, in this order on export; on import columns are found by header.
LAYOUT: tuple[Column, ...] = (
    Column("building", "楼栋", ("楼栋名称", "楼栋号", "楼号"), required=True, width=14),
    Column("unit", "单元", ("单元号",), required=True, width=6),
    Column("room", "房号", ("房间号", "门牌号", "室"), required=True, width=8),
    Column("name", "姓名", required=True, width=10),
    Column("gender", "性别", required=True, width=6),
    Column("id_card", "身份证号", ("身份证号码", "公民身份号码"), required=True, width=22),
    Column("phone", "联系电话", ("电话", "手机", "手机号", "手机号码"), width=14),
    Column("relationship", "与户主关系", ("关系",), width=10),
    *(Column(key, header, width=8) for key, header in FLAG_COLUMNS.items()),
)
PROBLEM_HEADER = "问题"

_TRUE = frozenset({"是", "√", "✓", "✔", "y", "yes", "true", "1", "有"})
_FALSE = frozenset({"否", "", "×", "n", "no", "false", "0", "无"})
_GENDERS = {"男": Gender.MALE, "女": Gender.FEMALE, "male": Gender.MALE, "female": Gender.FEMALE}
_GENDERS |= {"m": Gender.MALE, "f": Gender.FEMALE}
R = HouseholdRelationship
RELATIONSHIP_LABELS: dict[HouseholdRelationship, str] = {
    R.HEAD: "户主",
    R.SPOUSE: "配偶",
    R.CHILD: "子女",
    R.PARENT: "父母",
    R.GRANDCHILD: "孙子女",
    R.SIBLING: "兄弟姐妹",
    R.OTHER: "其他",
}
_RELATIONSHIPS: dict[str, HouseholdRelationship] = {
    **{label: member for member, label in RELATIONSHIP_LABELS.items()},
    **{member.value.lower(): member for member in R},
    **dict.fromkeys(("本人", "户主本人"), R.HEAD),
    **dict.fromkeys(("妻", "夫", "妻子", "丈夫"), R.SPOUSE),
    **dict.fromkeys(("子", "女", "儿子", "女儿", "长子", "长女", "次子", "次女"), R.CHILD),
    **dict.fromkeys(("父亲", "母亲", "父", "母"), R.PARENT),
    **dict.fromkeys(("孙子", "孙女", "外孙子", "外孙女", "外孙"), R.GRANDCHILD),
    **dict.fromkeys(("兄", "弟", "姐", "妹", "兄弟", "姐妹"), R.SIBLING),
}
GENDER_LABELS = {Gender.MALE: "男", Gender.FEMALE: "女"}


# --- reading a file -----------------------------------------------------------------


@dataclass
class SheetRow:
    """One row of the file as written (cells as text, '' for empty)."""

    number: int  # the spreadsheet's own row number (the header is row 1)
    cells: dict[str, str]


@dataclass(frozen=True)
class Sheet:
    rows: list[SheetRow]
    #: the headers as the file had them, in its order (kept for the report)
    headers: list[str]
    #: header position of each known column
    positions: dict[str, int]


def _text(value: Any) -> str:
    """A cell as text: Excel stores 302 and 1 as numbers, ID numbers typed without a quote
    as floats (losing digits: those fail their check character and are reported)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header(value: Any) -> str:
    return "".join(_text(value).split())


def _not_a_workbook() -> DomainError:
    return DomainError(RegisterCode.INVALID_FILE, "the file is not an .xlsx workbook", "file")


def _check_archive(content: bytes) -> None:
    """Refuse what is no .xlsx, or unpacks to far more than it weighs (a zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise _not_a_workbook() from None
    if unpacked > MAX_EXPANSION * max(len(content), 1 << 16):
        raise DomainError(RegisterCode.INVALID_FILE, "the workbook unpacks too large", "file")


def read_sheet(content: bytes) -> Sheet:
    """The first worksheet's rows, by the layout's headers (CPU-bound: run in a thread)."""
    _check_archive(content)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise _not_a_workbook() from None
    try:
        sheet = book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        first = next(lines, None)
        if first is None:
            raise DomainError(RegisterCode.INVALID_FILE, "the first sheet is empty", "file")
        headers = [_text(v) for v in first]
        found = {_header(h): i for i, h in reversed(list(enumerate(headers))) if h}
        positions: dict[str, int] = {}
        for column in LAYOUT:
            for name in (column.header, *column.aliases):
                if name in found:
                    positions[column.key] = found[name]
                    break
        missing = [c.header for c in LAYOUT if c.required and c.key not in positions]
        if missing:
            raise DomainError(
                RegisterCode.MISSING_COLUMN,
                f"the first row must name the columns; missing: {'、'.join(missing)}",
                "file",
            )
        rows: list[SheetRow] = []
        for number, values in enumerate(lines, start=2):
            cells = {
                key: _text(values[i]) if i < len(values) else "" for key, i in positions.items()
            }
            if not any(cells.values()):
                continue  # blank lines between blocks are common
            if len(rows) >= MAX_ROWS:
                raise DomainError(
                    RegisterCode.TOO_MANY_ROWS,
                    f"a file holds at most {MAX_ROWS} residents: split it by grid",
                    "file",
                )
            rows.append(SheetRow(number, cells))
        return Sheet(rows, headers, positions)
    finally:
        book.close()


# --- checking rows --------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    row: int
    column: str | None  # a LAYOUT key, or None for the whole row
    code: RowProblem
    message: str


@dataclass
class Resident:
    """A row's values once checked."""

    building_id: int
    unit: str
    room: str
    name: str
    gender: Gender
    id_card: str
    birth_date: date
    phone: str | None
    relationship: HouseholdRelationship | None
    flags: dict[str, bool]

    @property
    def place(self) -> tuple[int, str, str]:
        return (self.building_id, self.unit, self.room)


@dataclass
class CheckedRow:
    row: SheetRow
    status: RowStatus = RowStatus.NEW
    resident: Resident | None = None
    problems: list[Problem] = field(default_factory=list)
    #: the registered person a row names (UNCHANGED, or in scope and different)
    person_id: int | None = None


@dataclass(frozen=True)
class BuildingRef:
    id: int
    name: str
    path: str


@dataclass(frozen=True)
class Permit:
    """What the caller may do at one building (decided by the schema layer from the rules of
    createHousehold and createPerson)."""

    households: bool
    people: bool


@dataclass
class Check:
    """The outcome of a dry run (and the plan of an import)."""

    rows: list[CheckedRow]
    sheet: Sheet
    sha256: str
    #: households to create, by (building id, unit, room), with their tenure
    new_households: dict[tuple[int, str, str], Tenure]
    #: existing households of the node by (building id, unit, room)
    households: dict[tuple[int, str, str], int]
    #: people whose numbers the file repeats but the caller may not see (for the audit)
    outside: list[int]
    #: rows refused in a way that counts against the caller (see PROBING)
    probing: int

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.rows for p in r.problems]

    @property
    def invalid(self) -> int:
        return sum(1 for r in self.rows if r.problems)

    def count(self, status: RowStatus) -> int:
        return sum(1 for r in self.rows if r.status is status)


def _flag(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def birth_date_of(id_card: str) -> date | None:
    """The birth date written in an 18-character resident ID (digits 7-14), if it is one."""
    try:
        born = date(int(id_card[6:10]), int(id_card[10:12]), int(id_card[12:14]))
    except ValueError:
        return None
    return born if date(1900, 1, 1) <= born <= today() else None


def gender_of(id_card: str) -> Gender:
    """The 17th character: odd for men, even for women (GB 11643)."""
    return Gender.MALE if int(id_card[16]) % 2 else Gender.FEMALE


def _text_problem(value: str, limit: int) -> str | None:
    if any(ch < " " for ch in value):
        return "contains control characters"
    if len(value) > limit:
        return f"is longer than {limit} characters"
    return None


_LENGTHS = {"building": 60, "unit": 20, "room": 20, "name": 40}
_HEADERS = {c.key: c.header for c in LAYOUT}


class _RowCheck:
    """The checks of one row on its own, each noting its problems on the row."""

    def __init__(self, row: SheetRow) -> None:
        self.checked = CheckedRow(row)
        self.cells = row.cells

    def problem(self, column: str | None, code: RowProblem, message: str) -> None:
        self.checked.problems.append(Problem(self.checked.row.number, column, code, message))

    def texts(self) -> None:
        for column in LAYOUT:
            if column.required and not self.cells.get(column.key, ""):
                self.problem(column.key, RowProblem.MISSING_VALUE, f"{column.header} is empty")
        for key, limit in _LENGTHS.items():
            why = _text_problem(self.cells.get(key, ""), limit)
            if why:
                self.problem(key, RowProblem.INVALID_VALUE, f"{_HEADERS[key]} {why}")

    def building(self, buildings: Mapping[str, list[BuildingRef]]) -> BuildingRef | None:
        name = self.cells.get("building")
        if not name:
            return None
        matches = buildings.get(name, [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            message = f"{len(matches)} buildings here are named {name!r}: import by grid"
            self.problem("building", RowProblem.AMBIGUOUS_BUILDING, message)
        else:
            self.problem(
                "building", RowProblem.UNKNOWN_BUILDING, f"no building named {name!r} here"
            )
        return None

    def gender(self) -> Gender | None:
        given = self.cells.get("gender")
        found = _GENDERS.get(given.strip().lower()) if given else None
        if given and found is None:
            self.problem("gender", RowProblem.INVALID_VALUE, "性别 is 男 or 女")
        return found

    def id_card(self, gender: Gender | None) -> tuple[str, date] | None:
        if not self.cells.get("id_card"):
            return None
        number = normalise_id_card(self.cells["id_card"])
        well_formed = (
            len(number) == 18
            and number[:17].isdigit()
            and (number[17].isdigit() or number[17] == "X")
        )
        why: str | None = None
        born = birth_date_of(number) if well_formed else None
        if not well_formed:
            why = "身份证号 must be 18 characters"
        elif id_card_check_character(number[:17]) != number[17]:
            why = "身份证号: the check character is wrong"
        elif born is None:
            why = "身份证号: no valid birth date in it"
        if why is not None or born is None:
            self.problem("id_card", RowProblem.INVALID_ID_CARD, why or "身份证号 is not valid")
            return None
        if gender is not None and gender_of(number) is not gender:
            self.problem("gender", RowProblem.INVALID_VALUE, "性别 does not match the 身份证号")
        return number, born

    def phone(self) -> str | None:
        if not self.cells.get("phone"):
            return None
        try:
            return validate_phone(self.cells["phone"])
        except DomainError:
            message = "联系电话 must be an 11-digit mobile number"
            self.problem("phone", RowProblem.INVALID_PHONE, message)
            return None

    def relationship(self) -> HouseholdRelationship | None:
        given = self.cells.get("relationship")
        found = _RELATIONSHIPS.get(given.strip().lower()) if given else None
        if given and found is None:
            labels = "、".join(RELATIONSHIP_LABELS.values())
            self.problem("relationship", RowProblem.INVALID_VALUE, f"与户主关系 is one of {labels}")
        return found

    def flags(self) -> dict[str, bool]:
        flags: dict[str, bool] = {}
        for key, header in FLAG_COLUMNS.items():
            flag = _flag(self.cells.get(key, ""))
            if flag is None:
                self.problem(key, RowProblem.INVALID_VALUE, f"{header} is 是 or 否 (or empty)")
            flags[key] = bool(flag)
        return flags


def parse_row(row: SheetRow, buildings: Mapping[str, list[BuildingRef]]) -> CheckedRow:
    """Check one row on its own (formats, the building); the register comes later."""
    check = _RowCheck(row)
    check.texts()
    building = check.building(buildings)
    gender = check.gender()
    identity = check.id_card(gender)
    phone = check.phone()
    relationship = check.relationship()
    flags = check.flags()
    checked = check.checked
    if checked.problems or building is None or gender is None or identity is None:
        checked.status = RowStatus.INVALID
        return checked
    checked.resident = Resident(
        building_id=building.id,
        unit=row.cells["unit"],
        room=row.cells["room"],
        name=row.cells["name"],
        gender=gender,
        id_card=identity[0],
        birth_date=identity[1],
        phone=phone,
        relationship=relationship,
        flags=flags,
    )
    return checked


async def buildings_under(
    session: AsyncSession, node: OrgUnit, scope: ScopeFn
) -> list[BuildingRef]:
    """The buildings of a community or grid the caller sees."""
    found = await session.execute(
        sa.select(col(Building.id), col(Building.name), col(Building.path))
        .where(col(Building.path).op("<@")(sa.literal(node.path, Ltree())))
        .where(*scope(Building))
        .order_by(col(Building.id))
    )
    return [BuildingRef(as_int(i), str(n), str(p)) for i, n, p in found]


@dataclass(frozen=True)
class Registered:
    """A registered person an ID number in the file names."""

    id: int
    in_scope: bool
    household_id: int | None
    values: tuple[Any, ...]


def _comparable(
    name: str,
    gender: Gender,
    phone: str | None,
    relationship: HouseholdRelationship | None,
    flags: Mapping[str, bool],
) -> tuple[Any, ...]:
    return (name, gender, phone, relationship, *(flags[k] for k in FLAG_COLUMNS))


async def _registered(
    session: AsyncSession, numbers: Iterable[str], scope: ScopeFn
) -> dict[str, Registered]:
    """The people holding these ID numbers anywhere, each marked in or out of the caller's
    scope (one statement: whether it is there must not change what runs)."""
    by_hash = {id_card_lookup_hash(n): n for n in numbers}
    if not by_hash:
        return {}
    conditions = scope(Person)
    in_scope = sa.and_(sa.true(), *conditions) if conditions else sa.true()
    rows = await session.execute(
        sa.select(
            col(Person.id_card_hash),
            col(Person.id),
            in_scope.label("in_scope"),
            col(Person.household_id),
            col(Person.name),
            col(Person.gender),
            col(Person.phone),
            col(Person.relationship),
            *(getattr(Person, k) for k in FLAG_COLUMNS),
        ).where(col(Person.id_card_hash).in_(list(by_hash)))
    )
    found: dict[str, Registered] = {}
    for lookup, ident, visible, household_id, name, gender, phone, relationship, *flags in rows:
        values = _comparable(
            name, Gender(gender), phone, relationship, dict(zip(FLAG_COLUMNS, flags, strict=True))
        )
        found[by_hash[bytes(lookup)]] = Registered(int(ident), bool(visible), household_id, values)
    return found


async def _households(
    session: AsyncSession, building_ids: Sequence[int], scope: ScopeFn
) -> dict[tuple[int, str, str], int]:
    if not building_ids:
        return {}
    rows = await session.execute(
        sa.select(
            col(Household.building_id), col(Household.unit), col(Household.room), col(Household.id)
        )
        .where(col(Household.building_id).in_(list(building_ids)))
        .where(*scope(Household))
    )
    return {(as_int(b), str(u), str(r)): as_int(i) for b, u, r, i in rows}


async def check_register(
    session: AsyncSession,
    *,
    sheet: Sheet,
    sha256: str,
    buildings: Sequence[BuildingRef],
    permits: Mapping[int, Permit],
    scope: ScopeFn,
) -> Check:
    """Check every row: on its own, against the rest of the file, against the register.

    An ID number registered in the caller's scope is a DUPLICATE_IN_REGISTER (or UNCHANGED
    when the row says exactly what the register holds, so importing a file twice changes
    nothing); registered outside it, the row is FORBIDDEN like a row the caller may not
    import, and the person is noted for the audit log. Each such refusal counts against the
    caller (`Check.probing`: the caller refuses the whole file beyond its allowance).
    """
    by_name: dict[str, list[BuildingRef]] = defaultdict(list)
    for building in buildings:
        by_name[building.name].append(building)
    rows = [parse_row(row, by_name) for row in sheet.rows]
    _mark_repeats(rows)
    residents = [c for c in rows if c.resident is not None and not c.problems]
    households = await _households(session, [b.id for b in buildings], scope)
    numbers = [c.resident.id_card for c in residents if c.resident]
    against = _AgainstRegister(households, await _registered(session, numbers, scope))
    for checked in residents:
        against.decide(checked, permits)
    tenures = {
        place: Tenure.RENTED if all(renters) else Tenure.OWNER_OCCUPIED
        for place, renters in against.new_households.items()
    }
    return Check(rows, sheet, sha256, tenures, households, against.outside, against.probing)


def _mark_repeats(rows: list[CheckedRow]) -> None:
    """A number the file has already given: DUPLICATE_IN_FILE, naming the first row."""
    first_of: dict[str, int] = {}
    for checked in rows:
        if checked.resident is None:
            continue
        number = checked.resident.id_card
        if number in first_of:
            message = f"the same 身份证号 as row {first_of[number]}"
            problem = Problem(checked.row.number, "id_card", RowProblem.DUPLICATE_IN_FILE, message)
            checked.problems.append(problem)
            checked.status = RowStatus.INVALID
        else:
            first_of[number] = checked.row.number


_FORBIDDEN = "you may not do this here"


class _AgainstRegister:
    """Rows against the register and the caller's permits (see `check_register`)."""

    def __init__(
        self,
        households: Mapping[tuple[int, str, str], int],
        registered: Mapping[str, Registered],
    ) -> None:
        self.households = households
        self.registered = registered
        self.probing = 0
        self.outside: list[int] = []
        self.new_households: dict[tuple[int, str, str], list[bool]] = {}

    def refuse(self, checked: CheckedRow, code: RowProblem, message: str) -> None:
        if code in PROBING:
            self.probing += 1
        checked.problems.append(Problem(checked.row.number, None, code, message))
        checked.status = RowStatus.INVALID

    def decide(self, checked: CheckedRow, permits: Mapping[int, Permit]) -> None:
        resident = checked.resident
        assert resident is not None
        existing = self.registered.get(resident.id_card)
        household_id = self.households.get(resident.place)
        if existing is not None:
            self.known(checked, resident, existing, household_id)
            return
        permit = permits.get(resident.building_id, Permit(households=False, people=False))
        if not permit.people or (household_id is None and not permit.households):
            self.refuse(checked, RowProblem.FORBIDDEN, _FORBIDDEN)
        elif household_id is None:
            renting = resident.flags["is_renter"]
            self.new_households.setdefault(resident.place, []).append(renting)

    def known(
        self,
        checked: CheckedRow,
        resident: Resident,
        existing: Registered,
        household_id: int | None,
    ) -> None:
        """A registered number: outside the scope FORBIDDEN (noted), inside UNCHANGED when
        the row says what the register holds, else DUPLICATE_IN_REGISTER."""
        if not existing.in_scope:
            self.outside.append(existing.id)
            self.refuse(checked, RowProblem.FORBIDDEN, _FORBIDDEN)
            return
        checked.person_id = existing.id
        same = _comparable(
            resident.name, resident.gender, resident.phone, resident.relationship, resident.flags
        )
        if household_id is not None and existing.household_id == household_id:
            if existing.values == same:
                checked.status = RowStatus.UNCHANGED
                return
            message = "registered in this household with other details: the import adds"
            message += " residents and never changes them (correct them one by one)"
        else:
            message = "this 身份证号 is registered already, in another household"
        self.refuse(checked, RowProblem.DUPLICATE_IN_REGISTER, message)


# --- importing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    household_ids: list[int]
    person_ids: list[int]


_CHUNK = 1_000


async def apply_import(session: AsyncSession, check: Check) -> Imported:
    """Write what `check` planned: new households, then new residents, in batches (one
    statement per thousand rows). Refuses with CONFLICT if the register changed meanwhile."""
    if check.invalid:
        raise DomainError(
            RegisterCode.ROWS_REFUSED,
            f"{check.invalid} rows have problems: fix them and check again; nothing was imported",
            "file",
        )
    households = dict(check.households)
    created: list[int] = []
    try:
        places = list(check.new_households.items())
        for start in range(0, len(places), _CHUNK):
            chunk = places[start : start + _CHUNK]
            rows = await session.execute(
                postgresql.insert(Household)
                .values(
                    [
                        {"building_id": b, "unit": u, "room": r, "tenure": tenure}
                        for (b, u, r), tenure in chunk
                    ]
                )
                .returning(
                    col(Household.id),
                    col(Household.building_id),
                    col(Household.unit),
                    col(Household.room),
                )
            )
            for ident, b, u, r in rows:
                households[(as_int(b), str(u), str(r))] = as_int(ident)
                created.append(as_int(ident))
        people: list[int] = []
        new = [c.resident for c in check.rows if c.status is RowStatus.NEW and c.resident]
        for start in range(0, len(new), _CHUNK):
            values = [
                {
                    "household_id": households[resident.place],
                    "name": resident.name,
                    "gender": resident.gender,
                    "birth_date": resident.birth_date,
                    "phone": resident.phone,
                    "id_card_cipher": encrypt_id_card(resident.id_card),
                    "id_card_hash": id_card_lookup_hash(resident.id_card),
                    "relationship": resident.relationship,
                    **resident.flags,
                }
                for resident in new[start : start + _CHUNK]
            ]
            inserted = await session.execute(
                postgresql.insert(Person).values(values).returning(col(Person.id))
            )
            people.extend(as_int(i) for i in inserted.scalars())
    except IntegrityError:
        raise DomainError(
            RegisterCode.CONFLICT,
            "the register changed while importing (a resident or household was added"
            " meanwhile): check the file again",
            "file",
        ) from None
    return Imported(created, people)


async def lock_imports(session: AsyncSession) -> None:
    """One import at a time (any node): a second one waits, then sees the first's rows."""
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(REGISTER_LOCK)))


def as_int(value: Any) -> int:
    """An id read back from a row (typed optional by its column, never null here)."""
    return int(value)


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# --- the report and the export --------------------------------------------------------

_PROBLEM_FILL = PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
_HEADER_FONT = Font(bold=True)


def write_report(check: Check) -> bytes:
    """The file as it was, with a 问题 column and every cell at fault marked (CPU-bound)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "校验结果"
    keys = [c.key for c in LAYOUT if c.key in check.sheet.positions]
    headers = {c.key: c.header for c in LAYOUT}
    sheet.append([headers[k] for k in keys] + ["状态", PROBLEM_HEADER])
    for cell in sheet[1]:
        cell.font = _HEADER_FONT
    status_labels = {
        RowStatus.NEW: "新增",
        RowStatus.UNCHANGED: "已在台账",
        RowStatus.INVALID: "有问题",
    }
    for line, checked in enumerate(check.rows, start=2):
        messages = [f"{p.code}: {p.message}" for p in checked.problems]
        sheet.append(
            [checked.row.cells.get(k, "") for k in keys]
            + [status_labels[checked.status], "；".join(messages)]
        )
        for found in checked.problems:
            at = keys.index(found.column) + 1 if found.column in keys else len(keys) + 2
            cell = sheet.cell(row=line, column=at)
            cell.fill = _PROBLEM_FILL
            cell.comment = Comment(f"{found.code}: {found.message}", "校验")
    _widths(sheet, [next(c.width for c in LAYOUT if c.key == k) for k in keys] + [10, 60])
    return _saved(book)


def write_register(rows: Iterable[Sequence[str]], title: str) -> bytes:
    """The register's layout with `rows` as given (the caller applied the field policy)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31] or "台账")
    header = [c.header for c in LAYOUT]
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    return _saved(book)


def _widths(sheet: Any, widths: Sequence[int]) -> None:
    from openpyxl.utils import get_column_letter

    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _saved(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class RegisterRecord:
    """One resident of an export, with the place they live."""

    person: Person
    household: Household
    building_name: str


async def register_records(
    session: AsyncSession, node_path: str, scope: ScopeFn
) -> list[RegisterRecord]:
    """The residents under a node the caller sees, by building, unit and room."""
    statement = (
        sa.select(Person, Household, col(Building.name))
        .join(Household, col(Household.id) == col(Person.household_id))
        .join(Building, col(Building.id) == col(Household.building_id))
        .where(col(Person.path).op("<@")(sa.literal(node_path, Ltree())))
        .where(*scope(Person))
        .order_by(
            col(Building.name),
            col(Building.id),
            col(Household.unit),
            col(Household.room),
            col(Household.id),
            col(Person.id),
        )
        .limit(MAX_EXPORT_ROWS + 1)
    )
    found = [RegisterRecord(p, h, str(n)) for p, h, n in await session.execute(statement)]
    if len(found) > MAX_EXPORT_ROWS:
        raise DomainError(
            Common.VALIDATION,
            f"more than {MAX_EXPORT_ROWS} residents: export a street, community or grid",
            "org_unit_id",
        )
    return found


#: How a value of each column is written on export (masked or withheld values as given).
def cell_text(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "gender" and isinstance(value, Gender):
        return GENDER_LABELS[value]
    if key == "relationship" and isinstance(value, HouseholdRelationship):
        return RELATIONSHIP_LABELS[value]
    if key in FLAG_COLUMNS:
        return "是" if value else "否"
    return str(value)
