"""Imports from xlsx and CSV: templates, encodings, dry runs, row errors, bad files, all-or-nothing, re-import."""

import asyncio
import codecs
import csv
import io
import zipfile
from typing import Any

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.core.db import Database
from app.core.scopes import Role
from app.models import Enterprise, KpiFact
from app.services.imports import reading
from app.services.imports.specs import ENTERPRISES, KPI_FACTS
from tests.api.test_enterprises import create, uscc
from tests.conftest import UserFactory

Headers = dict[str, str]
HEADER = [c.header for c in ENTERPRISES.columns]


@pytest.fixture
async def officer(make_user: UserFactory) -> Headers:
    _, headers = await make_user(Role.officer)
    return headers


def enterprise_row(serial: int, **overrides: str) -> list[str]:
    values = {
        "uscc": uscc(serial),
        "name": f"广州导入示例公司{serial:05d}",
        "registered_capital": f"{serial * 1000}.50",
        "currency": "CNY",
        "established_on": "2017-05-04",
        "settled_on": "2018-06-01",
        "industry_code": "64",
        "source": "new",
        "status": "active",
        "operations_started_on": "",
        "parent_id": "",
        "zone_id": "",
        "service_officer_id": "",
    } | overrides
    return [values[c.field] for c in ENTERPRISES.columns]


