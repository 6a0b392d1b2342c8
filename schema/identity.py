"""Sign-in, sessions, accounts, API tokens, revealing masked data, and the audit log."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import strawberry

from models import audit as ma
from models import identity as mi
from models import org as mo
from models import people as mp
from permissions import identity as rules
from resolvers import audit as ra
from resolvers import identity as r
from resolvers.errors import Common, DomainError, invalid
from resolvers.pagination import Ordering, PageArgs, asc
from schema.context import Context, Info
from schema.declare import column, computed, expose, listing, reference, row_type
from schema.errors import UserError, domain_error
from schema.operations import Mutation, Refs, audit_mutation, authorize
from schema.org import BuildingNode, HouseholdNode, OrgUnitNode
from schema.people import PersonNode
from schema.relay import Connection, Node, connection, from_global_id, to_global_id

expose(mi.TokenRole, name="TokenRole", description="What an API token may do.")
expose(ma.AuditAction, name="AuditAction")


@domain_error(r.IdentityCode)
class IdentityError(UserError):
    """Why a sign-in, an account or token change, or a reveal was refused."""


@strawberry.type(description="A role the signed-in person holds, and where.")
class ViewerGrant:
    role: str
    path: strawberry.Private[str]

    @strawberry.field(
        description="The org unit where the role is held (null for a building).",
        graphql_type=OrgUnitNode | None,
    )
    async def org_unit(self, info: Info) -> mo.OrgUnit | None:
        label = self.path.rpartition(".")[2]
        if not label.isdigit():
            return None
        return await info.context.loaders.get(mo.OrgUnit, int(label))

    @strawberry.field(
        description="The building where the role is held.", graphql_type=BuildingNode | None
    )
    async def building(self, info: Info) -> mo.Building | None:
        label = self.path.rpartition(".")[2]
        if not label.startswith("b"):
            return None
        return await info.context.loaders.get(mo.Building, int(label[1:]))


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

    @strawberry.field(graphql_type=PersonNode | None)
    async def person(self, info: Info) -> mp.Person | None:
        return await info.context.loaders.get(mp.Person, self.person_id)

    @strawberry.field(
        description="The signed-in person's own household.", graphql_type=HouseholdNode | None
    )
    async def household(self, info: Info) -> mo.Household | None:
        person = await info.context.loaders.get(mp.Person, self.person_id)
        if person is None:
            return None
        return await info.context.loaders.get(mo.Household, person.household_id)


@row_type(mi.ApiToken, name="ApiToken", description="A machine credential bound to a node.")
class ApiTokenNode(Node):
    name: str = column()
    role: mi.TokenRole = column()
    created_at: datetime = column()
    expires_at: datetime = column()
    revoked_at: datetime | None = column()
    last_used_at: datetime | None = column()
    org_unit: OrgUnitNode | None = reference(mi.ApiToken.org_unit_id)


def _global(type_name: str, attribute: str) -> Any:
    def of(row: Any) -> strawberry.ID | None:
        value = getattr(row, attribute)
        return to_global_id(type_name, value) if value else None

    return of


def _row_ids(row: ma.AuditEntry) -> list[str]:
    return [str(i) for i in row.row_ids]


@row_type(ma.AuditEntry, name="AuditEntry", description="One append-only audit record.")
class AuditEntryNode(Node):
    at: datetime = column()
    action: ma.AuditAction = column()
    actor_kind: str = column()
    actor_person_id: strawberry.ID | None = computed(_global("Person", "actor_person_id"))
    actor_token_id: strawberry.ID | None = computed(_global("ApiToken", "actor_token_id"))
    roles: list[str] = column()
    request_id: str = column()
    operation_name: str | None = column()
    object_type: str = column()
    row_ids: list[str] = computed(_row_ids, description="Database ids of the rows concerned.")
    fields: list[str] = column()
    purpose: str | None = column()


@dataclass(frozen=True)
class _TokenOrder:
    def conditions(self) -> list[Any]:
        return []

    def ordering(self) -> Ordering:
        return Ordering.of(asc(mi.ApiToken.created_at), asc(mi.ApiToken.id))


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
        args = SimpleNamespace(person_id=person_id)
        refs = await authorize(info, rules.ACCOUNT_SECURITY, args, {"person_id": mp.Person})
        account = await r.account_of(info.context.session, refs.need("person_id"))
        if account is None or account.id is None:
            return None
        info.context.audit.record(
            info.context.who, ma.AuditAction.READ, "Account", [account.id], SECURITY_FIELDS
        )
        return AccountSecurity.of(account)

    @strawberry.field(
        description="API tokens bound inside the subtrees you administer.",
        metadata=listing(r.API_TOKENS),
    )
    async def api_tokens(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ApiTokenNode]:
        args = PageArgs.parse(first, after, last, before)
        return connection(await info.context.loaders.page(r.API_TOKENS, None, args, _TokenOrder()))

    @strawberry.field(
        description="The audit log, newest first (city admins only).",
        metadata=listing(ra.AUDIT_LOG),
    )
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
        await authorize(info, rules.AUDIT_LOG)
        row = from_global_id(row_id, "row_id")[1] if row_id is not None else None
        actor_type, actor_db_id = from_global_id(actor_id, "actor_id") if actor_id else ("", None)
        if actor_id and actor_type not in ("Person", "ApiToken"):
            raise invalid("`actor_id` is a Person or an ApiToken", "actor_id")
        f = ra.AuditFilter(
            actor_person_id=actor_db_id if actor_type == "Person" else None,
            actor_token_id=actor_db_id if actor_type == "ApiToken" else None,
            object_type=object_type,
            row_id=row,
            action=action,
            since=since,
            until=until,
        )
        args = PageArgs.parse(first, after, last, before)
        return connection(await info.context.loaders.page(ra.AUDIT_LOG, None, args, f))


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
    errors: list[UserError] = strawberry.field(graphql_type=list[IdentityError])


def _session_payload(found: r.Session | None, errors: list[UserError]) -> SessionPayload:
    return SessionPayload(
        access_token=found.access_token if found else None,
        refresh_token=found.refresh_token if found else None,
        expires_at=found.expires_at if found else None,
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
    errors: list[UserError] = strawberry.field(graphql_type=list[IdentityError])


@strawberry.type
class DonePayload:
    ok: bool
    errors: list[UserError] = strawberry.field(graphql_type=list[IdentityError])


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
    errors: list[IdentityError]


@strawberry.input
class CreateApiTokenInput:
    name: str
    role: mi.TokenRole
    org_unit_id: strawberry.ID
    days: int = 90


@strawberry.type
class ApiTokenPayload:
    api_token: mi.ApiToken | None = strawberry.field(graphql_type=ApiTokenNode | None)
    token: str | None = strawberry.field(description="The secret: shown once, store it now.")
    errors: list[UserError] = strawberry.field(graphql_type=list[IdentityError])


@strawberry.input
class RevokeApiTokenInput:
    id: strawberry.ID


class RevealableField(enum.StrEnum):
    PHONE = "phone"
    ID_CARD_NUMBER = "idCardNumber"
    BIRTH_DATE = "birthDate"
    HEALTH_NOTES = "healthNotes"


expose(RevealableField, name="RevealableField")


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
    errors: list[UserError] = strawberry.field(
        default_factory=list, graphql_type=list[IdentityError]
    )


class SignIn(Mutation[SignInInput, r.Session, SessionPayload]):
    """Phone and password for an access and a refresh token. Every refusal reads the same
    (INVALID_CREDENTIALS), held-back attempts included."""

    permission = rules.SIGN_IN
    errors = IdentityError
    atomic = False  # a refused attempt stays counted
    audit_type = "Account"

    async def perform(self, ctx: Context, input: SignInInput, refs: Refs) -> r.Session:
        attempt = await r.open_attempt(ctx.session, phone=input.phone, address=ctx.client)
        await ctx.session.commit()  # counted before the password is checked, whatever follows
        return await r.sign_in(ctx.session, attempt, input.password)

    def audited(self, result: r.Session) -> Any:
        return result.account

    def payload(self, result: r.Session | None, errors: list[UserError]) -> SessionPayload:
        return _session_payload(result, errors)


class RefreshSession(Mutation[RefreshSessionInput, r.Session, SessionPayload]):
    """Trade a refresh token for new tokens (it rotates)."""

    permission = rules.REFRESH_SESSION
    errors = IdentityError
    atomic = False  # a replayed token's family stays revoked
    audit_type = "Account"

    async def perform(self, ctx: Context, input: RefreshSessionInput, refs: Refs) -> r.Session:
        return await r.refresh_session(ctx.session, refresh_token=input.refresh_token)

    def audited(self, result: r.Session) -> Any:
        return result.account

    def payload(self, result: r.Session | None, errors: list[UserError]) -> SessionPayload:
        return _session_payload(result, errors)


class SignOut(Mutation[RefreshSessionInput, mi.RefreshToken | bool, DonePayload]):
    """End the session: the refresh token's whole family and, at once, every access token
    issued in it."""

    permission = rules.SIGN_OUT
    errors = IdentityError
    audit_type = "RefreshToken"

    async def perform(
        self, ctx: Context, input: RefreshSessionInput, refs: Refs
    ) -> mi.RefreshToken | bool:
        return await r.sign_out(ctx.session, refresh_token=input.refresh_token) or True

    def payload(
        self, result: mi.RefreshToken | bool | None, errors: list[UserError]
    ) -> DonePayload:
        return DonePayload(ok=result is not None, errors=errors)


class ChangePassword(Mutation[ChangePasswordInput, r.Session, ChangePasswordPayload]):
    """Change your password: every session ends, this one included, and a fresh one is
    returned. The current password is checked like a sign-in."""

    permission = rules.CHANGE_PASSWORD
    errors = IdentityError
    atomic = False  # a wrong current password stays counted and noted

    async def perform(self, ctx: Context, input: ChangePasswordInput, refs: Refs) -> r.Session:
        account_id = ctx.actor.account_id
        assert account_id is not None
        r.check_password_strength(input.new_password)
        phone = await r.phone_of(ctx.session, account_id)
        attempt = await r.open_attempt(ctx.session, phone=phone, address=ctx.client)
        await ctx.session.commit()  # the attempt counts whatever happens next
        account = await r.check_attempt(
            ctx.session, attempt, input.current_password, r.current_password_refusal()
        )
        return await r.change_password(ctx.session, account, new=input.new_password)

    def audited(self, result: r.Session) -> Any:
        return result.account

    def payload(self, result: r.Session | None, errors: list[UserError]) -> ChangePasswordPayload:
        return ChangePasswordPayload(
            ok=result is not None,
            access_token=result.access_token if result else None,
            refresh_token=result.refresh_token if result else None,
            expires_at=result.expires_at if result else None,
            errors=errors,
        )


class CreateAccount(Mutation[CreateAccountInput, mp.Person, AccountPayload]):
    """Give a person in your subtree a sign-in account."""

    refs = {"person_id": mp.Person}
    permission = rules.CREATE_ACCOUNT
    errors = IdentityError

    async def perform(self, ctx: Context, input: CreateAccountInput, refs: Refs) -> mp.Person:
        person_id = refs.need("person_id")
        await r.create_account(
            ctx.session, person_id=person_id, phone=input.phone, password=input.password
        )
        return refs.row_of("person_id", mp.Person)


class UnlockAccount(Mutation[UnlockAccountInput, mp.Person, AccountPayload]):
    """Lift every sign-in back-off on the person's phone."""

    refs = {"person_id": mp.Person}
    permission = rules.UNLOCK_ACCOUNT
    errors = IdentityError

    async def perform(self, ctx: Context, input: UnlockAccountInput, refs: Refs) -> mp.Person:
        account = await r.account_of(ctx.session, refs.need("person_id"))
        if account is None or account.id is None:
            raise DomainError(Common.NOT_FOUND, "this person has no account", "person_id")
        await r.unlock_account(ctx.session, account_id=account.id)
        return refs.row_of("person_id", mp.Person)


