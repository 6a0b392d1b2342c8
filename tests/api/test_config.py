"""Settings: production refuses to invent secrets; development keeps generated ones."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from models import config


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    for name in ("JWT_SECRET", "PERSONAL_DATA_KEY", "LOOKUP_HASH_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    config.get_settings.cache_clear()
    yield tmp_path
    config.get_settings.cache_clear()


def test_production_refuses_to_start_without_secrets(
    fresh_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(config.ConfigurationError, match="JWT_SECRET"):
        config.get_settings()
    assert not (fresh_settings / "secrets.json").exists()


def test_development_generates_secrets_once_and_keeps_them(
    fresh_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "development")
    first = config.get_settings()
    config.get_settings.cache_clear()
    second = config.get_settings()
    assert first.jwt_secret == second.jwt_secret
    assert len(first.personal_data_key) == 32
    assert (fresh_settings / "secrets.json").stat().st_mode & 0o777 == 0o600


def test_a_short_personal_data_key_is_refused(
    fresh_settings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWT_SECRET", "x" * 40)
    monkeypatch.setenv("PERSONAL_DATA_KEY", "c2hvcnQ=")
    monkeypatch.setenv("LOOKUP_HASH_KEY", "c2hvcnQ=")
    with pytest.raises(config.ConfigurationError, match="32 bytes"):
        config.get_settings()
