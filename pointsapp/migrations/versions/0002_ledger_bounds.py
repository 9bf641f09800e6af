"""rule versions state the most one line may count (max_quantity)

Revision ID: 0002_ledger_bounds
Revises: 0009_security
Create Date: 2026-12-01 07:40:00

Written by hand, never regenerated.
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_ledger_bounds"
down_revision = "0009_security"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("rule_versions") as batch:
        batch.add_column(sa.Column("max_quantity", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("rule_versions") as batch:
        batch.drop_column("max_quantity")
