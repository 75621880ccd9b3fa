"""bounces: tables private to this capability (owned by its issue).

Revision ID: 0002
Revises: 0001
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bounces",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fingerprint", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_type", sa.String(length=4), nullable=False),
        sa.Column("bounce_class", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("rcpt", sa.String(length=320), nullable=False),
        sa.Column("source_ip", sa.String(length=45), nullable=False),
        sa.Column("vmta", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=255), nullable=False),
        sa.Column("diag", sa.Text(), nullable=False),
        sa.Column("bounce_cat", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("campaign_uid", sa.String(length=64), nullable=False),
        sa.Column("subscriber_uid", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bounces")),
    )
    with op.batch_alter_table("bounces", schema=None) as batch_op:
        batch_op.create_index("ix_bounces_occurred", ["occurred_at"], unique=False)
        batch_op.create_index("ix_bounces_rcpt_occurred", ["rcpt", "occurred_at"], unique=False)

    op.create_table(
        "bounce_fingerprints",
        sa.Column("ts", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fp", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("ts", "fp", name=op.f("pk_bounce_fingerprints")),
    )
    op.create_table(
        "bounce_counts",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("record_type", sa.String(length=4), nullable=False),
        sa.Column("bounce_class", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("source_ip", sa.String(length=45), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "record_type", "bounce_class", "reason", "source_ip", "provider",
                                name=op.f("pk_bounce_counts")),
    )
    op.create_table(
        "bounce_pipe_positions",
        sa.Column("segment", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("segment", name=op.f("pk_bounce_pipe_positions")),
    )
    op.create_table(
        "bounce_pipe_status",
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("rejects", sa.BigInteger(), nullable=False),
        sa.Column("duplicates", sa.BigInteger(), nullable=False),
        sa.Column("last_record_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_bounce_pipe_status")),
    )


def downgrade() -> None:
    op.drop_table("bounce_pipe_status")
    op.drop_table("bounce_pipe_positions")
    op.drop_table("bounce_counts")
    op.drop_table("bounce_fingerprints")
    with op.batch_alter_table("bounces", schema=None) as batch_op:
        batch_op.drop_index("ix_bounces_rcpt_occurred")
        batch_op.drop_index("ix_bounces_occurred")
    op.drop_table("bounces")
