"""Who may import and export the register (台账), and which policy field governs each column.

Importing writes households and people: it takes an admin or the grid worker over the whole
community or grid (so createHousehold and createPerson allow every row there; the schema
decides both again for every building of the file). Exporting reads people: those who keep
a register (admins, grid workers, building staff) may, and every cell then passes the field
policy as the same value would through the API.
"""

from __future__ import annotations

from permissions.roles import Relation
from permissions.rules import over

R = Relation

IMPORT_REGISTER = over(R.ADMIN, R.GRID, on=("org_unit_id",))
EXPORT_REGISTER = over(R.ADMIN, R.GRID, R.BUILDING_STAFF, on=("org_unit_id", "building_id"))

#: The policy (type, field) of each column of the layout (`resolvers.register.LAYOUT`).
COLUMN_FIELDS: dict[str, tuple[str, str]] = {
    "building": ("Household", "building"),
    "unit": ("Household", "unit"),
    "room": ("Household", "room"),
    "name": ("Person", "name"),
    "gender": ("Person", "gender"),
    "id_card": ("Person", "idCardNumber"),
    "phone": ("Person", "phone"),
    "relationship": ("Person", "relationship"),
    "is_party_member": ("Person", "isPartyMember"),
    "is_veteran": ("Person", "isVeteran"),
    "lives_alone": ("Person", "livesAlone"),
    "is_elderly": ("Person", "isElderly"),
    "is_renter": ("Person", "isRenter"),
}
#: Where a person lives is their household: the place columns show only where that does.
PLACE_COLUMNS = frozenset({"building", "unit", "room"})
PLACE_GATE = ("Person", "household")
