from datetime import datetime
from typing import Any

from pydantic import Field

from app.models import ImportStatus
from app.schemas.common import ReadModel


class ImportJobRead(ReadModel):
    id: int
    resource: str
    filename: str
    file_format: str
    dry_run: bool = Field(description="Checked only: nothing was (or will be) written")
    status: ImportStatus = Field(description="queued → running → succeeded | failed (failed writes nothing)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rows_processed: int = Field(description="Data rows read so far (the header not counted)")
    error_count: int = Field(description="Row errors found; every one is counted, the first 1,000 listed")
    errors: list[dict[str, Any]] | None = Field(
        description="Row errors: `row` (the file's row number, header = 1), `column` (its header), `value`, "
        "`code`, `message`"
    )
    problem: dict[str, Any] | None = Field(
        description="Why the whole file was refused: `code`, `detail` (`interrupted`: the server restarted during "
        "the job and nothing was written)"
    )
    result: dict[str, int] | None = Field(
        description="Rows created, updated and unchanged (for a dry run: what the real run would do)"
    )
