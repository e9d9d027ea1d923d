"""The `zhaoshang` console, run as an operator would run it (a real process, its own settings)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _run(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DEMO_ADMIN_PASSWORD"}
    environment |= {"DATABASE_URL": url, "ENVIRONMENT": "test"} | (env or {})
    return subprocess.run(  # noqa: S603 - our own console, fixed arguments
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


@pytest.fixture
def migrated_url(scratch_url: str) -> str:
    result = _run(scratch_url, "migrate")
    assert result.returncode == 0, result.stderr
    assert "database migrated to head" in result.stdout
    return scratch_url


def test_demo_data_prints_the_admin_password_once(migrated_url: str) -> None:
    first = _run(migrated_url, "demo-data")
    assert first.returncode == 0, first.stderr
    assert "demo admin created: username=admin password=" in first.stdout
    second = _run(migrated_url, "demo-data")
    assert second.returncode == 0
    assert "keeps its password" in second.stdout
    assert "password=" not in second.stdout


def test_demo_admin_password_from_the_environment(migrated_url: str) -> None:
    result = _run(migrated_url, "demo-data", env={"DEMO_ADMIN_PASSWORD": "演示密码-long-enough"})
    assert "password=演示密码-long-enough" in result.stdout


def test_create_user_and_client(migrated_url: str) -> None:
    user = _run(
        migrated_url,
        "create-user",
        "--username",
        "Zhang.San",
        "--password",
        "a good passphrase",
        "--role",
        "officer",
        "--display-name",
        "张三",
    )
    assert user.returncode == 0, user.stderr
    assert json.loads(user.stdout)["username"] == "zhang.san"

    duplicate = _run(
        migrated_url, "create-user", "--username", "zhang.san", "--password", "a good passphrase", "--role", "officer"
    )
    assert duplicate.returncode == 1
    assert "duplicate" in duplicate.stderr

    weak = _run(migrated_url, "create-user", "--username", "li", "--password", "123", "--role", "viewer")
    assert weak.returncode == 2
    assert "password" in weak.stderr and "username" in weak.stderr

    client = _run(migrated_url, "create-client", "--name", "区统计局", "--scopes", "users:read audit:read")
    assert client.returncode == 0, client.stderr
    printed = json.loads(client.stdout)
    assert printed["client_id"].startswith("zs_")
    assert len(printed["client_secret"]) >= 40
    assert printed["scopes"] == ["audit:read", "users:read"]

    bad_scope = _run(migrated_url, "create-client", "--name", "x", "--scopes", "everything:all")
    assert bad_scope.returncode == 1
    assert "unknown_scope" in bad_scope.stderr


def test_openapi_is_written_to_a_file(tmp_path: Path, scratch_url: str) -> None:
    target = tmp_path / "spec.json"
    result = _run(scratch_url, "openapi", "--output", str(target))
    assert result.returncode == 0, result.stderr
    spec = json.loads(target.read_text(encoding="utf-8"))
    assert spec["info"]["title"].startswith("zhaoshang")
    assert "/api/v1/auth/token" in spec["paths"]


def test_compact_changes_keeps_one_change_per_row(migrated_url: str) -> None:
    assert _run(migrated_url, "demo-data").returncode == 0
    first = _run(migrated_url, "compact-changes")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["tombstone_days"] == 90 and report["tombstones"] == 0
    again = json.loads(_run(migrated_url, "compact-changes").stdout)
    assert again["superseded"] == 0  # the first run left one change per row
    refused = _run(migrated_url, "compact-changes", "--tombstone-days", "0")
    assert refused.returncode != 0 and "at least 1" in refused.stderr


def test_serve_passes_the_loop_and_parser_choice_to_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from app.cli import build_parser
    from app.core.config import Settings

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **kw: calls.append(kw))
    settings = Settings(environment="test")
    for argv, expected in (
        (["serve"], ("auto", "auto")),
        (["serve", "--loop", "asyncio", "--http", "h11", "--workers", "3"], ("asyncio", "h11")),
    ):
        args = build_parser().parse_args(argv)
        args.handler(args, settings)
        assert (calls[-1]["loop"], calls[-1]["http"]) == expected
    assert calls[-1]["workers"] == 3
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--loop", "trio"])
