"""month lifecycle: frozen notices with their entry lists, closed-month heads, corrections by seq,
and the database guarding the ledger's invariants

- notices: one row per published notice (main or supplement), the chain head when published,
  the number of entries and a digest over exactly those entries; notice_entries lists them.
- closed_periods: digest_seq/digest renamed head_seq/head_hash (the chain head at close).
- ledger_entries: corrects_seq (the hashed target of a correction); CHECK constraints on kind,
  seq >= 1, the sign of points, quantity >= 1; on PostgreSQL a trigger refusing UPDATE, DELETE
  and TRUNCATE.
- CHECK constraints on every status and kind column; at most one open objection per entry.

Written by hand. Existing notices keep their month and window; their list becomes the entries
dated in the month up to the recorded head, and their digest is computed the new way.

Revision ID: 0002_lifecycle
Revises: 0002_ledger_bounds
"""
from alembic import op
import sqlalchemy as sa

revision = '0002_lifecycle'
down_revision = '0002_ledger_bounds'
branch_labels = None
depends_on = None

ENTRY_KINDS = "'award', 'deduction', 'correction', 'redemption', 'expiry'"
ENTRY_SIGN = ("(kind = 'award' AND points >= 0) OR (kind IN ('deduction', 'redemption', 'expiry') AND points <= 0)"
              " OR kind = 'correction'")

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only: % refused (post a correction instead)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
APPEND_ONLY_TRIGGERS = [
    "CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON ledger_entries "
    "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()",
    "CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only()",
]


