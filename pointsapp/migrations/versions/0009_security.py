"""security: per-user session secret, one-time password expiry, sign-in throttle

Revision ID: 0009_security
Revises: 0001
Create Date: 2026-12-01 07:40:00

Written by hand. Every existing account gets its own random session secret (so sessions
issued before the upgrade, which carry no token, end: everyone signs in again once).
"""
import secrets

import sqlalchemy as sa
from alembic import op

import pointsapp.points.db

revision = "0009_security"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_expires_at", pointsapp.points.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("session_secret", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    users = sa.table("staff_users", sa.column("id", sa.Integer), sa.column("session_secret", sa.String))
    for (uid,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(users.update().where(users.c.id == uid).values(session_secret=secrets.token_hex(32)))
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.alter_column("session_secret", existing_type=sa.String(length=64), nullable=False)

    op.create_table(
        "sign_in_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", pointsapp.points.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", pointsapp.points.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttles")),
    )


def downgrade():
    op.drop_table("sign_in_throttles")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("session_secret")
        batch_op.drop_column("password_expires_at")
