from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel

from app.api.deps import require
from app.core.errors import problem_responses
from app.core.principal import Principal
from app.reference.industries import DIVISIONS, SECTIONS

router = APIRouter(prefix="/industries", tags=["enterprises 企业库"], responses=problem_responses(401, 403))


class Division(BaseModel):
    code: str
    name: str


class Section(BaseModel):
    code: str
    name: str
    divisions: list[Division]


@router.get("", response_model=list[Section], summary="GB/T 4754-2017 industry sections (门类) and divisions (大类)")
async def list_industries(_actor: Annotated[Principal, require("enterprises:read")]) -> list[Section]:
    return [
        Section(
            code=code,
            name=name,
            divisions=[Division(code=d, name=n) for d, (s, n) in DIVISIONS.items() if s == code],
        )
        for code, name in SECTIONS.items()
    ]
