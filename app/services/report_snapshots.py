"""Frozen reports: the content as generated, never changed, compared with the data of today on request.

A snapshot that carries sensitive figures (tax) is readable only by callers cleared for them; for
anyone else it does not exist (404), as a hidden object should.
"""

import hashlib
import json
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFoundError
from app.core.principal import Principal
from app.core.scopes import SENSITIVE_KPIS
from app.models import Metric, ReportKind, ReportSnapshot
from app.services import audit
from app.services.pagination import Page, PageRequest, ordered, page_of

SNAPSHOT_SORTS = {"created_at": ReportSnapshot.created_at, "year": ReportSnapshot.year}


def fingerprint(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def holds_sensitive_figures(session: AsyncSession, content: dict[str, Any]) -> bool:
    """Does the report carry a figure of a sensitive metric (tax)? Read from the content, not the freezer."""
    investment = content.get("investment") or {}
    key = investment.get("key_projects") or {}
    shown = {m["metric"] for m in key.get("metrics", [])}
    for cluster in investment.get("clusters", []):
        shown |= {m["metric"] for m in cluster.get("metrics", [])} | {i["metric"] for i in cluster.get("intensity", [])}
    if not shown:
        return False
    sensitive = await session.scalars(select(Metric.code).where(Metric.code.in_(shown), Metric.sensitive.is_(True)))
    return bool(list(sensitive))


def readable(snapshot: ReportSnapshot, scopes: frozenset[str]) -> bool:
    return not snapshot.includes_sensitive or SENSITIVE_KPIS in scopes


async def freeze(
    session: AsyncSession,
    actor: Principal,
    kind: ReportKind,
    year: int,
    parameters: dict[str, Any],
    content: dict[str, Any],
    title: str | None,
    includes_sensitive: bool,
    document: bytes,
) -> ReportSnapshot:
    snapshot = ReportSnapshot(
        kind=kind,
        year=year,
        parameters=parameters,
        content=content,
        content_sha256=fingerprint(content),
        title=title,
        includes_sensitive=includes_sensitive,
        document=document,
        created_by=actor.name,
    )
    session.add(snapshot)
    await session.flush()
    audit.record(
        session,
        actor,
        "freeze",
        "report_snapshot",
        snapshot.id,
        None,
        {"kind": kind.value, "year": year, "parameters": parameters, "content_sha256": snapshot.content_sha256},
    )
    return snapshot


def snapshots_query(
    kind: ReportKind | None, year: int | None, scopes: frozenset[str], sort: tuple[str, ...]
) -> Select[ReportSnapshot]:
    """The list's statement in its order: one page of it for the list, all of it for an export."""
    stmt = select(ReportSnapshot)
    if kind is not None:
        stmt = stmt.where(ReportSnapshot.kind == kind)
    if year is not None:
        stmt = stmt.where(ReportSnapshot.year == year)
    if SENSITIVE_KPIS not in scopes:
        stmt = stmt.where(ReportSnapshot.includes_sensitive.is_(False))
    return ordered(stmt, sort, SNAPSHOT_SORTS, ReportSnapshot.id)


async def list_snapshots(
    session: AsyncSession, kind: ReportKind | None, year: int | None, scopes: frozenset[str], page: PageRequest
) -> Page[ReportSnapshot]:
    return await page_of(session, snapshots_query(kind, year, scopes, page.sort), page)


async def get_snapshot(session: AsyncSession, snapshot_id: int, scopes: frozenset[str]) -> ReportSnapshot:
    snapshot = await session.get(ReportSnapshot, snapshot_id)
    if snapshot is None or not readable(snapshot, scopes):
        raise NotFoundError("report snapshot", snapshot_id)
    return snapshot
