"""Who decides awards and keeps a building's culture (role models, publicity wall), and who
sees them: awards and their winners are public in the awarding node's subtree (a roll of
honour), role models and wall posts to those who see the building."""

from __future__ import annotations

from permissions.roles import Relation
from permissions.rules import over
from permissions.scope import Reach

R = Relation

#: Awards are decided by the admins of the awarding node, with a citation.
GRANT_AWARD = over(R.ADMIN, on=("org_unit_id",))
#: Candidates are computed for the admins who decide.
AWARD_CANDIDATES = over(R.ADMIN, on=("org_unit_id",))
#: 一楼一特: the building's own staff and grid worker keep its wall, like its labels and motto.
KEEP_CULTURE = over(R.ADMIN, R.GRID, R.BUILDING_STAFF, on=("building_id",))
REMOVE_ROLE_MODEL = over(R.ADMIN, R.GRID, R.BUILDING_STAFF, on=("id",))
REMOVE_WALL_POST = over(R.ADMIN, R.GRID, R.BUILDING_STAFF, on=("id",))

ROW_SCOPE: dict[str, Reach] = {
    "award": Reach.TREE,
    "role_model": Reach.PLACE,
    "wall_post": Reach.PLACE,
}

RELATION_PATHS: dict[tuple[str, str], tuple[str, str] | None] = {
    # a winner is public by nature: the person row itself stays under its own scope and policy
    ("Award", "person"): None,
    ("AwardCandidate", "person"): None,
}
