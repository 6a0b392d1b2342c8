"""The replica settings: off unless DATABASE_REPLICA_URLS names some; checked at start; with
none, answers carry nothing new."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from models import config
from schema.http import build_app
from tests.conftest import GraphQLClient


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    config.get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    config.get_settings.cache_clear()


def test_replicas_come_from_the_environment(
    environment: pytest.MonkeyPatch, database_uri: str
) -> None:
    assert build_app(database_uri).state.databases is None
    environment.setenv(
        "DATABASE_REPLICA_URLS",
        " postgresql://app:secret@replica-1:5432/x, postgresql+asyncpg://app@replica-2/x ,",
    )
    environment.setenv("REPLICA_MAX_LAG_SECONDS", "2.5")
    config.get_settings.cache_clear()
    databases = build_app(database_uri).state.databases
    assert [r.index for r in databases.replicas] == [0, 1]
    assert databases.max_lag == 2.5
    assert [item["at"] for item in databases.readiness()] == ["replica-1:5432", "replica-2:5432"]
    assert all(item["status"] == "down" for item in databases.readiness())  # never probed


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_REPLICA_URLS", "replica-1:5432"),
        ("DATABASE_REPLICA_URLS", "mysql://replica/x"),
        ("REPLICA_MAX_LAG_SECONDS", "0"),
        ("REPLICA_MAX_LAG_SECONDS", "-3"),
        ("REPLICA_MAX_LAG_SECONDS", "soon"),
    ],
)
def test_a_bad_replica_setting_stops_the_start(
    environment: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    environment.setenv(variable, value)
    with pytest.raises(config.ConfigurationError, match=variable):
        config.get_settings()


async def test_without_replicas_a_mutation_carries_no_position(gql: GraphQLClient) -> None:
    body = await gql.raw('mutation { signOut(input: {refreshToken: "none"}) { errors { code } } }')
    assert body["data"]["signOut"] is not None, body
    assert "consistency" not in body["extensions"], body
