"""Turns a request's credentials into the actor it acts as, and tells where it comes from."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import Network, security_settings
from permissions.actor import Actor, Grant
from permissions.roles import CONTACT_ROLES
from resolvers.identity import AuthenticationError, principal_for_bearer
from schema.context import UNKNOWN_ADDRESS


async def actor_for(session: AsyncSession, authorization: str | None) -> Actor:
    """No header: anonymous. A header that does not authenticate raises; never a downgrade.

    A person's credentials, session, grants and contacts come from one SQL statement.
    """
    if authorization is None or not authorization.strip():
        return Actor.anonymous()
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise AuthenticationError("use `Authorization: Bearer <token>`")
    principal = await principal_for_bearer(session, credentials.strip(), CONTACT_ROLES)
    if principal.wrote:
        await session.commit()
    return Actor(
        kind=principal.kind,
        person_id=principal.person_id,
        account_id=principal.account_id,
        token_id=principal.token_id,
        household_path=principal.household_path,
        grants=tuple(Grant(role, path) for role, path in principal.grants),
        contact_ids=principal.contact_ids,
        party_member=principal.party_member,
        allowed_operations=principal.allowed_operations,
    )


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, proxies: tuple[Network, ...]
) -> bool:
    return address is not None and any(address in network for network in proxies)


def _as_key(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """IPv6 clients get a whole /64 each: one client, one key, however it rotates inside."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(
    scope_client: tuple[str, int] | list[Any] | None,
    forwarded_for: list[str],
    proxies: tuple[Network, ...],
) -> str:
    """The client's address as a throttling key.

    The ASGI peer is the client, unless it is one of the configured proxies
    (`TRUSTED_PROXIES`): then `X-Forwarded-For` is read from the right, skipping trusted
    proxies, and the first address that is not one is the client. Entries further left
    were written by the client itself and are never believed.
    """
    peer = _address(str(scope_client[0])) if scope_client else None
    if peer is None:
        return UNKNOWN_ADDRESS
    client = peer
    if _trusted(peer, proxies):
        hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
        for hop in reversed(hops):
            found = _address(hop)
            if found is None:
                break  # a malformed hop: keep the last address we could trust to report
            client = found
            if not _trusted(found, proxies):
                break
    return _as_key(client)


def scope_address(scope: Mapping[str, Any]) -> str:
    """The client address of an ASGI connection (HTTP or WebSocket)."""
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name.lower() == b"x-forwarded-for"
    ]
    return client_address(scope.get("client"), forwarded, security_settings().trusted_proxies)
