"""Imports every table module so `SQLModel.metadata` is complete (Alembic, tests)."""

from sqlmodel import SQLModel

from models import org, people

metadata = SQLModel.metadata

__all__ = ["metadata", "org", "people"]
