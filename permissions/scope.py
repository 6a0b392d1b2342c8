"""Row scope in SQL: which rows of each table an actor may see.

Scope is data: `ROW_SCOPE` names, per table, which of the actor's paths admit a row.
Out-of-scope rows are simply absent, so they answer exactly like rows that do not exist.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import col

from models.base import Ltree
from models.people import Role
from permissions.actor import Actor, ActorKind, is_under
from permissions.registry import Collected
from permissions.roles import Relation


def ltree_array(paths: tuple[str, ...]) -> Any:
    return sa.cast(sa.literal(list(paths), postgresql.ARRAY(sa.Text)), postgresql.ARRAY(Ltree()))


def under(path_column: Any, paths: tuple[str, ...]) -> sa.ColumnElement[bool]:
    """`path <@ ANY(paths)`: one GiST-indexable predicate."""
    if not paths:
        return sa.false()
    found: sa.ColumnElement[bool] = path_column.op("<@")(ltree_array(paths))
    return found


def above(path_column: Any, paths: tuple[str, ...]) -> sa.ColumnElement[bool]:
    """The row's path is an ancestor-or-self of one of `paths` (`paths <@ path`)."""
    if not paths:
        return sa.false()
    found: sa.ColumnElement[bool] = ltree_array(paths).op("<@")(path_column)
    return found


class Reach(enum.Enum):
    """How a table's rows are admitted."""

    PERSONAL = "personal"  # under a non-display grant, or in the actor's own household
    PERSON = "person"  # PERSONAL, plus the contacts (building head ...) of the actor's place
    PLACE = "place"  # under a non-display grant, or at/above the actor's own household
    TREE = "tree"  # under or above any grant (display tokens included) or own household
    ADMIN = "admin"  # under an admin grant only
    CITY = "city"  # city admins only (the audit log)
    CASE = "case"  # a petition's rows: under a non-display grant, or the resident's own case
    HANDLED = "handled"  # under a grant of a handling relation (CASE_HANDLERS); see OWN_ROWS
    AREA = "area"  # under or above a non-display grant or own household (places, facilities)
    LEDGER = "ledger"  # points: one's own, or a person under an admin grant
    BENEFIT = "benefit"  # redemptions: one's own, the shop's operator, admins above the place
    PUBLIC = "public"  # any identified actor (no path: e.g. work units)


#: How each table is reached, as its domain's permissions module declares it.
ROW_SCOPE: Collected[str, Reach] = Collected("ROW_SCOPE")

#: Grants that admit the rows of a place: not displays (counts only), nor shop operators, who
#: are businesses, not staff (they see their shop's redemptions, `Reach.BENEFIT`).
_NOT_DISPLAY = tuple(r for r in Relation if r not in (Relation.DISPLAY, Relation.SHOP))


@dataclass(frozen=True)
class Private:
    """While a row is in one of `statuses`, only the people its `owners` columns name and the
    holders of a `keepers` relation over its place see it; otherwise its reach applies.

    `parent` (a model) and `via` (the column holding the parent's id) make a child table
    (a timeline) follow the privacy of its parent row.
    """

    statuses: frozenset[str]
    owners: tuple[str, ...]
    keepers: frozenset[Relation]
    status: str = "status"
    parent: Any = None
    via: str | None = None


#: Statuses in which a row is its owners' only, as its domain declares them.
PRIVATE_WHILE: Collected[str, Private] = Collected("PRIVATE_WHILE")

#: A condition over a table's rows and the actor.
RowCondition = Callable[[Any, Actor], sa.ColumnElement[bool]]
#: Rows a domain admits to the people taking part in them besides its reach (the resident who
#: ordered a service, the team it is dispatched to, the volunteer who visited a household).
OWN_ROWS: Collected[str, RowCondition] = Collected("OWN_ROWS")


