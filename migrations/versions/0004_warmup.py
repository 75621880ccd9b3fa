"""warmup: tables private to this capability (owned by its issue).

warmup_plans holds plans as data; the default 42-step plan (reference warmup.md §6.1) is seeded.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# A copy, not an import: a migration must not change when the application code does.
DEFAULT_FRACTIONS = [
    0.0010, 0.0016, 0.0028, 0.0044, 0.0074, 0.0122, 0.0200,
    0.0250, 0.0320, 0.0400, 0.0500, 0.0630, 0.0790, 0.1000,
    0.1130, 0.1280, 0.1460, 0.1650, 0.1870, 0.2100, 0.2400,
    0.2700, 0.3000, 0.3300, 0.3700, 0.4100, 0.4500, 0.5000,
    0.5300, 0.5700, 0.6100, 0.6500, 0.7000, 0.7500, 0.8000,
    0.8300, 0.8500, 0.8800, 0.9100, 0.9400, 0.9700, 1.0000,
]


def upgrade() -> None:
    table = op.create_table(
        "warmup_plans",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("target_daily", sa.Integer(), nullable=True),
        sa.Column("fractions", sa.JSON(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_warmup_plans")),
    )
    from datetime import datetime, timezone

    op.bulk_insert(table, [{
        "name": "default", "description": "42 sending days to the pool target (reference warmup.md §6.1)",
        "floor": 50, "target_daily": None, "fractions": DEFAULT_FRACTIONS, "builtin": True,
        "created_at": datetime.now(timezone.utc), "created_by": "system",
    }])


def downgrade() -> None:
    op.drop_table("warmup_plans")
