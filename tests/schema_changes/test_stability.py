"""Schema stability: the schema now against the last released one (`schema/released.graphql`).

Every breaking change graphql-core's `find_breaking_changes` finds must be listed, word for
word, under `### Breaking` of the `## Unreleased` section of CHANGELOG.md with a
`Deprecation period:`; a field goes only after a release marked it `@deprecated`, and every
deprecation says why. The checker is proven on small schemas that break each rule once.
"""

from __future__ import annotations

import re
from pathlib import Path

from graphql import (
    BreakingChangeType,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
)

from models.config import ROOT

RELEASED = ROOT / "schema" / "released.graphql"
CURRENT = ROOT / "schema" / "schema.graphql"
CHANGELOG = ROOT / "CHANGELOG.md"
DEFAULT_REASON = "No longer supported"
_LISTED = re.compile(r"^- `(?P<change>[^`]+)`", re.MULTILINE)
_PERIOD = re.compile(r"^Deprecation period: (\d+) days?\b", re.MULTILINE)


def unreleased(changelog: str) -> str:
    """The `## Unreleased` section, up to the next release."""
    match = re.search(r"^## Unreleased\s*$(.*?)(?=^## |\Z)", changelog, re.MULTILINE | re.DOTALL)
    assert match, "CHANGELOG.md has no `## Unreleased` section"
    return match.group(1)


def breaking_section(changelog: str) -> str:
    section = unreleased(changelog)
    match = re.search(r"^### Breaking\s*$(.*?)(?=^### |\Z)", section, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ""


def _deprecated_field(schema: GraphQLSchema, coordinate: str) -> bool:
    type_name, _, field = coordinate.partition(".")
    found = schema.type_map.get(type_name)
    fields = getattr(found, "fields", {}) or {}
    return field in fields and fields[field].deprecation_reason is not None


def problems(released: GraphQLSchema, current: GraphQLSchema, changelog: str) -> list[str]:
    """Every breach of the rules, one line each (empty when clean)."""
    found: list[str] = []
    section = breaking_section(changelog)
    listed = set(_LISTED.findall(section))
    changes = find_breaking_changes(released, current)
    if changes and not _PERIOD.search(section):
        found.append("the Unreleased breaking changes state no `Deprecation period: N days`")
    for change in changes:
        if change.description not in listed:
            found.append(f"not in CHANGELOG.md: {change.description}")
        if change.type is BreakingChangeType.FIELD_REMOVED:
            coordinate = change.description.removeprefix("Field ").split(" was removed")[0]
            if not _deprecated_field(released, coordinate):
                found.append(f"removed without being deprecated first: {coordinate}")
    happening = {c.description for c in changes}
    found.extend(f"listed but not happening: {stale}" for stale in sorted(listed - happening))
    for type_name, named in current.type_map.items():
        if type_name.startswith("__"):
            continue
        for name, field in (getattr(named, "fields", {}) or {}).items():
            if getattr(field, "deprecation_reason", None) in ("", DEFAULT_REASON):
                found.append(f"{type_name}.{name} is deprecated without a reason")
        for name, value in (getattr(named, "values", {}) or {}).items():
            if getattr(value, "deprecation_reason", None) in ("", DEFAULT_REASON):
                found.append(f"{type_name}.{name} is deprecated without a reason")
    return found


def test_the_schema_breaks_nothing_the_changelog_does_not_announce() -> None:
    released = build_schema(RELEASED.read_text(encoding="utf-8"))
    current = build_schema(CURRENT.read_text(encoding="utf-8"))
    assert problems(released, current, CHANGELOG.read_text(encoding="utf-8")) == []


OLD = """
type Query { a: Int, b: Int @deprecated(reason: "use c"), c: Int, kind: Kind }
enum Kind { ONE TWO }
"""
ENTRY = """# Changelog
## Unreleased
### Breaking
Deprecation period: 90 days.
{items}
## 0.1.0
"""


def test_the_checker_catches_every_kind_of_breach() -> None:
    old = build_schema(OLD)
    same = build_schema(OLD)
    assert problems(old, same, ENTRY.format(items="")) == []
    # a field deprecated in the release and announced: fine
    without_b = build_schema(OLD.replace(', b: Int @deprecated(reason: "use c")', ""))
    announced = ENTRY.format(items="- `Field Query.b was removed.`")
    assert problems(old, without_b, announced) == []
    # not announced
    assert problems(old, without_b, ENTRY.format(items="")) == [
        "not in CHANGELOG.md: Field Query.b was removed."
    ]
    # announced without a period
    assert problems(old, without_b, announced.replace("Deprecation period: 90 days.", "")) == [
        "the Unreleased breaking changes state no `Deprecation period: N days`"
    ]
    # a field that was never deprecated
    without_a = build_schema(OLD.replace("a: Int, ", ""))
    assert problems(old, without_a, ENTRY.format(items="- `Field Query.a was removed.`")) == [
        "removed without being deprecated first: Query.a"
    ]
    # an enum value removed, a type changed
    changed = build_schema(OLD.replace("ONE TWO", "ONE").replace("c: Int", "c: String"))
    found = problems(old, changed, ENTRY.format(items=""))
    assert "not in CHANGELOG.md: Enum value Kind.TWO was removed." in found
    assert "not in CHANGELOG.md: Field Query.c changed type from Int to String." in found
    # an entry for a change that does not happen, a deprecation without a reason
    stale = ENTRY.format(items="- `Field Query.z was removed.`")
    assert problems(old, same, stale) == ["listed but not happening: Field Query.z was removed."]
    bare = build_schema(OLD.replace("c: Int", "c: Int @deprecated"))
    assert problems(old, bare, ENTRY.format(items="")) == ["Query.c is deprecated without a reason"]


def test_the_released_schema_is_the_last_release_in_the_changelog() -> None:
    changelog = CHANGELOG.read_text(encoding="utf-8")
    releases = re.findall(r"^## (\d+\.\d+\.\d+)\b", changelog, re.MULTILINE)
    assert releases, "CHANGELOG.md names no release"
    assert Path(RELEASED).read_text(encoding="utf-8").strip()
