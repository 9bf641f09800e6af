"""The points shop (积分超市): items, stock movements, redemptions, settings, yearly resets.

Revision ID: 0004_shop
Revises: hall_settings
"""
from alembic import op
import sqlalchemy as sa

import pointsapp.points.db

revision = "0004_shop"
down_revision = "hall_settings"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = pointsapp.points.db.UTCDateTime(timezone=True)


# A cancelled redemption is a positive ``redemption`` entry pointing at the seq it reverses.
SIGN = ("(kind = 'award' AND points >= 0) OR (kind IN ('deduction', 'redemption', 'expiry') AND points <= 0)"
        " OR kind = 'correction' OR (kind = 'redemption' AND corrects_seq IS NOT NULL)")
TARGET = "kind = 'redemption' OR ((kind = 'correction') = (corrects_seq IS NOT NULL))"
OLD_SIGN = ("(kind = 'award' AND points >= 0) OR (kind IN ('deduction', 'redemption', 'expiry') AND points <= 0)"
            " OR kind = 'correction'")
OLD_TARGET = "(kind = 'correction') = (corrects_seq IS NOT NULL)"


def _ledger_checks(sign: str, target: str) -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_ledger_entries_sign"), type_="check")
        batch_op.drop_constraint(op.f("ck_ledger_entries_correction_target"), type_="check")
        batch_op.create_check_constraint(op.f("ck_ledger_entries_sign"), sign)
        batch_op.create_check_constraint(op.f("ck_ledger_entries_correction_target"), target)


