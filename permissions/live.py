"""Who may subscribe to what, who reads display figures, and what a display's live feed shows:
data, read by the subscription and figures resolvers.

Every payload of a subscription is resolved like a query by the same actor (row scope and the
field policy apply to each event), so these rules only decide who may open a subscription at
all, and what the display feed (the one payload that is not a row of ours) may carry.
"""

from __future__ import annotations

from permissions.actor import Actor, is_under
from permissions.roles import Relation

R = Relation

#: Readers of display figures: actors whose counting scope covers the whole subtree of their
#: grant, so the maintained counts (everything under a node) are exactly what they may count.
#: Volunteers and other service roles see only the cases assigned to them; residents none.
FIGURES_READERS = frozenset({R.DISPLAY, R.INTEGRATOR, R.ADMIN, R.GRID, R.BUILDING_STAFF})


class Subscription:
    """The subscription root fields."""

    PETITION_EVENTS = "petitionEvents"
    WISH_EVENTS = "wishEvents"
    DISPLAY_FEED = "displayFeed"
    FIGURES_UPDATED = "figuresUpdated"


#: Who may open each subscription (relations of the grant over the node subscribed to; a
#: resident subscribing to her own building or household is admitted by `lives_under`).
#: Displays read figures and the display feed only: never the events of cases or wishes.
SUBSCRIBERS: dict[str, frozenset[Relation]] = {
    Subscription.PETITION_EVENTS: frozenset(
        {R.BUILDING_STAFF, R.GRID, R.ADMIN, R.SERVICE, R.INTEGRATOR}
    ),
    Subscription.WISH_EVENTS: frozenset(
        {R.BUILDING_STAFF, R.GRID, R.ADMIN, R.SERVICE, R.INTEGRATOR}
    ),
    Subscription.DISPLAY_FEED: FIGURES_READERS,
    Subscription.FIGURES_UPDATED: FIGURES_READERS,
}
#: Subscriptions a resident may open over her own place (her events pass row scope: her own
#: cases, the wishes on her building's wall).
RESIDENT_SUBSCRIPTIONS = frozenset({Subscription.PETITION_EVENTS, Subscription.WISH_EVENTS})


def may_subscribe(actor: Actor, field: str, path: str) -> bool:
    """Whether `actor` may open subscription `field` over the node at `path`."""
    allowed = SUBSCRIBERS.get(field, frozenset())
    if any(g.relation in allowed and is_under(path, g.path) for g in actor.grants):
        return True
    home = actor.household_path
    return field in RESIDENT_SUBSCRIPTIONS and home is not None and is_under(home, path)


def may_read_figures(actor: Actor, path: str) -> bool:
    """Display figures of the node at `path`: under a grant of a figures reader."""
    return any(g.relation in FIGURES_READERS and is_under(path, g.path) for g in actor.grants)


#: What one entry of the display feed shows of a petition's step: what kind of case, what
#: happened, when, and where at grid level (the grid and its community). Never who (no
#: reporter, handler or assignee), never the building or the room (a building of a dozen
#: households and a category can point at a family), never free text (titles, notes and
#: descriptions are written by residents and can name anyone), never the case's id.
DISPLAY_FEED_FIELDS: frozenset[str] = frozenset(
    {"id", "at", "action", "fromStatus", "toStatus", "category", "grid", "community"}
)