def _serving(model: Any, granted: tuple[str, ...]) -> sa.ColumnElement[bool]:
    """People with no home here (seconded cadres ...) who hold a position in the actor's scope."""
    from models.people import Position

    if not granted:
        return sa.false()
    position = sa.orm.aliased(Position, name="serving_position")
    return sa.and_(
        model.path.is_(None),
        sa.exists().where(
            col(position.person_id) == model.id,
            col(position.ended_at).is_(None),
            under(col(position.path), granted),
        ),
    )


#: Who sees the petitions of a place: those who handle them (and read-only integrators);
#: volunteers and cadres see only the cases assigned to them.
CASE_HANDLERS = (Relation.BUILDING_STAFF, Relation.GRID, Relation.ADMIN, Relation.INTEGRATOR)


def _own_case(model: Any, actor: Actor) -> sa.ColumnElement[bool]:
    """A resident's own petitions, those assigned to the actor, and their timeline and ratings."""
    from models.petitions import Petition

    if actor.person_id is None:
        return sa.false()
    if model is Petition:
        return sa.or_(
            col(Petition.reporter_id) == actor.person_id,
            col(Petition.assignee_id) == actor.person_id,
        )
    case = sa.orm.aliased(Petition, name="own_case")
    return sa.exists().where(
        col(case.id) == model.petition_id,
        sa.or_(col(case.reporter_id) == actor.person_id, col(case.assignee_id) == actor.person_id),
    )


def _ledger(model: Any, actor: Actor) -> sa.ColumnElement[bool]:
    from models.people import Person

    own = model.person_id == actor.person_id if actor.person_id else sa.false()
    admins = actor.grant_paths(Relation.ADMIN)
    if not admins:
        return own
    person = sa.orm.aliased(Person, name="ledger_person")
    managed = sa.exists().where(col(person.id) == model.person_id, under(col(person.path), admins))
    return sa.or_(own, managed)


def _benefit(model: Any, actor: Actor) -> sa.ColumnElement[bool]:
    """A benefit taken (a redemption, a fee reduction): the person's own, its shop's operator's
    (`shop_id`, when the table has one), and admins' above its place."""
    from models.incentives import Shop

    found = [under(model.path, actor.grant_paths(Relation.ADMIN))]
    if actor.person_id is not None:
        found.append(model.person_id == actor.person_id)
        if hasattr(model, "shop_id") and actor.grant_paths(Relation.SHOP):
            shop = sa.orm.aliased(Shop, name="benefit_shop")
            found.append(
                sa.exists().where(
                    col(shop.id) == model.shop_id,
                    col(shop.operator_person_id) == actor.person_id,
                    under(col(shop.path), actor.grant_paths(Relation.SHOP)),
                )
            )
    return sa.or_(*found)


def _contacts(model: Any, actor: Actor) -> sa.ColumnElement[bool]:
    """The building head, liaison and grid worker of a resident's own place."""
    if not actor.contact_ids:
        return sa.false()
    found: sa.ColumnElement[bool] = model.id.in_(sorted(actor.contact_ids))
    return found


def countable(model: Any, actor: Actor) -> list[sa.ColumnElement[bool]]:
    """Rows an actor may count: what it sees, and for display tokens all rows under their node
    (they see no rows, only aggregates, which are then guarded by small-cell suppression)."""
    displays = actor.grant_paths(Relation.DISPLAY)
    if not displays:
        return visible(model, actor)
    if getattr(model, "path", None) is None:
        return [sa.false()]
    return [sa.or_(under(model.path, displays), *visible(model, actor))]


def counts_all_under(actor: Actor, path: str) -> bool:
    """Whether `countable` admits every row under `path` of every table the display figures
    count: a city admin's reach, or a display token's over its node. Their counts then are
    the maintained ones (`models.figures`), read instead of counted (a test holds the two
    equal for the city admin at every level)."""
    covering = actor.grant_paths(Relation.DISPLAY)
    if actor.city_admin:  # within the city admin's own grant, not any node it can see
        covering += actor.grant_paths(Relation.ADMIN)
    return any(is_under(path, d) for d in covering)


