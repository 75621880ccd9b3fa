"""warmup: tables private to the warmup capability (migration 0004)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from emailengine.db.models.base import Base, UTCDateTime, utcnow


class WarmupPlan(Base):
    """A warmup plan stored as data: per-step fractions of the pool's daily target."""

    __tablename__ = "warmup_plans"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    floor: Mapped[int] = mapped_column(Integer, default=50)
    target_daily: Mapped[int | None] = mapped_column(Integer)
    fractions: Mapped[Any] = mapped_column(JSON)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
