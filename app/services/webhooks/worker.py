"""The loop each server process runs while WEBHOOKS_ENABLED: scan, fan out, send, prune; errors are logged
and the loop goes on; shutdown waits for the sends in flight (a few seconds at most), then stops."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from app.core.config import Settings
from app.core.db import Database
from app.services.webhooks import dispatcher, events

logger = logging.getLogger("app.webhooks")


@dataclass
class RunResult:
    events: dict[str, int] = field(default_factory=dict)
    pruned: int = 0
    dispatch: dispatcher.DispatchResult = field(default_factory=dispatcher.DispatchResult)


def new_http_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=settings.webhooks_timeout_seconds, follow_redirects=False)


async def scan_once(database: Database, settings: Settings, now: datetime) -> tuple[dict[str, int], int]:
    """Time-based events and fan-out, then pruning, in one transaction."""
    async with database.session() as session:
        found = await events.scan(session, now)
        pruned = await dispatcher.prune(session, settings, now)
    return found, pruned


async def run_once(
    database: Database, settings: Settings, http: httpx.AsyncClient, now: datetime, *, drain: bool = False
) -> RunResult:
    """One round: scan, then send what is due (every due batch when `drain`)."""
    result = RunResult()
    result.events, result.pruned = await scan_once(database, settings, now)
    while True:
        batch = await dispatcher.dispatch_due(database, settings, http, now)
        for name in ("sent", "succeeded", "retrying", "failed"):
            setattr(result.dispatch, name, getattr(result.dispatch, name) + getattr(batch, name))
        result.dispatch.delivery_ids += batch.delivery_ids
        if not drain or batch.sent < dispatcher.CLAIM_BATCH:
            return result


class WebhookWorker:
    def __init__(self, database: Database, settings: Settings, now: Callable[[], datetime]) -> None:
        self.database = database
        self.settings = settings
        self.now = now
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhooks")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=self.settings.webhooks_timeout_seconds + 5)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        last_scan: float | None = None
        async with new_http_client(self.settings) as http:
            while not self._stopping.is_set():
                try:
                    now = self.now()
                    if last_scan is None or time.monotonic() - last_scan >= self.settings.webhooks_scan_seconds:
                        last_scan = time.monotonic()
                        found, _pruned = await scan_once(self.database, self.settings, now)
                        if any(found.values()):
                            logger.info("webhook scan recorded %s", found)
                    await dispatcher.dispatch_due(self.database, self.settings, http, self.now())
                except Exception:
                    logger.exception("webhook round failed; retrying in %s s", self.settings.webhooks_poll_seconds)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self.settings.webhooks_poll_seconds)
