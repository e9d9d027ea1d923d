"""Application factory: settings → database → middleware → error handlers → routers → docs."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from app import __version__
from app.api import health
from app.api.deps import require_json_body
from app.api.idempotency import IdempotencyMiddleware
from app.api.v1 import (
    analytics,
    api_clients,
    audit_events,
    auth,
    changes,
    cohorts,
    consultation_events,
    departments,
    disclosure_requests,
    disclosures,
    enterprises,
    imports,
    industries,
    kpis,
    land_parcels,
    meetings,
    milestones,
    projects,
    reports,
    service_analytics,
    service_officers,
    service_requests,
    service_types,
    supervision,
    talent_apartments,
    talent_applications,
    talents,
    users,
    visits,
    webhooks,
    work_calendar,
    zones,
)
from app.core.clock import SystemClock
from app.core.config import Settings, get_settings
from app.core.db import Database
from app.core.errors import install_error_handlers, problem_response
from app.core.logging import configure_logging
from app.core.middleware import RequestContextMiddleware
from app.core.migrations import head_revision
from app.services.imports import runner as import_runner
from app.services.webhooks.worker import WebhookWorker

DESCRIPTION = """
**招商办业务系统 API**：登记引进企业（集团、集聚区、地块）、招商项目与节点督办、营收/税收/固定资产投资指标与目标、
首席服务官企业服务与人才服务、政务公开，并按统计口径计算同比、目标完成率与地均强度。

**zhaoshang API** for district investment-promotion offices: the enterprises brought in (groups, zones, land
parcels), their projects and supervised milestones, KPIs with targets, enterprise and talent services, and public
disclosure, with calculators for comparable-basis YoY growth, target completion against time progress and
per-km² intensity.

* **Auth**: `POST /api/v1/auth/token` — staff use the *password* grant, district systems *client_credentials*.
  Use **Authorize** above with either. Every route names the scopes it needs.
