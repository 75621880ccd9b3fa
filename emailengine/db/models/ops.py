"""Operations tables (migration 0008): the log of alert sends, for rate limiting and counting."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from emailengine.db.models.base import Base, UTCDateTime, utcnow


class AlertSend(Base):
    """One alert that `send_alert` handled: sent, failed, deduplicated or rate-limited.

    The hourly rate limit counts `sent` rows of the last hour; `failed` rows feed the
    `ee_alert_send_failures` metric. Rows older than 30 days are pruned by `ee metrics update`.
    """

    __tablename__ = "alert_sends"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    severity: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))  # sent | failed | deduplicated | rate_limited
    title: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_alert_sends_outcome_at", "outcome", "at"),)
