"""Imports every table module so `SQLModel.metadata` is complete (Alembic, tests, the path
re-writer): a new domain's module is found here without being listed."""

import importlib
import pkgutil

from sqlmodel import SQLModel

import models

#: Modules of `models/` that hold no tables.
_NOT_TABLES = frozenset({"base", "config", "crypto", "db", "migrate", "registry"})

for _module in pkgutil.iter_modules(models.__path__):
    if _module.name not in _NOT_TABLES:
        importlib.import_module(f"models.{_module.name}")

metadata = SQLModel.metadata
