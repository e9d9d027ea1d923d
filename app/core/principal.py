from dataclasses import dataclass
from typing import Literal

from app.core.scopes import SCOPES

PrincipalKind = Literal["user", "client", "system"]


@dataclass(frozen=True)
class Principal:
    """Who is acting: a staff user, a district system (API client), or the console (system)."""

    kind: PrincipalKind
    id: int | None
    name: str
    scopes: frozenset[str]
    role: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.id}" if self.id is not None else self.kind


# The console (`zhaoshang create-user`, `demo-data`) acts with every scope: whoever runs it runs the server.
SYSTEM = Principal(kind="system", id=None, name="console", scopes=frozenset(SCOPES))
