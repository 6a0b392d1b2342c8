"""The register (台账) over GraphQL: check a spreadsheet (a dry run with a report per row),
import it all or nothing, export a node's register with the field policy on every cell.

Files arrive as `Upload` variables (the GraphQL multipart request spec, `schema.uploads`) and
leave as base64 in a `SpreadsheetFile`. The command line (`app.py import-register`) runs the
same check and import as the system, through `run_file`.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.file_uploads import Upload

from models import org as mo
from models.audit import AuditAction
from models.crypto import decrypt_id_card
from permissions import people as people_rules
from permissions import register as rules
from permissions.actor import Actor
from permissions.org import CREATE_HOUSEHOLD
from permissions.policy import Access, rule
from permissions.rules import decide
from resolvers import identity as ri
from resolvers import register as r
from resolvers.errors import Common, DomainError
from resolvers.people import CHINA
from schema.context import Context, Info
from schema.declare import expose
from schema.errors import UserError, domain_error
from schema.operations import Facts, Mutation, Refs, authorize
from schema.policy import OWN, relations_to
from schema.relay import to_global_id

expose(r.RowProblem, name="RegisterRowProblem", description="Why a row cannot be imported.")

#: Problems listed in the answer at most (all of them are in the report file).
MAX_PROBLEMS = 1_000


@domain_error(r.RegisterCode)
class RegisterError(UserError):
    """Why a register file was refused as a whole (a row's problems are in the report)."""


@strawberry.type(description="A file to download: decode `contentBase64` and save it.")
class SpreadsheetFile:
    filename: str
    media_type: str
    byte_size: int
    sha256: str
    content_base64: str

    @classmethod
    def of(cls, content: bytes, filename: str) -> SpreadsheetFile:
        return cls(
            filename=filename,
            media_type=r.XLSX,
            byte_size=len(content),
            sha256=r.digest(content),
            content_base64=base64.b64encode(content).decode("ascii"),
        )


@strawberry.type(description="One problem of one row.")
class RegisterProblem:
    row: int = strawberry.field(description="The spreadsheet's row number (the header is 1).")
    column: str | None = strawberry.field(description="The column's header; null: the row.")
    code: r.RowProblem
    message: str


_HEADERS = {c.key: c.header for c in r.LAYOUT}


@strawberry.type(description="What a register file would do: its rows checked one by one.")
class RegisterCheck:
    check: strawberry.Private[r.Check]
    filename: strawberry.Private[str]

    @strawberry.field(description="Residents in the file.")
    def rows(self) -> int:
        return len(self.check.rows)

    @strawberry.field(description="Residents the import adds.")
    def new_residents(self) -> int:
        return self.check.count(r.RowStatus.NEW)

    @strawberry.field(description="Households the import adds.")
    def new_households(self) -> int:
        return len(self.check.new_households)

    @strawberry.field(description="Residents in the register exactly as the file says.")
    def unchanged(self) -> int:
        return self.check.count(r.RowStatus.UNCHANGED)

    @strawberry.field(description="Rows with problems: while any is left, nothing is imported.")
    def invalid_rows(self) -> int:
        return self.check.invalid

    @strawberry.field(description="The SHA-256 of the file checked.")
    def sha256(self) -> str:
        return self.check.sha256

    @strawberry.field(description=f"The first problems (at most {MAX_PROBLEMS}).")
    def problems(self, first: int = 100) -> list[RegisterProblem]:
        wanted = max(0, min(first, MAX_PROBLEMS))
        return [
            RegisterProblem(
                row=p.row,
                column=_HEADERS.get(p.column) if p.column else None,
                code=p.code,
                message=p.message,
            )
            for p in self.check.problems[:wanted]
        ]

    @strawberry.field(description="The file with a 问题 column and every cell at fault marked.")
    async def report(self) -> SpreadsheetFile:
        content = await asyncio.to_thread(r.write_report, self.check)
        return SpreadsheetFile.of(content, f"校验结果-{self.filename}")


@strawberry.input(
    description="A register file (.xlsx, one row per resident) for a community or grid."
)
class RegisterFileInput:
    org_unit_id: strawberry.ID = strawberry.field(description="The community or grid.")
    file: Upload


@strawberry.type
class RegisterCheckPayload:
    check: RegisterCheck | None
    errors: list[RegisterError]


@strawberry.type
class ImportRegisterPayload:
    check: RegisterCheck | None
    households_created: int
    residents_created: int
    errors: list[RegisterError]


# --- the one pipeline of the API and the command line ---------------------------------------


@dataclass
class Outcome:
    check: r.Check
    filename: str
    imported: r.Imported | None = None


@dataclass(frozen=True)
class _Place:
    """A building, or a household still to be created in it, as the rules see a row."""

    id: int
    path: str


async def _permits(ctx: Context, buildings: list[r.BuildingRef]) -> dict[int, r.Permit]:
    """createHousehold's and createPerson's own rules, decided for every building."""
    found: dict[int, r.Permit] = {}
    for building in buildings:
        place = _Place(building.id, building.path)
        facts = Facts(
            ctx, SimpleNamespace(), Refs(rows={"building_id": place, "household_id": place})
        )
        found[building.id] = r.Permit(
            households=await decide(CREATE_HOUSEHOLD, ctx.actor, facts),
            people=await decide(people_rules.CREATE_PERSON, ctx.actor, facts),
        )
    return found


def refusal_key(actor: Actor) -> str | None:
    """Refused rows count where refused createPerson calls count: one budget for probing."""
    return people_rules.refusal_key(actor, "createPerson")


async def _allowance(session: AsyncSession, actor: Actor) -> int:
    key = refusal_key(actor)
    limit = people_rules.refusal_limit("createPerson")
    if key is None or limit is None:
        return 1 << 30  # the system: nothing to probe
    return await ri.refusals_left(session, key, limit.limit, limit.window)


async def run_file(
    ctx: Context,
    node: mo.OrgUnit,
    content: bytes,
    filename: str,
    *,
    write: bool,
) -> Outcome:
    """Check `content` for `node` as `ctx.actor` (with `write`, holding the import lock, so
    that the import that follows sees every import before it). The people behind refused
    rows that could probe for ID numbers are noted for the audit log; the caller holds
    `check.probing` to its allowance and counts it once the attempt is decided."""
    if node.kind not in (mo.OrgKind.COMMUNITY, mo.OrgKind.GRID):
        raise DomainError(
            Common.VALIDATION, "import the register of a community or a grid", "org_unit_id"
        )
    sheet = await asyncio.to_thread(r.read_sheet, content)
    if write:
        await r.lock_imports(ctx.session)
    scope = ctx.loaders.scope
    buildings = await r.buildings_under(ctx.session, node, scope)
    check = await r.check_register(
        ctx.session,
        sheet=sheet,
        sha256=r.digest(content),
        buildings=buildings,
        permits=await _permits(ctx, buildings),
        scope=scope,
    )
    _note_refusals(ctx, check)
    return Outcome(check, filename)


def _note_refusals(ctx: Context, check: r.Check) -> None:
    if check.outside:
        ctx.audit.record(
            ctx.who,
            AuditAction.MUTATION,
            "Person",
            check.outside,
            ["idCardNumber"],
            details={"mutation": "importRegister", "refusal": "DUPLICATE_OUTSIDE_SCOPE"},
        )


def _summary(node: mo.OrgUnit, outcome: Outcome) -> dict[str, Any]:
    check = outcome.check
    return {
        "orgUnit": str(to_global_id("OrgUnit", r.as_int(node.id))),
        "file": outcome.filename,
        "sha256": check.sha256,
        "rows": len(check.rows),
        "newResidents": check.count(r.RowStatus.NEW),
        "newHouseholds": len(check.new_households),
        "unchanged": check.count(r.RowStatus.UNCHANGED),
        "invalidRows": check.invalid,
    }


def audit_import(ctx: Context, node: mo.OrgUnit, outcome: Outcome, operation: str) -> None:
    """What an import created, one entry per table, with the file's digest and counts."""
    imported = outcome.imported
    if imported is None:
        return
    details = {"mutation": operation, **_summary(node, outcome)}
    ctx.audit.record(
        ctx.who, AuditAction.MUTATION, "Household", imported.household_ids, [], details=details
    )
    fields = sorted(f for _, f in (rules.COLUMN_FIELDS[k] for k in rules.COLUMN_FIELDS))
    ctx.audit.record(
        ctx.who, AuditAction.MUTATION, "Person", imported.person_ids, fields, details=details
    )


def _filename(upload: Any) -> str:
    name = str(getattr(upload, "filename", None) or "register.xlsx")
    return "".join(ch for ch in name if ch.isprintable() and ch not in '/\\"')[-100:]


async def _content(upload: Any) -> bytes:
    if not hasattr(upload, "read"):
        raise DomainError(Common.VALIDATION, "send the file as a multipart upload", "file")
    content = await upload.read()
    return bytes(content)


class _RegisterFile:
    """What checking and importing share (a mixin: each is its own `Mutation`)."""

    write: bool = False

    def __init__(self) -> None:
        self.node: mo.OrgUnit | None = None
        self.outcome: Outcome | None = None
        self.allowance = 0
        self.over_limit = False

    async def admit(self, ctx: Context, input: RegisterFileInput) -> None:
        self.allowance = await _allowance(ctx.session, ctx.actor)
        if self.allowance <= 0:
            raise DomainError(Common.RATE_LIMITED, "too many refused attempts: try again later")

    async def perform(self, ctx: Context, input: RegisterFileInput, refs: Refs) -> Outcome:
        self.node = refs.row_of("org_unit_id", mo.OrgUnit)
        content = await _content(input.file)
        self.outcome = await run_file(
            ctx,
            self.node,
            content,
            _filename(input.file),
            write=self.write,
        )
        if self.outcome.check.probing > self.allowance:
            # Row by row, the refusals past the allowance would tell a registered number
            # from a new one: the whole file is refused instead (its probes still count).
            self.over_limit = True
            raise DomainError(Common.RATE_LIMITED, "too many refused rows: try again later")
        if self.write:
            self.outcome.imported = await r.apply_import(ctx.session, self.outcome.check)
        return self.outcome

    async def settle(
        self,
        ctx: Context,
        input: RegisterFileInput,
        result: Outcome | None,
        errors: list[UserError],
    ) -> None:
        """Refused rows that could probe count like refused createPerson calls (after the
        attempt's savepoint, so a refused import counts them too)."""
        key = refusal_key(ctx.actor)
        if key is not None and self.outcome is not None and self.outcome.check.probing:
            await ri.count_refusal(ctx.session, key, self.outcome.check.probing)

    def audit(
        self, info: Info, input: RegisterFileInput, result: Outcome | None, errors: list[UserError]
    ) -> None:
        ctx = info.context
        details: dict[str, Any] = {
            "mutation": info.field_name,
            "errors": [str(e.code) for e in errors],
        }
        if self.node is not None and self.outcome is not None:
            details.update(_summary(self.node, self.outcome))
        ctx.audit.record(
            ctx.who,
            AuditAction.MUTATION,
            "Register",
            [self.node.id] if self.node is not None and self.node.id is not None else [],
            ["file", "orgUnitId"],
            details=details,
        )
        if result is not None and self.node is not None:
            audit_import(ctx, self.node, result, info.field_name)

    def _check(self) -> RegisterCheck | None:
        if self.outcome is None or self.over_limit:
            return None
        return RegisterCheck(check=self.outcome.check, filename=self.outcome.filename)


class CheckRegisterImport(
    _RegisterFile, Mutation[RegisterFileInput, Outcome, RegisterCheckPayload]
):
    """A dry run: every row checked (formats, buildings, the file, the register in your
    scope), nothing written. The report marks each problem; fix them, then import."""

    refs = {"org_unit_id": mo.OrgUnit}
    permission = rules.IMPORT_REGISTER
    errors = RegisterError

    def payload(self, result: Outcome | None, errors: list[UserError]) -> RegisterCheckPayload:
        return RegisterCheckPayload(check=self._check(), errors=errors)  # type: ignore[arg-type]


class ImportRegister(_RegisterFile, Mutation[RegisterFileInput, Outcome, ImportRegisterPayload]):
    """Check the file again and import it: every new household and resident in one
    transaction, or nothing (ROWS_REFUSED, with the check) while any row has a problem.
    Residents registered exactly as the file says are left alone, so a file imported twice
    changes nothing."""

    refs = {"org_unit_id": mo.OrgUnit}
    permission = rules.IMPORT_REGISTER
    errors = RegisterError
    write = True

    def payload(self, result: Outcome | None, errors: list[UserError]) -> Any:
        imported = result.imported if result is not None else None
        return ImportRegisterPayload(
            check=self._check(),
            households_created=len(imported.household_ids) if imported else 0,
            residents_created=len(imported.person_ids) if imported else 0,
            errors=errors,  # type: ignore[arg-type]
        )


# --- export ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _ExportArgs:
    org_unit_id: str | None
    building_id: str | None


def _withheld(access: Access, value: Any, field_rule: Any) -> Any:
    if access is Access.DENIED or value is None:
        return None
    if access is Access.MASKED:
        return field_rule.mask(value) if field_rule and field_rule.mask else None
    return value


async def register_cells(ctx: Context, record: r.RegisterRecord) -> list[str]:
    """One resident's row, each cell as the field policy lets the caller read that value
    through the API (full reads of personal data noted for the audit log)."""
    person, household = record.person, record.household
    relations = {
        "Person": await relations_to(ctx, "Person", person),
        "Household": await relations_to(ctx, "Household", household),
    }
    rows: dict[str, Any] = {"Person": person, "Household": household}

    def access(type_name: str, field: str) -> Access:
        if ctx.actor.unrestricted:
            return Access.FULL
        found = rule(type_name, field)
        return found.access(relations[type_name], rows[type_name]) if found else Access.DENIED

    placed = access(*rules.PLACE_GATE) is not Access.DENIED
    raw: dict[str, Any] = {
        "building": record.building_name,
        "unit": household.unit,
        "room": household.room,
        "name": person.name,
        "gender": person.gender,
        "phone": person.phone,
        "relationship": person.relationship,
        **{k: getattr(person, k) for k in r.FLAG_COLUMNS},
    }
    cells: list[str] = []
    for column in r.LAYOUT:
        type_name, field = rules.COLUMN_FIELDS[column.key]
        decided = access(type_name, field)
        if column.key in rules.PLACE_COLUMNS and not placed:
            decided = Access.DENIED
        if column.key == "id_card":
            value = (
                decrypt_id_card(person.id_card_cipher)
                if person.id_card_cipher and decided is not Access.DENIED
                else None
            )
        else:
            value = raw[column.key]
        field_rule = rule(type_name, field)
        shown = _withheld(decided, value, field_rule)
        if decided is Access.FULL and shown is not None and field_rule and field_rule.personal:
            row = rows[type_name]
            own = bool(ctx.relations.get((type_name, row.id), set()) & OWN)
            ctx.audit.read(type_name, row.id, field, own=own)
        cells.append(r.cell_text(column.key, shown))
    return cells


async def export_register(ctx: Context, place: Any, title: str) -> SpreadsheetFile:
    records = await r.register_records(ctx.session, str(place.path), ctx.loaders.scope)
    rows = [await register_cells(ctx, record) for record in records]
    content = await asyncio.to_thread(r.write_register, rows, title)
    stamp = datetime.now(CHINA).strftime("%Y%m%d")
    exported = SpreadsheetFile.of(content, f"台账-{title}-{stamp}.xlsx")
    ctx.audit.record(
        ctx.who,
        AuditAction.READ,
        "Register",
        [place.id],
        [c.header for c in r.LAYOUT],
        details={
            "export": "register",
            "place": type(place).__name__,
            "residents": len(rows),
            "sha256": exported.sha256,
        },
    )
    return exported


@strawberry.type
class RegisterQuery:
    @strawberry.field(
        description="The register (台账) of a community, grid or building as .xlsx, one row per"
        " resident in the import layout; each cell as the field policy shows it to you (a"
        " masked value exports masked). Audited."
    )
    async def export_register(
        self,
        info: Info,
        org_unit_id: strawberry.ID | None = None,
        building_id: strawberry.ID | None = None,
    ) -> SpreadsheetFile:
        if (org_unit_id is None) == (building_id is None):
            raise DomainError(
                Common.VALIDATION, "give exactly one of `orgUnitId` and `buildingId`", "org_unit_id"
            )
        args = _ExportArgs(org_unit_id, building_id)
        refs = await authorize(
            info,
            rules.EXPORT_REGISTER,
            args,
            {"org_unit_id": mo.OrgUnit, "building_id": mo.Building},
        )
        place: Any = refs.row("org_unit_id") or refs.row("building_id")
        title = place.code if isinstance(place, mo.OrgUnit) else place.name
        return await export_register(info.context, place, str(title))


@strawberry.type
class RegisterMutation:
    check_register_import = CheckRegisterImport.field()
    import_register = ImportRegister.field()


# --- the command line -------------------------------------------------------------------


async def import_from_command_line(
    sessions: async_sessionmaker[AsyncSession],
    org_unit_code: str,
    content: bytes,
    filename: str,
    *,
    write: bool,
) -> Outcome:
    """`app.py import-register`: the operator, with access to the database itself, acts as
    the system (the node is the scope); audited like an import over the API."""
    import sqlalchemy as sa
    from sqlmodel import col

    request_id = f"cli-{uuid.uuid4().hex}"
    async with Context.open(sessions, request_id, Actor.system()) as ctx:
        node = await ctx.session.scalar(
            sa.select(mo.OrgUnit).where(col(mo.OrgUnit.code) == org_unit_code)
        )
        if node is None:
            raise DomainError(Common.NOT_FOUND, f"no org unit with code {org_unit_code}")
        ctx.audit.operation_name = "import-register" if write else "import-register --dry-run"
        try:
            outcome = await run_file(
                ctx,
                node,
                content,
                filename,
                write=write,
            )
            if write and not outcome.check.invalid:
                outcome.imported = await r.apply_import(ctx.session, outcome.check)
        except DomainError:
            await ctx.session.rollback()
            raise
        ctx.audit.record(
            ctx.who,
            AuditAction.MUTATION,
            "Register",
            [node.id] if node.id is not None else [],
            ["file", "orgUnitId"],
            details={"command": "import-register", "dryRun": not write, **_summary(node, outcome)},
        )
        audit_import(ctx, node, outcome, "import-register")
        if not write:
            await ctx.session.rollback()
        await ctx.audit.write(ctx.session, ctx.who)
        await ctx.session.commit()
        return outcome
