"""Imports every table module so `SQLModel.metadata` is complete (Alembic, tests)."""

from sqlmodel import SQLModel

import models.petitions  # noqa: F401  (petitions, micro-wishes, the points ledger)
from models import audit, figures, identity, live, org, people  # noqa: F401  (display figures, the live event log)

metadata = SQLModel.metadata

__all__ = ["audit", "identity", "metadata", "org", "people"]
