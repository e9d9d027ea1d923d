from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.api.deps import IdPath, IdQuery, IfMatchDep, SessionDep, require, set_etag, sort_dependency
from app.api.export import EXPORT_RESPONSES, ExportDep, each
from app.core.errors import ProblemError, problem_responses
from app.core.masking import mask_national_id, mask_phone
from app.core.principal import Principal
from app.core.scopes import PERSONAL_DATA
from app.models import TalentPerson, TalentRole
from app.schemas.common import VISIBLE_TEXT, PageOut, SearchText
from app.schemas.talent import TalentCreate, TalentRead, TalentUpdate
from app.services import talents as service
from app.services.pagination import PageRequest

router = APIRouter(prefix="/talents", tags=["talent services 人才服务"], responses=problem_responses(401, 403, 422))

TalentPage = Annotated[PageRequest, sort_dependency(service.TALENT_SORTS, default="name")]


def to_read(person: TalentPerson, viewer: Principal) -> TalentRead:
    cleared = PERSONAL_DATA in viewer.scopes
    return TalentRead(
        id=person.id,
        name=person.name,
        enterprise_id=person.enterprise_id,
        role=person.role,
        position=person.position,
        national_id=person.national_id if cleared or not person.national_id else mask_national_id(person.national_id),
        phone=person.phone if cleared or not person.phone else mask_phone(person.phone),
        personal_data_masked=not cleared,
        created_at=person.created_at,
        updated_at=person.updated_at,
        version=person.version,
    )


def _require_clearance(actor: Principal, what: str) -> None:
    # Writing or searching by personal data one may not read would reveal or overwrite it blindly.
    if PERSONAL_DATA not in actor.scopes:
        raise ProblemError(403, "insufficient_scope", f"{what}: 需要 / needs {PERSONAL_DATA}")


@router.get(
    "",
    response_model=PageOut[TalentRead],
    summary="List talents",
    description="National ID numbers and phones are masked unless the caller holds `personal_data:read`; "
    "searching by `national_id` needs it too.",
    responses=EXPORT_RESPONSES,
)
async def list_talents(
    session: SessionDep,
    actor: Annotated[Principal, require("talents:read")],
    page: TalentPage,
    export: ExportDep,
    q: Annotated[SearchText | None, Query(description="Name contains")] = None,
    enterprise_id: IdQuery = None,
    role: TalentRole | None = None,
    national_id: Annotated[
        str | None, Query(min_length=18, max_length=18, pattern=VISIBLE_TEXT, description="Exact number")
    ] = None,
) -> PageOut[TalentRead] | Response:
    if national_id is not None:
        _require_clearance(actor, "按身份证号查询 / searching by national_id")
    flt = service.TalentFilter(q=q, enterprise_id=enterprise_id, role=role, national_id=national_id)
    if export.wanted:
        stmt = service.talents_query(flt, page.sort)
        return await export.respond(actor, "人才", TalentRead, stmt, each(lambda p: to_read(p, actor)))
    result = await service.list_talents(session, flt, page)
    return PageOut[TalentRead](
        items=[to_read(p, actor) for p in result.items], total=result.total, limit=result.limit, offset=result.offset
    )


@router.post(
    "",
    response_model=TalentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register a talent",
    description="A national ID number is checked (GB 11643 check character, real birth date) and unique; "
    "sending it or a phone needs `personal_data:read`.",
    responses=problem_responses(409, 415),
)
async def create_talent(
    data: TalentCreate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("talents:write")],
) -> TalentRead:
    if data.national_id is not None or data.phone is not None:
        _require_clearance(actor, "写入身份证号或电话 / sending national_id or phone")
    person = await service.create_talent(session, actor, data)
    response.headers["Location"] = f"/api/v1/talents/{person.id}"
    set_etag(response, person.version)
    return to_read(person, actor)


@router.get("/{person_id:int}", response_model=TalentRead, summary="Read a talent", responses=problem_responses(404))
async def get_talent(
    person_id: IdPath,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("talents:read")],
) -> TalentRead:
    person = await service.get_talent(session, person_id)
    set_etag(response, person.version)
    return to_read(person, actor)


@router.patch(
    "/{person_id:int}",
    response_model=TalentRead,
    summary="Change a talent; null erases the national ID number or phone",
    responses=problem_responses(404, 409, 412, 415, 428),
)
async def update_talent(
    person_id: IdPath,
    data: TalentUpdate,
    response: Response,
    session: SessionDep,
    actor: Annotated[Principal, require("talents:write")],
    expected: IfMatchDep,
) -> TalentRead:
    if {"national_id", "phone"} & data.model_fields_set:
        _require_clearance(actor, "修改身份证号或电话 / changing national_id or phone")
    person = await service.update_talent(session, actor, person_id, data, expected)
    set_etag(response, person.version)
    return to_read(person, actor)


@router.delete(
    "/{person_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a talent without service records (otherwise 409: erase the personal data instead)",
    responses=problem_responses(404, 409, 412, 428),
)
async def delete_talent(
    person_id: IdPath,
    session: SessionDep,
    actor: Annotated[Principal, require("talents:write")],
    expected: IfMatchDep,
) -> None:
    await service.delete_talent(session, actor, person_id, expected)
