"""Who may ask why the field policy shows them what it shows (`explainAccess`)."""

from __future__ import annotations

from permissions.roles import Relation
from permissions.rules import Anywhere

#: Admins and integrators: those who build on the API and file the bugs.
EXPLAIN_ACCESS = Anywhere(frozenset({Relation.ADMIN, Relation.INTEGRATOR}))
#: The types whose access can be explained (a person's fields are the ones that vary).
EXPLAINED_TYPE = "Person"
