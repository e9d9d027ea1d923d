"""Liveness and readiness, without a token (load balancers and orchestrators call them)."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.core.db import Database
from app.core.errors import problem_response, problem_responses

router = APIRouter(tags=["health 运维"])


# HEAD too: some load balancers probe with it.
@router.get("/healthz", summary="The process is alive")
@router.head("/healthz", summary="The process is alive (HEAD)", operation_id="healthz_head")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Ready to serve: the database answers and its schema is at the migration head",
    responses=problem_responses(503),
)
@router.head("/readyz", summary="Readiness (HEAD)", operation_id="readyz_head", responses=problem_responses(503))
async def readyz(request: Request) -> JSONResponse:
    database: Database = request.app.state.database
    head: str = request.app.state.migration_head
    try:
        async with database.engine.connect() as conn:
            current = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    except (SQLAlchemyError, OSError):
        return problem_response(
            503,
            "database_unavailable",
            "数据库不可用 / the database is unreachable",
            headers={"Retry-After": "5"},
        )
    if current != head:
        return problem_response(
            503,
            "migrations_pending",
            f"数据库结构版本 {current} 不是最新 {head}，请先执行迁移 / schema at {current}, expected {head}: "
            "run `zhaoshang migrate`",
            headers={"Retry-After": "30"},
        )
    return JSONResponse({"status": "ready", "database": "ok", "migration": current})
