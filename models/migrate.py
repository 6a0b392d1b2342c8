"""Apply Alembic migrations programmatically (used by `app.py migrate`, `serve` and tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from models.config import ROOT


def alembic_config(libpq_uri: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option(
        "sqlalchemy.url", "postgresql+psycopg://" + libpq_uri.split("://", 1)[1].replace("%", "%%")
    )
    return cfg


def upgrade(libpq_uri: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(libpq_uri), revision)
    if revision == "head":
        from models.figures import ensure_figures

        ensure_figures(libpq_uri)
