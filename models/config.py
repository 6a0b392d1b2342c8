"""Settings read from the environment once per process.

Development keeps generated secrets in `.data/secrets.json` so restarts keep
tokens and encrypted columns readable; production refuses to invent them.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """Raised when the process cannot start safely with the given environment."""


#: Environment variables overriding the request limits of `permissions.limits.Limits`.
LIMIT_VARIABLES: dict[str, str] = {
    "max_body_bytes": "GRAPHQL_MAX_BODY_BYTES",
    "max_upload_bytes": "GRAPHQL_MAX_UPLOAD_BYTES",
    "max_document_bytes": "GRAPHQL_MAX_DOCUMENT_BYTES",
    "max_tokens": "GRAPHQL_MAX_TOKENS",
    "max_depth": "GRAPHQL_MAX_DEPTH",
    "max_aliases": "GRAPHQL_MAX_ALIASES",
    "max_directives": "GRAPHQL_MAX_DIRECTIVES",
    "cost_anonymous": "GRAPHQL_COST_ANONYMOUS",
    "cost_person": "GRAPHQL_COST_PERSON",
    "cost_integrator": "GRAPHQL_COST_INTEGRATOR",
    "cost_display": "GRAPHQL_COST_DISPLAY",
    "statement_timeout_ms": "DB_STATEMENT_TIMEOUT_MS",
}


def _limit_overrides() -> dict[str, int]:
    """Limits set in the environment: whole numbers, at least 1 (a timeout may be 0: off)."""
    found: dict[str, int] = {}
    for key, var in LIMIT_VARIABLES.items():
        raw = os.environ.get(var, "").strip()
        if not raw:
            continue
        lowest = 0 if key == "statement_timeout_ms" else 1
        if not raw.isdigit() or int(raw) < lowest:
            raise ConfigurationError(f"{var} must be a whole number of at least {lowest}")
        found[key] = int(raw)
    return found


@dataclass(frozen=True)
class Settings:
    env: str
    data_dir: Path
    database_url: str | None
    jwt_secret: str
    personal_data_key: bytes
    lookup_hash_key: bytes
    pool_size: int
    #: request limits set in the environment (LIMIT_VARIABLES), by `Limits` field name
    limits: dict[str, int] = field(default_factory=dict)
    #: APP_STRICT=1 (the test suite): a programming slip the app would survive fails loudly
    #: (an error naming no input field, a code its domain does not declare)
    strict: bool = False
    #: GRAPHQL_COMPILED: on (one SQL statement per query the compiler supports), off
    #: (resolvers only), verify (both, compared: the test suite)
    compiled: str = "on"
    #: DATABASE_REPLICA_URLS: streaming replicas of the primary that serve queries
    replica_urls: tuple[str, ...] = ()
    #: REPLICA_MAX_LAG_SECONDS: a replica further behind than this is skipped
    replica_max_lag_seconds: float = 5.0

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
        limits=_limit_overrides(),
        strict=os.environ.get("APP_STRICT") == "1",
        compiled=os.environ.get("GRAPHQL_COMPILED", "on"),
        replica_urls=_replica_urls(os.environ.get("DATABASE_REPLICA_URLS", "")),
        replica_max_lag_seconds=_seconds("REPLICA_MAX_LAG_SECONDS", 5.0),
    )


def _replica_urls(raw: str) -> tuple[str, ...]:
    """Comma-separated libpq URIs (a comma cannot occur unescaped inside one)."""
    urls = tuple(u.strip() for u in raw.split(",") if u.strip())
    for url in urls:
        if not url.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
            raise ConfigurationError("DATABASE_REPLICA_URLS must be postgresql:// URIs")
    return urls


def _seconds(var: str, default: float) -> float:
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigurationError(f"{var} must be a positive number of seconds")
    return value
