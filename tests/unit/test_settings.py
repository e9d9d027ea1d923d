"""Production refuses unsafe settings; the environment and CORS lists parse as documented."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core import config
from app.core.config import Settings

STRONG_KEY = "k" * 48


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"secret_key": ""}, "SECRET_KEY must be set"),
        ({"secret_key": "short-key"}, "at least 32 characters"),
        ({"secret_key": "change-me-to-48-random-characters"}, "example value"),
        ({"secret_key": STRONG_KEY, "debug": True}, "DEBUG must be off"),
    ],
)
def test_production_refuses_unsafe_settings(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _settings(environment="production", **values)


def test_production_starts_with_a_strong_key() -> None:
    assert _settings(environment="production", secret_key=STRONG_KEY).secret_key == STRONG_KEY


def test_development_without_a_key_gets_a_private_random_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "dev-secret-key"
    monkeypatch.setattr(config, "DEV_SECRET_KEY_FILE", key_file)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = _settings(environment="development").secret_key
    second = _settings(environment="development").secret_key
    assert first == second  # restarts and sibling workers verify each other's tokens
    assert len(first) >= 48
    assert key_file.stat().st_mode & 0o777 == 0o600
    other = tmp_path / "elsewhere"
    monkeypatch.setattr(config, "DEV_SECRET_KEY_FILE", other)
    assert _settings(environment="development").secret_key != first  # not a constant from the source


def test_wildcard_origin_with_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="CORS_ORIGINS may not contain"):
        _settings(cors_origins="*", cors_allow_credentials=True)


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://app@db/zhaoshang")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("ACCESS_TOKEN_TTL_SECONDS", "600")
    settings = _settings()
    assert settings.database_url == "postgresql+asyncpg://app@db/zhaoshang"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.access_token_ttl_seconds == 600


def test_default_database_is_a_sqlite_file_under_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = _settings()
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("/var/zhaoshang.db")
