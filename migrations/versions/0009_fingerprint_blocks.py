"""bounces: fingerprints stored as one sorted block per UTC minute (replaces one row per record).

One row per record made the fingerprint index the largest cost of ingesting (issue 3's speed
target); a block per minute holds the same 64-bit fingerprints in ~1/1000 of the rows. The
fingerprint function also becomes one for every database (MD5 of the key, see
emailengine/bounces/reader.py): PostgreSQL's old hashtextextended values cannot be converted, so
upgrading forgets earlier fingerprints. Drain the pipe first (`systemctl stop`, or wait until the
spool is committed): only a replay of records ingested before the upgrade could then count twice.

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bounce_fingerprint_blocks",
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fps", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_bounce_fingerprint_blocks")),
    )
    op.drop_table("bounce_fingerprints")


def downgrade() -> None:
    op.create_table(
        "bounce_fingerprints",
        sa.Column("ts", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fp", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("ts", "fp", name=op.f("pk_bounce_fingerprints")),
    )
    op.drop_table("bounce_fingerprint_blocks")
