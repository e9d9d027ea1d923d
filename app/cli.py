"""`zhaoshang` console: serve, migrate, demo-data, create-user, create-client, webhooks run-once,
compact-changes, openapi."""

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings, get_settings
from app.core.db import Database
from app.core.errors import ProblemError
from app.core.principal import SYSTEM
from app.core.scopes import Role

T = TypeVar("T")


def _run_in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def runner() -> T:
        database = Database(settings)
        try:
            async with database.session() as session:
                return await work(session)
        finally:
            await database.dispose()

    return asyncio.run(runner())


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=args.workers or settings.workers,
        # auto: uvloop and httptools (uvicorn[standard] installs both on Linux), asyncio and h11 where missing.
        loop=args.loop,
        http=args.http,
        log_config=None,  # the app installs its JSON logging
        proxy_headers=True,
        server_header=False,
    )


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> None:
    from alembic import command

    from app.core.migrations import alembic_config

    command.upgrade(alembic_config(settings), args.revision)
    print(f"database migrated to {args.revision}")


def cmd_demo_data(_args: argparse.Namespace, settings: Settings) -> None:
    from app.services.demo import DEMO_ADMIN_USERNAME, DEMO_STAFF, load_demo_data

    result = _run_in_session(settings, lambda s: load_demo_data(s, settings.demo_admin_password))
    if result.admin_created:
        print(f"demo admin created: username={DEMO_ADMIN_USERNAME} password={result.admin_password}")
        print(f"demo staff with the same password: {', '.join(u for u, _, _ in DEMO_STAFF)}")
        print("(shown once; set DEMO_ADMIN_PASSWORD before the first start to choose it)")
    else:
        print(f"demo accounts already present; demo admin '{DEMO_ADMIN_USERNAME}' keeps its password")
    print("demo registry loaded" if result.registry_loaded else "demo registry already present")
    print("demo projects loaded" if result.projects_loaded else "demo projects already present")
    print("demo KPI facts loaded" if result.kpis_loaded else "demo KPI facts already present")
    print("demo service desk loaded" if result.services_loaded else "demo service desk already present")
    print("demo disclosure and decisions loaded" if result.disclosure_loaded else "demo disclosure already present")


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> None:
    from app.schemas.user import UserCreate, UserRead
    from app.services.users import create_user

    data = UserCreate(
        username=args.username,
        display_name=args.display_name or args.username,
        role=Role(args.role),
        password=args.password,
    )
    user = _run_in_session(settings, lambda s: create_user(s, SYSTEM, data))
    print(UserRead.model_validate(user).model_dump_json())


def cmd_create_client(args: argparse.Namespace, settings: Settings) -> None:
    from app.schemas.api_client import ApiClientCreate
    from app.services.api_clients import create_client

    data = ApiClientCreate(name=args.name, scopes=args.scopes.split())
    client, secret = _run_in_session(settings, lambda s: create_client(s, SYSTEM, data))
    print(
        json.dumps(
            {
                "id": client.id,
                "client_id": client.client_id,
                "client_secret": secret,
                "scopes": client.scopes.split(),
            },
            ensure_ascii=False,
        )
    )


def cmd_webhooks_run_once(_args: argparse.Namespace, settings: Settings) -> None:
    from datetime import UTC, datetime

    from app.services.webhooks.worker import new_http_client, run_once

    async def runner() -> dict[str, object]:
        database = Database(settings)
        try:
            async with new_http_client(settings) as http:
                result = await run_once(database, settings, http, datetime.now(UTC), drain=True)
        finally:
            await database.dispose()
        d = result.dispatch
        return {
            "events": result.events,
            "pruned": result.pruned,
            "sent": d.sent,
            "succeeded": d.succeeded,
            "retrying": d.retrying,
            "failed": d.failed,
        }

    print(json.dumps(asyncio.run(runner()), ensure_ascii=False))


def cmd_compact_changes(args: argparse.Namespace, settings: Settings) -> None:
    from datetime import UTC, datetime, timedelta

    from app.services.change_feed import compact

    days = args.tombstone_days or settings.change_tombstone_days
    cut_off = datetime.now(UTC) - timedelta(days=days)
    result = _run_in_session(settings, lambda session: compact(session, forget_deletions_before=cut_off))
    print(json.dumps({"superseded": result.superseded, "tombstones": result.tombstones, "tombstone_days": days}))


def cmd_openapi(args: argparse.Namespace, settings: Settings) -> None:
    from app.main import create_app

    spec = create_app(settings).openapi()
    Path(args.output).write_text(json.dumps(spec, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"OpenAPI written to {args.output}")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zhaoshang", description="招商办业务系统 API / zhaoshang API service")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service (uvicorn)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto", help="event loop")
    serve.add_argument("--http", choices=("auto", "httptools", "h11"), default="auto", help="HTTP/1.1 parser")
    serve.set_defaults(handler=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(handler=cmd_migrate)

    sub.add_parser("demo-data", help="load demo data (idempotent)").set_defaults(handler=cmd_demo_data)

    user = sub.add_parser("create-user", help="create a staff account")
    user.add_argument("--username", required=True)
    user.add_argument("--password", required=True)
    user.add_argument("--role", required=True, choices=[r.value for r in Role])
    user.add_argument("--display-name")
    user.set_defaults(handler=cmd_create_user)

    client = sub.add_parser("create-client", help="register an API client; prints its id and secret once")
    client.add_argument("--name", required=True)
    client.add_argument("--scopes", required=True, help='space-separated, e.g. "users:read audit:read"')
    client.set_defaults(handler=cmd_create_client)

    webhooks = sub.add_parser("webhooks", help="webhook deliveries").add_subparsers(dest="action", required=True)
    webhooks.add_parser(
        "run-once", help="find time-based events and send every delivery due now (what the server loop does)"
    ).set_defaults(handler=cmd_webhooks_run_once)

    compact_changes = sub.add_parser(
        "compact-changes",
        help="keep one change per row in the change log; forget deletions older than CHANGE_TOMBSTONE_DAYS",
    )
    compact_changes.add_argument("--tombstone-days", type=_positive, help="override CHANGE_TOMBSTONE_DAYS (at least 1)")
    compact_changes.set_defaults(handler=cmd_compact_changes)

    openapi = sub.add_parser("openapi", help="write the OpenAPI document to a file")
    openapi.add_argument("--output", default="openapi.json")
    openapi.set_defaults(handler=cmd_openapi)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args, get_settings())
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            print(f"error: {field + ': ' if field else ''}{error['msg']}", file=sys.stderr)
        sys.exit(2)
    except ProblemError as exc:
        print(f"error ({exc.code}): {exc.detail}", file=sys.stderr)
        sys.exit(1)
