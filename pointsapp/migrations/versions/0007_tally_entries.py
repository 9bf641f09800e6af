"""tallies count earning entries only

``tallies.entries`` counted every entry, shop spending included, so a household that only
redeemed in a month counted as taking part in it, and a redemption on the 1st switched the
boards to a month with no points. It now counts awards, deductions and corrections; this
recounts the tallies of every village from the ledger (no schema change).

Written by hand.

Revision ID: 0007_tally_entries
Revises: 0006_rank_indexes
"""
from alembic import op
from sqlalchemy.orm import Session

revision = "0007_tally_entries"
down_revision = "0006_rank_indexes"
branch_labels = None
depends_on = None


def upgrade():
    from pointsapp.points.standings import rebuild_tallies

    session = Session(bind=op.get_bind())
    rebuild_tallies(session)
    session.flush()


def downgrade():
    pass   # the old count is not needed by any earlier revision's code paths that read it
