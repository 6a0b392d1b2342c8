"""Who may change the tree, buildings, households, the Party tree and work units."""

from __future__ import annotations

from permissions.masking import mask_room
from permissions.policy import CARERS, MEMBERSHIP, FieldRule, personal, public
from permissions.roles import Relation
from permissions.rules import Anywhere, over
from permissions.scope import Reach

R = Relation

CREATE_ORG_UNIT = over(R.ADMIN, on=("parent_id",))
RENAME_ORG_UNIT = over(R.ADMIN, on=("id",))
#: A move takes a unit out of its parent's subtree into another's: the actor governs both.
MOVE_ORG_UNIT = over(R.ADMIN, on=("new_parent_id",), parent_of=("id",))
RETIRE_ORG_UNIT = over(R.ADMIN, parent_of=("id",))
CREATE_BUILDING = over(R.ADMIN, on=("grid_id",))
#: 一楼一特: the building's own staff and grid worker keep its culture labels and motto.
UPDATE_BUILDING_CULTURE = over(R.ADMIN, R.GRID, R.BUILDING_STAFF, on=("id",))
CREATE_HOUSEHOLD = over(R.ADMIN, R.GRID, on=("building_id",))
CREATE_PARTY_ORGANISATION = over(R.ADMIN, on=("org_unit_id", "building_id"))
DESIGNATE_CENTRAL_HOUSEHOLD = over(R.ADMIN, on=("household_id",))
END_CENTRAL_HOUSEHOLD = over(R.ADMIN, on=("id",))
#: Work units belong to no place: any admin registers one.
CREATE_WORK_UNIT = Anywhere(frozenset({R.ADMIN}))
PAIR_WORK_UNIT = over(R.ADMIN, on=("community_id",))
END_WORK_UNIT_PAIRING = over(R.ADMIN, on=("id",))

#: How rows of the tree's tables are reached (see `permissions.scope.Reach`).
ROW_SCOPE: dict[str, Reach] = {
    "org_unit": Reach.TREE,
    "building": Reach.PLACE,
    "household": Reach.PERSONAL,
    "party_organisation": Reach.PLACE,
    "central_household": Reach.PERSONAL,
    "work_unit": Reach.PUBLIC,
    "work_unit_pairing": Reach.PLACE,
}

FIELD_POLICY: dict[str, dict[str, FieldRule]] = {
    "Household": {
        "id": public(),
        "createdAt": public(),
        "unit": public(),
        "room": personal(CARERS, {R.SERVICE, R.ADMIN, R.INTEGRATOR}, mask_room),
        "tenure": public(),
        "building": public(),
        "members": MEMBERSHIP,
        "centralHousehold": public(),
    },
    # a central household names a Party member and the household they live in: membership
    "CentralHousehold": {
        "id": public(),
        "building": public(),
        "household": public(),
        "partyMember": MEMBERSHIP,
        "designatedAt": public(),
        "endedAt": public(),
    },
}

RELATION_PATHS: dict[tuple[str, str], tuple[str, str] | None] = {
    ("Household", "members"): ("Household", "members"),
    ("CentralHousehold", "partyMember"): ("Household", "members"),
    ("CentralHousehold", "household"): None,  # the household side: public, the person guarded
    ("Building", "head"): None,
    ("Building", "residents"): None,
    ("Building", "households"): None,
    ("OrgUnit", "residents"): None,
    ("PartyOrganisation", "members"): None,
    ("HouseholdPayload", "household"): None,
}
