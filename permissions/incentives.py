"""Who runs partner shops and their offers, who redeems and confirms, who grants fee
reductions and sets the expiry rule; who may take an offer (eligibility, as data); who sees
the points ledger and redemptions (one's own; a shop's operator sees only the masked name of
whoever redeems there; admins those in their subtree)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from models.incentives import Eligibility, RedemptionAction
from permissions.actor import Actor
from permissions.masking import mask_name
from permissions.petitions import holds
from permissions.policy import FieldRule, personal, public
from permissions.roles import Relation
from permissions.rules import ActionTable, Acts, As, CityAdmin, Party, SignedIn, over
from permissions.scope import Reach

R = Relation
P = Party


def shop_parties(actor: Actor, shop: Any) -> frozenset[Party]:
    """The shop's operator keeps it: named on the shop, and holding an operator's position over
    its place (an operator whose position ended keeps nothing)."""
    me = actor.person_id
    if (
        me is not None
        and me == shop.operator_person_id
        and holds(actor, frozenset({R.SHOP}), shop.path)
    ):
        return frozenset({P.KEEPER})
    return frozenset()


def redemption_parties(actor: Actor, redemption: Any) -> frozenset[Party]:
    me = actor.person_id
    return frozenset({P.REPORTER}) if me is not None and me == redemption.person_id else frozenset()


#: A redemption is confirmed by code at the shop (`CONFIRM_REDEMPTION`, the operator of the
#: shop the input names); the holder may cancel a code they will not use.
REDEMPTION_ACTIONS: ActionTable[RedemptionAction] = ActionTable(
    {RedemptionAction.CANCEL: frozenset({P.REPORTER})}, redemption_parties
)

#: Communities sign up partner shops and the benefits they give (商品打折, 物业费减免 ...).
CREATE_SHOP = over(R.ADMIN, on=("org_unit_id",))
UPDATE_SHOP = over(R.ADMIN, on=("id",))
CREATE_OFFER = over(R.ADMIN, on=("shop_id",))
WITHDRAW_OFFER = over(R.ADMIN, on=("id",))
#: Anyone with an account takes an offer they can see, if eligible (see `ELIGIBILITY`).
ISSUE_REDEMPTION = SignedIn()
CONFIRM_REDEMPTION = As(frozenset({P.KEEPER}), shop_parties, on="shop_id")
CANCEL_REDEMPTION = Acts(REDEMPTION_ACTIONS, fixed=RedemptionAction.CANCEL)
#: A property manager's fee reduction is recorded by an admin over the estate and household.
GRANT_FEE_REDUCTION = over(R.ADMIN, on=("estate_id", "household_id"))
#: The expiry rule is city-wide.
SET_POINTS_EXPIRY = CityAdmin()


@dataclass(frozen=True)
class Criterion:
    """What makes a person eligible: at least `minimum` of the thing counted within `window`
    (None: ever)."""

    minimum: float
    window: timedelta | None = None


#: Who may take an offer listing an eligibility (an offer listing none: everyone).
ELIGIBILITY: dict[Eligibility, Criterion] = {
    # an active building head whose building's cases were rated 「满意」 within a year
    Eligibility.BUILDING_HEAD_SATISFIED: Criterion(minimum=1, window=timedelta(days=365)),
    # a winner (or the head of a winning building) within two years
    Eligibility.AWARD_WINNER: Criterion(minimum=1, window=timedelta(days=730)),
    # volunteer hours served within a year (an offer may ask for more)
    Eligibility.VOLUNTEER_HOURS: Criterion(minimum=10, window=timedelta(days=365)),
}

#: How often a shop may enter a wrong code before RATE_LIMITED (codes must not be guessed).
CODE_REFUSALS = 20
CODE_REFUSAL_WINDOW = timedelta(hours=1)


def code_refusal_key(actor: Actor) -> str | None:
    return f"confirmRedemption:person:{actor.person_id}" if actor.person_id is not None else None


ROW_SCOPE: dict[str, Reach] = {
    "points_entry": Reach.LEDGER,
    "points_expiry_rule": Reach.PUBLIC,
    "shop": Reach.TREE,
    "offer": Reach.TREE,
    "redemption": Reach.BENEFIT,
    "redemption_event": Reach.BENEFIT,
    "fee_reduction": Reach.BENEFIT,
}

#: Whose rows these are (SELF in the field policy).
SUBJECTS: dict[str, str] = {
    "PointsEntry": "person_id",
    "Redemption": "person_id",
    "FeeReduction": "person_id",
}

_OWN = frozenset({R.SELF})
_OWN_AND_ADMINS = frozenset({R.SELF, R.ADMIN})

FIELD_POLICY: dict[str, dict[str, FieldRule]] = {
    # the points history is personal: one's own only (myPoints)
    "PointsEntry": {
        name: personal(_OWN)
        for name in ("kind", "points", "sourceType", "sourceId", "note", "hours", "at")
    },
    # a redemption is its holder's; the shop's operator sees what to hand over and to whom,
    # by masked name only
    "Redemption": {
        "id": public(),
        "status": public(),
        "version": public(),
        "pointsCost": public(),
        "issuedAt": public(),
        "expiresAt": public(),
        "confirmedAt": public(),
        "offer": public(),
        "shop": public(),
        "allowedActions": public(),
        "holderName": personal(_OWN, {R.SHOP, R.ADMIN}, mask_name),
        "holder": personal(_OWN_AND_ADMINS),
        "timeline": personal(_OWN_AND_ADMINS),
    },
    "FeeReduction": {
        "id": public(),
        "basis": public(),
        "points": personal(_OWN_AND_ADMINS),
        "amountYuan": personal(_OWN_AND_ADMINS),
        "period": public(),
        "grantedAt": public(),
        "award": public(),
        "estate": public(),
        "person": personal(_OWN_AND_ADMINS),
        "household": personal(_OWN_AND_ADMINS),
    },
}

RELATION_PATHS: dict[tuple[str, str], tuple[str, str] | None] = {
    ("Redemption", "holder"): None,
    ("Shop", "operator"): None,
    # a fee reduction names a person and the household they pay for: membership
    ("FeeReduction", "person"): ("Household", "members"),
    ("FeeReduction", "household"): ("Household", "members"),
}
