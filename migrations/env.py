"""Alembic environment: migrates the database named by `sqlalchemy.url` (set by app.py)."""

from alembic import context
from sqlalchemy import create_engine, pool

from models.registry import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "app.py sets sqlalchemy.url before running migrations"
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
