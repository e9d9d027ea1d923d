from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, VersionedMixin
from app.models.types import ScaledDecimal, money


class LandParcel(VersionedMixin, TimestampMixin, Base):
    """地块: a parcel of land in a zone, and its transfer (出让) to a buyer enterprise."""

    __tablename__ = "land_parcels"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), index=True)
    area_m2: Mapped[Decimal] = mapped_column(ScaledDecimal(precision=14, scale=2))
    planned_use: Mapped[str | None] = mapped_column(String(100))
    transferred_on: Mapped[date | None] = mapped_column(Date, index=True)
    buyer_enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    price: Mapped[Decimal | None] = mapped_column(money())
