"""Imports from xlsx and CSV: a template per resource, a dry run, and all-or-nothing jobs the client polls."""

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status

from app.api.deps import IdPath, NowDep, SessionDep, require
from app.core.db import Database
from app.core.errors import NotFoundError, ProblemError, problem_responses
from app.core.principal import Principal
from app.models import ImportJob, ImportStatus
from app.schemas.import_job import ImportJobRead
from app.services.imports import runner, templates
from app.services.imports.base import ImportSpec
from app.services.imports.reading import FileProblem, sniff
from app.services.imports.specs import SPECS

router = APIRouter(prefix="/imports", tags=["exchange 数据交换"], responses=problem_responses(401, 403, 422))

_CHUNK = 1 << 20
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _read(job: ImportJob) -> ImportJobRead:
    read = ImportJobRead.model_validate(job)
    live = runner.PROGRESS.get(job.id)
    if live is not None and job.status is ImportStatus.running:
        read.rows_processed = max(read.rows_processed, live)
    return read


async def _save(upload: UploadFile) -> Path:
    handle, name = tempfile.mkstemp(prefix="zhaoshang-import-")
    path = Path(name)
    with open(handle, "wb") as out:  # noqa: ASYNC230 - local temp file, chunks of 1 MB
        while chunk := await upload.read(_CHUNK):
            out.write(chunk)
    return path


def _add_routes(spec: ImportSpec) -> None:
    base = f"/{spec.resource}"

    async def template(
        _actor: Annotated[Principal, require(*spec.scopes)],
        file_format: Annotated[Literal["xlsx", "csv"], Query(alias="format")] = "xlsx",
    ) -> Response:
        content = templates.xlsx(spec) if file_format == "xlsx" else templates.csv(spec)
        media = _XLSX if file_format == "xlsx" else "text/csv; charset=utf-8"
        name = f"{spec.resource}-template.{file_format}"
        return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def start(
        request: Request,
        response: Response,
        actor: Annotated[Principal, require(*spec.scopes)],
        now: NowDep,
        file: Annotated[UploadFile, File(description="The filled-in template, .xlsx or .csv (UTF-8 or GBK)")],
        dry_run: Annotated[bool, Query(description="Check every row and report, write nothing")] = False,
    ) -> ImportJobRead:
        filename = (file.filename or "upload").strip()[:255] or "upload"
        path = await _save(file)
        try:
            file_format = sniff(path, filename)
        except FileProblem as exc:
            path.unlink(missing_ok=True)
            raise ProblemError(422, exc.code, exc.detail) from None
        job = ImportJob(
            resource=spec.resource,
            filename=filename,
            file_format=file_format.value,
            file_sha256=runner.file_digest(path),
            dry_run=dry_run,
            status=ImportStatus.queued,
            created_by=actor.label,
        )
        database: Database = request.app.state.database
        # Committed on its own before the job starts, so the job (and a poll) always finds its row.
        async with database.session() as own:
            own.add(job)
            await own.flush()
        tasks: set[asyncio.Task[None]] = request.app.state.import_tasks
        task = asyncio.create_task(runner.run_job(database, spec, job.id, path, file_format, actor, now))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        response.headers["Location"] = f"/api/v1/imports/{spec.resource}/jobs/{job.id}"
        return _read(job)

    async def read_job(job_id: IdPath, session: SessionDep, actor: Annotated[Principal, require(*spec.scopes)]) -> Any:
        job = await session.get(ImportJob, job_id)
        if job is None or job.resource != spec.resource:
            raise NotFoundError("import job", job_id)
        return _read(job)

    router.add_api_route(
        f"{base}/template",
        template,
        methods=["GET"],
        name=f"import_template_{spec.resource}",
        summary=f"Template for importing {spec.resource.replace('_', ' ')}（{spec.title}导入模板）",
        description="The header row to fill in (xlsx also carries a 说明 sheet with each column's meaning and an "
        "example). The headers are the export's, so an exported file imports back as it is.",
        responses={200: {"content": {_XLSX: {}, "text/csv": {}}}},
        response_class=Response,
    )
    router.add_api_route(
        base,
        start,
        methods=["POST"],
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ImportJobRead,
        name=f"import_{spec.resource}",
        summary=f"Import {spec.resource.replace('_', ' ')} from xlsx or CSV（{spec.title}导入）",
        description="Starts a job and answers 202 with it; poll `Location` until `status` is succeeded or failed. "
        "The whole file is one transaction: any refused row (listed with row, column, value and message) and "
        "nothing is written. `dry_run=true` checks everything, service rules included, and writes nothing. "
        "Rows whose key already exists are updated; importing the same file again changes nothing.",
        responses=problem_responses(400, 413, 422),
    )
    router.add_api_route(
        f"{base}/jobs/{{job_id:int}}",
        read_job,
        methods=["GET"],
        response_model=ImportJobRead,
        name=f"import_job_{spec.resource}",
        summary=f"An import job of {spec.resource.replace('_', ' ')}: status, progress, row errors",
        responses=problem_responses(404),
    )


for _spec in SPECS.values():
    _add_routes(_spec)
