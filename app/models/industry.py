from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class Industry(Base):
    """GB/T 4754-2017 reference row: a section (门类, letter) or a division (大类, two digits)."""

    __tablename__ = "industries"
    __table_args__ = ()  # a text key: nothing to autoincrement

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    section_code: Mapped[str | None] = mapped_column(ForeignKey("industries.code"), doc="null for sections")
