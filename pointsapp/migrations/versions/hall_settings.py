"""village settings for the hall (committee phone, award tiers, certificate date);
objections that name no entry (a missing entry, 漏记)

Revision ID: hall_settings
Revises: 0002_lifecycle
Create Date: 2026-12-01 07:40:00

Written by hand.
"""
from alembic import op
import sqlalchemy as sa


revision = 'hall_settings'
down_revision = '0002_lifecycle'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('committee_phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('award_tiers', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('certificate_date', sa.Date(), nullable=True))
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.alter_column('entry_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                              nullable=True)
        batch_op.add_column(sa.Column('missing_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_column('missing_on')
        batch_op.alter_column('entry_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                              nullable=False)
    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.drop_column('certificate_date')
        batch_op.drop_column('award_tiers')
        batch_op.drop_column('committee_phone')
