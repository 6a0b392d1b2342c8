"""Roles as data: what relation a grant gives its holder over rows in its subtree,
and the rank that bounds which roles an admin may grant."""

from __future__ import annotations

import enum

from models.identity import TokenRole
from models.people import Role


class Relation(enum.StrEnum):
    """How an actor stands to a row; the field policy is written in these terms."""

    SELF = "SELF"
    HOUSEHOLD = "HOUSEHOLD"  # lives in the same household
    CONTACT = "CONTACT"  # the row is a building head / liaison / grid worker of the actor's place
    BUILDING_STAFF = "BUILDING_STAFF"  # building head, household liaison of the row's building
    SERVICE = "SERVICE"  # seconded cadre, registered Party member, volunteer, property staff
    SHOP = "SHOP"  # a partner shop's operator: no resident's data, a redeemer's masked name
    GRID = "GRID"  # grid worker of the row's grid
    ADMIN = "ADMIN"  # community, street, district or city admin above the row
    INTEGRATOR = "INTEGRATOR"
    DISPLAY = "DISPLAY"
    TASKED = "TASKED"  # the row is a task of the actor's (a service order they took on)
    OTHER = "OTHER"  # in scope, nothing closer: public fields only


#: The relation each position role gives over rows under the place where it is held.
ROLE_RELATION: dict[str, Relation] = {
    Role.BUILDING_HEAD: Relation.BUILDING_STAFF,
    Role.HOUSEHOLD_LIAISON: Relation.BUILDING_STAFF,
    Role.GRID_WORKER: Relation.GRID,
    Role.SECONDED_CADRE: Relation.SERVICE,
    Role.REGISTERED_PARTY_MEMBER: Relation.SERVICE,
    Role.VOLUNTEER: Relation.SERVICE,
    Role.PROPERTY_STAFF: Relation.SERVICE,
    Role.SHOP_OPERATOR: Relation.SHOP,
    Role.PARTY_COMMITTEE_MEMBER: Relation.SERVICE,
    Role.COMMUNITY_ADMIN: Relation.ADMIN,
    Role.STREET_ADMIN: Relation.ADMIN,
    Role.DISTRICT_ADMIN: Relation.ADMIN,
    Role.CITY_ADMIN: Relation.ADMIN,
    TokenRole.INTEGRATOR: Relation.INTEGRATOR,
    TokenRole.DISPLAY: Relation.DISPLAY,
}

#: Roles whose holders residents may reach (name and phone) at their own place.
CONTACT_ROLES: frozenset[str] = frozenset(
    {Role.BUILDING_HEAD, Role.HOUSEHOLD_LIAISON, Role.GRID_WORKER}
)

#: Admin ranks: an admin manages positions and accounts inside its subtree and may grant
#: any role whose rank is at most its own (non-admin roles rank 0).
ADMIN_RANK: dict[str, int] = {
    Role.COMMUNITY_ADMIN: 1,
    Role.STREET_ADMIN: 2,
    Role.DISTRICT_ADMIN: 3,
    Role.CITY_ADMIN: 4,
}


def rank(role: str) -> int:
    return ADMIN_RANK.get(role, 0)
