"""The migrations build exactly the tables the models declare: a model changed without a
migration (or a migration without its model) fails here, not in production."""

from __future__ import annotations

import warnings

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import models.registry  # noqa: F401  (every table module, imported for the metadata)
from models.migrate import upgrade


def test_migrations_match_the_models(scratch_database: str) -> None:
    upgrade(scratch_database)
    engine = sa.create_engine("postgresql+psycopg://" + scratch_database.split("://", 1)[1])
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Did not recognize type 'ltree'")
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []
