"""What one GraphQL request may cost, as data: size limits, the cost model and the budget
of each actor kind. `schema/limits.py` applies them before anything is executed.

The defaults are at least as strict as graphql-armor's (aliases 15, tokens 1,000), except
depth: 7, not 6. Relay connections take two levels each (`buildings { nodes { … } }`), so
the admin SPA's README query (community > grids > buildings > head's position > its
selection method) is 7 fields deep; 6 would refuse it. Deeper trees are read flat with
`descendants(kind:)`. Every number can be changed through the environment (see
`models.config.LIMIT_VARIABLES`).

Cost is an upper bound on the number of field values a request can produce: every field
costs its weight (1 unless listed below) once per parent instance; a page multiplies what
is inside `nodes`/`edges` by `first`/`last` (20 when neither is given), `nodes(ids:)` by
the number of ids, and any other list by the length assumed below. Measured on the 2-core
development machine, one unit is 3-10 µs of event-loop time (10 for `nodes(ids:)` lookups
with their field policy, less for plain lists), so a budget also bounds how long one request
keeps the loop busy: 25,000 units stall it for at most about 0.25 s, where a request of 200
aliased introspections used to stall it for 7 s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models.identity import TokenRole
from permissions.actor import Actor, ActorKind


@dataclass(frozen=True)
class Limits:
    """Per-request limits; every refusal has its own stable error code."""

    #: bytes of the HTTP body (BODY_TOO_LARGE, HTTP 400)
    max_body_bytes: int = 262_144
    #: bytes of a multipart upload, files included (BODY_TOO_LARGE, HTTP 400): a register
    #: of 10,000 residents is about 700 KiB as .xlsx
    max_upload_bytes: int = 8_388_608
    #: nesting of the JSON body, variables included (BAD_REQUEST)
    max_json_depth: int = 32
    #: bytes of the GraphQL document (DOCUMENT_TOO_LARGE)
    max_document_bytes: int = 32_768
    #: lexical tokens of the document, comments included (TOKEN_LIMIT)
    max_tokens: int = 1_000
    #: nested fields, leaf included, through fragments; introspection's own depth is not
    #: counted where introspection is allowed (DEPTH_LIMIT)
    max_depth: int = 7
    #: aliased fields, counted through fragments once per spread (ALIAS_LIMIT)
    max_aliases: int = 15
    #: directives, counted through fragments once per spread (DIRECTIVE_LIMIT)
    max_directives: int = 20
    #: estimated cost per actor kind (COST_LIMIT). Anonymous callers see nothing but `me`:
    #: their budget fits one introspection (in development) or one `signIn`.
    cost_anonymous: int = 12_000
    cost_person: int = 25_000
    cost_integrator: int = 25_000
    #: displays read the tree and its counts, a few levels at a time
    cost_display: int = 12_000
    #: longest single SQL statement (TIMEOUT); 0 turns the timeout off
    statement_timeout_ms: int = 5_000
    #: whether callers without credentials may introspect and get "Did you mean ..."
    anonymous_introspection: bool = True
    anonymous_suggestions: bool = True

    @classmethod
    def configured(cls, overrides: Mapping[str, int], *, production: bool) -> Limits:
        """The defaults, changed by the environment; production hides the schema from
        anonymous callers (no introspection, no field suggestions)."""
        values: dict[str, Any] = dict(overrides)
        return dataclasses.replace(
            cls(anonymous_introspection=not production, anonymous_suggestions=not production),
            **values,
        )

    @classmethod
    def lifted(cls) -> Limits:
        """No depth, alias, directive or cost limit: for benchmarks and for tests about
        something else (statement counts, scope) that walk the whole tree at once."""
        unlimited = 10**12
        return cls(
            max_depth=1_000,
            max_aliases=unlimited,
            max_directives=unlimited,
            cost_anonymous=unlimited,
            cost_person=unlimited,
            cost_integrator=unlimited,
            cost_display=unlimited,
        )

    def budget(self, kind: str) -> int:
        return {
            BudgetKind.ANONYMOUS: self.cost_anonymous,
            BudgetKind.PERSON: self.cost_person,
            BudgetKind.INTEGRATOR: self.cost_integrator,
            BudgetKind.DISPLAY: self.cost_display,
        }[kind]

    @property
    def signed_in_budget(self) -> int:
        """The most any credential may be allowed: checked before the credential lookup."""
        return max(self.cost_person, self.cost_integrator, self.cost_display)


class BudgetKind:
    ANONYMOUS = "ANONYMOUS"
    PERSON = "PERSON"
    INTEGRATOR = TokenRole.INTEGRATOR.value
    DISPLAY = TokenRole.DISPLAY.value


def budget_kind(actor: Actor) -> str:
    """Which budget an actor spends from; an API token by its role."""
    if actor.kind == ActorKind.TOKEN:
        roles = {g.role for g in actor.grants}
        return BudgetKind.DISPLAY if TokenRole.DISPLAY in roles else BudgetKind.INTEGRATOR
    if actor.kind == ActorKind.PERSON:
        return BudgetKind.PERSON
    return BudgetKind.ANONYMOUS


#: Fields that cost more than one unit per instance.
FIELD_WEIGHTS: dict[str, int] = {
    # The whole introspection result of this schema: 10,959 values, 44 ms, 217 KB.
    "Query.__schema": 11_000,
    # The largest single type (Mutation, with its arguments' types): about 1,000 values.
    "Query.__type": 1_000,
    # argon2 spends about 0.1 s of CPU per password checked or set (on its own small
    # thread pool): one sign-in per anonymous request, two per signed-in one.
    "Mutation.signIn": 10_000,
    "Mutation.changePassword": 10_000,
    "Mutation.createAccount": 10_000,
    # a register file: up to 20,000 rows read, checked and written (seconds of CPU, off the
    # event loop in part): one per request
    "Mutation.checkRegisterImport": 10_000,
    "Mutation.importRegister": 10_000,
    "Query.exportRegister": 10_000,
}

#: Assumed length of lists that are not paginated (upper bounds from the domain).
LIST_SIZES: dict[str, int] = {
    "OrgUnit.ancestors": 5,  # at most city, district, street, community, grid above
    "OrgUnit.pairedWorkUnits": 20,
    "Building.positions": 20,
    "Building.centralHouseholds": 10,
    "Household.members": 10,
    "PartyOrganisation.children": 20,
    "Person.positions": 10,
    "Person.pairings": 10,
    "WorkUnit.pairings": 20,
    "Petition.timeline": 20,
    "Petition.ratings": 5,
    "PetitionMetrics.byStatus": 15,
    "PetitionMetrics.escalationByLevel": 5,
    "PetitionMetrics.byCategory": 50,
    "PetitionMetrics.byChannel": 10,
    "FeedbackReport.items": 100,
    "PointsBalance.entries": 100,
    "Query.petitionCategories": 50,
    "Query.petitionDueTimes": 4,
    "Query.unitRankings": 100,
    "Viewer.grants": 10,
    "DisplayFigures.figures": 30,  # one per figure of `models.figures.FIGURES`
    "DisplayFigures.trend": 60,  # `count` is at most 60
    "DisplayFigures.rankings": 100,
}
#: Any other list of objects; a payload's `errors` lists at most one refusal.
DEFAULT_LIST_SIZE = 20
ERRORS_LIST_SIZE = 1
