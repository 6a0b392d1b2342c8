"""Who may run each mutation and query root, as data.

A rule names the relations that qualify (over every target place the mutation
touches) and, for grants of roles, the rank bound. The schema hands the target
paths over; nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from models.identity import security_settings
from models.people import Role
from permissions.actor import Actor, is_under
from permissions.roles import Relation, rank

R = Relation


@dataclass(frozen=True)
class OperationRule:
    relations: frozenset[Relation]
    #: the operation grants or ends a role: the actor's admin rank over the place must reach it
    grants_role: bool = False


def rule(*relations: Relation, grants_role: bool = False) -> OperationRule:
    return OperationRule(frozenset(relations), grants_role)


ADMIN = rule(R.ADMIN)

OPERATIONS: dict[str, OperationRule] = {
    "createOrgUnit": ADMIN,
    "renameOrgUnit": ADMIN,
    "moveOrgUnit": ADMIN,
    "retireOrgUnit": ADMIN,
    "createBuilding": ADMIN,
    "updateBuildingCulture": rule(R.ADMIN, R.GRID, R.BUILDING_STAFF),
    "createHousehold": rule(R.ADMIN, R.GRID),
    "createPerson": rule(R.ADMIN, R.GRID, R.BUILDING_STAFF),
    "appointPosition": rule(R.ADMIN, grants_role=True),
    "endPosition": rule(R.ADMIN, grants_role=True),
    "createPartyOrganisation": ADMIN,
    "designateCentralHousehold": ADMIN,
    "createWorkUnit": ADMIN,
    "pairWorkUnit": ADMIN,
    "createPairing": rule(R.ADMIN, R.GRID),
    "createAccount": ADMIN,
    "unlockAccount": ADMIN,
    "accountSecurity": ADMIN,
    "createApiToken": ADMIN,
    "revokeApiToken": ADMIN,
    "revealPersonalData": rule(R.ADMIN, R.GRID),
}


@dataclass(frozen=True)
class RefusalLimit:
    """At most `limit` refusals of an operation per actor per `window`, then RATE_LIMITED."""

    limit: int
    window: timedelta


def refusal_limit(operation: str) -> RefusalLimit | None:
    """Operations whose refusals could be used to probe for data (createPerson answers
    whether an ID number is registered in the caller's scope), and how many they get."""
    settings = security_settings()
    limits = {
        "createPerson": RefusalLimit(
            settings.create_person_refusals, settings.create_person_window
        ),
    }
    return limits.get(operation)


def refusal_key(actor: Actor, operation: str) -> str | None:
    """Whose refusals count together: a person's, or a token's (anonymous callers are
    refused before anything could be probed)."""
    if actor.person_id is not None:
        return f"{operation}:person:{actor.person_id}"
    if actor.token_id is not None:
        return f"{operation}:token:{actor.token_id}"
    return None


#: Roots that only some roles may query at all.
QUERY_ROLES: dict[str, frozenset[str]] = {
    "auditLog": frozenset({Role.CITY_ADMIN}),
}


def allowed(  # noqa: PLR0911  (one early answer per case)
    actor: Actor, operation: str, paths: list[str] | None, role: str | None = None
) -> bool:
    """May `actor` run `operation` on places `paths` (granting `role`, if any)?

    `paths=None` means the operation touches no place (e.g. registering a work unit):
    any grant of a qualifying relation will do.
    """
    if actor.unrestricted:
        return True
    found = OPERATIONS.get(operation)
    if found is None:
        return False
    if paths is None:
        return any(g.relation in found.relations for g in actor.grants)
    if not paths:
        return False
    for path in paths:
        if not any(g.relation in found.relations and is_under(path, g.path) for g in actor.grants):
            return False
        if found.grants_role and role is not None and rank(role) > actor.admin_rank_over(path):
            return False
    return True


def may_manage_person(
    actor: Actor, person_id: int, grants: list[tuple[str, str]], *, credentials: bool
) -> bool:
    """May `actor` act on the account or positions of a person holding `grants` (role, path)?

    Never on oneself (no self-appointment, no self-unlock). Every active grant of the person
    must lie inside the actor's admin subtree with a rank the actor reaches there; for
    credentials the actor must strictly outrank every admin grant of the person, so no
    admin can sign in as a peer or a superior.
    """
    if actor.unrestricted:
        return True
    if actor.person_id is not None and actor.person_id == person_id:
        return False
    for role, path in grants:
        reach = actor.admin_rank_over(path)
        if reach < 1 or reach < rank(role):
            return False
        if credentials and rank(role) > 0 and reach <= rank(role):
            return False
    return True


def may_query(actor: Actor, root: str) -> bool:
    roles = QUERY_ROLES.get(root)
    return roles is None or actor.unrestricted or bool(roles & set(actor.roles))
