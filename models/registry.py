"""Imports every table module so `SQLModel.metadata` is complete (Alembic, tests)."""

from sqlmodel import SQLModel

import models.petitions  # noqa: F401  (petitions, micro-wishes, the points ledger)
from models import audit, identity, org, people

metadata = SQLModel.metadata

__all__ = ["audit", "identity", "metadata", "org", "people"]