class CreateApiToken(Mutation[CreateApiTokenInput, r.IssuedToken, ApiTokenPayload]):
    """Create an API token bound to a node; the secret is shown once."""

    refs = {"org_unit_id": mo.OrgUnit}
    permission = rules.CREATE_API_TOKEN
    errors = IdentityError

    async def perform(self, ctx: Context, input: CreateApiTokenInput, refs: Refs) -> r.IssuedToken:
        return await r.create_api_token(
            ctx.session,
            name=input.name,
            role=input.role,
            org_unit_id=refs.need("org_unit_id"),
            days=input.days,
            created_by=ctx.actor.person_id,
        )

    def audited(self, result: r.IssuedToken) -> Any:
        return result.token

    def payload(self, result: r.IssuedToken | None, errors: list[UserError]) -> ApiTokenPayload:
        return ApiTokenPayload(
            api_token=result.token if result else None,
            token=result.secret if result else None,
            errors=errors,
        )


class RevokeApiToken(Mutation[RevokeApiTokenInput, mi.ApiToken, ApiTokenPayload]):
    refs = {"id": mi.ApiToken}
    permission = rules.REVOKE_API_TOKEN
    errors = IdentityError
    error_fields = {"token_id": "id"}

    async def perform(self, ctx: Context, input: RevokeApiTokenInput, refs: Refs) -> mi.ApiToken:
        return await r.revoke_api_token(ctx.session, token_id=refs.need("id"))

    def payload(self, result: mi.ApiToken | None, errors: list[UserError]) -> ApiTokenPayload:
        return ApiTokenPayload(api_token=result, token=None, errors=errors)


