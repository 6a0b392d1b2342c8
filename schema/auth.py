"""Turns a request's credentials into the actor it acts as."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from permissions.actor import Actor, Grant
from permissions.roles import CONTACT_ROLES
from resolvers.identity import AuthenticationError, contacts_of, principal_for_bearer


async def actor_for(session: AsyncSession, authorization: str | None) -> Actor:
    """No header: anonymous. A header that does not authenticate raises; never a downgrade."""
    if authorization is None or not authorization.strip():
        return Actor.anonymous()
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise AuthenticationError("use `Authorization: Bearer <token>`")
    principal = await principal_for_bearer(session, credentials.strip())
    contacts = (
        await contacts_of(session, principal.household_path, CONTACT_ROLES)
        if principal.household_path
        else frozenset()
    )
    return Actor(
        kind=principal.kind,
        person_id=principal.person_id,
        account_id=principal.account_id,
        token_id=principal.token_id,
        household_path=principal.household_path,
        grants=tuple(Grant(role, path) for role, path in principal.grants),
        contact_ids=contacts,
    )
