"""Who registers operations, reads the catalogue and holds API tokens to allow-lists."""

from __future__ import annotations

from permissions.identity import REVOKE_API_TOKEN
from permissions.roles import Relation
from permissions.rules import Anywhere
from permissions.scope import Reach

R = Relation

#: The catalogue is the city's: any admin registers and reads it.
REGISTER_OPERATION = Anywhere(frozenset({R.ADMIN}))
REGISTERED_OPERATIONS = Anywhere(frozenset({R.ADMIN}))
#: Whoever may revoke a token may hold it to an allow-list (admins over its node).
SET_TOKEN_OPERATIONS = REVOKE_API_TOKEN

#: The catalogue is no one's personal data; it is only reached through the fields above.
#: (Allow-lists are read by the transport for the requesting token only.)
ROW_SCOPE: dict[str, Reach] = {"registered_operation": Reach.PUBLIC}
