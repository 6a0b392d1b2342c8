"""Sign-in accounts for the demo city's key people, so every front end can be tried at once.

All share one password (DEMO_PASSWORD, printed in the README); it is hashed once, so
seeding stays fast. Never use the demo seed on a database holding real residents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import Account
from models.people import Person, Role

if TYPE_CHECKING:
    from seeds.demo import DemoCity

DEMO_PASSWORD = "hongcheng-2024"  # noqa: S105  (documented demo credential)


def demo_people(demo: DemoCity) -> dict[str, Person]:
    """Who gets an account, by a short handle used in the README and tests."""
    return {
        "city-admin": demo.admins[Role.CITY_ADMIN],
        "district-admin": demo.admins[Role.DISTRICT_ADMIN],
        "street-admin": demo.admins[Role.STREET_ADMIN],
        "community-admin": demo.admins[Role.COMMUNITY_ADMIN],
        "building-head": demo.building_head,
        "grid-worker": demo.grid_worker,
        "seconded-cadre": demo.seconded_cadre,
        "resident": demo.resident_alone,
        "renter": demo.renter,
    }


async def seed_demo_accounts(session: AsyncSession, demo: DemoCity) -> dict[str, Account]:
    from resolvers.identity import hash_password

    hashed = hash_password(DEMO_PASSWORD)
    accounts: dict[str, Account] = {}
    for handle, person in demo_people(demo).items():
        assert person.id is not None, handle
        assert person.phone, handle
        accounts[handle] = Account(person_id=person.id, phone=person.phone, password_hash=hashed)
    session.add_all(accounts.values())
    await session.flush()
    return accounts