class RevealPersonalData(Mutation[RevealPersonalDataInput, r.Revealed, RevealPayload]):
    """Show masked personal data in full, stating why; every use is audited."""

    refs = {"person_id": mp.Person}
    permission = rules.REVEAL_PERSONAL_DATA
    errors = IdentityError

    async def perform(self, ctx: Context, input: RevealPersonalDataInput, refs: Refs) -> r.Revealed:
        return await r.reveal(
            ctx.session,
            person_id=refs.need("person_id"),
            fields=[f.value for f in input.fields],
            purpose=input.purpose,
        )

    def audit(
        self,
        info: Info,
        input: RevealPersonalDataInput,
        result: r.Revealed | None,
        errors: list[UserError],
    ) -> None:
        """A reveal is on record with its purpose; a refusal as a refused mutation."""
        if result is None:
            audit_mutation(info, None, errors, purpose=input.purpose.strip()[:200])
            return
        context = info.context
        context.audit.record(
            context.who,
            ma.AuditAction.REVEAL,
            "Person",
            [result.person_id],
            list(result.fields),
            purpose=result.purpose,
        )

    def payload(self, result: r.Revealed | None, errors: list[UserError]) -> RevealPayload:
        if result is None:
            return RevealPayload(errors=errors)
        return RevealPayload(
            phone=result.phone,
            id_card_number=result.id_card_number,
            birth_date=result.birth_date,
            health_notes=result.health_notes,
        )


@strawberry.type
class IdentityMutation:
    sign_in = SignIn.field()
    refresh_session = RefreshSession.field()
    sign_out = SignOut.field()
    change_password = ChangePassword.field()
    create_account = CreateAccount.field()
    unlock_account = UnlockAccount.field()
    create_api_token = CreateApiToken.field()
    revoke_api_token = RevokeApiToken.field()
    reveal_personal_data = RevealPersonalData.field()