def _admin_rows(model: Any, actor: Actor) -> sa.ColumnElement[bool]:
    admins = actor.grant_paths(Relation.ADMIN)
    if model.__tablename__ == "account":  # an account is where its person is
        from models.people import Person

        person = sa.orm.aliased(Person, name="account_person")
        return sa.exists().where(col(person.id) == model.person_id, under(col(person.path), admins))
    return under(model.path, admins)


def _personal_rows(model: Any, actor: Actor, granted: tuple[str, ...]) -> sa.ColumnElement[bool]:
    own = (actor.household_path,) if actor.household_path else ()
    admitted = sa.or_(under(model.path, granted), under(model.path, own))
    if ROW_SCOPE[model.__tablename__] is Reach.PERSON:
        admitted = sa.or_(admitted, _serving(model, granted))
        if actor.city_admin:  # people registered nowhere below the city (no home, no post)
            admitted = sa.or_(admitted, model.path.is_(None))
        if own:
            admitted = sa.or_(admitted, _contacts(model, actor))
    return admitted


def _reach_condition(model: Any, actor: Actor, reach: Reach) -> sa.ColumnElement[bool]:
    own = (actor.household_path,) if actor.household_path else ()
    granted = actor.grant_paths(*_NOT_DISPLAY)
    rules: dict[Reach, Callable[[], sa.ColumnElement[bool]]] = {
        Reach.PUBLIC: sa.true,
        Reach.CITY: lambda: sa.true() if Role.CITY_ADMIN in actor.roles else sa.false(),
        Reach.ADMIN: lambda: _admin_rows(model, actor),
        Reach.CASE: lambda: sa.or_(
            under(model.path, actor.grant_paths(*CASE_HANDLERS)), _own_case(model, actor)
        ),
        Reach.LEDGER: lambda: _ledger(model, actor),
        Reach.HANDLED: lambda: under(model.path, actor.grant_paths(*CASE_HANDLERS)),
        Reach.BENEFIT: lambda: _benefit(model, actor),
        Reach.TREE: lambda: sa.or_(
            under(model.path, actor.grant_paths() + own),
            above(model.path, actor.grant_paths() + own),
        ),
        Reach.AREA: lambda: sa.or_(
            under(model.path, granted + own), above(model.path, granted + own)
        ),
        Reach.PLACE: lambda: sa.or_(under(model.path, granted), above(model.path, own)),
        Reach.PERSONAL: lambda: _personal_rows(model, actor, granted),
        Reach.PERSON: lambda: _personal_rows(model, actor, granted),
    }
    return rules[reach]()


def _private_rows(model: Any, actor: Actor, private: Private) -> sa.ColumnElement[bool]:
    """False for a row in a private status unless the actor owns or keeps it."""
    row = model
    if private.parent is not None:
        row = sa.orm.aliased(private.parent, name="private_parent")
    owned: list[sa.ColumnElement[bool]] = [under(row.path, actor.grant_paths(*private.keepers))]
    if actor.person_id is not None:
        owned += [getattr(row, column) == actor.person_id for column in private.owners]
    admitted = sa.or_(getattr(row, private.status).not_in(sorted(private.statuses)), *owned)
    if private.parent is None:
        return admitted
    assert private.via is not None
    return sa.exists().where(row.id == getattr(model, private.via), admitted)


def visible(model: Any, actor: Actor) -> list[sa.ColumnElement[bool]]:
    """Conditions restricting `model` rows to the actor's scope (none when unrestricted)."""
    if actor.unrestricted:
        return []
    reach = ROW_SCOPE.get(model.__tablename__)
    if actor.kind == ActorKind.ANONYMOUS or reach is None:
        return [sa.false()]  # deny by default: a new table must be given a reach
    found = [] if reach is Reach.PUBLIC else [_reach_condition(model, actor, reach)]
    taking_part = OWN_ROWS.get(model.__tablename__)
    if taking_part is not None and found:
        found = [sa.or_(found[0], taking_part(model, actor))]
    private = PRIVATE_WHILE.get(model.__tablename__)
    if private is not None:
        found.append(_private_rows(model, actor, private))
    return found
