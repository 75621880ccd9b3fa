"""Tables private to forwarding (issue 8, migration 0007): the webhook signing key ring.

The secret is stored in the database because `ee forward retry` must sign with it on every
run; whoever can read this table can forge webhooks (see docs/webhooks.md, "Key storage").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from emailengine.db.models.base import Base, UTCDateTime, utcnow


class SigningKey(Base):
    """One HMAC/JWT signing key: current (signs), or kept for verification until expires_at."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    current: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