def upgrade():
    _ledger_checks(SIGN, TARGET)
    op.create_table(
        "shop_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("photo", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint("price > 0", name=op.f("ck_shop_items_price_positive")),
        sa.ForeignKeyConstraint(["village_id"], ["villages.id"], name=op.f("fk_shop_items_village_id_villages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_items")),
        sa.UniqueConstraint("village_id", "code", name=op.f("uq_shop_items_village_id_code")),
    )
    op.create_index(op.f("ix_shop_items_village_id"), "shop_items", ["village_id"], unique=False)

    op.create_table(
        "redemptions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=True),
        sa.Column("collector_name", sa.String(length=50), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("clerk_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("cancel_entry_id", BigId, nullable=True),
        sa.Column("cancelled_at", UTC, nullable=True),
        sa.Column("cancelled_by_id", sa.Integer(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("points > 0", name=op.f("ck_redemptions_points_positive")),
        sa.ForeignKeyConstraint(["village_id"], ["villages.id"], name=op.f("fk_redemptions_village_id_villages")),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"], name=op.f("fk_redemptions_household_id_households")),
        sa.ForeignKeyConstraint(["collector_id"], ["villagers.id"], name=op.f("fk_redemptions_collector_id_villagers")),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entries.id"], name=op.f("fk_redemptions_entry_id_ledger_entries")),
        sa.ForeignKeyConstraint(["clerk_id"], ["staff_users.id"], name=op.f("fk_redemptions_clerk_id_staff_users")),
        sa.ForeignKeyConstraint(["cancel_entry_id"], ["ledger_entries.id"],
                                name=op.f("fk_redemptions_cancel_entry_id_ledger_entries")),
        sa.ForeignKeyConstraint(["cancelled_by_id"], ["staff_users.id"],
                                name=op.f("fk_redemptions_cancelled_by_id_staff_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
        sa.UniqueConstraint("village_id", "key", name=op.f("uq_redemptions_village_id_key")),
        sa.UniqueConstraint("village_id", "year", "serial", name=op.f("uq_redemptions_village_id_year_serial")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_redemptions_entry_id")),
        sa.UniqueConstraint("cancel_entry_id", name=op.f("uq_redemptions_cancel_entry_id")),
    )
    op.create_index("ix_redemptions_household", "redemptions", ["household_id", "occurred_on"], unique=False)

    op.create_table(
        "stock_movements",
        sa.Column("id", BigId, nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=True),
        sa.Column("donor", sa.String(length=100), nullable=True),
        sa.Column("value_fen", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("redemption_id", BigId, nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.CheckConstraint("qty <> 0", name=op.f("ck_stock_movements_qty_nonzero")),
        sa.CheckConstraint("kind IN ('in', 'writeoff', 'redeem', 'return')", name=op.f("ck_stock_movements_kind_known")),
        sa.CheckConstraint("(kind IN ('in', 'return')) = (qty > 0)", name=op.f("ck_stock_movements_qty_sign")),
        sa.CheckConstraint("value_fen IS NULL OR value_fen >= 0", name=op.f("ck_stock_movements_value_not_negative")),
        sa.ForeignKeyConstraint(["village_id"], ["villages.id"], name=op.f("fk_stock_movements_village_id_villages")),
        sa.ForeignKeyConstraint(["item_id"], ["shop_items.id"], name=op.f("fk_stock_movements_item_id_shop_items")),
        sa.ForeignKeyConstraint(["redemption_id"], ["redemptions.id"],
                                name=op.f("fk_stock_movements_redemption_id_redemptions")),
        sa.ForeignKeyConstraint(["actor_id"], ["staff_users.id"], name=op.f("fk_stock_movements_actor_id_staff_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    op.create_index("ix_stock_movements_item", "stock_movements", ["item_id", "qty"], unique=False)
    op.create_index("ix_stock_movements_village_day", "stock_movements", ["village_id", "occurred_on"], unique=False)
    op.create_index(op.f("ix_stock_movements_redemption_id"), "stock_movements", ["redemption_id"], unique=False)

    op.create_table(
        "redemption_lines",
        sa.Column("id", BigId, nullable=False),
        sa.Column("redemption_id", BigId, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("movement_id", BigId, nullable=False),
        sa.CheckConstraint("qty > 0", name=op.f("ck_redemption_lines_qty_positive")),
        sa.CheckConstraint("points = qty * price", name=op.f("ck_redemption_lines_points_add_up")),
        sa.ForeignKeyConstraint(["redemption_id"], ["redemptions.id"],
                                name=op.f("fk_redemption_lines_redemption_id_redemptions")),
        sa.ForeignKeyConstraint(["item_id"], ["shop_items.id"], name=op.f("fk_redemption_lines_item_id_shop_items")),
        sa.ForeignKeyConstraint(["movement_id"], ["stock_movements.id"],
                                name=op.f("fk_redemption_lines_movement_id_stock_movements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption_lines")),
        sa.UniqueConstraint("movement_id", name=op.f("uq_redemption_lines_movement_id")),
    )
    op.create_index(op.f("ix_redemption_lines_redemption_id"), "redemption_lines", ["redemption_id"], unique=False)
    op.create_index(op.f("ix_redemption_lines_item_id"), "redemption_lines", ["item_id"], unique=False)

    op.create_table(
        "shop_settings",
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("reset_month", sa.Integer(), nullable=True),
        sa.Column("reset_day", sa.Integer(), nullable=True),
        sa.Column("points_budget", sa.Integer(), nullable=True),
        sa.Column("star_period", sa.String(length=8), nullable=False),
        sa.Column("star_mode", sa.String(length=8), nullable=False),
        sa.Column("star_bands", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["village_id"], ["villages.id"], name=op.f("fk_shop_settings_village_id_villages")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["staff_users.id"],
                                name=op.f("fk_shop_settings_updated_by_id_staff_users")),
        sa.PrimaryKeyConstraint("village_id", name=op.f("pk_shop_settings")),
    )

    op.create_table(
        "redeemable_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("run_at", UTC, nullable=False),
        sa.Column("run_by_id", sa.Integer(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["village_id"], ["villages.id"], name=op.f("fk_redeemable_resets_village_id_villages")),
        sa.ForeignKeyConstraint(["run_by_id"], ["staff_users.id"], name=op.f("fk_redeemable_resets_run_by_id_staff_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redeemable_resets")),
        sa.UniqueConstraint("village_id", "year", name=op.f("uq_redeemable_resets_village_id_year")),
    )

    op.create_table(
        "redeemable_reset_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reset_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["reset_id"], ["redeemable_resets.id"],
                                name=op.f("fk_redeemable_reset_lines_reset_id_redeemable_resets")),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"],
                                name=op.f("fk_redeemable_reset_lines_household_id_households")),
        sa.ForeignKeyConstraint(["entry_id"], ["ledger_entries.id"],
                                name=op.f("fk_redeemable_reset_lines_entry_id_ledger_entries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redeemable_reset_lines")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_redeemable_reset_lines_entry_id")),
    )
    op.create_index(op.f("ix_redeemable_reset_lines_reset_id"), "redeemable_reset_lines", ["reset_id"], unique=False)


def downgrade():
    _ledger_checks(OLD_SIGN, OLD_TARGET)
    op.drop_table("redeemable_reset_lines")
    op.drop_table("redeemable_resets")
    op.drop_table("shop_settings")
    op.drop_table("redemption_lines")
    op.drop_table("stock_movements")
    op.drop_table("redemptions")
    op.drop_table("shop_items")
