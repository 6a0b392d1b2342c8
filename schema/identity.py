"""Sign-in, sessions, accounts, API tokens, revealing masked data, and the audit log."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from models import audit as ma
from models import identity as mi
from models import org as mo
from models import people as mp
from permissions.operations import may_query
from permissions.policy import REVEALABLE, REVEALERS, Access, decide
from resolvers import audit as ra
from resolvers import identity as r
from resolvers.errors import DomainError, ErrorCode
from schema import enums  # noqa: F401  (registers GraphQL enums)
from schema.auth import request_address
from schema.common import (
    audit_mutation,
    forbidden,
    mutate,
    page_args,
    require,
    require_manageable,
)
from schema.context import Info
from schema.errors import UserError
from schema.org import BuildingNode, HouseholdNode, OrgUnitNode
from schema.people import PersonNode
from schema.policy import relations_to
from schema.relay import Connection, Node, connection, expect_id, from_global_id, to_global_id


@strawberry.type(description="A role the signed-in person holds, and where.")
class ViewerGrant:
    role: str
    path: strawberry.Private[str]

    @strawberry.field(description="The org unit where the role is held (null for a building).")
    async def org_unit(self, info: Info) -> OrgUnitNode | None:
        label = self.path.rpartition(".")[2]
        if not label.isdigit():
            return None
        row = await info.context.loaders.get(mo.OrgUnit, int(label))
        return OrgUnitNode.from_row(row) if row else None

    @strawberry.field(description="The building where the role is held.")
    async def building(self, info: Info) -> BuildingNode | None:
        label = self.path.rpartition(".")[2]
        if not label.startswith("b"):
            return None
        row = await info.context.loaders.get(mo.Building, int(label[1:]))
        return BuildingNode.from_row(row) if row else None


@strawberry.type(
    description="What happened to an account's sign-ins: failures, back-offs, the last sign-in."
)
class AccountSecurity:
    failed_sign_ins: int = strawberry.field(
        description="Failed or held-back sign-ins for this phone in the current window "
        "(it starts afresh a day after the first one), from any address."
    )
    last_failed_sign_in_at: datetime | None
    locked_until: datetime | None = strawberry.field(
        description="The latest end of a back-off on this phone from some client address; "
        "other addresses (yours, usually) are not held back by it."
    )
    last_signed_in_at: datetime | None
    password_changed_at: datetime

    @classmethod
    def of(cls, account: mi.Account) -> AccountSecurity:
        return cls(
            failed_sign_ins=account.failed_attempts,
            last_failed_sign_in_at=account.last_failed_at,
            locked_until=account.locked_until,
            last_signed_in_at=account.last_signed_in_at,
            password_changed_at=account.password_changed_at,
        )


SECURITY_FIELDS = ["failedSignIns", "lastFailedSignInAt", "lockedUntil", "lastSignedInAt"]


@strawberry.type(description="Who this request acts as.")
class Viewer:
    kind: str = strawberry.field(description="PERSON, TOKEN or ANONYMOUS.")
    roles: list[str]
    grants: list[ViewerGrant]
    person_id: strawberry.Private[int | None]
    account_id: strawberry.Private[int | None]

    @strawberry.field(description="Your own account's sign-in record (null without one).")
    async def security(self, info: Info) -> AccountSecurity | None:
        if self.account_id is None:
            return None
        account = await info.context.session.get(mi.Account, self.account_id)
        return AccountSecurity.of(account) if account else None

    @strawberry.field
    async def person(self, info: Info) -> PersonNode | None:
        row = await info.context.loaders.get(mp.Person, self.person_id)
        return PersonNode.from_row(row) if row else None

    @strawberry.field(description="The signed-in person's own household.")
    async def household(self, info: Info) -> HouseholdNode | None:
        person = await info.context.loaders.get(mp.Person, self.person_id)
        if person is None:
            return None
        row = await info.context.loaders.get(mo.Household, person.household_id)
        return HouseholdNode.from_row(row) if row else None


@strawberry.type(name="ApiToken", description="A machine credential bound to a node.")
class ApiTokenNode(Node):
    row: strawberry.Private[mi.ApiToken]
    name: str
    role: mi.TokenRole
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def from_row(cls, row: mi.ApiToken) -> ApiTokenNode:
        assert row.id is not None
        return cls(
            id=to_global_id("ApiToken", row.id),
            row=row,
            name=row.name,
            role=row.role,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )

    @strawberry.field
    async def org_unit(self, info: Info) -> OrgUnitNode | None:
        row = await info.context.loaders.get(mo.OrgUnit, self.row.org_unit_id)
        return OrgUnitNode.from_row(row) if row else None


@strawberry.type(name="AuditEntry", description="One append-only audit record.")
class AuditEntryNode(Node):
    at: datetime
    action: ma.AuditAction
    actor_kind: str
    actor_person_id: strawberry.ID | None
    actor_token_id: strawberry.ID | None
    roles: list[str]
    request_id: str
    operation_name: str | None
    object_type: str
    row_ids: list[str] = strawberry.field(description="Database ids of the rows concerned.")
    fields: list[str]
    purpose: str | None

    @classmethod
    def from_row(cls, row: ma.AuditEntry) -> AuditEntryNode:
        assert row.id is not None
        return cls(
            id=to_global_id("AuditEntry", row.id),
            at=row.at,
            action=row.action,
            actor_kind=row.actor_kind,
            actor_person_id=to_global_id("Person", row.actor_person_id)
            if row.actor_person_id
            else None,
            actor_token_id=to_global_id("ApiToken", row.actor_token_id)
            if row.actor_token_id
            else None,
            roles=list(row.roles),
            request_id=row.request_id,
            operation_name=row.operation_name,
            object_type=row.object_type,
            row_ids=[str(i) for i in row.row_ids],
            fields=list(row.fields),
            purpose=row.purpose,
        )


@strawberry.type
class IdentityQuery:
    @strawberry.field(description="Who this request acts as (anonymous without credentials).")
    def me(self, info: Info) -> Viewer:
        actor = info.context.actor
        return Viewer(
            kind=actor.kind,
            roles=list(actor.roles),
            grants=[ViewerGrant(role=g.role, path=g.path) for g in actor.grants],
            person_id=actor.person_id,
            account_id=actor.account_id,
        )

    @strawberry.field(
        description="A person's sign-in record, for the admins who may unlock their account; "
        "every read is audited."
    )
    async def account_security(
        self, info: Info, person_id: strawberry.ID
    ) -> AccountSecurity | None:
        ident = expect_id(person_id, "Person", "personId")
        await require(info, "accountSecurity", (mp.Person, ident, "personId"))
        await require_manageable(info, ident, credentials=True)
        account = await r.account_of(info.context.session, ident)
        if account is None or account.id is None:
            return None
        info.context.audit.record(
            info.context.who, ma.AuditAction.READ, "Account", [account.id], SECURITY_FIELDS
        )
        return AccountSecurity.of(account)

    @strawberry.field(description="API tokens bound inside the subtrees you administer.")
    async def api_tokens(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ApiTokenNode]:
        loader = info.context.loaders.pages(
            "api_tokens",
            mi.ApiToken,
            partition=None,
            order_by=lambda _: (mi.ApiToken.created_at, mi.ApiToken.id),
        )
        page = await loader.load((None, page_args(first, after, last, before), None))
        return connection(page, ApiTokenNode.from_row)  # type: ignore[no-any-return]

    @strawberry.field(description="The audit log, newest first (city admins only).")
    async def audit_log(
        self,
        info: Info,
        actor_id: strawberry.ID | None = None,
        object_type: str | None = None,
        row_id: strawberry.ID | None = None,
        action: ma.AuditAction | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AuditEntryNode]:
        if not may_query(info.context.actor, "auditLog"):
            raise forbidden()
        row: int | None = None
        if row_id is not None:
            _, row = _any_id(row_id)
        actor_type, actor_db_id = _any_id(actor_id, "actorId") if actor_id else ("", None)
        if actor_id and actor_type not in ("Person", "ApiToken"):
            raise DomainError(
                ErrorCode.VALIDATION, "`actorId` is a Person or an ApiToken", "actorId"
            )
        f = ra.AuditFilter(
            actor_person_id=actor_db_id if actor_type == "Person" else None,
            actor_token_id=actor_db_id if actor_type == "ApiToken" else None,
            object_type=object_type,
            row_id=row,
            action=action,
            since=since,
            until=until,
        )
        page = await ra.audit_page(info.context.loaders, page_args(first, after, last, before), f)
        return connection(page, AuditEntryNode.from_row)  # type: ignore[no-any-return]


def _any_id(global_id: str, field: str = "rowId") -> tuple[str, int]:
    return from_global_id(global_id, field)


# --- mutations -------------------------------------------------------------------


@strawberry.input
class SignInInput:
    phone: str
    password: str


@strawberry.input
class RefreshSessionInput:
    refresh_token: str


@strawberry.type(description="Use `accessToken` as `Authorization: Bearer ...` until it expires.")
class SessionPayload:
    access_token: str | None
    refresh_token: str | None
    expires_at: datetime | None
    errors: list[UserError]


def _session_payload(found: r.Session | None, errors: list[UserError]) -> SessionPayload:
    if found is None:
        return SessionPayload(access_token=None, refresh_token=None, expires_at=None, errors=errors)
    return SessionPayload(
        access_token=found.access_token,
        refresh_token=found.refresh_token,
        expires_at=found.expires_at,
        errors=errors,
    )


@strawberry.type(
    description="The password is changed and every earlier session has ended, access tokens "
    "included; continue with the fresh session returned here."
)
class ChangePasswordPayload:
    ok: bool
    access_token: str | None
    refresh_token: str | None
    expires_at: datetime | None
    errors: list[UserError]


@strawberry.type
class DonePayload:
    ok: bool
    errors: list[UserError]


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.input
class CreateAccountInput:
    person_id: strawberry.ID
    password: str
    phone: str | None = strawberry.field(
        default=None, description="Sign-in phone; the person's phone when omitted."
    )


@strawberry.input
class UnlockAccountInput:
    person_id: strawberry.ID


@strawberry.type
class AccountPayload:
    person: PersonNode | None
    errors: list[UserError]


@strawberry.input
class CreateApiTokenInput:
    name: str
    role: mi.TokenRole
    org_unit_id: strawberry.ID
    days: int = 90


@strawberry.type
class ApiTokenPayload:
    api_token: ApiTokenNode | None
    token: str | None = strawberry.field(description="The secret: shown once, store it now.")
    errors: list[UserError]


@strawberry.input
class RevokeApiTokenInput:
    id: strawberry.ID


class RevealableField(enum.StrEnum):
    PHONE = "phone"
    ID_CARD_NUMBER = "idCardNumber"
    BIRTH_DATE = "birthDate"
    HEALTH_NOTES = "healthNotes"


strawberry.enum(RevealableField, name="RevealableField")


@strawberry.input(description="Reveal masked personal data for a stated purpose; audited.")
class RevealPersonalDataInput:
    person_id: strawberry.ID
    fields: list[RevealableField]
    purpose: str


@strawberry.type
class RevealPayload:
    phone: str | None = None
    id_card_number: str | None = None
    birth_date: str | None = None
    health_notes: str | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _public() -> None:
    """Sign-in and session renewal need no actor."""


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(
        description="Phone and password for an access and a refresh token. Every refusal "
        "reads the same (INVALID_CREDENTIALS), held-back attempts included."
    )
    async def sign_in(self, info: Info, input: SignInInput) -> SessionPayload:
        # No savepoint: the attempt is counted and committed before the password is checked.
        session = info.context.session
        attempt = await r.open_attempt(
            session, phone=input.phone, address=request_address(info.context.request)
        )
        await session.commit()
        try:
            found = await r.sign_in(session, attempt, input.password)
        except DomainError as error:
            await session.commit()
            errors = [UserError.of(error)]
            audit_mutation(info, None, errors, object_type="Account")
            return _session_payload(None, errors)
        audit_mutation(info, found.account, [])
        return _session_payload(found, [])

    @strawberry.mutation(description="Trade a refresh token for new tokens (it rotates).")
    async def refresh_session(self, info: Info, input: RefreshSessionInput) -> SessionPayload:
        session = info.context.session
        try:
            found = await r.refresh_session(session, refresh_token=input.refresh_token)
        except DomainError as error:
            await session.commit()  # keeps the family revocation of a replayed token
            errors = [UserError.of(error)]
            audit_mutation(info, None, errors, object_type="Account")
            return _session_payload(None, errors)
        audit_mutation(info, found.account, [])
        return _session_payload(found, [])

    @strawberry.mutation(
        description="End the session: the refresh token's whole family and, at once, every "
        "access token issued in it."
    )
    async def sign_out(self, info: Info, input: RefreshSessionInput) -> DonePayload:
        session = info.context.session

        async def change() -> mi.RefreshToken | bool:
            return await r.sign_out(session, refresh_token=input.refresh_token) or True

        ok, errors = await mutate(info, _public, change, object_type="RefreshToken")
        return DonePayload(ok=ok is not None, errors=errors)

    @strawberry.mutation(
        description="Change your password: every session ends, this one included, and a "
        "fresh one is returned. The current password is checked like a sign-in."
    )
    async def change_password(
        self, info: Info, input: ChangePasswordInput
    ) -> ChangePasswordPayload:
        session = info.context.session
        account_id = info.context.actor.account_id
        checked: list[mi.Account] = []

        async def authorize() -> None:
            """Outside the change's savepoint: a wrong password stays counted and noted."""
            if account_id is None:
                raise DomainError(ErrorCode.UNAUTHENTICATED, "sign in first")
            r.check_password_strength(input.new_password)
            attempt = await r.open_attempt(
                session,
                phone=await r.phone_of(session, account_id),
                address=request_address(info.context.request),
            )
            await session.commit()  # the attempt counts whatever happens next
            checked.append(
                await r.check_attempt(
                    session, attempt, input.current_password, r.current_password_refusal()
                )
            )

        async def change() -> r.Session:
            return await r.change_password(session, checked[0], new=input.new_password)

        found, errors = await mutate(
            info, authorize, change, subject=lambda found: found.account if found else None
        )
        if errors:
            await session.commit()  # keeps the failure noted on the account
        return ChangePasswordPayload(
            ok=found is not None,
            access_token=found.access_token if found else None,
            refresh_token=found.refresh_token if found else None,
            expires_at=found.expires_at if found else None,
            errors=errors,
        )

    @strawberry.mutation(description="Give a person in your subtree a sign-in account.")
    async def create_account(self, info: Info, input: CreateAccountInput) -> AccountPayload:
        session = info.context.session
        person_id = expect_id(input.person_id, "Person", "personId")

        async def change() -> mp.Person | None:
            await r.create_account(
                session, person_id=person_id, phone=input.phone, password=input.password
            )
            return await session.get(mp.Person, person_id)

        async def authorize() -> None:
            await require(info, "createAccount", (mp.Person, person_id, "personId"))
            await require_manageable(info, person_id, credentials=True)

        row, errors = await mutate(info, authorize, change)
        return AccountPayload(person=PersonNode.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(description="Lift a sign-in lock-out.")
    async def unlock_account(self, info: Info, input: UnlockAccountInput) -> AccountPayload:
        session = info.context.session
        person_id = expect_id(input.person_id, "Person", "personId")

        async def change() -> mp.Person | None:
            account = await r.account_of(session, person_id)
            if account is None or account.id is None:
                raise DomainError(ErrorCode.NOT_FOUND, "this person has no account", "personId")
            await r.unlock_account(session, account_id=account.id)
            return await session.get(mp.Person, person_id)

        async def authorize() -> None:
            await require(info, "unlockAccount", (mp.Person, person_id, "personId"))
            await require_manageable(info, person_id, credentials=True)

        row, errors = await mutate(info, authorize, change)
        return AccountPayload(person=PersonNode.from_row(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Create an API token bound to a node; the secret is shown once."
    )
    async def create_api_token(self, info: Info, input: CreateApiTokenInput) -> ApiTokenPayload:
        session = info.context.session
        unit_id = expect_id(input.org_unit_id, "OrgUnit", "orgUnitId")
        issued, errors = await mutate(
            info,
            lambda: require(info, "createApiToken", (mo.OrgUnit, unit_id, "orgUnitId")),
            lambda: r.create_api_token(
                session,
                name=input.name,
                role=input.role,
                org_unit_id=unit_id,
                days=input.days,
                created_by=info.context.actor.person_id,
            ),
            subject=lambda issued: issued.token if issued else None,
        )
        if issued is None:
            return ApiTokenPayload(api_token=None, token=None, errors=errors)
        return ApiTokenPayload(
            api_token=ApiTokenNode.from_row(issued.token), token=issued.secret, errors=errors
        )

    @strawberry.mutation
    async def revoke_api_token(self, info: Info, input: RevokeApiTokenInput) -> ApiTokenPayload:
        session = info.context.session
        token_id = expect_id(input.id, "ApiToken")
        row, errors = await mutate(
            info,
            lambda: require(info, "revokeApiToken", (mi.ApiToken, token_id, "id")),
            lambda: r.revoke_api_token(session, token_id=token_id),
        )
        return ApiTokenPayload(
            api_token=ApiTokenNode.from_row(row) if row else None, token=None, errors=errors
        )

    @strawberry.mutation(
        description="Show masked personal data in full, stating why; every use is audited."
    )
    async def reveal_personal_data(
        self, info: Info, input: RevealPersonalDataInput
    ) -> RevealPayload:
        context = info.context
        wanted = sorted({f.value for f in input.fields})
        try:
            person_id = expect_id(input.person_id, "Person", "personId")
            node = await _revealable(info, person_id, wanted, input.purpose)
        except DomainError as error:
            errors = [UserError.of(error)]
            audit_mutation(info, None, errors, purpose=input.purpose.strip()[:200])
            return RevealPayload(errors=errors)
        context.audit.record(
            context.who,
            ma.AuditAction.REVEAL,
            "Person",
            [person_id],
            wanted,
            purpose=input.purpose.strip(),
        )
        row = node.row
        return RevealPayload(
            phone=row.phone if "phone" in wanted else None,
            id_card_number=node.id_card_number() if "idCardNumber" in wanted else None,
            birth_date=row.birth_date.isoformat()
            if "birthDate" in wanted and row.birth_date
            else None,
            health_notes=row.health_notes if "healthNotes" in wanted else None,
        )


async def _revealable(info: Info, person_id: int, wanted: list[str], purpose: str) -> PersonNode:
    """The person, when the actor may reveal every one of `wanted` for a stated purpose."""
    await require(info, "revealPersonalData", (mp.Person, person_id, "personId"))
    if len(purpose.strip()) < 4:
        raise DomainError(ErrorCode.VALIDATION, "state the purpose", "purpose")
    row = await info.context.loaders.get(mp.Person, person_id)
    if row is None:
        raise DomainError(ErrorCode.NOT_FOUND, "person not found", "personId")
    node = PersonNode.from_row(row)
    relations = await relations_to(info.context, "Person", node)
    if not relations & REVEALERS:
        raise forbidden()
    for name in wanted:
        if name not in REVEALABLE["Person"] or decide("Person", name, relations) is Access.DENIED:
            raise DomainError(ErrorCode.FORBIDDEN, f"`{name}` cannot be revealed", "fields")
    return node