* **Errors** are RFC 9457 `application/problem+json` with a stable `code` and the `request_id`.
* **Money** is a decimal string in yuan (元), exact; rounding happens once, at presentation, ROUND_HALF_UP.
* **Writes**: reads return an `ETag`; PATCH/DELETE need `If-Match` (428 without, 412 when stale).
* **Lists**: `limit` (≤ 200) / `offset`, envelope `{items, total, limit, offset}`, whitelisted `sort`.
"""

TAGS = [
    {
        "name": "auth 认证",
        "description": "Tokens for staff (password) and district systems (client credentials)",
    },
    {"name": "users 员工账号", "description": "Staff accounts and roles (admin, leader, officer, viewer)"},
    {
        "name": "clients 对接系统",
        "description": "API clients of other district systems, their scopes and secrets",
    },
    {"name": "audit 审计", "description": "Append-only trail of every write"},
    {"name": "enterprises 企业库", "description": "Enterprises, their groups, investor classes and contacts"},
    {"name": "zones 集聚区", "description": "Zones (cluster → core / expansion / support) and their area versions"},
    {"name": "land parcels 地块", "description": "Land parcels and their transfer (出让) to enterprises"},
    {"name": "projects 招商项目", "description": "Projects, stage events, milestone tables, re-plans, escalations"},
    {"name": "kpis 指标", "description": "Metrics and monthly KPI facts (当月 and 1–N月累计), bulk submission"},
    {"name": "supervision 督查", "description": "Supervision rounds and milestone templates per project type"},
    {
        "name": "service desk 企业服务",
        "description": "Chief service officers, the service catalogue, service requests with working-day limits, "
        "visits and consultation fairs",
    },
    {
        "name": "talent services 人才服务",
        "description": "Talents (personal data masked without clearance), talent apartments, household registration "
        "(白卡落户) and talent green cards",
    },
    {
        "name": "work calendar 工作日历",
        "description": "The State Council's holiday arrangements and make-up working days, for working-day limits",
    },
    {
        "name": "disclosure 政务公开",
        "description": "Proactive disclosure on several channels, requests for disclosure with the 2021 format's "
        "outcome codes and fees, administrative reviews and lawsuits",
    },
    {"name": "decisions 会议与决策", "description": "Meetings and the “三重一大” decisions taken at them"},
    {
        "name": "reports 报告",
        "description": "The annual work report (JSON, .docx), the statutory disclosure report (JSON, .xlsx) and "
        "frozen snapshots with their differences from today's data",
    },
    {
        "name": "analytics 统计",
        "description": "Rollups computed in SQL: settlement cohorts, groups, zones, pipeline, service-desk and "
        "talent figures",
    },
    {
        "name": "webhooks 事件推送",
        "description": "Subscriptions of other systems to events (stage changes, overdue milestones, service-request "
        "breaches, disclosures), signed with HMAC-SHA256, retried with back-off, with a delivery log",
    },
    {"name": "health 运维", "description": "Liveness and readiness probes"},
]


error_logger = logging.getLogger("app.errors")


async def _database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    # The client gets a generic retry; the operator gets the cause (a lock, a lost connection, or a
    # schema that is behind: "no such column" means `zhaoshang migrate` was not run).
    error_logger.warning("database error answered with 503", exc_info=exc)
    return problem_response(
        503,
        "service_unavailable",
        "数据库暂时不可用，请稍后重试 / the database is unavailable, retry shortly",
        headers={"Retry-After": "5"},
    )


async def _pool_exhausted(_request: Request, exc: Exception) -> JSONResponse:
    # Every pooled connection stayed busy for DATABASE_POOL_TIMEOUT_SECONDS: overloaded, not broken.
    error_logger.warning("no database connection free in time: answered 503", exc_info=exc)
    return problem_response(
        503,
        "service_busy",
        "服务器繁忙，请稍后重试 / the service is busy, retry shortly",
        headers={"Retry-After": "5"},
    )


async def _concurrent_update(_request: Request, exc: Exception) -> JSONResponse:
    error_logger.info("concurrent update refused with 412", exc_info=exc)
    # Two writers passed the If-Match check at once; the UPDATE's version check let only one through.
    return problem_response(
        412,
        "version_mismatch",
        "数据已被他人同时修改，请刷新后重试 / changed concurrently; reload and retry",
    )


async def _integrity_conflict(_request: Request, exc: Exception) -> JSONResponse:
    error_logger.warning("integrity error answered with 409", exc_info=exc)
    # Services check uniqueness first with a precise message; this catches the concurrent race.
    return problem_response(409, "conflict", "与已有数据冲突，请刷新后重试 / conflicts with existing data")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    database = Database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Jobs of a worker that died (a restart) would otherwise show "running" for ever.
        await import_runner.fail_abandoned(database, timedelta(seconds=settings.import_stale_seconds))
        # The webhook loop reads the app's clock each round (tests may set it).
        worker = WebhookWorker(database, settings, lambda: app.state.clock.now()) if settings.webhooks_enabled else None
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            await database.dispose()

    app = FastAPIOffline(
        title="zhaoshang 招商办业务系统 API",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        debug=settings.debug,
        lifespan=lifespan,
        # No trailing-slash redirects: they echo the Host header into Location.
        redirect_slashes=False,
        swagger_ui_parameters={"persistAuthorization": False, "displayRequestDuration": True},
    )
    app.state.settings = settings
    app.state.clock = SystemClock()
    app.state.database = database
    app.state.import_tasks = set()  # running import jobs, held so they are not garbage-collected
    app.state.migration_head = head_revision(settings)

    install_error_handlers(app)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(ConnectionError, _database_unavailable)
    app.add_exception_handler(PoolTimeoutError, _pool_exhausted)
    app.add_exception_handler(IntegrityError, _integrity_conflict)
    app.add_exception_handler(StaleDataError, _concurrent_update)

    # Added innermost first: RequestContextMiddleware ends up outermost and sees every response.
    app.add_middleware(IdempotencyMiddleware, settings=settings)
    app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_minimum_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["ETag", "Location", "X-Request-ID", "Retry-After"],
        )
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_import_bytes,
        upload_prefix="/api/v1/imports/",
    )

    # Each router straight onto the app, the busiest first: FastAPI tries the routes of every router in turn
    # (a few µs each; ~250 routes), and an intermediate /api/v1 router would match a request twice more
    # (bench/README.md). No two routers serve overlapping paths, so the order changes no match.
    app.include_router(health.router)
    for router in (
        enterprises.router,
        projects.router,
        milestones.router,
        kpis.router,
        analytics.router,
        reports.router,
        changes.router,
        zones.router,
        land_parcels.router,
        cohorts.router,
        service_requests.router,
        service_officers.router,
        visits.router,
        consultation_events.router,
        service_analytics.router,
        talents.router,
        talent_apartments.router,
        talent_applications.household_registrations,
        talent_applications.green_cards,
        disclosures.router,
        disclosure_requests.router,
        meetings.router,
        supervision.router,
        industries.router,
        departments.router,
        service_types.router,
        work_calendar.router,
        imports.router,
        webhooks.router,
        auth.router,
        users.router,
        api_clients.router,
        audit_events.router,
    ):
        app.include_router(router, prefix="/api/v1", dependencies=[Depends(require_json_body)])
    return app
