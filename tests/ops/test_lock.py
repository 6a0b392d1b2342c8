"""requirements.lock is the whole install: every declared requirement pinned with hashes,
and this interpreter runs exactly the pinned versions (`make` rebuilds .venv from it)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"


def _locked() -> dict[str, tuple[Requirement, list[str]]]:
    """Name -> (pinned requirement with its marker, its hashes)."""
    entries: dict[str, tuple[Requirement, list[str]]] = {}
    current = ""
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            requirement = Requirement(line.rstrip(" \\"))
            current = canonicalize_name(requirement.name)
            assert current not in entries, f"{current} is locked twice"
            entries[current] = (requirement, [])
        elif found := re.search(r"--hash=(sha256:[0-9a-f]{64})", line):
            entries[current][1].append(found.group(1))
    return entries


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    texts = [
        *project["project"]["dependencies"],
        *[r for extra in project["project"]["optional-dependencies"].values() for r in extra],
        *[r for group in project.get("dependency-groups", {}).values() for r in group],
    ]
    return [Requirement(text) for text in texts]


def test_every_declared_requirement_is_pinned_with_hashes() -> None:
    locked = _locked()
    for declared in _declared():
        name = canonicalize_name(declared.name)
        assert name in locked, f"{declared} is not in requirements.lock: run `make lock`"
        pin, _ = locked[name]
        (spec,) = pin.specifier
        assert spec.operator == "==", pin
        assert declared.specifier.contains(spec.version, prereleases=True), (
            f"requirements.lock pins {pin}, pyproject.toml wants {declared}: run `make lock`"
        )
    assert all(hashes for _, hashes in locked.values()), "every pin needs its hashes"
    assert "websockets" in locked, "uvicorn serves WebSockets only with websockets"


def test_the_lock_is_closed_under_dependencies() -> None:
    """What `pip check` would say, but against the lock: every dependency (and every extra
    asked for, such as uvicorn[standard]) of every package installed here is pinned too."""
    locked = _locked()
    wanted: dict[str, set[str]] = {canonicalize_name(r.name): set(r.extras) for r in _declared()}
    for name, (pin, _) in locked.items():
        if pin.marker is not None and not pin.marker.evaluate():
            continue
        for text in metadata.requires(name) or []:
            needed = Requirement(text)
            extras = {"", *wanted.get(name, set())}
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in extras):
                assert canonicalize_name(needed.name) in locked, f"{name} needs {needed}"


def test_the_running_environment_is_the_locked_one() -> None:
    for name, (pin, _) in _locked().items():
        if pin.marker is not None and not pin.marker.evaluate():
            continue
        (spec,) = pin.specifier
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            pytest.fail(f"{name} is locked but not installed: `make` rebuilds .venv")
        assert installed == spec.version, f"{name} {installed} installed, {pin} locked"
