"""`explainAccess`: for the calling actor, which grants and relations decided each field of a
person (FULL, MASKED or DENIED, and why), never the values.

It asks the same two things the field guard asks (`schema.policy.relations_to` for the
relations, `permissions.policy` for each field's rule), so an explanation cannot drift
from what a query returns.
"""

from __future__ import annotations

import strawberry

from models.people import Person
from permissions import access as rules
from permissions.actor import is_under
from permissions.policy import FIELD_POLICY, Access, FieldRule, rule
from permissions.roles import Relation
from resolvers.errors import invalid
from resolvers.people import ACTIVE_POSITIONS_OF_PERSON
from resolvers.register import as_int
from schema.context import Info
from schema.declare import expose
from schema.operations import authorize
from schema.policy import relations_to
from schema.relay import to_global_id

expose(Access, name="FieldAccess", description="How the field policy shows a field to you.")
expose(Relation, name="Relation", description="How an actor stands to a row.")


@strawberry.type(description="One of your grants: a role held at a place.")
class AccessGrant:
    role: str
    place_id: strawberry.ID | None = strawberry.field(
        description="The OrgUnit or Building where it is held."
    )
    relation: Relation


@strawberry.type(description="How one field of the person is shown to you, and why.")
class FieldAccessExplanation:
    field: str
    access: Access
    reason: str
    full_for: list[Relation] = strawberry.field(description="Relations that see it in full.")
    masked_for: list[Relation] = strawberry.field(description="Relations that see it masked.")
    personal: bool = strawberry.field(description="Personal data: full reads are audited.")


@strawberry.type(description="Why you see a person's fields as you do (never their values).")
class AccessExplanation:
    person_id: strawberry.ID
    relations: list[Relation] = strawberry.field(
        description="Your relations to the person, as the field policy takes them."
    )
    superseded: list[Relation] = strawberry.field(
        description="Relations your positions give here that your admin grant supersedes."
    )
    grants: list[AccessGrant] = strawberry.field(description="Your grants over where they are.")
    fields: list[FieldAccessExplanation]


def _place_id(path: str) -> strawberry.ID | None:
    label = path.rsplit(".", 1)[-1]
    if label.isdigit():
        return to_global_id("OrgUnit", int(label))
    if label.startswith("b") and label[1:].isdigit():
        return to_global_id("Building", int(label[1:]))
    return None


def _names(relations: frozenset[Relation] | set[Relation]) -> str:
    return ", ".join(sorted(relations)) or "nobody"


def _reason(found: FieldRule | None, access: Access, relations: set[Relation]) -> str:
    if found is None:
        return "not in the field policy: withheld from everyone (deny by default)"
    if found.concealed_by is not None:
        return f"concealed while `{found.concealed_by}` is set: the subject's alone"
    mine = _names(relations)
    if access is Access.FULL:
        return f"full for {_names(relations & found.full)} (you: {mine})"
    if access is Access.MASKED:
        return (
            f"masked for {_names(relations & found.masked)} (you: {mine});"
            f" full only for {_names(found.full)}"
        )
    if found.personal and relations <= {Relation.OTHER}:
        return "personal data: being in scope without a closer relation shows nothing"
    return f"withheld: none of your relations ({mine}) is among {_names(found.full | found.masked)}"


@strawberry.type
class AccessQuery:
    @strawberry.field(
        description="Admins and integrators: for you, which relation decided each field of a"
        " person (all of `Person`'s unless `fields` names some), never the values."
    )
    async def explain_access(
        self, info: Info, person_id: strawberry.ID, fields: list[str] | None = None
    ) -> AccessExplanation:
        policy = FIELD_POLICY.get(rules.EXPLAINED_TYPE, {})
        wanted = list(dict.fromkeys(fields)) if fields else sorted(policy)
        unknown = [f for f in wanted if f not in policy]
        if unknown:
            raise invalid(f"`fields` names no field of Person: {', '.join(unknown[:5])}", "fields")
        args = _Args(person_id)
        refs = await authorize(info, rules.EXPLAIN_ACCESS, args, {"person_id": Person})
        person = refs.row_of("person_id", Person)
        context = info.context
        actor = context.actor
        relations = set(await relations_to(context, rules.EXPLAINED_TYPE, person))
        places = [str(person.path)] if person.path is not None else []
        if not places:
            held = await context.loaders.children(ACTIVE_POSITIONS_OF_PERSON, person.id)
            places = [str(p.path) for p in held]
        over = [g for g in actor.grants if any(is_under(p, g.path) for p in places)]
        given = {g.relation for g in over}
        explained = []
        for name in wanted:
            found = rule(rules.EXPLAINED_TYPE, name)
            access = (
                Access.FULL
                if actor.unrestricted
                else (found.access(relations, person) if found else Access.DENIED)
            )
            explained.append(
                FieldAccessExplanation(
                    field=name,
                    access=access,
                    reason=_reason(found, access, relations),
                    full_for=sorted(found.full) if found else [],
                    masked_for=sorted(found.masked) if found else [],
                    personal=bool(found and found.personal),
                )
            )
        return AccessExplanation(
            person_id=to_global_id("Person", as_int(person.id)),
            relations=sorted(relations),
            superseded=sorted(given - relations) if Relation.ADMIN in relations else [],
            grants=[
                AccessGrant(role=g.role, place_id=_place_id(g.path), relation=g.relation)
                for g in over
            ],
            fields=explained,
        )


class _Args:
    def __init__(self, person_id: str) -> None:
        self.person_id = person_id
