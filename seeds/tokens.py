"""`app.py token`: issue an API token from the command line (bootstrap, no admin account yet)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col

from models.db import make_engine, make_sessionmaker
from models.identity import TokenRole
from models.org import OrgUnit
from resolvers.identity import create_api_token


class UnknownOrgUnitError(LookupError):
    pass


async def issue_token(libpq_uri: str, code: str, role: str, name: str, days: int) -> str:
    engine = make_engine(libpq_uri, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            unit_id = await session.scalar(
                sa.select(col(OrgUnit.id)).where(col(OrgUnit.code) == code)
            )
            if unit_id is None:
                raise UnknownOrgUnitError(f"no org unit has code {code}")
            issued = await create_api_token(
                session,
                name=name,
                role=TokenRole(role),
                org_unit_id=unit_id,
                days=days,
                created_by=None,
            )
            return issued.secret
    finally:
        await engine.dispose()
