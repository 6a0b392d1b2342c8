"""Who reads petitions as Open311 GeoReport v2 service requests: INTEGRATOR tokens only (the
city platforms that exchange cases), under their node. Row scope is the petitions' own."""

from __future__ import annotations

from permissions.roles import Relation
from permissions.rules import Anywhere

READ_OPEN311 = Anywhere(frozenset({Relation.INTEGRATOR}))
