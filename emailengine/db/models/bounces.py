"""Tables private to the bounce pipeline (migration 0002).

- bounces: one row per hard/soft/block bounce (b, rb) and complaint (f), with what ties it to
  MailWizz (Message-Id, campaign and subscriber uids).
- bounce_fingerprint_blocks (migration 0009): the 64-bit fingerprint of every record ingested,
  as one sorted block of little-endian int64 per UTC minute of the record's time: records arrive in
  time order, so a batch rewrites a few recent blocks instead of inserting one index entry per
  record, and old minutes are pruned by a primary-key range delete.
- bounce_counts: per (UTC hour, type, class, reason, source IP, provider) counters for every
  record type; `ee bounces stats` reads only this table.
- bounce_pipe_positions: committed byte offset per spool segment (written in the batch's transaction).
- bounce_pipe_status: per host, the pipe's last record time and its record/reject counters.

On PostgreSQL, migration 0010 also gives the key text columns the pipe inserts into (here
bounce_counts and bounces.rcpt; delivery_stats, suppressions.email and the outbox's event id and
destination in core.py) COLLATE "C", and bounces.created_at a server default now(). The models
leave both out: SQLite has neither a "C" collation nor needs them, and tables are made only by
migrations.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from emailengine.db.models.base import Base, UTCDateTime, utcnow


class Bounce(Base):
    """One bounce or complaint record, as classified when it was ingested."""

    __tablename__ = "bounces"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    fingerprint: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    record_type: Mapped[str] = mapped_column(String(4))
    bounce_class: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    rcpt: Mapped[str] = mapped_column(String(320))
    source_ip: Mapped[str] = mapped_column(String(45), default="")
    vmta: Mapped[str] = mapped_column(String(64), default="")
    provider: Mapped[str] = mapped_column(String(32), default="other")
    status: Mapped[str] = mapped_column(String(255), default="")
    diag: Mapped[str] = mapped_column(Text, default="")
    bounce_cat: Mapped[str] = mapped_column(String(64), default="")
    message_id: Mapped[str] = mapped_column(String(998), default="")
    campaign_uid: Mapped[str] = mapped_column(String(64), default="")
    subscriber_uid: Mapped[str] = mapped_column(String(64), default="")
    # on PostgreSQL also a server default now() (migration 0010): the bounce pipe's COPY leaves it out
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_bounces_rcpt_occurred", "rcpt", "occurred_at"),
        Index("ix_bounces_occurred", "occurred_at", postgresql_using="brin"),  # rows come in time order (0010)
    )


class BounceFingerprintBlock(Base):
    """The fingerprints of the records logged in one UTC minute (`bucket` = Unix seconds // 60).

    `fps` is a sorted array of little-endian signed 64-bit fingerprints (reader.md5_fingerprint);
    bounces/fingerprints.py reads and merges it.
    """

    __tablename__ = "bounce_fingerprint_blocks"

    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    fps: Mapped[bytes] = mapped_column(LargeBinary)


class BounceCount(Base):
    """Counters per UTC hour, record type, class, reason, source IP and provider lane."""

    __tablename__ = "bounce_counts"

    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(4), primary_key=True)
    bounce_class: Mapped[str] = mapped_column(String(16), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    source_ip: Mapped[str] = mapped_column(String(45), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class BouncePipePosition(Base):
    """How far one spool segment has been committed (bytes from its start)."""

    __tablename__ = "bounce_pipe_positions"

    segment: Mapped[str] = mapped_column(String(255), primary_key=True)
    host: Mapped[str] = mapped_column(String(253))
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BouncePipeStatus(Base):
    """Per host: the last record the pipe committed and its running counters."""

    __tablename__ = "bounce_pipe_status"

    host: Mapped[str] = mapped_column(String(253), primary_key=True)
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    rejects: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)
    last_record_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
