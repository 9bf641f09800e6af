"""Content versions of each village's public pages (see pointsapp/points/versions.py).

Revision ID: 0008_page_versions
Revises: 0007_tally_entries
"""
from alembic import op
import sqlalchemy as sa

revision = "0008_page_versions"
down_revision = "0007_tally_entries"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "village_versions",
        sa.Column("village_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("village_id", name=op.f("pk_village_versions")),
    )


def downgrade():
    op.drop_table("village_versions")
