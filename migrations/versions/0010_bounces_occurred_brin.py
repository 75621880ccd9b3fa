"""bounces: the occurred_at index becomes a BRIN index on PostgreSQL.

Nothing reads bounces by time alone on the hot path (the soft-bounce rule uses
ix_bounces_rcpt_occurred), yet the B-tree on occurred_at cost 16% of every COPY into bounces
(measured: 70,000 rows in 0.48 s with it, 0.40 s without). Rows arrive in time order, so a BRIN
index keeps time-range scans (ad hoc queries, a future retention job) cheap at almost no cost per
row. SQLite has no BRIN and keeps its B-tree.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_bounces_occurred", table_name="bounces")
    op.create_index("ix_bounces_occurred", "bounces", ["occurred_at"], postgresql_using="brin")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_bounces_occurred", table_name="bounces")
    op.create_index("ix_bounces_occurred", "bounces", ["occurred_at"])