def csv_file(table: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(table)
    return out.getvalue().encode(encoding)


def xlsx_file(table: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in table:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def run(
    client: httpx.AsyncClient,
    headers: Headers,
    content: bytes,
    filename: str = "企业.csv",
    resource: str = "enterprises",
    dry_run: bool = False,
) -> dict[str, Any]:
    started = await client.post(
        f"/api/v1/imports/{resource}",
        params={"dry_run": str(dry_run).lower()},
        files={"file": (filename, content)},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"
    for _ in range(600):
        job = (await client.get(started.headers["location"], headers=headers)).json()
        if job["status"] in ("succeeded", "failed"):
            assert isinstance(job, dict)
            return job
        await asyncio.sleep(0.02)
    raise AssertionError("the import job did not finish")


async def count(database: Database, model: Any = Enterprise) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_templates_carry_the_chinese_headers(client: httpx.AsyncClient, officer: Headers) -> None:
    as_csv = await client.get("/api/v1/imports/enterprises/template", params={"format": "csv"}, headers=officer)
    assert as_csv.status_code == 200
    assert as_csv.content.startswith(codecs.BOM_UTF8)
    assert as_csv.content.decode("utf-8-sig").strip().split(",") == HEADER
    as_xlsx = await client.get("/api/v1/imports/enterprises/template", headers=officer)
    workbook = load_workbook(io.BytesIO(as_xlsx.content))
    assert [c.value for c in workbook.worksheets[0][1]] == HEADER
    assert "统一社会信用代码" in HEADER and "说明" in workbook.sheetnames


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030"])
async def test_a_csv_in_each_encoding_excel_writes_imports(
    client: httpx.AsyncClient, officer: Headers, database: Database, encoding: str
) -> None:
    job = await run(client, officer, csv_file([HEADER, enterprise_row(1), enterprise_row(2)], encoding))
    assert job["status"] == "succeeded", job
    assert job["result"] == {"created": 2, "updated": 0, "unchanged": 0}
    names = (await client.get("/api/v1/enterprises", params={"sort": "name"}, headers=officer)).json()["items"]
    assert [n["name"] for n in names] == ["广州导入示例公司00001", "广州导入示例公司00002"]
    assert names[0]["registered_capital"] == "1000.50"


async def test_a_filled_in_xlsx_imports_and_reimporting_it_changes_nothing(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    content = xlsx_file([HEADER, *(enterprise_row(n) for n in range(1, 31))])
    first = await run(client, officer, content, "企业.xlsx")
    assert first["status"] == "succeeded", (first["problem"], first["errors"])
    assert first["result"]["created"] == 30
    changes = (await client.get("/api/v1/changes/enterprises", headers=officer)).json()["next_cursor"]
    again = await run(client, officer, content, "企业.xlsx")
    assert again["result"] == {"created": 0, "updated": 0, "unchanged": 30}
    after = (await client.get("/api/v1/changes/enterprises", params={"cursor": changes}, headers=officer)).json()
    assert after["items"] == []  # nothing was touched
    edited = xlsx_file(
        [HEADER, enterprise_row(1, name="广州导入示例公司（更名）"), *(enterprise_row(n) for n in range(2, 31))]
    )
    third = await run(client, officer, edited, "企业.xlsx")
    assert third["result"] == {"created": 0, "updated": 1, "unchanged": 29}
    assert await count(database) == 30


async def test_an_imported_enterprise_leaves_the_trail_a_registered_one_does(
    client: httpx.AsyncClient, officer: Headers, make_user: UserFactory
) -> None:
    """Imports register enterprises a batch at a time without ORM objects: the audit trail, the change feed,
    the read model and the chief service officer's assignment must still be what a POST leaves."""
    chief, _ = await make_user(Role.officer, username="chief")
    _, leader = await make_user(Role.leader)
    fields = {"settled_on": "2018-06-01", "established_on": "2017-05-04"}
    posted = await create(
        client,
        officer,
        1,
        name="广州导入示例公司00001",
        registered_capital="1000.50",
        currency="CNY",
        source="new",
        status="active",
        service_officer_id=chief.id,
        **fields,
    )
    feed = (await client.get("/api/v1/changes/enterprises", headers=officer)).json()["next_cursor"]

    job = await run(
        client,
        officer,
        csv_file([HEADER, enterprise_row(2, name="广州导入示例公司00001", service_officer_id=str(chief.id), **fields)]),
    )

    assert job["result"]["created"] == 1, (job["problem"], job["errors"])
    listed = (await client.get("/api/v1/enterprises", params={"uscc": uscc(2)}, headers=officer)).json()["items"]
    imported = (await client.get(f"/api/v1/enterprises/{listed[0]['id']}", headers=officer)).json()
    differ = {"id", "uscc", "registered_capital", "created_at", "updated_at"}
    assert {k: v for k, v in imported.items() if k not in differ} == {
        k: v for k, v in posted.items() if k not in differ
    }
    assert imported["version"] == 1 and imported["service_officer_id"] == chief.id

    def trail(entity_type: str, entity_id: int) -> Any:
        params = {"entity_type": entity_type, "entity_id": str(entity_id)}
        return client.get("/api/v1/audit-events", params=params, headers=leader)

    [by_post] = (await trail("enterprise", posted["id"])).json()["items"]
    [by_import] = (await trail("enterprise", imported["id"])).json()["items"]
    assert by_import["action"] == "create" and by_import["before"] is None
    assert by_import["after"].keys() == by_post["after"].keys()
    assert by_import["after"]["id"] == imported["id"] and by_import["after"]["uscc"] == uscc(2)
    assert by_import["after"]["registered_capital"] == "2000.50"
    assert {k: v for k, v in by_import["after"].items() if k not in differ} == {
        k: v for k, v in by_post["after"].items() if k not in differ
    }
    changed = (await client.get("/api/v1/changes/enterprises", params={"cursor": feed}, headers=officer)).json()
    assert [item["id"] for item in changed["items"]] == [imported["id"]]
    assert changed["items"][0]["data"]["name"] == "广州导入示例公司00001"

    def team(enterprise: dict[str, Any]) -> Any:
        return client.get(f"/api/v1/enterprises/{enterprise['id']}/service-officers/history", headers=officer)

    assigned = [(a["officer_id"], a["role"], a["started_on"]) for a in (await team(imported)).json()]
    assert assigned == [(a["officer_id"], a["role"], a["started_on"]) for a in (await team(posted)).json()]
    assert assigned[0][:2] == (chief.id, "primary")


async def test_a_dry_run_reports_what_would_happen_and_writes_nothing(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    job = await run(client, officer, csv_file([HEADER, enterprise_row(1), enterprise_row(2)]), dry_run=True)
    assert job["status"] == "succeeded" and job["dry_run"] is True
    assert job["result"]["created"] == 2
    assert await count(database) == 0


async def test_every_row_error_is_reported_and_nothing_is_written(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    table = [
        HEADER,
        enterprise_row(1),
        enterprise_row(2, uscc="91440105MA5000002X"),  # wrong check digit
        enterprise_row(3, registered_capital="一百万"),
        enterprise_row(1, name="重复的代码"),  # the USCC of row 2 again
        enterprise_row(5, name='=HYPERLINK("http://evil")'),
        enterprise_row(6, registered_capital="-5"),
    ]
    job = await run(client, officer, csv_file(table))
    assert job["status"] == "failed"
    found = {(e["row"], e["column"]) for e in job["errors"]}
    assert found >= {
        (3, "统一社会信用代码"),
        (4, "注册资本"),
        (5, "统一社会信用代码"),
        (6, "名称"),
        (7, "注册资本"),
    }
    assert (2, "统一社会信用代码") not in found
    assert next(e for e in job["errors"] if e["row"] == 6)["code"] == "formula_not_allowed"
    assert next(e for e in job["errors"] if e["row"] == 5)["code"] == "duplicate_in_file"
    assert job["error_count"] == len(job["errors"])
    assert await count(database) == 0  # row 2 was fine, but the file is all or nothing


async def test_a_row_the_service_refuses_fails_the_file_and_writes_nothing(
    client: httpx.AsyncClient, officer: Headers, database: Database
) -> None:
    table = [HEADER, enterprise_row(1), enterprise_row(2, industry_code="99"), enterprise_row(3)]
    job = await run(client, officer, csv_file(table))
    assert job["status"] == "failed"
    assert [(e["row"], e["column"], e["code"]) for e in job["errors"]] == [(3, "行业代码", "unknown_industry")]
    assert await count(database) == 0


async def test_an_xlsx_formula_cell_is_refused(client: httpx.AsyncClient, officer: Headers, database: Database) -> None:
    row: list[Any] = enterprise_row(1)
    row[1] = '=CONCAT("a","b")'
    job = await run(client, officer, xlsx_file([HEADER, row]), "企业.xlsx")
    assert job["status"] == "failed"
    assert [(e["row"], e["code"]) for e in job["errors"]] == [(2, "formula_not_allowed")]
    assert await count(database) == 0


async def test_an_exported_file_imports_back_unchanged(client: httpx.AsyncClient, officer: Headers) -> None:
    await run(client, officer, csv_file([HEADER, *(enterprise_row(n) for n in range(1, 6))]))
    exported = await client.get("/api/v1/enterprises", params={"format": "csv"}, headers=officer)
    assert exported.status_code == 200, exported.text
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    keep = [i for i, h in enumerate(table[0]) if h in HEADER]
    narrowed = [[r[i] for i in keep] for r in table]
    job = await run(client, officer, csv_file(narrowed))
    assert job["status"] == "succeeded", job
    assert job["result"] == {"created": 0, "updated": 0, "unchanged": 5}


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 50_000_000)
    return out.getvalue()


@pytest.mark.parametrize(
    ("filename", "content", "code"),
    [
        ("企业.xlsx", "统一社会信用代码,名称\n".encode(), "not_xlsx"),
        ("企业.csv", xlsx_file([HEADER]), "not_csv"),
        ("企业.xlsx", _zip_bomb(), "suspicious_archive"),
        ("企业.pdf", b"%PDF-1.7", "unsupported_file"),
    ],
)
async def test_a_file_that_is_not_what_it_says_is_refused_up_front(
    client: httpx.AsyncClient, officer: Headers, database: Database, filename: str, content: bytes, code: str
) -> None:
    response = await client.post("/api/v1/imports/enterprises", files={"file": (filename, content)}, headers=officer)
    if response.status_code == 202:  # refused by the job instead (the archive is only opened there)
        job = await run(client, officer, content, filename)
        assert job["status"] == "failed" and job["problem"]["code"] == code
    else:
        assert response.status_code == 422
        assert response.json()["code"] == code
    assert await count(database) == 0


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (csv_file([["统一社会信用代码", "名字"], ["x", "y"]]), "header_mismatch"),
        (csv_file([HEADER, enterprise_row(1)], "gbk")[:-6] + b"\xff\xfe\r\n", "undecodable_file"),
        (b"", "empty_file"),
        (b'\xef\xbb\xbf"unterminated,quote\r\n', "malformed_csv"),
    ],
)
async def test_an_unreadable_file_is_a_clear_problem_and_writes_nothing(
    client: httpx.AsyncClient, officer: Headers, database: Database, content: bytes, code: str
) -> None:
    job = await run(client, officer, content)
    assert job["status"] == "failed"
    assert job["problem"]["code"] == code, job["problem"]
    assert await count(database) == 0


async def test_more_rows_than_the_limit_are_refused_whole(
    client: httpx.AsyncClient, officer: Headers, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limit is a million rows; the check is the same at three.
    monkeypatch.setattr(reading, "MAX_ROWS", 3)
    monkeypatch.setattr("app.services.imports.runner.MAX_ROWS", 3)
    job = await run(client, officer, csv_file([HEADER, *(enterprise_row(n) for n in range(1, 5))]))
    assert job["status"] == "failed" and job["problem"]["code"] == "too_many_rows"
    assert await count(database) == 0


async def test_an_upload_over_the_size_limit_is_413(app_factory: Any, officer: Headers) -> None:
    small = app_factory(max_import_bytes=2048)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small), base_url="http://testserver") as c:
        response = await c.post("/api/v1/imports/enterprises", files={"file": ("a.csv", b"x" * 5000)}, headers=officer)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_kpi_facts_import_by_uscc_and_a_viewer_may_not_import(
    client: httpx.AsyncClient, officer: Headers, database: Database, make_user: UserFactory
) -> None:
    await run(client, officer, csv_file([HEADER, enterprise_row(1)]))
    header = [c.header for c in KPI_FACTS.columns]
    rows = [[uscc(1), "", "revenue", f"2018-{m:02d}", "ytd", str(100 * m)] for m in range(1, 4)]
    job = await run(client, officer, csv_file([header, *rows]), resource="kpi_facts")
    assert job["status"] == "succeeded", job
    assert job["result"]["created"] == 3
    facts = (await client.get("/api/v1/kpi-facts", headers=officer)).json()["items"]
    assert [f["monthly_value"] for f in facts] == ["100.00", "100.00", "100.00"]
    _, viewer = await make_user(Role.viewer)
    refused = await client.post(
        "/api/v1/imports/kpi_facts", files={"file": ("f.csv", csv_file([header, *rows]))}, headers=viewer
    )
    assert refused.status_code == 403
    assert await count(database, KpiFact) == 3


async def test_a_job_whose_worker_died_is_marked_failed_and_a_live_one_is_left_alone(database: Database) -> None:
    from datetime import timedelta

    from app.models import ImportJob, ImportStatus
    from app.models.base import utcnow
    from app.services.imports.runner import fail_abandoned

    now = utcnow()

    def job(status: ImportStatus, heartbeat_minutes_ago: int) -> ImportJob:
        return ImportJob(
            resource="enterprises",
            filename="企业.csv",
            file_format="csv",
            file_sha256="0" * 64,
            dry_run=False,
            status=status,
            created_by="user:1",
            created_at=now - timedelta(hours=1),
            heartbeat_at=now - timedelta(minutes=heartbeat_minutes_ago),
        )

    async with database.session() as session:
        jobs = [
            job(ImportStatus.running, 30),  # its worker is gone
            job(ImportStatus.queued, 30),
            job(ImportStatus.running, 1),  # another worker is on it
            job(ImportStatus.succeeded, 30),
        ]
        session.add_all(jobs)
    assert await fail_abandoned(database, timedelta(minutes=10)) == 2
    async with database.session() as session:
        found = [await session.get(ImportJob, j.id) for j in jobs]
    assert [(j.status.value, (j.problem or {}).get("code")) for j in found if j] == [
        ("failed", "interrupted"),
        ("failed", "interrupted"),
        ("running", None),
        ("succeeded", None),
    ]


async def test_starting_the_service_fails_the_jobs_a_restart_interrupted(app_factory: Any, database: Database) -> None:
    from datetime import timedelta

    from app.models import ImportJob, ImportStatus
    from app.models.base import utcnow

    stale = utcnow() - timedelta(hours=2)
    async with database.session() as session:
        job = ImportJob(
            resource="kpi_facts",
            filename="指标.xlsx",
            file_format="xlsx",
            file_sha256="0" * 64,
            dry_run=False,
            status=ImportStatus.running,
            created_by="user:1",
            created_at=stale,
            heartbeat_at=stale,
        )
        session.add(job)
    app = app_factory(webhooks_enabled=False)
    async with app.router.lifespan_context(app), database.session() as session:
        found = await session.get(ImportJob, job.id)
    assert found is not None and found.status is ImportStatus.failed
    assert found.problem is not None and found.problem["code"] == "interrupted"