def upgrade():
    bind = op.get_bind()
    pg = bind.dialect.name == 'postgresql'

    # --- ledger entries: corrections point at a seq; the invariants as CHECKs ---------------------
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrects_seq', sa.Integer(), nullable=True))
    op.execute("UPDATE ledger_entries SET corrects_seq = (SELECT o.seq FROM ledger_entries o "
               "WHERE o.id = ledger_entries.corrects_id) WHERE corrects_id IS NOT NULL")
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_ledger_entries_seq'), 'seq >= 1')
        batch_op.create_check_constraint(op.f('ck_ledger_entries_kind'), f'kind IN ({ENTRY_KINDS})')
        batch_op.create_check_constraint(op.f('ck_ledger_entries_sign'), ENTRY_SIGN)
        batch_op.create_check_constraint(op.f('ck_ledger_entries_quantity'), 'quantity >= 1')
        batch_op.create_check_constraint(op.f('ck_ledger_entries_correction_target'),
                                         "(kind = 'correction') = (corrects_seq IS NOT NULL)")

    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_submissions_status'),
                                         "status IN ('pending', 'approved', 'rejected', 'refused')")
        batch_op.create_check_constraint(op.f('ck_submissions_quantity'), "status = 'refused' OR quantity >= 1")
    with op.batch_alter_table('villagers', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_villagers_status'),
                                         "status IN ('active', 'moved_out', 'deceased')")
    with op.batch_alter_table('tallies', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_tallies_kind'), "kind IN ('v', 'h', 'g')")
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_objections_status'), "status IN ('open', 'upheld', 'corrected')")
    op.create_index('uq_objections_open_entry', 'objections', ['entry_id'], unique=True,
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    # --- closed months record the chain head at close -------------------------------------------
    with op.batch_alter_table('closed_periods', schema=None) as batch_op:
        batch_op.alter_column('digest_seq', new_column_name='head_seq', existing_type=sa.Integer(),
                              existing_nullable=False)
        batch_op.alter_column('digest', new_column_name='head_hash', existing_type=sa.String(length=64),
                              existing_nullable=False)

    # --- notices: numbered (main, supplements), frozen lists, real digests ---------------------
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint('uq_notices_village_id_month', type_='unique')
        batch_op.alter_column('digest_seq', new_column_name='head_seq', existing_type=sa.Integer(),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='main'))
        batch_op.add_column(sa.Column('window_days', sa.Integer(), nullable=False, server_default='7'))
        batch_op.add_column(sa.Column('head_hash', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('entry_count', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE notices SET head_hash = digest")
    op.create_table(
        'notice_entries',
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('village_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_entries_notice_id_notices')),
        sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_notice_entries_village_id_villages')),
        sa.PrimaryKeyConstraint('notice_id', 'seq', name=op.f('pk_notice_entries')),
        sa.UniqueConstraint('village_id', 'seq', name=op.f('uq_notice_entries_village_id_seq')),
    )
    _backfill_notices(bind)
    with op.batch_alter_table('notices', schema=None) as batch_op:
        for col in ('number', 'kind', 'window_days', 'head_hash', 'entry_count'):
            batch_op.alter_column(col, server_default=None)
        batch_op.create_unique_constraint(op.f('uq_notices_village_id_month_number'), ['village_id', 'month', 'number'])
        batch_op.create_check_constraint(op.f('ck_notices_kind'), "kind IN ('main', 'supplement')")
        batch_op.create_check_constraint(op.f('ck_notices_number'), "(kind = 'main') = (number = 1)")
        batch_op.create_check_constraint(op.f('ck_notices_window_days'), 'window_days >= 0')
        batch_op.create_check_constraint(op.f('ck_notices_head_seq'), 'head_seq >= 0')

    if pg:
        op.execute(APPEND_ONLY_FUNCTION)
        for stmt in APPEND_ONLY_TRIGGERS:
            op.execute(stmt)


def _backfill_notices(bind) -> None:
    """List each existing notice's entries (dated in its month, up to its head) and digest them."""
    import datetime as dt

    from pointsapp.points.notice import notice_digest

    notices = bind.execute(sa.text("SELECT id, village_id, month, head_seq, head_hash, opens_on, closes_on "
                                   "FROM notices")).all()
    for n in notices:
        year, month = int(n.month[:4]), int(n.month[5:7])
        start = dt.date(year, month, 1)
        end = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
        rows = bind.execute(sa.text(
            "SELECT seq, hash FROM ledger_entries WHERE village_id = :v AND seq <= :h AND seq >= 1 "
            "AND occurred_on BETWEEN :a AND :b ORDER BY seq"),
            {"v": n.village_id, "h": n.head_seq, "a": start, "b": end}).all()
        if rows:
            bind.execute(sa.text("INSERT INTO notice_entries (notice_id, seq, village_id) VALUES (:n, :s, :v)"),
                         [{"n": n.id, "s": r.seq, "v": n.village_id} for r in rows])
        opens = n.opens_on if isinstance(n.opens_on, dt.date) else dt.date.fromisoformat(str(n.opens_on))
        closes = n.closes_on if isinstance(n.closes_on, dt.date) else dt.date.fromisoformat(str(n.closes_on))
        digest = notice_digest(n.village_id, n.month, 1, n.head_seq, n.head_hash, [(r.seq, r.hash) for r in rows])
        bind.execute(sa.text("UPDATE notices SET entry_count = :c, digest = :d, window_days = :w WHERE id = :id"),
                     {"c": len(rows), "d": digest, "w": max(0, min(30, (closes - opens).days + 1)), "id": n.id})


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries")
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update_delete ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS ledger_entries_append_only()")
    # Supplements cannot be represented in the old one-notice-per-month table.
    op.execute("DELETE FROM notice_entries WHERE notice_id IN (SELECT id FROM notices WHERE number > 1)")
    op.execute("DELETE FROM notices WHERE number > 1")
    op.drop_table('notice_entries')
    op.execute("UPDATE notices SET digest = head_hash")
    with op.batch_alter_table('notices', schema=None) as batch_op:
        for name in ('ck_notices_head_seq', 'ck_notices_window_days', 'ck_notices_number', 'ck_notices_kind'):
            batch_op.drop_constraint(name, type_='check')
        batch_op.drop_constraint('uq_notices_village_id_month_number', type_='unique')
        for col in ('entry_count', 'head_hash', 'window_days', 'kind', 'number'):
            batch_op.drop_column(col)
        batch_op.alter_column('head_seq', new_column_name='digest_seq', existing_type=sa.Integer(),
                              existing_nullable=False)
        batch_op.create_unique_constraint('uq_notices_village_id_month', ['village_id', 'month'])
    with op.batch_alter_table('closed_periods', schema=None) as batch_op:
        batch_op.alter_column('head_seq', new_column_name='digest_seq', existing_type=sa.Integer(),
                              existing_nullable=False)
        batch_op.alter_column('head_hash', new_column_name='digest', existing_type=sa.String(length=64),
                              existing_nullable=False)
    op.drop_index('uq_objections_open_entry', table_name='objections')
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_constraint('ck_objections_status', type_='check')
    with op.batch_alter_table('tallies', schema=None) as batch_op:
        batch_op.drop_constraint('ck_tallies_kind', type_='check')
    with op.batch_alter_table('villagers', schema=None) as batch_op:
        batch_op.drop_constraint('ck_villagers_status', type_='check')
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_constraint('ck_submissions_quantity', type_='check')
        batch_op.drop_constraint('ck_submissions_status', type_='check')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        for name in ('ck_ledger_entries_correction_target', 'ck_ledger_entries_quantity', 'ck_ledger_entries_sign',
                     'ck_ledger_entries_kind', 'ck_ledger_entries_seq'):
            batch_op.drop_constraint(name, type_='check')
        batch_op.drop_column('corrects_seq')
