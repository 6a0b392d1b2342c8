"""The permission tables as each domain declares its part of them.

A domain's module of `permissions/` declares, under these names, the rows of its tables:
`ROW_SCOPE` (how each of its tables is reached), `PRIVATE_WHILE` (statuses in which a row is
its owners' only), `FIELD_POLICY` (its types holding personal data), `FIELD_RULES` (single
guarded fields), `SUBJECTS` (whose row a row is) and `RELATION_PATHS` (its fields leading to
people). The machinery reads the union, collected on first use: adding a domain adds a module
and edits no list here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: Modules of `permissions/` that are machinery, not domains.
_MACHINERY = frozenset(
    {
        "actor",
        "aggregates",
        "compiled",
        "limits",
        "masking",
        "policy",
        "registry",
        "roles",
        "rules",
        "scope",
    }
)


def _domains() -> Iterator[Any]:
    import permissions

    for found in sorted(pkgutil.iter_modules(permissions.__path__), key=lambda m: m.name):
        if found.name not in _MACHINERY:
            yield importlib.import_module(f"permissions.{found.name}")


class Collected(Mapping[K, V]):
    """The union of the table `name` of every domain module (a key declared twice is an error)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._data: dict[K, V] | None = None

    def _union(self) -> dict[K, V]:
        if self._data is None:
            merged: dict[K, V] = {}
            for module in _domains():
                part: Mapping[K, V] = getattr(module, self.name, {})
                twice = merged.keys() & part.keys()
                if twice:
                    raise LookupError(f"{self.name}: {sorted(map(str, twice))} declared twice")
                merged.update(part)
            self._data = merged
        return self._data

    def __getitem__(self, key: K) -> V:
        return self._union()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._union())

    def __len__(self) -> int:
        return len(self._union())
