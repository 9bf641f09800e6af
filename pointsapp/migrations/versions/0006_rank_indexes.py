"""Tallies' board indexes ordered as the boards are (points descending, ties by subject id), so a
county or village top-N is read from the top of an index instead of sorting every subject.

Revision ID: 0006_rank_indexes
Revises: 0005_legacy_hash
Create Date: 2026-12-01 11:00:00

Written by hand. On a large county database, build the new indexes first with
``CREATE INDEX CONCURRENTLY`` (same names and columns) and this migration will find them there.
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_rank_indexes"
down_revision = "0005_legacy_hash"
branch_labels = None
depends_on = None

NEW = {"ix_tallies_board_rank": ["period", "kind", "village_id", sa.text("points DESC"), "subject_id"],
       "ix_tallies_county_rank": ["period", "kind", sa.text("points DESC"), "subject_id"]}
OLD = {"ix_tallies_board": ["period", "kind", "village_id", "points"],
       "ix_tallies_county": ["period", "kind", "points"]}


def _swap(create: dict, drop: dict) -> None:
    existing = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("tallies")}
    for name, cols in create.items():
        if name not in existing:
            op.create_index(name, "tallies", cols, unique=False)
    for name in drop:
        if name in existing:
            op.drop_index(name, table_name="tallies")


def upgrade():
    _swap(NEW, OLD)


def downgrade():
    _swap(OLD, NEW)
