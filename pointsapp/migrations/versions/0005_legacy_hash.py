"""villages.legacy_hash_seq: which corrections were hashed under 0001's rule

Before 0002_lifecycle a correction's hash held the id of the entry it corrects; from then on
it holds that entry's seq (corrects_seq). Where ids and seqs differ (several villages share
the id sequence) an honest upgraded chain failed ``ledger verify``. This records, per
village, the last seq whose correction was hashed the old way, found by recomputing the
stored hashes; ``verify_chain`` hashes those rows as they were hashed.

Written by hand.

Revision ID: 0005_legacy_hash
Revises: 0004_shop
"""
from alembic import op
import sqlalchemy as sa

revision = "0005_legacy_hash"
down_revision = "0004_shop"
branch_labels = None
depends_on = None


def upgrade():
    from pointsapp.points.ledger import legacy_hash_boundary

    with op.batch_alter_table("villages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legacy_hash_seq", sa.Integer(), nullable=False, server_default="0"))
    bind = op.get_bind()
    for (village_id,) in bind.execute(sa.text("SELECT id FROM villages")).all():
        boundary = legacy_hash_boundary(bind, village_id)
        if boundary:
            bind.execute(sa.text("UPDATE villages SET legacy_hash_seq = :b WHERE id = :v"),
                         {"b": boundary, "v": village_id})


def downgrade():
    with op.batch_alter_table("villages", schema=None) as batch_op:
        batch_op.drop_column("legacy_hash_seq")
