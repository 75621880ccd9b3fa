"""operations: the alert_sends log (rate limit and failure counting for Telegram alerts).

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_sends")),
    )
    op.create_index("ix_alert_sends_outcome_at", "alert_sends", ["outcome", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alert_sends_outcome_at", table_name="alert_sends")
    op.drop_table("alert_sends")
