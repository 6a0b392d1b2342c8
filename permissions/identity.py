"""Who may sign in, manage accounts and API tokens, reveal masked data and read the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from permissions.actor import Actor
from permissions.policy import Access, decide
from permissions.roles import Relation
from permissions.rules import CityAdmin, Facts, Manages, Public, SignedIn, all_of, over
from permissions.scope import Reach

R = Relation

SIGN_IN = Public()
REFRESH_SESSION = Public()
SIGN_OUT = Public()
CHANGE_PASSWORD = SignedIn()
#: Credentials: only someone who strictly outranks every grant of the person, never oneself.
CREATE_ACCOUNT = all_of(over(R.ADMIN, on=("person_id",)), Manages("person_id", credentials=True))
UNLOCK_ACCOUNT = CREATE_ACCOUNT
#: Reading someone's sign-in record: those who could unlock their account.
ACCOUNT_SECURITY = CREATE_ACCOUNT
CREATE_API_TOKEN = over(R.ADMIN, on=("org_unit_id",))
REVOKE_API_TOKEN = over(R.ADMIN, on=("id",))


#: Fields an admin or grid worker may reveal in full for a stated purpose (audited).
REVEALABLE: dict[str, tuple[str, ...]] = {
    "Person": ("phone", "idCardNumber", "birthDate", "healthNotes"),
    "Household": ("room",),
}
#: Relations allowed to use revealPersonalData at all.
REVEALERS = frozenset({R.ADMIN, R.GRID})


@dataclass(frozen=True)
class Reveals:
    """The actor stands to the person as one of the REVEALERS, and every field asked for is
    REVEALABLE and not withheld from it by the field policy (masked is what reveal is for)."""

    person: str
    fields: str

    async def allows(self, actor: Actor, facts: Facts) -> bool:
        found = facts.row(self.person)
        if found is None:
            return False
        relations = await facts.relations("Person", found)
        if not relations & REVEALERS:
            return False
        wanted = [str(getattr(f, "value", f)) for f in facts.value(self.fields) or ()]
        return all(
            name in REVEALABLE["Person"]
            and decide("Person", name, relations, found) is not Access.DENIED
            for name in wanted
        )


REVEAL_PERSONAL_DATA = all_of(
    over(R.ADMIN, R.GRID, on=("person_id",)), Reveals("person_id", "fields")
)
AUDIT_LOG = CityAdmin()

#: How rows of accounts, tokens and the audit log are reached.
ROW_SCOPE: dict[str, Reach] = {
    "account": Reach.ADMIN,
    "api_token": Reach.ADMIN,
    "audit_log": Reach.CITY,
}

RELATION_PATHS: dict[tuple[str, str], tuple[str, str] | None] = {
    ("Viewer", "person"): None,  # oneself
    ("Viewer", "household"): None,
    ("AccountPayload", "person"): None,
}
