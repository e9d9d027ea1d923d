"""Settings from the environment and `.env` (every one is documented in `.env.example`)."""

import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]

MIN_SECRET_KEY_LENGTH = 32
# Outside production an unset SECRET_KEY gets a random key kept here, so `make run` never signs
# tokens with a key published in the source, and restarts and workers share one key.
DEV_SECRET_KEY_FILE = PROJECT_ROOT / "var" / "dev-secret-key"


def _development_key(path: Path) -> str:
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker wrote it first
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Environment = Environment.development
    debug: bool = False
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'zhaoshang.db'}"
    # A streaming replica of the primary for analytics and reports (same schema, read-only); empty: the primary.
    database_replica_url: str | None = None
    database_pool_size: int = Field(default=10, ge=1, le=200)
    # Overflow connections are closed as they come back: under sustained load they are opened and closed
    # again and again (bench/README.md), so the pool is sized for the load and overflow is for bursts.
    database_max_overflow: int = Field(default=0, ge=0, le=200)
    database_pool_timeout_seconds: float = Field(default=30, gt=0, le=600)
    # A pooled PostgreSQL connection unused for this long is pinged before it serves a request.
    database_ping_idle_seconds: float = Field(default=10, ge=0, le=3600)
    migrations_dir: Path = PROJECT_ROOT / "migrations"

    secret_key: str = ""
    jwt_issuer: str = "zhaoshang"
    jwt_audience: str = "zhaoshang-api"
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    # How long a worker process trusts an account it has looked up (0: look it up on every request).
    auth_cache_seconds: float = Field(default=5, ge=0, le=60)

    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=900, ge=1)

    cors_origins: Annotated[list[str], NoDecode] = []
    cors_allow_credentials: bool = False

    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_import_bytes: int = Field(default=104_857_600, ge=1024, description="an uploaded import file")
    # Idempotency-Key on POST: how long a key replays, and when an unfinished claim counts as abandoned.
    idempotency_retention_hours: int = Field(default=24, ge=1, le=720)
    idempotency_stale_seconds: int = Field(default=300, ge=10, le=86_400)
    # Change feeds: a deletion is remembered this long; a mirror that has not read its feed for longer rebuilds.
    change_tombstone_days: int = Field(default=90, ge=1, le=3650)
    # An import job queued or running with no heartbeat for this long lost its worker (checked at start-up).
    import_stale_seconds: int = Field(default=600, ge=60, le=86_400)
    gzip_minimum_bytes: int = Field(default=1024, ge=0)
    # Webhooks: a background loop in each server process scans for time-based events and sends deliveries.
    webhooks_enabled: bool = True
    webhooks_max_attempts: int = Field(default=8, ge=1, le=20, description="attempts before a delivery fails")
    webhooks_retry_base_seconds: int = Field(default=30, ge=1, le=3600, description="first retry; ×4 each time")
    webhooks_timeout_seconds: int = Field(default=5, ge=1, le=60)
    webhooks_poll_seconds: int = Field(default=5, ge=1, le=3600, description="how often due deliveries are sent")
    webhooks_scan_seconds: int = Field(default=60, ge=1, le=86_400, description="time-based events scan")
    webhooks_retention_days: int = Field(default=30, ge=1, le=3650, description="finished deliveries kept")
    log_level: str = "INFO"

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)

    demo_admin_password: str | None = None

    office_name: str = Field(default="区招商办公室", min_length=1, max_length=100)

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: object) -> object:
        # CORS_ORIGINS is written as a comma-separated list in the environment.
        if isinstance(data, dict):
            for key in ("cors_origins", "CORS_ORIGINS"):
                value = data.get(key)
                if isinstance(value, str):
                    data[key] = [o.strip() for o in value.split(",") if o.strip()]
        return data

    @model_validator(mode="after")
    def _check_safety(self) -> Self:
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise ValueError("CORS_ORIGINS may not contain '*' when CORS_ALLOW_CREDENTIALS is true")
        if self.environment is Environment.production:
            if not self.secret_key:
                raise ValueError("SECRET_KEY must be set in production")
            if len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
                raise ValueError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters in production")
            if "change-me" in self.secret_key.lower():
                raise ValueError("SECRET_KEY is still the example value; generate a random one")
            if self.debug:
                raise ValueError("DEBUG must be off in production")
        elif not self.secret_key:
            self.secret_key = _development_key(DEV_SECRET_KEY_FILE)
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
