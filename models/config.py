"""Settings read from the environment once per process.

Development keeps generated secrets in `.data/secrets.json` so restarts keep
tokens and encrypted columns readable; production refuses to invent them.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """Raised when the process cannot start safely with the given environment."""


@dataclass(frozen=True)
class Settings:
    env: str
    data_dir: Path
    database_url: str | None
    jwt_secret: str
    personal_data_key: bytes
    lookup_hash_key: bytes
    pool_size: int

    @property
    def production(self) -> bool:
        return self.env == "production"


def _dev_secrets(data_dir: Path) -> dict[str, str]:
    path = data_dir / "secrets.json"
    if path.exists():
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded
    data_dir.mkdir(parents=True, exist_ok=True)
    generated = {
        "jwt_secret": secrets.token_urlsafe(48),
        "personal_data_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "lookup_hash_key": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    path.write_text(json.dumps(generated, indent=2))
    path.chmod(0o600)
    return generated


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ.get("APP_ENV", "development")
    data_dir = Path(os.environ.get("DATA_DIR", ROOT / ".data"))
    names = {
        "jwt_secret": "JWT_SECRET",
        "personal_data_key": "PERSONAL_DATA_KEY",
        "lookup_hash_key": "LOOKUP_HASH_KEY",
    }
    values = {key: os.environ.get(var) for key, var in names.items()}
    missing = [names[k] for k, v in values.items() if not v]
    if missing:
        if env == "production":
            raise ConfigurationError(
                "production mode needs these secrets configured: " + ", ".join(missing)
            )
        generated = _dev_secrets(data_dir)
        values = {k: v or generated[k] for k, v in values.items()}
    key = base64.b64decode(values["personal_data_key"] or "")
    if len(key) != 32:
        raise ConfigurationError("PERSONAL_DATA_KEY must be 32 bytes, base64-encoded")
    return Settings(
        env=env,
        data_dir=data_dir,
        database_url=os.environ.get("DATABASE_URL") or None,
        jwt_secret=values["jwt_secret"] or "",
        personal_data_key=key,
        lookup_hash_key=base64.b64decode(values["lookup_hash_key"] or ""),
        pool_size=int(os.environ.get("DB_POOL_SIZE", "10")),
    )
