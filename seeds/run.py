"""`app.py seed`: load the demo city or the city-scale data set into a migrated database."""

from __future__ import annotations

import asyncio
import sys
import time

from sqlalchemy import func, select

from models.db import make_engine, make_sessionmaker
from models.org import OrgUnit


class AlreadySeededError(RuntimeError):
    """Seeding again would duplicate the city (codes are unique) or mix two cities."""


def report(message: str) -> None:
    """Progress for the operator running `app.py seed` (stdout, flushed at once)."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


async def seed(libpq_uri: str, scale: str, *, force: bool) -> None:
    """Seed `scale` ("demo" or "city"). The demo is skipped when data exists (so `serve`
    can call it every start); with `force` and data present it refuses rather than
    duplicate the city. The city seed refuses any non-empty database itself.
    """
    if scale == "city":
        from seeds.city import seed_city

        await asyncio.to_thread(seed_city, libpq_uri)
        from seeds.petitions import seed_city_petitions

        await asyncio.to_thread(seed_city_petitions, libpq_uri)
        from seeds.services import seed_city_services

        await asyncio.to_thread(seed_city_services, libpq_uri)
        from seeds.incentives import seed_city_incentives

        await asyncio.to_thread(seed_city_incentives, libpq_uri)
        return
    if scale != "demo":
        raise ValueError(f"unknown seed scale {scale!r}: use 'demo' or 'city'")
    from seeds.accounts import seed_demo_accounts
    from seeds.demo import seed_demo
    from seeds.petitions import seed_demo_petitions

    engine = make_engine(libpq_uri, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            existing = await session.scalar(select(func.count()).select_from(OrgUnit))
            if existing and force:
                raise AlreadySeededError(
                    f"the database already holds {existing} org units: refusing to seed the"
                    " demo city over them (it would duplicate it); use an empty database"
                )
            if existing:
                report(f"already seeded ({existing} org units): leaving the data as it is")
                return
            started = time.perf_counter()
            demo = await seed_demo(session)
            await seed_demo_accounts(session, demo)
            await seed_demo_petitions(session, demo)
        report(f"seeded the demo city in {time.perf_counter() - started:.1f}s")
    finally:
        await engine.dispose()
